"""Integration centre: a cooperation model (see :mod:`quartiersim.sim.cooperation`)."""

from __future__ import annotations

import numpy as np

from quartiersim.config.cooperation import IntegrationCentreParams
from quartiersim.config.domains import PointKind
from quartiersim.sim.cooperation.base import register
from quartiersim.sim.cooperation.coproduction import Coproduction


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
        weight = np.array([c.own_fte.sum() + c.own_coordination_fte for c in m.carriers_list])
        weight = weight / weight.sum() if weight.sum() > 0 else np.full(len(weight), 1 / len(weight))
        for c, w in zip(m.carriers_list, weight):
            c.point = point
            c.rent_eur_per_month = self.params.centre_rent_eur_per_month * float(w)
            c.overhead_share = c.spec.overhead_share * (1.0 - self.params.overhead_synergy)

    def plan_structure(self, free_eur: float) -> float:
        m = self.model
        mun = m.config.municipality
        hour_cost = mun.staff_cost_eur_per_hour * (1 + mun.overhead_share) * m.price_index
        cost = min(free_eur, self.params.management_fte * 12 * m.hours_per_fte * hour_cost)
        m.municipality.coordination_fte[:] = 0.0
        m.municipality.coordination_fte[self.centre] = cost / (12 * m.hours_per_fte * hour_cost)
        self.pay("centre_management", cost)
        return cost

    def outreach_probability(self) -> float:
        return self.params.outreach if self.model.open_carriers() else 0.0
