"""Integration centre: a cooperation model (see :mod:`quartiersim.sim.cooperation`)."""

from __future__ import annotations

import numpy as np

from quartiersim.config.cooperation import IntegrationCentreParams
from quartiersim.config.domains import PointKind
from quartiersim.sim.cooperation.base import register
from quartiersim.sim.cooperation.coproduction import Coproduction
from quartiersim.sim.staff import Role


@register
class IntegrationCentre(Coproduction):
    """Spatial bundling in an integration centre (Herten's plan, seed 002): co-production
    with all carriers moved into one centre (the layout's ``centre_site``). They share
    its rent (instead of their own premises) and save overhead; all domains at one
    place let staff refer residents between domains (cross-referral); one known address
    raises awareness (outreach); a municipal centre management coordinates volunteers at
    the centre."""

    name = "integration_centre"
    label = "Integration centre"
    Params = IntegrationCentreParams
    params: IntegrationCentreParams

    def setup(self) -> None:
        super().setup()
        m = self.model
        self.centre = self.site(PointKind.CENTRE_SITE, self.params.site, "a centre site")
        point = m.space.points[self.centre]
        st = m.staff
        weight = np.array([st.target[st.rows(employer=c.number, funded=False)].sum()
                           for c in m.carriers_list])
        weight = weight / weight.sum() if weight.sum() > 0 else np.full(len(weight), 1 / len(weight))
        for c, w in zip(m.carriers_list, weight):
            c.point = point
            c.rent_eur_per_month = self.params.centre_rent_eur_per_month * float(w)
            c.overhead_share = c.spec.overhead_share * (1.0 - self.params.overhead_synergy)

    def plan_structure(self, free_eur: float) -> float:
        """The centre management (municipal staff at the centre, with a workplace there)
        is paid first; it coordinates volunteers at the centre."""
        m = self.model
        cost = min(free_eur, self.params.management_fte * m.municipality.post_cost_eur_per_year())
        self.fund_municipal_post(Role.MANAGEMENT, self.centre, cost, "centre_management")
        return cost

    def management_coordination(self) -> np.ndarray:
        out = np.zeros(len(self.model.space.points))
        out[self.centre] = self.management_fte()
        return out

    def outreach_probability(self) -> float:
        return self.params.outreach if self.model.open_carriers() else 0.0

    def outreach_place(self) -> int | None:
        return self.centre
