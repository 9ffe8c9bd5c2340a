"""Mesa agents: Resident, Volunteer, Carrier (freier Träger) and Municipality (Kommune).

Residents and volunteers are many; their hot state lives in arrays owned by the model
(:class:`quartiersim.sim.population.ResidentArrays`, one row per dwelling slot) so that the
monthly processes run as array operations. The agent objects are the Mesa interface
onto that state: ``model.agents_by_type[Resident]`` is an AgentSet like any other, and
each property reads the resident's row. Carriers and the municipality are few and keep
their state on the agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from mesa import Agent

from quartiersim.config.domains import DOMAINS, CofinancingRoute, CostCategory, Domain, Payer

if TYPE_CHECKING:
    from quartiersim.config.schema import CarrierSpec
    from quartiersim.config.schema import Municipality as MunicipalitySpec
    from quartiersim.sim.model import QuarterModel
    from quartiersim.sim.space import ServicePoint


class Resident(Agent):
    """A resident (Bewohnerin/Bewohner): a view onto row ``slot`` of the resident arrays."""

    model: QuarterModel

    def __init__(self, model: QuarterModel, slot: int) -> None:
        super().__init__(model)
        self.slot = int(slot)

    @property
    def _a(self):
        return self.model.residents

    @property
    def age(self) -> float:
        """Age in years."""
        return float(self._a.age[self.slot])

    @property
    def transfer_recipient(self) -> bool:
        return bool(self._a.transfer[self.slot])

    @property
    def migration_background(self) -> bool:
        return bool(self._a.migration[self.slot])

    @property
    def language_barrier(self) -> bool:
        return bool(self._a.language_barrier[self.slot])

    @property
    def mobility_limited(self) -> bool:
        return bool(self._a.mobility_limited[self.slot])

    @property
    def home_cell(self) -> int:
        """Flat index of the home cell."""
        return int(self._a.home_cell[self.slot])

    @property
    def cell(self):
        """The Mesa grid cell of the home."""
        return self.model.space.cell(self.home_cell)

    @property
    def needs(self) -> dict[Domain, float]:
        """Open need by domain, in hours per month (0 = no need)."""
        row = self._a.need_hours[self.slot]
        return {d: float(row[k]) for k, d in enumerate(DOMAINS)}

    @property
    def served(self) -> dict[Domain, float]:
        """Hours served last month, by domain."""
        row = self._a.served_hours[self.slot]
        return {d: float(row[k]) for k, d in enumerate(DOMAINS)}

    @property
    def aware(self) -> dict[Domain, bool]:
        """Whether the resident knows an offer in each domain."""
        row = self._a.aware[self.slot]
        return {d: bool(row[k]) for k, d in enumerate(DOMAINS)}

    @property
    def in_mandatory_case(self) -> dict[Domain, bool]:
        row = self._a.case_months_left[self.slot]
        return {d: bool(row[k] > 0) for k, d in enumerate(DOMAINS)}

    @property
    def volunteer(self) -> Volunteer | None:
        return self.model.volunteer_of_slot.get(self.slot)


class Volunteer(Agent):
    """A volunteer (Ehrenamtliche/r): a resident with committed hours in one domain.

    Deploys hours only where paid staff coordinate them; quits with a hazard that rises
    with overload and missing coordination (:mod:`quartiersim.sim.processes.attrition`).
    """

    model: QuarterModel

    def __init__(self, model: QuarterModel, resident: Resident) -> None:
        super().__init__(model)
        self.resident = resident

    @property
    def slot(self) -> int:
        return self.resident.slot

    @property
    def hours_per_month(self) -> float:
        """Committed hours per month."""
        return float(self.model.residents.volunteer_hours[self.slot])

    @property
    def domain(self) -> Domain:
        return DOMAINS[int(self.model.residents.volunteer_domain[self.slot])]

    @property
    def point(self) -> ServicePoint | None:
        """Where the volunteer serves (None: no coordinated offer reachable)."""
        p = int(self.model.residents.volunteer_point[self.slot])
        return self.model.space.points[p] if p >= 0 else None


class Carrier(Agent):
    """A carrier (freier Träger): staff by domain at its premises, income and reserve.

    Staff funded from its own funds (``own_fte``) and staff funded by the cooperation
    model (``funded_fte``, paid through :meth:`receive`). Each month it receives its
    own funds (booked to ``Payer.DONORS``), pays staff, overhead and rent, and updates
    its reserve. In deficit it cuts own-funded staff by
    ``carrier_behaviour.staff_cut_share_per_deficit_month`` a month; after
    ``carrier_behaviour.close_after_deficit_months`` consecutive deficit months with the
    reserve gone it closes and its point stops offering.
    """

    model: QuarterModel

    def __init__(self, model: QuarterModel, spec: CarrierSpec, point: ServicePoint) -> None:
        super().__init__(model)
        self.spec = spec
        self.name = spec.name
        self.point = point
        self.own_fte = np.array([spec.staff_fte.get(d, 0.0) for d in DOMAINS], dtype=float)
        self.own_coordination_fte = spec.coordination_fte
        # premises and overhead; a cooperation model may move the carrier (e.g. into a
        # shared centre with a share of its rent and a lower overhead)
        self.rent_eur_per_month = spec.rent_eur_per_month
        self.overhead_share = spec.overhead_share
        self.rent_paid_eur = 0.0
        self.overhead_paid_eur = 0.0
        self.funded_fte = np.zeros(len(DOMAINS))
        self.funded_coordination_fte = 0.0
        self.reserve_eur = spec.reserve_eur
        self.is_open = True
        self.deficit_months = 0
        self.income_month_eur = 0.0
        self.spent_eur = 0.0
        self.received_eur = 0.0

    @property
    def hour_cost_eur(self) -> float:
        """Full cost of one staff hour (direct cost plus overhead), EUR."""
        return self.spec.cost_eur_per_staff_hour * (1.0 + self.overhead_share)

    @property
    def staff_fte(self) -> np.ndarray:
        """All service staff by domain, FTE (own + funded)."""
        return self.own_fte + self.funded_fte

    @property
    def coordination_fte(self) -> float:
        return self.own_coordination_fte + self.funded_coordination_fte

    def receive(self, amount_eur: float) -> None:
        """Income from a payer this month (the payer's booking is made by the caller)."""
        self.income_month_eur += amount_eur

    def monthly_cost_eur(self) -> float:
        if not self.is_open:
            return 0.0
        return self._hours() * self.hour_cost_eur + self.rent_eur_per_month

    def _hours(self) -> float:
        return (self.staff_fte.sum() + self.coordination_fte) * self.model.hours_per_fte

    def settle_month(self) -> None:
        """Own funds arrive, costs are paid, the reserve absorbs the difference."""
        if not self.is_open:
            self.income_month_eur = 0.0
            return
        own = self.spec.own_funds_eur_per_year / 12.0
        self.model.ledger.book(self.model.steps, Payer.DONORS, CostCategory.VOLUNTARY,
                               "carrier_own_funds", own)
        self.income_month_eur += own
        cost = self.monthly_cost_eur()
        self.rent_paid_eur += self.rent_eur_per_month
        self.overhead_paid_eur += self._hours() * self.spec.cost_eur_per_staff_hour * self.overhead_share
        self.reserve_eur += self.income_month_eur - cost
        self.received_eur += self.income_month_eur
        self.spent_eur += cost
        self.income_month_eur = 0.0
        if self.reserve_eur < 0:
            behaviour = self.model.config.carrier_behaviour
            cut = behaviour.staff_cut_share_per_deficit_month
            self.deficit_months += 1
            self.own_fte *= 1.0 - cut
            self.own_coordination_fte *= 1.0 - cut
            if self.deficit_months >= behaviour.close_after_deficit_months:
                self.close()
        else:
            self.deficit_months = 0

    def close(self) -> None:
        """Stop offering: no staff, no rent; the point drops out of matching."""
        self.is_open = False
        self.own_fte[:] = 0.0
        self.funded_fte[:] = 0.0
        self.own_coordination_fte = 0.0
        self.funded_coordination_fte = 0.0


@dataclass(frozen=True)
class YearClose:
    """The municipality's budget year, EUR. ``balance = revenue - expenses``."""

    year: int
    revenue_eur: float
    other_expenses_eur: float
    quarter_voluntary_eur: float
    quarter_mandatory_eur: float
    voluntary_budget_eur: float  # the quarter's voluntary budget in force this year
    consolidation_cut: bool  # whether next year's voluntary budget was cut

    @property
    def expenses_eur(self) -> float:
        return self.other_expenses_eur + self.quarter_voluntary_eur + self.quarter_mandatory_eur

    @property
    def balance_eur(self) -> float:
        return self.revenue_eur - self.expenses_eur


class Municipality(Agent):
    """The municipality (Kommune): city budget, voluntary budget for the quarter, own staff.

    Revenues and other expenses are at city level and grow at fixed rates; the quarter's
    voluntary and mandatory spending is what the simulation books to the municipality.
    At year end (:meth:`close_year`) a deficit under a consolidation regime
    (Haushaltssicherung / Stärkungspakt) cuts next year's voluntary budget by
    ``consolidation_cut_share``, never below ``voluntary_budget_floor_share`` of the
    initial budget (voluntary spending is cut first, seed 002, Table 1: mandatory tasks
    such as SGB VIII youth welfare or SGB XII are paid whatever the balance).

    New voluntary commitments (a grant's co-financing share, continuing grant-funded
    structures) need room in the budget: see :meth:`room_eur` and
    :meth:`cofinancing_route`. ``revenue_shocks`` (calendar year -> factor on revenue)
    are set by the fiscal stress test (:mod:`quartiersim.studies.stress`).
    """

    model: QuarterModel

    def __init__(self, model: QuarterModel, spec: MunicipalitySpec, n_points: int) -> None:
        super().__init__(model)
        self.spec = spec
        self.initial_voluntary_budget_eur = spec.voluntary_budget_eur_per_year
        self.voluntary_budget_eur = spec.voluntary_budget_eur_per_year
        self.staff_fte = np.zeros((n_points, len(DOMAINS)))  # own staff at offices
        self.coordination_fte = np.zeros(n_points)  # own staff coordinating volunteers
        self.revenue_shocks: dict[int, float] = {}
        self.history: list[YearClose] = []
        self.year_voluntary_eur = 0.0
        self.year_mandatory_eur = 0.0

    def revenue_eur(self, year_index: int, calendar_year: int) -> float:
        s = self.spec
        aid = s.consolidation_aid_eur_per_year if calendar_year <= s.consolidation_aid_until_year else 0.0
        base = s.revenue_eur_per_year * (1.0 + s.revenue_growth_per_year) ** year_index
        return base * self.revenue_shocks.get(calendar_year, 1.0) + aid

    def room_eur(self, year_index: int, calendar_year: int) -> float:
        """EUR of new voluntary spending the budget allows in the coming year.

        Without a consolidation regime: unlimited (inf). Under one: the projected
        surplus, revenue - other expenses - the quarter's voluntary budget - last year's
        quarter mandatory spending, never below 0 (a municipality in deficit may not
        take on new voluntary tasks without offsetting them)."""
        if not self.spec.consolidation_regime:
            return float("inf")
        mandatory = self.history[-1].quarter_mandatory_eur if self.history else 0.0
        projected = (self.revenue_eur(year_index, calendar_year) - self.other_expenses_eur(year_index)
                     - self.voluntary_budget_eur - mandatory)
        return max(0.0, projected)

    def cofinancing_route(self, own_share_eur: float, year_index: int,
                          calendar_year: int) -> CofinancingRoute:
        """How the municipality can pay a grant's co-financing share for the year:
        ``ADDITIONAL`` (the budget has room), ``OFFSET`` (taken out of the quarter's
        voluntary budget, which must be at least the share) or ``UNAFFORDABLE`` (it
        cannot afford the share and misses the grant); used by
        :mod:`quartiersim.sim.processes.cofinancing`."""
        if own_share_eur <= self.room_eur(year_index, calendar_year):
            return CofinancingRoute.ADDITIONAL
        if own_share_eur <= self.voluntary_budget_eur:
            return CofinancingRoute.OFFSET
        return CofinancingRoute.UNAFFORDABLE

    def other_expenses_eur(self, year_index: int) -> float:
        s = self.spec
        return s.other_expenses_eur_per_year * (1.0 + s.expense_growth_per_year) ** year_index

    def pay(self, category: CostCategory, amount_eur: float) -> None:
        """Record the municipality's own share of a quarter payment (already booked)."""
        if category is CostCategory.VOLUNTARY:
            self.year_voluntary_eur += amount_eur
        else:
            self.year_mandatory_eur += amount_eur

    def close_year(self, year_index: int, calendar_year: int) -> YearClose:
        """Close the budget year and apply the consolidation rule for the next year."""
        s = self.spec
        revenue = self.revenue_eur(year_index, calendar_year)
        other = self.other_expenses_eur(year_index)
        balance = revenue - other - self.year_voluntary_eur - self.year_mandatory_eur
        cut = bool(s.consolidation_regime and balance < 0)
        close = YearClose(calendar_year, revenue, other, self.year_voluntary_eur,
                          self.year_mandatory_eur, self.voluntary_budget_eur, cut)
        self.history.append(close)
        if cut:
            floor = s.voluntary_budget_floor_share * self.initial_voluntary_budget_eur
            self.voluntary_budget_eur = max(floor, self.voluntary_budget_eur * (1 - s.consolidation_cut_share))
        self.year_voluntary_eur = 0.0
        self.year_mandatory_eur = 0.0
        return close
