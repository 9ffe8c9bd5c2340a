"""Innovation lab: a cooperation model (see :mod:`quartiersim.sim.cooperation`)."""

from __future__ import annotations

import numpy as np

from quartiersim.config.cooperation import InnovationLabParams
from quartiersim.config.domains import N_DOMAINS
from quartiersim.sim.cooperation.base import CooperationModel, register
from quartiersim.sim.financing import YearFunds
from quartiersim.sim.staff import Role


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
        self.weights = np.zeros(len(self.model.space.points))  # where the agency coordinates
        self.points: list[int] = []  # the volunteer points of the year's plan
        self.unmet = np.zeros(N_DOMAINS)

    @property
    def agency_fte(self) -> float:
        """The agency's effective FTE this month (employed x productivity)."""
        return self.management_fte()

    def plan(self, funds: YearFunds) -> None:
        m, p = self.model, self.params
        self.weights = np.zeros(len(m.space.points))
        self.points = points = self.volunteer_points()
        if not points:
            return
        free = funds.free_eur
        cost = min(free, p.agency_fte * m.municipality.post_cost_eur_per_year())
        self.fund_municipal_post(Role.MANAGEMENT, -1, cost, "volunteer_agency")
        free -= cost
        if cost > 0:
            self.rematch_volunteers()
        a = m.residents
        vol = a.volunteer_hours > 0
        offered = np.bincount(a.volunteer_point[vol] + 1, weights=a.volunteer_hours[vol],
                              minlength=len(m.space.points) + 1)[1:][points]
        self.weights[points] = (offered / offered.sum() if offered.sum() > 0
                                else np.full(len(points), 1 / len(points)))
        self.unmet = self._unmet_share()
        self.fund_carriers(funds.by_domain(free, self.shares))

    def management_coordination(self) -> np.ndarray:
        """The agency coordinates placed volunteers at the carriers, by their volunteers."""
        return self.agency_fte * self.params.agency_coordination_share * self.weights

    def outside_volunteer_hours(self) -> np.ndarray:
        """The marketplace's corporate volunteer hours this month, (points, 6): in
        proportion to the agency's effective staff, spread over the volunteer points by
        the unmet need of the year's plan."""
        p = self.params
        out = np.zeros((len(self.model.space.points), N_DOMAINS))
        if self.points:
            share = self.agency_fte / max(p.agency_fte, 1e-12)
            out[self.points] = (p.business_hours_per_month * share / len(self.points)) * self.unmet[None, :]
        return out

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
        """Once a year the agency re-matches ``matching_rate`` of the volunteers to the
        domains with unmet need (in proportion to it); one whose place had closed is
        placed at the nearest volunteer point."""
        from quartiersim.sim.processes.volunteering import nearest_volunteer_point

        m = self.model
        a = m.residents
        vols = np.flatnonzero(a.volunteer_hours > 0)
        if len(vols) == 0 or self.params.matching_rate <= 0:
            return
        moved = vols[m.rng.random(len(vols)) < self.params.matching_rate]
        a.volunteer_domain[moved] = m.rng.choice(N_DOMAINS, size=len(moved), p=self._unmet_share())
        unplaced = moved[a.volunteer_point[moved] < 0]
        a.volunteer_point[unplaced] = nearest_volunteer_point(m, a.home_cell[unplaced])

    def activation_boost(self) -> float:
        return self.params.activation_boost_per_month * self.agency_fte / max(self.params.agency_fte, 1e-12) \
            if self.params.agency_fte > 0 else 0.0
