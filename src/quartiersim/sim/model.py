"""The quarter model: one Mesa Model, one month per step.

``QuarterModel.step()`` is the model description: the ordered list of processes in
docs/ODD.md, section 3 "Process overview and scheduling", one module each in
:mod:`quartiersim.sim.processes`. State passed between processes lives in
``model.month`` (:class:`~quartiersim.sim.state.MonthState`), sums over the run in
``model.totals`` (:class:`~quartiersim.sim.state.RunTotals`); both are created here.
Per-resident processes are array operations over
:class:`~quartiersim.sim.population.ResidentArrays`; Resident and Volunteer agents are
the Mesa interface onto those rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter

import numpy as np
from mesa import Model

from quartiersim.config.domains import AccessClass
from quartiersim.config.schema import Scenario, Shock
from quartiersim.errors import HorizonError
from quartiersim.sim.agents import (
    AgentLog,
    AgentsByType,
    Carrier,
    Municipality,
    Resident,
    SlotIndex,
    Volunteer,
)
from quartiersim.sim.ledger import Ledger
from quartiersim.sim.population import TieCounter, adjacency, populate, to_networkx
from quartiersim.sim.processes import (
    attrition,
    awareness,
    carriers,
    cofinancing,
    demography,
    initialization,
    matching,
    needs,
    payments,
    recording,
    resolution,
    staffing,
    trust,
    volunteering,
    year,
)
from quartiersim.sim.processes.recording import SERIES_KEYS
from quartiersim.sim.shocks import apply_transfer_shocks, revenue_factors
from quartiersim.sim.space import QuarterSpace
from quartiersim.sim.staff import StaffStock
from quartiersim.sim.state import CellTotals, MonthState, RunTotals

__all__ = ["SERIES_KEYS", "QuarterModel"]



def _view(path: str, doc: str) -> property:
    """A read-only attribute that reads ``path`` (e.g. ``"month.load"``) of the model."""
    return property(attrgetter(path), doc=doc)


class QuarterModel(Model):
    """A quarter: residents, volunteers, carriers and the municipality on a grid.

    Args:
        scenario: a validated :class:`~quartiersim.config.schema.Scenario`.
        cooperation: name of the cooperation model (``COOPERATION_MODELS``).
        financing: name of the financing model (declared in the scenario or built in).
        rng: seed for all randomness (numpy Generator and Python random derive from it).
        years: horizon in years (a step is a month); used to size the ledger.
        keep_bookings: keep every booking in ``ledger.entries`` (tests, audits).
        shocks: exogenous fiscal shocks to apply (the scenario's ``shocks`` in the
            fiscal stress test, :mod:`quartiersim.studies.stress`); none in ordinary runs.
        track_cells: keep need and served hours per cell and domain over the run
            (``cells``, :class:`~quartiersim.sim.state.CellTotals`; for
            :func:`~quartiersim.sim.outcomes.cell_outcomes`).
        spin_up_months: months run before the horizon under the status-quo provision
            (:meth:`spin_up`); None: the scenario's ``spin_up.months``; 0: the horizon
            starts from the initialised population.

    Raises:
        UnknownNameError: unknown cooperation or financing model name.
        ScenarioError: the scenario lacks what the cooperation model needs.
    """

    # this month's matching (model.month), shape (points, 6), hours
    capacity_hours = _view("month.capacity_hours", "Staff + deployable volunteer hours.")
    used_hours = _view("month.used_hours", "Hours spent serving requests.")
    used_volunteer_hours = _view("month.used_volunteer_hours", "Volunteers' part of used_hours.")
    load = _view("month.load", "Hours requested / capacity (0 without capacity).")
    # sums over the run (model.totals)
    acc_need = _view("totals.need_hours", "Need-hours by domain, shape (6,).")
    acc_served = _view("totals.served_hours", "Served hours by domain, shape (6,).")
    acc_need_group = _view("totals.need_hours_group", "Need-hours by group, shape (4,).")
    acc_served_group = _view("totals.served_hours_group", "Served hours by group, shape (4,).")
    new_cases = _view("totals.new_cases", "Mandatory cases started by domain, shape (6,).")
    volunteer_hours_total = _view("totals.volunteer_hours", "Volunteer hours used.")
    volunteers_quit = _view("totals.volunteers_quit", "Volunteers who quit.")
    volunteer_months = _view("totals.volunteer_months", "Months volunteered, all volunteers.")

    def __init__(self, scenario: Scenario, cooperation: str | None = None,
                 financing: str | None = None, rng: int | None = None, years: int = 10,
                 keep_bookings: bool = False, shocks: Sequence[Shock] = (),
                 track_cells: bool = False, spin_up_months: int | None = None) -> None:
        super().__init__(rng=rng)
        # ``model.step()`` is Mesa's (time, scheduled events, then the month below),
        # refused past the horizon before it changes anything
        self._mesa_step, self.step = self.step, self._step_within_horizon
        self.config = scenario
        self.years = years
        cooperation = cooperation or scenario.default_cooperation
        financing = financing or scenario.default_financing
        self.check_names(scenario, cooperation, financing)
        mun = scenario.municipality
        self.hours_per_fte = mun.hours_per_fte_per_month
        self.start_year = scenario.meta.start_year
        self.spin_up_months = scenario.spin_up.months if spin_up_months is None else int(spin_up_months)
        self.spinning_up = False
        # the spin-up books to a ledger of its own (replaced when the horizon starts)
        self.ledger = Ledger(max(years, -(-self.spin_up_months // 12)) + 1, keep_entries=keep_bookings)
        self.need_tables = needs.NeedTables.from_scenario(scenario)

        # space, population, network
        self.space = QuarterSpace(scenario.space, random=self.random)
        self.month = MonthState.empty(len(self.space.points))
        self.totals = RunTotals.empty()
        self.residents, self.ties = populate(scenario, self.space, self.rng)
        self.adjacency = adjacency(self.ties, self.residents.n)
        self._social_network = None
        self.aware_tie_counter = TieCounter(self.adjacency)
        # residents' and volunteers' agents, made when first asked for (sim/agents.py)
        self.agent_log = AgentLog(self)
        self.resident_of_slot: SlotIndex[Resident] = self.agent_log.index[Resident]
        self.volunteer_of_slot: SlotIndex[Volunteer] = self.agent_log.index[Volunteer]
        slots = np.arange(scenario.population.residents)
        demography.add_residents(self, slots)
        self.start_composition = demography.StartComposition.of(self.residents)
        self.target_residents = float(len(slots))
        needs.init_needs(self, slots)
        a, n_cells = self.residents, self.space.n_cells
        self.cell_residents_start = np.bincount(a.home_cell[a.alive], minlength=n_cells)
        self.cells = CellTotals.empty(n_cells) if track_cells else None
        # actors
        self.municipality = Municipality(self, mun)
        self.price_index = 1.0  # the year's price level (Municipality.price_index), set by plan_year
        self.staff = StaffStock.empty(scenario.staffing)  # every paid post (sim/staff.py)
        self.carriers_list: list[Carrier] = [
            Carrier(self, spec, self.space.point(spec.point), i)
            for i, spec in enumerate(scenario.carriers)]
        self.trust = trust.init_trust(self)  # priors for the places in use now (ODD 5)
        self.shocks: tuple[Shock, ...] = ()
        self.shock_rng: np.random.Generator | None = None  # spawned by the first transfer shock
        self.month_stats: dict[str, float] = dict.fromkeys(SERIES_KEYS, 0.0)
        self.datacollector = recording.MonthlyCollector()
        if self.spin_up_months > 0:  # the status quo first, the same draws for every model
            su = scenario.spin_up
            self.provide(su.cooperation or scenario.default_cooperation, su.financing)
            volunteering.setup_volunteers(self)
            self.spin_up(self.spin_up_months, keep_bookings)
            self.provide(cooperation, financing)  # a new provision hires (sim/staff.py)
            volunteering.reassign_volunteers(self)
            self.shocks = tuple(shocks)
            self.municipality.revenue_shocks = revenue_factors(self.shocks)
            self.plan_year()
        else:
            self.provide(cooperation, financing)
            volunteering.setup_volunteers(self)
            self.shocks = tuple(shocks)
            self.municipality.revenue_shocks = revenue_factors(self.shocks)
            self.plan_year()
            self.staff.establish()  # the provision in place at the start is established

    # ------------------------------------------------------------------ Mesa's agents
    # Residents' and volunteers' agents are made when first asked for (AgentLog in
    # sim/agents.py): whatever reads the model's agents replays the log first.
    @property
    def agents(self):  # type: ignore[override]
        """All agents (Mesa's ``Model.agents``), residents and volunteers included."""
        self.agent_log.replay()
        return self._all_agents

    @property
    def agents_by_type(self) -> AgentsByType:  # type: ignore[override]
        """The AgentSets by class (Mesa's ``Model.agents_by_type``)."""
        return AgentsByType(self)

    def register_agent(self, agent) -> None:
        """Mesa's registration of one agent (noted: it comes after the logged ones)."""
        log = getattr(self, "agent_log", None)
        if log is not None:
            log.registering_one()
        super().register_agent(agent)

    def remove_all_agents(self) -> None:
        self.agent_log.replay()
        super().remove_all_agents()

    @staticmethod
    def check_names(scenario: Scenario, cooperation: str | None, financing: str | None) -> None:
        """Raise UnknownNameError/ScenarioError for an unknown or invalid model name
        (:func:`quartiersim.config.financing.check_model_names`)."""
        from quartiersim.config.financing import check_model_names

        check_model_names(scenario, cooperation, financing)

    @property
    def cell_need(self) -> np.ndarray | None:
        """Need-hours by cell and domain over the run (``cells``), None if not tracked."""
        return None if self.cells is None else self.cells.need_hours

    @property
    def cell_served(self) -> np.ndarray | None:
        """Served hours by cell and domain over the run (``cells``), None if not tracked."""
        return None if self.cells is None else self.cells.served_hours

    def best_points_by_domain(self, access_class: int = 0) -> np.ndarray:
        """Each cell's best point per domain by its residents' mean trust, shape (6, n_cells)
        (:func:`matching.best_points_by_domain`)."""
        return matching.best_points_by_domain(self, AccessClass(access_class))

    @property
    def social_network(self):
        """The social network as a networkx Graph over slots (built on first access)."""
        if self._social_network is None:
            self._social_network = to_networkx(self.ties, self.residents.n)
        return self._social_network

    # ------------------------------------------------------------------ the month
    def step(self) -> None:
        """One month, in the order of docs/ODD.md (process overview). Called as
        ``model.step()``: Mesa advances its time and step count, then calls this
        (:meth:`_step_within_horizon` first checks the horizon)."""
        self.ledger.start_month()
        demography.demography(self)  # 1 ageing, deaths, births, moves
        needs.needs_arise_and_escalate(self)  # 2 onset, escalation into mandatory cases
        awareness.spread_awareness(self)  # 3 learning over ties and outreach, forgetting
        volunteering.activate_volunteers(self)  # 4 residents start volunteering, find a place
        staffing.staff_come_and_go(self)  # 5 vacancies fill, notice runs out, experience grows
        matching.match_and_serve(self)  # 6 capacity, seeking, rationing, cross-referral
        trust.learn_from_experience(self)  # 7 trust moves with what residents got, and spreads
        recording.count_need_and_service(self)  # the month's need and service, before 8
        resolution.resolve_needs(self)  # 8 needs resolve by the served share
        payments.pay_for_provision(self)  # 9 payments and mandatory cases booked
        carriers.carriers_settle(self)  # 10 own funds spent, costs, staff cuts, closure
        attrition.volunteers_quit_or_stay(self)  # 11 attrition: results, burnout
        if self.steps % 12 == 0:  # 12 year end
            year.close_year(self)  # budget year, consolidation, the year's needs
            self.plan_year()  # shocks, grant co-financing, funds, provision
        if not self.spinning_up:  # the spin-up is never observed (ODD 4.1)
            recording.record_month(self)  # 13 the month's statistics
            self.datacollector.collect(self)
            self.running = self.steps < 12 * self.years  # Mesa's stop flag: the horizon

    def _step_within_horizon(self) -> None:
        """``model.step()``: one month (Mesa's step, which calls :meth:`step`).

        Raises:
            HorizonError: the horizon's ``12 * years`` months are done (``running`` is
                False); nothing is changed, so the model can still be read.
        """
        if self.steps >= 12 * self.years and not self.spinning_up:
            raise HorizonError(f"month {self.steps + 1} is past the model's horizon of "
                               f"{12 * self.years} months (years={self.years}; model.running "
                               "is False): make the model with a larger years= to run longer")
        self._mesa_step()

    def plan_year(self) -> None:
        """Plan the coming year (at the start and after each year close): the year's
        fiscal shocks on transfer status (stress test only), grant co-financing, then the
        funds, the cooperation model's provision and who pays each payment."""
        year_index = 0 if self.spinning_up else self.steps // 12  # spin-up: start-year prices
        calendar_year = self.start_year + year_index
        self.price_index = self.municipality.price_index(year_index)
        apply_transfer_shocks(self, calendar_year)
        cofinancing.grant_cofinancing(self, year_index, calendar_year)
        year.plan_provision(self, year_index, calendar_year)

    # ------------------------------------------------------------------ initialization
    def provide(self, cooperation: str, financing: str) -> None:
        """Organise provision by ``cooperation`` and ``financing`` (:func:`initialization.provide`)."""
        initialization.provide(self, cooperation, financing)

    def spin_up(self, months: int, keep_bookings: bool = False) -> None:
        """Run ``months`` under the status quo before the horizon (:func:`initialization.spin_up`)."""
        initialization.spin_up(self, months, keep_bookings)

    # ------------------------------------------------------------------ queries
    def open_carriers(self) -> list[Carrier]:
        return [c for c in self.carriers_list if c.is_open]

    def run_months(self, months: int, callback: Callable[[QuarterModel], None] | None = None) -> None:
        """Advance ``months`` steps, calling ``callback(model)`` after each."""
        for _ in range(months):
            self.step()
            if callback is not None:
                callback(self)
