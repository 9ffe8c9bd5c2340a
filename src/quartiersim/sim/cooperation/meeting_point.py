"""Meeting point: a cooperation model (see :mod:`quartiersim.sim.cooperation`)."""

from __future__ import annotations

from quartiersim.config.cooperation import MeetingPointParams
from quartiersim.config.domains import Payer, PointKind
from quartiersim.sim.cooperation.base import CooperationModel, register
from quartiersim.sim.financing import YearFunds


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
        self.manager_fte = 0.0

    def volunteer_points(self) -> list[int]:
        return sorted({self.point, *super().volunteer_points()})

    def plan(self, funds: YearFunds) -> None:
        m, p = self.model, self.params
        self.reset_carriers()
        free = funds.free_eur
        room_rent, manager_cost = (p.room_rent_eur_per_month * m.price_index,
                                   p.manager_cost_eur_per_year_per_fte * m.price_index)
        rent = min(free, 12 * room_rent * (1 - p.rent_discount))
        self.pay("meeting_point_rent", rent)
        self.pay("meeting_point_rent_in_kind", 12 * room_rent * p.rent_discount,
                 payer=Payer.HOUSING_COMPANY)
        free -= rent
        cost = min(free, p.manager_fte * manager_cost)
        self.manager_fte = cost / manager_cost if manager_cost else p.manager_fte
        self.pay("quarter_manager", cost)
        free -= cost
        m.municipality.coordination_fte[:] = 0.0
        m.municipality.coordination_fte[self.point] = self.manager_fte * p.manager_coordination_share
        self.fund_carriers(funds.by_domain(free, self.shares))

    def outreach_probability(self) -> float:
        return min(1.0, self.params.outreach_per_fte * self.manager_fte)

    def activation_boost(self) -> float:
        return self.params.activation_per_fte * self.manager_fte
