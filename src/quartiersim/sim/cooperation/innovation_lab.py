"""Innovation lab: a cooperation model (see :mod:`quartiersim.sim.cooperation`)."""

from __future__ import annotations

import numpy as np

from quartiersim.config.cooperation import InnovationLabParams
from quartiersim.config.domains import N_DOMAINS
from quartiersim.sim.cooperation.base import CooperationModel, register
from quartiersim.sim.financing import YearFunds


@register
class InnovationLab(CooperationModel):
    """Social innovation lab with a volunteer agency (KosiLab Wuppertal, seed 003:
    "Zentrum für gute Taten" and the marketplace for good business). The agency (paid
    from the funds) recruits volunteers (activation), re-matches volunteers across
    domains to unmet needs each year and coordinates them at the carriers where they are
    placed; the marketplace brings corporate volunteers' hours to the carriers' offers
    (in exchange for services to firms, no money flows). The remaining money subsidises
    carriers' staff by the departments' shares."""

    name = "innovation_lab"
    label = "Innovation lab / volunteer agency"
    Params = InnovationLabParams
    params: InnovationLabParams

    def setup(self) -> None:
        self.require_carriers()
        self.shares = self.domain_shares()
        self.agency_fte = 0.0

    def plan(self, funds: YearFunds) -> None:
        m, p = self.model, self.params
        self.reset_carriers()
        m.municipality.coordination_fte[:] = 0.0
        self.extra_volunteer_hours = np.zeros_like(self.extra_volunteer_hours)
        points = self.volunteer_points()
        if not points:
            self.agency_fte = 0.0
            return
        mun = m.config.municipality
        hour_cost = mun.staff_cost_eur_per_hour * (1 + mun.overhead_share) * m.price_index
        free = funds.free_eur
        cost = min(free, p.agency_fte * 12 * m.hours_per_fte * hour_cost)
        self.agency_fte = cost / (12 * m.hours_per_fte * hour_cost)
        self.pay("volunteer_agency", cost)
        free -= cost
        self.rematch_volunteers()
        a = m.residents
        vol = a.volunteer_hours > 0
        offered = np.bincount(a.volunteer_point[vol] + 1, weights=a.volunteer_hours[vol],
                              minlength=len(m.space.points) + 1)[1:][points]
        w = offered / offered.sum() if offered.sum() > 0 else np.full(len(points), 1 / len(points))
        m.municipality.coordination_fte[points] = self.agency_fte * p.agency_coordination_share * w
        unmet = self._unmet_share()
        self.extra_volunteer_hours[points] = (p.business_hours_per_month * self.agency_fte / max(p.agency_fte, 1e-12)
                                              / len(points)) * unmet[None, :]
        self.fund_carriers(funds.by_domain(free, self.shares))

    def _unmet_share(self) -> np.ndarray:
        """Current unmet need hours by domain where volunteers may serve, as shares (6,)."""
        a = self.model.residents
        unmet = np.maximum(a.need_hours - a.served_hours, 0.0).sum(axis=0)
        allowed = np.array(self.model.config.volunteering.domain_shares()) > 0
        unmet = np.where(allowed, unmet, 0.0)
        if unmet.sum() <= 0:
            unmet = allowed.astype(float)
        return unmet / unmet.sum()

    def rematch_volunteers(self) -> None:
        m = self.model
        a = m.residents
        vols = np.flatnonzero(a.volunteer_hours > 0)
        if len(vols) == 0 or self.params.matching_rate <= 0 or self.agency_fte <= 0:
            return
        moved = vols[m.rng.random(len(vols)) < self.params.matching_rate]
        a.volunteer_domain[moved] = m.rng.choice(N_DOMAINS, size=len(moved), p=self._unmet_share())

    def activation_boost(self) -> float:
        return self.params.activation_boost_per_month * self.agency_fte / max(self.params.agency_fte, 1e-12) \
            if self.params.agency_fte > 0 else 0.0
