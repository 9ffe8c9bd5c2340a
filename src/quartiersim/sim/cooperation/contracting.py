"""Contracting out: a cooperation model (see :mod:`quartiersim.sim.cooperation`)."""

from __future__ import annotations

from quartiersim.config.cooperation import ContractingParams
from quartiersim.sim.cooperation.base import CooperationModel, register
from quartiersim.sim.financing import YearFunds


@register
class Contracting(CooperationModel):
    """Contracting out (Auftragsvergabe): each department buys service hours in its
    domain from carriers at a contract price, on fixed budget lines. Carriers deliver
    with their own cost structure (a carrier cheaper than the price builds reserves, a
    dearer one runs down its reserve). Contracts buy professional hours only: no paid
    volunteer coordination, no joint planning, no referral between domains; volunteers
    serve only where carriers coordinate them from their own funds."""

    name = "contracting"
    label = "Contracting out"
    Params = ContractingParams
    params: ContractingParams

    def setup(self) -> None:
        self.require_carriers()
        self.shares = self.domain_shares()

    def plan(self, funds: YearFunds) -> None:
        if not self.model.open_carriers():
            return
        mgmt = self.params.contract_management_share * funds.free_eur
        self.pay("contract_management", mgmt)
        self.fund_carriers(funds.by_domain(funds.free_eur - mgmt, self.shares),
                           item="carrier_contract",
                           price_eur_per_hour=self.params.contract_price_eur_per_hour)
