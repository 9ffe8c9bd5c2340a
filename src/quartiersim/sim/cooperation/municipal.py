"""Municipal provision: a cooperation model (see :mod:`quartiersim.sim.cooperation`)."""

from __future__ import annotations

from quartiersim.config.cooperation import MunicipalParams
from quartiersim.config.domains import DOMAINS
from quartiersim.errors import ScenarioError
from quartiersim.sim.cooperation.base import CooperationModel, office_letters, register
from quartiersim.sim.financing import YearFunds
from quartiersim.sim.staff import Role


@register
class MunicipalProvision(CooperationModel):
    """Municipal provision (Säulenstruktur): each department serves its domain from its
    own office with municipal staff, on fixed budget lines. Volunteers serve only where a
    carrier coordinates them from its own funds. Reference model."""

    name = "municipal"
    label = "Municipal provision"
    Params = MunicipalParams
    params: MunicipalParams

    def setup(self) -> None:
        offices = office_letters(self.model)
        if not offices:
            raise ScenarioError(f"{self.model.config.path}: cooperation model 'municipal' "
                                "needs a service point of kind 'municipal_office' on the layout")
        for d, letter in self.params.offices.items():
            if letter not in offices:
                raise ScenarioError(
                    f"{self.model.config.path}: 'cooperation.municipal.offices.{d.value}' = "
                    f"{letter!r}: allowed: municipal office letters {', '.join(offices)}")
        self.office_of = [self.model.space.point(self.params.offices.get(d, offices[0])).index
                          for d in DOMAINS]
        self.shares = self.domain_shares()

    def plan(self, funds: YearFunds) -> None:
        m = self.model
        rent = min(funds.free_eur, 12 * len(set(self.office_of)) * self.params.rent_eur_per_month_per_office
                   * m.price_index)
        self.pay("municipal_office_rent", rent)
        money = funds.by_domain(funds.free_eur - rent, self.shares)
        for k, p in enumerate(self.office_of):  # the offices' rent is their workplace
            self.fund_municipal_post(Role.SERVICE, p, float(money[k]), "municipal_staff",
                                     domain=k, purpose=DOMAINS[k].value, workplace=False)
