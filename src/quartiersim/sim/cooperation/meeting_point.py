"""Meeting point: a cooperation model (see :mod:`quartiersim.sim.cooperation`)."""

from __future__ import annotations

import numpy as np

from quartiersim.config.cooperation import MeetingPointParams
from quartiersim.config.domains import Payer, PointKind
from quartiersim.sim.cooperation.base import CooperationModel, register
from quartiersim.sim.financing import YearFunds
from quartiersim.sim.staff import MUNICIPALITY, NO_DOMAIN, PostKey, Role


@register
class MeetingPoint(CooperationModel):
    """Community meeting point with a quarter manager (Grundschöttel, seeds 000/001): a
    meeting point in housing-company rooms at a reduced rent (the discount is the housing
    company's contribution in kind); a quarter manager who raises awareness (outreach),
    activates volunteers and coordinates volunteer-run offers at the meeting point
    (repair café, tutoring); the remaining money subsidises carriers' staff by the
    departments' shares. Volunteers serve at the meeting point or at carriers."""

    name = "meeting_point"
    label = "Meeting point + quarter manager"
    Params = MeetingPointParams
    params: MeetingPointParams

    def setup(self) -> None:
        self.point = self.site(PointKind.MEETING_POINT_SITE, self.params.site, "a meeting point site")
        self.shares = self.domain_shares()

    def volunteer_points(self) -> list[int]:
        return sorted({self.point, *super().volunteer_points()})

    def plan(self, funds: YearFunds) -> None:
        m, p = self.model, self.params
        free = funds.free_eur
        room_rent, manager_cost = (p.room_rent_eur_per_month * m.price_index,
                                   p.manager_cost_eur_per_year_per_fte * m.price_index)
        rent = min(free, 12 * room_rent * (1 - p.rent_discount))
        self.pay("meeting_point_rent", rent)
        self.pay("meeting_point_rent_in_kind", 12 * room_rent * p.rent_discount,
                 payer=Payer.HOUSING_COMPANY)
        free -= rent
        cost = min(free, p.manager_fte * manager_cost)
        if cost > 0:  # the manager works in the meeting point's rooms (paid above)
            post = m.staff.add_target(PostKey(MUNICIPALITY, Role.MANAGEMENT, NO_DOMAIN, True),
                                      self.point, cost / manager_cost)
            self.pay("quarter_manager", cost, post=post)
        free -= cost
        self.fund_carriers(funds.by_domain(free, self.shares))

    @property
    def manager_fte(self) -> float:
        """The quarter manager's effective FTE this month (employed x productivity)."""
        return self.management_fte()

    def management_coordination(self) -> np.ndarray:
        out = np.zeros(len(self.model.space.points))
        out[self.point] = self.manager_fte * self.params.manager_coordination_share
        return out

    def outreach_probability(self) -> float:
        return min(1.0, self.params.outreach_per_fte * self.manager_fte)

    def outreach_place(self) -> int | None:
        return self.point

    def activation_boost(self) -> float:
        return self.params.activation_per_fte * self.manager_fte
