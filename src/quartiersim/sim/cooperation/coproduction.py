"""Co-production: a cooperation model (see :mod:`quartiersim.sim.cooperation`)."""

from __future__ import annotations

import numpy as np

from quartiersim.config.cooperation import CoproductionParams
from quartiersim.sim.cooperation.base import CooperationModel, register
from quartiersim.sim.financing import YearFunds


@register
class Coproduction(CooperationModel):
    """Co-production (Koproduktion i.e.S., seed 002): municipality, carriers and citizens
    plan and deliver together. The funds go to carriers as subsidies for staff and paid
    volunteer coordination; joint planning costs a share of the funds and moves the
    domain shares towards observed needs each year (integrated task and finance planning
    instead of fixed departmental budget lines); volunteers serve coordinated at carriers."""

    name = "coproduction"
    label = "Co-production"
    Params = CoproductionParams
    params: CoproductionParams

    def setup(self) -> None:
        self.require_carriers()
        self.shares = self.domain_shares()

    @property
    def cross_referral_probability(self) -> float:
        return self.params.cross_referral

    def observe_year(self, need_hours_by_domain: np.ndarray) -> None:
        total = need_hours_by_domain.sum()
        if total > 0:
            r = self.params.reallocation_rate
            self.shares = (1 - r) * self.shares + r * need_hours_by_domain / total

    def plan(self, funds: YearFunds) -> None:
        if not self.model.open_carriers():
            return  # nobody left to fund: the money stays with the payers
        free = funds.free_eur
        planning = self.params.planning_share * free
        self.pay("joint_planning", planning)
        free -= planning
        free -= self.plan_structure(free)
        free -= self.fund_coordination(self.params.coordination_fte, free)
        self.fund_carriers(funds.by_domain(free, self.shares))

    def plan_structure(self, free_eur: float) -> float:
        """Hook for models built on co-production: pay their own structure out of
        ``free_eur`` first; returns the money used."""
        return 0.0
