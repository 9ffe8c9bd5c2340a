"""The quarter model: one Mesa Model, one month per step.

``QuarterModel.step()`` is the model description: the ordered list of processes in
docs/ODD.md, section "Process overview and scheduling". Per-resident processes are
array operations over :class:`~quartiersim.sim.population.ResidentArrays`; Resident and
Volunteer agents are the Mesa interface onto those rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
from mesa import DataCollector, Model

from quartiersim.config.domains import DOMAINS, N_DOMAINS, CostCategory, Group, Payer
from quartiersim.config.schema import Scenario, Shock
from quartiersim.sim.agents import Carrier, Municipality, Resident, Volunteer, YearClose
from quartiersim.sim.cooperation import COOPERATION_MODELS, CooperationModel
from quartiersim.sim.financing import FinancingModel
from quartiersim.sim.ledger import Ledger
from quartiersim.sim.population import (
    ResidentArrays,
    TieCounter,
    adjacency,
    build_ties,
    eligibility_groups,
    initial_ages,
    newcomer_ages,
    onset_by_code,
    place_households,
    status_codes,
    to_networkx,
)
from quartiersim.sim.shocks import apply_transfer_shocks, revenue_factors
from quartiersim.sim.space import QuarterSpace

GROUPS: tuple[Group, ...] = tuple(Group)
#: Offer patterns (which points offer a domain) whose best points are kept.
BEST_POINTS_CACHE = 64
#: Relative move-out rate for ages <18, 18-34, 35-64, 65+ (assumption: young adults move
#: most, older residents least); normalised so the scenario's overall rate holds.
MOVE_AGE_FACTOR = (0.8, 2.0, 0.8, 0.3)


def _monthly(p_year: np.ndarray | float) -> np.ndarray | float:
    """Convert an annual probability to a monthly one."""
    return 1.0 - (1.0 - np.minimum(p_year, 1.0)) ** (1.0 / 12.0)


def _stat(key: str, model: QuarterModel) -> float:
    """DataCollector reporter (via functools.partial): one monthly statistic."""
    return model.month_stats[key]


SERIES_KEYS: tuple[str, ...] = (
    "year", "month", "residents", "coverage", *(f"coverage_{d.value}" for d in DOMAINS),
    "need_hours", "served_hours", "unmet_need_hours", "staff_hours", "volunteer_hours",
    "new_mandatory_cases", "active_mandatory_cases", "volunteers", "volunteers_deployed",
    "carriers_open", "municipal_cost_eur", "municipal_voluntary_eur", "municipal_mandatory_eur",
    "total_cost_eur", "voluntary_budget_eur", "awareness",
)


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
            (``cell_need``, ``cell_served``; for :func:`~quartiersim.sim.outcomes.cell_outcomes`).

    Raises:
        UnknownNameError: unknown cooperation or financing model name.
        ScenarioError: the scenario lacks what the cooperation model needs.
    """

    def __init__(self, scenario: Scenario, cooperation: str | None = None,
                 financing: str | None = None, rng: int | None = None, years: int = 10,
                 keep_bookings: bool = False, shocks: Sequence[Shock] = (),
                 track_cells: bool = False) -> None:
        super().__init__(rng=rng)
        self.config = scenario
        self.years = years
        cooperation = cooperation or scenario.default_cooperation
        financing = financing or scenario.default_financing
        self.check_names(scenario, cooperation, financing)
        mun = scenario.municipality
        self.hours_per_fte = mun.hours_per_fte_per_month
        self.start_year = scenario.meta.start_year
        self.ledger = Ledger(years + 1, keep_entries=keep_bookings)
        self._cache_need_parameters()

        # space, population, network
        self.space = QuarterSpace(scenario.space, random=self.random)
        self._setup_population()
        # actors
        self.municipality = Municipality(self, mun, len(self.space.points))
        self.carriers_list: list[Carrier] = [
            Carrier(self, spec, self.space.point(spec.point)) for spec in scenario.carriers]
        self.cooperation: CooperationModel = COOPERATION_MODELS[cooperation](
            self, scenario.cooperation_params(cooperation))
        self.cooperation.setup()
        self.financing = FinancingModel(self, financing)
        self.shocks = tuple(shocks)
        self.municipality.revenue_shocks = revenue_factors(self.shocks)
        self._setup_volunteers()

        # accumulators over the run (need and served hours by domain and group)
        self.acc_need = np.zeros(N_DOMAINS)
        self.acc_served = np.zeros(N_DOMAINS)
        self.acc_need_group = np.zeros(len(GROUPS))
        self.acc_served_group = np.zeros(len(GROUPS))
        self.year_need = np.zeros(N_DOMAINS)
        self.new_cases = np.zeros(N_DOMAINS, dtype=np.int64)
        self.volunteer_hours_total = 0.0
        self.volunteers_quit = 0
        self.volunteer_months = 0
        self.used_volunteer_hours = np.zeros((len(self.space.points), N_DOMAINS))
        # per cell: residents at the start; need and served hours by domain over the run,
        # flat domain-major (entry k * n_cells + cell), only when asked (two bincounts a month)
        n_cells = self.space.n_cells
        a = self.residents
        self.cell_residents_start = np.bincount(a.home_cell[a.alive], minlength=n_cells)
        self.cell_need = np.zeros(N_DOMAINS * n_cells) if track_cells else None
        self.cell_served = np.zeros(N_DOMAINS * n_cells) if track_cells else None
        self._cell_index: np.ndarray | None = None

        self.plan_year()
        self.month_stats: dict[str, float] = dict.fromkeys(SERIES_KEYS, 0.0)
        self.datacollector = DataCollector(model_reporters={k: partial(_stat, k) for k in SERIES_KEYS})

    @staticmethod
    def check_names(scenario: Scenario, cooperation: str | None, financing: str | None) -> None:
        """Raise UnknownNameError/ScenarioError for an unknown or invalid model name."""
        from quartiersim.config.financing import validate_financing

        scenario.cooperation_params(cooperation or scenario.default_cooperation)
        validate_financing(scenario, financing or scenario.default_financing)

    # ------------------------------------------------------------------ set-up
    def _cache_need_parameters(self) -> None:
        """Per-domain need parameters as vectors (6,) and the onset table, computed once
        (the scenario is frozen)."""
        needs = self.config.needs

        def vec(attr: str, dtype: type = float) -> np.ndarray:
            return np.array([getattr(needs[d], attr) for d in DOMAINS], dtype=dtype)

        self._hours = vec("hours_per_month")
        self._escalation_delay = vec("escalation_delay_months")
        self._escalation_p = vec("escalation_probability_per_month")
        self._case_duration = vec("mandatory_case_duration_months")
        self._resolve_unserved = vec("resolve_probability_unserved")
        self._resolve_served = vec("resolve_probability_served")
        self._case_cost = vec("mandatory_case_cost_eur_per_month")
        self._continuation = self.config.access.client_continuation_probability
        self._onset_by_code = onset_by_code(needs)  # (6, 4096)
        self._eligibility = eligibility_groups(needs)
        self._best_cache: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}  # see _best_points
        self._scores: np.ndarray | None = None  # see _access_scores

    def _setup_population(self) -> None:
        sc, rng = self.config, self.rng
        pop = sc.population
        n = pop.residents
        capacity = int(n * 1.1) + 16
        a = ResidentArrays.empty(capacity)
        home, household = place_households(n, self.space.housing_cells,
                                           sc.network.household_size_mean, rng,
                                           self.space.housing_weight)
        # vacant slots get dwellings too (in the same proportions), for growth and turnover
        spare_home, spare_hh = place_households(capacity - n, self.space.housing_cells, 1.0, rng,
                                                self.space.housing_weight)
        a.home_cell[:n], a.home_cell[n:] = home, spare_home
        slots = np.arange(n)
        a.draw_attributes(slots, initial_ages(pop, n, rng), pop, rng,
                          pop.share_transfer_recipients, pop.share_migration_background)
        a.cohort[slots] = True
        a.aware[slots] = rng.random((n, N_DOMAINS)) < sc.access.initial_awareness
        self.residents = a
        household_all = np.concatenate([household, spare_hh + household.max() + 1])
        self.ties = build_ties(a.home_cell, household_all, self.space.width, sc.network, rng)
        self.adjacency = adjacency(self.ties, capacity)
        self._social_network = None
        self._aware_tie_counter = TieCounter(self.adjacency)
        self._volunteer_tie_counter = TieCounter(self.adjacency)
        self.resident_of_slot: dict[int, Resident] = {}
        self._add_residents(slots)
        self.volunteer_of_slot: dict[int, Volunteer] = {}
        self.target_residents = float(n)
        self._init_needs(slots)

    def _init_needs(self, slots: np.ndarray) -> None:
        """Give residents needs at the steady-state prevalence without service,
        onset / (onset + unserved resolve rate); used at the start and for newcomers."""
        onset = self._onset_probabilities(slots)
        resolve = self._resolve_unserved
        prevalence = onset / np.maximum(onset + resolve, 1e-12)
        has = self.rng.random(prevalence.shape) < prevalence
        self.residents.need_hours[slots] = np.where(has, self._hours, 0.0)

    def _setup_volunteers(self) -> None:
        a = self.residents
        adults = np.flatnonzero(a.alive & (a.age >= 14))
        k = int(round(self.config.volunteering.rate * len(adults)))
        chosen = self.rng.choice(adults, size=k, replace=False) if k else adults[:0]
        self._start_volunteering(chosen)

    @property
    def social_network(self):
        """The social network as a networkx Graph over slots (built on first access)."""
        if self._social_network is None:
            self._social_network = to_networkx(self.ties, self.residents.n)
        return self._social_network

    # ------------------------------------------------------------------ the month
    def step(self) -> None:
        """One month, in the order of docs/ODD.md (process overview)."""
        self.ledger.start_month()
        self.demography()
        self.needs_arise_and_escalate()
        self.spread_awareness()
        self.activate_volunteers()
        self.match_and_serve()
        self.resolve_needs()
        self.pay_for_provision()
        self.carriers_settle()
        self.volunteers_quit_or_stay()
        if self.steps % 12 == 0:
            self.close_year()
        self.record_month()
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ 1 demography
    def demography(self) -> None:
        """Ageing, deaths (Gompertz), births, moves out (age-dependent) and moves in.

        Movers are replaced by newcomers of the same ages (dwelling turnover within the
        housing segment) whose status is drawn from the newcomer shares; births and
        further arrivals keep the population on its trend."""
        a, rng, pop = self.residents, self.rng, self.config.population
        living = np.flatnonzero(a.alive)
        age = a.age[living] + 1.0 / 12.0
        a.age[living] = age
        q_year = pop.mortality_at_80_per_year * np.exp2((age - 80.0) / 7.3)
        dies = rng.random(len(living)) < _monthly(q_year)
        band = (age >= 18).astype(np.intp) + (age >= 35) + (age >= 65)  # MOVE_AGE_FACTOR bands
        factor = np.array(MOVE_AGE_FACTOR)
        factor /= max(np.bincount(band, minlength=4) @ factor / max(len(living), 1), 1e-12)
        p_move = _monthly(pop.move_out_rate_per_year * factor)[band]
        moves = ~dies & (rng.random(len(living)) < p_move)
        mover_ages = age[moves]
        self._remove_residents(living[dies | moves])
        n_alive = int(np.count_nonzero(a.alive))
        births = int(rng.poisson(pop.births_per_1000_per_year / 1000.0 / 12.0 * n_alive))
        self.target_residents *= (1.0 + pop.population_change_per_year) ** (1.0 / 12.0)
        arrivals = max(0, int(round(self.target_residents)) - n_alive)
        births = min(births, arrivals)
        ages = np.concatenate([np.zeros(births), rng.permutation(mover_ages)])
        if arrivals > len(ages):
            ages = np.concatenate([ages, newcomer_ages(arrivals - len(ages), rng)])
        if arrivals:
            self._move_in(ages[:arrivals])

    def _remove_residents(self, slots: np.ndarray) -> None:
        """Residents in ``slots`` leave (death or move): their rows are cleared, their
        volunteering ends and their agents are removed from the model."""
        a = self.residents
        leaving_volunteers = slots[a.volunteer_hours[slots] > 0]
        a.alive[slots] = False
        a.need_hours[slots] = 0.0
        a.case_months_left[slots] = 0
        a.aware[slots] = False
        self._stop_volunteering(leaving_volunteers)
        pop = self.resident_of_slot.pop
        for s in slots.tolist():
            pop(s).remove()

    def _move_in(self, ages: np.ndarray) -> None:
        a, pop = self.residents, self.config.population
        k = len(ages)
        free = np.flatnonzero(~a.alive)
        if len(free) < k:
            self._grow(k - len(free))
            free = np.flatnonzero(~a.alive)
        slots = self.rng.choice(free, size=k, replace=False)
        a.draw_attributes(slots, ages, pop, self.rng,
                          pop.newcomer_share_transfer_recipients,
                          pop.newcomer_share_migration_background)
        self._init_needs(slots)  # newcomers bring needs like everybody else
        self._add_residents(slots)

    def _add_residents(self, slots: np.ndarray) -> None:
        """Create the Resident agents (Mesa interface) for newly occupied ``slots``."""
        by_slot = self.resident_of_slot
        for s in slots.tolist():
            by_slot[s] = Resident(self, s)

    def _grow(self, extra: int) -> None:
        """Add vacant dwelling slots (without ties) when the population outgrows them."""
        a = self.residents
        more = ResidentArrays.empty(max(extra, a.n // 10))
        weight = self.space.housing_weight
        if weight is None:
            more.home_cell[:] = self.rng.choice(self.space.housing_cells, size=more.n)
        else:  # the quarter's residents per cell
            more.home_cell[:] = self.rng.choice(self.space.housing_cells, size=more.n, p=weight)
        a.extend(more)
        self.adjacency.resize((a.n, a.n))

    # ------------------------------------------------------------------ 2 needs
    def _onset_probabilities(self, slots: np.ndarray | None = None) -> np.ndarray:
        """Monthly onset probability by slot and domain, shape (n, 6) or (len(slots), 6).

        A resident's probability depends only on six status flags (see
        :func:`~quartiersim.sim.population.status_codes`) and on whether the age is in each
        domain's range, so it is a column of the precomputed onset table
        (:func:`~quartiersim.sim.population.onset_by_code`); zero for vacant slots."""
        a = self.residents
        if slots is None:
            code, age, alive = status_codes(a), a.age, a.alive
        else:
            code, age, alive = status_codes(a, slots), a.age[slots], a.alive[slots]
        for lo, hi, bits in self._eligibility:
            code |= (alive & (age >= lo) & (age <= hi)) * (bits << 6)
        return np.take(self._onset_by_code, code, axis=1).T

    def needs_arise_and_escalate(self) -> None:
        """New needs arise by age and status; needs unmet too long escalate into mandatory
        cases (Pflichtleistungen) at a unit cost to the municipality."""
        a, rng = self.residents, self.rng
        need, served, unmet = a.flat("need_hours"), a.flat("served_hours"), a.flat("unmet_months")
        cases = a.flat("case_months_left")
        # running cases: one month less; cost is booked in pay_for_provision
        cases -= cases > 0
        # onset, among free (no need, no case) entries with a positive probability
        onset = self._onset_probabilities().T.reshape(-1)  # flat domain-major
        cand = np.flatnonzero((onset > 0) & (need == 0) & (cases == 0))
        new = cand[rng.random(len(cand)) < onset[cand]]
        need[new] = self._hours[new // a.n]
        unmet[new] = 0
        # escalation of needs unmet for the delay, by last month's unmet share; over the
        # open needs only (flat domain-major entries k * n + i)
        idx = np.flatnonzero(need > 0)
        dom = idx // a.n
        at_risk = unmet[idx] >= self._escalation_delay[dom]
        idx, dom = idx[at_risk], dom[at_risk]
        unmet_share = np.clip(1.0 - served[idx] / need[idx], 0.0, 1.0)
        esc = rng.random(len(idx)) < self._escalation_p[dom] * unmet_share
        idx, dom = idx[esc], dom[esc]
        cases[idx] = self._case_duration[dom]
        need[idx] = 0.0
        unmet[idx] = 0
        n_esc = np.bincount(dom, minlength=N_DOMAINS)
        self.new_cases += n_esc
        self._new_cases_month = int(len(idx))

    # ------------------------------------------------------------------ 3 awareness, activation
    def spread_awareness(self) -> None:
        """Residents learn of offers through aware ties (1 - (1 - p)^k for k aware ties),
        through the cooperation model's outreach, and forget unused offers."""
        a, rng, acc = self.residents, self.rng, self.config.access
        aware, served = a.flat("aware"), a.flat("served_hours")
        k_aware = self._aware_ties()
        outreach = self.cooperation.outreach_probability()
        # learning: unaware residents with an aware tie (or reached by outreach)
        can_learn = ~aware & np.tile(a.alive, N_DOMAINS)
        if outreach == 0:
            can_learn &= k_aware > 0
        cand = np.flatnonzero(can_learn)
        k = k_aware[cand]
        by_ties = 1.0 - (1.0 - acc.spread_probability_per_tie) ** np.arange(k.max(initial=0) + 1)
        p_learn = by_ties[k]
        if outreach > 0:
            p_learn = 1.0 - (1.0 - p_learn) * (1.0 - outreach)
        learn = cand[rng.random(len(cand)) < p_learn]
        # forgetting: each aware resident who used no offer last month, with one probability
        # (drawn as a binomial count and a uniform choice of who)
        unused = np.flatnonzero(aware & (served == 0))
        k = rng.binomial(len(unused), acc.forget_probability_per_month)
        forget = unused[rng.choice(len(unused), size=k, replace=False)] if k else unused[:0]
        aware[learn] = True
        aware[forget] = False

    def _aware_ties(self) -> np.ndarray:
        """Number of aware ties of each slot in each domain, flat domain-major (6 * n,)."""
        return self._aware_tie_counter.count(self.residents.flat("aware"))

    def activate_volunteers(self) -> None:
        """Adults start volunteering: base chance, ties to volunteers, the model's boost."""
        a, vol, rng = self.residents, self.config.volunteering, self.rng
        is_vol = a.volunteer_hours > 0
        k = self._volunteer_tie_counter.count(is_vol)  # ties to volunteers
        base = vol.activation_probability_per_month + self.cooperation.activation_boost()
        cand = a.alive & (a.age >= 14) & ~is_vol
        # candidates without a volunteer tie share one probability: a binomial count of
        # joiners chosen uniformly; the others are drawn one by one
        lone, tied = np.flatnonzero(cand & (k == 0)), np.flatnonzero(cand & (k > 0))
        n_lone = rng.binomial(len(lone), min(max(base, 0.0), 1.0))
        p_tied = base + vol.activation_per_volunteer_tie * k[tied]
        joining = np.concatenate([lone[rng.choice(len(lone), size=n_lone, replace=False)],
                                  tied[rng.random(len(tied)) < p_tied]])
        self._start_volunteering(np.sort(joining))

    def _start_volunteering(self, slots: np.ndarray) -> None:
        if len(slots) == 0:
            return
        a, vol, rng = self.residents, self.config.volunteering, self.rng
        band = rng.choice(3, size=len(slots), p=[vol.share_low_hours,
                                                 1 - vol.share_low_hours - vol.share_high_hours,
                                                 vol.share_high_hours])
        a.volunteer_hours[slots] = np.array([vol.low_hours_per_month, vol.mid_hours_per_month,
                                             vol.high_hours_per_month])[band]
        a.volunteer_domain[slots] = rng.choice(N_DOMAINS, size=len(slots), p=vol.domain_shares())
        a.volunteer_point[slots] = self._nearest_volunteer_point(a.home_cell[slots])
        for s in slots.tolist():
            self.volunteer_of_slot[s] = Volunteer(self, self.resident_of_slot[s])

    def _stop_volunteering(self, slots: np.ndarray) -> None:
        """Volunteers in ``slots`` stop: their hours end and their agents are removed."""
        a = self.residents
        a.volunteer_hours[slots] = 0.0
        a.volunteer_point[slots] = -1
        pop = self.volunteer_of_slot.pop
        for s in slots.tolist():
            pop(s).remove()

    def _nearest_volunteer_point(self, cells: np.ndarray) -> np.ndarray:
        points = self.cooperation.volunteer_points()
        if not points:
            return np.full(len(cells), -1)
        d = self.space.distance_m[points][:, cells]  # (points, k)
        return np.asarray(points)[np.argmin(d, axis=0)]

    # ------------------------------------------------------------------ 4 matching
    def capacity(self) -> tuple[np.ndarray, np.ndarray]:
        """Staff and deployable volunteer hours this month, each shape (points, 6).

        Volunteer hours at a point are deployable up to its paid coordination capacity
        (coordination FTE x hours x volunteer hours per coordinator hour)."""
        n_p = len(self.space.points)
        staff = self.municipality.staff_fte * self.hours_per_fte
        coord = np.zeros(n_p)
        for c in self.open_carriers():
            staff[c.point.index] += c.staff_fte * self.hours_per_fte
            coord[c.point.index] += c.coordination_fte * self.hours_per_fte
        coord += self.municipality.coordination_fte * self.hours_per_fte
        a = self.residents
        vmask = (a.volunteer_hours > 0) & (a.volunteer_point >= 0)
        where = a.volunteer_point[vmask] * N_DOMAINS + a.volunteer_domain[vmask]
        offered = np.bincount(where, weights=a.volunteer_hours[vmask],
                              minlength=n_p * N_DOMAINS).reshape(n_p, N_DOMAINS)
        per_point = offered.sum(axis=1)
        limit = coord * self.config.volunteering.volunteer_hours_per_coordinator_hour \
            + self.cooperation.self_run_hours
        scale = np.where(per_point > 0, np.minimum(1.0, limit / np.maximum(per_point, 1e-12)), 0.0)
        self._coordinated_share = scale
        return staff, offered * scale[:, None] + self.cooperation.extra_volunteer_hours

    def _best_points(self, has_capacity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each domain and access class, each cell's best point and its seeking score.

        Access class = 2 x limited (75+ or mobility-limited) + language barrier.
        Returns (best, score), each shape (6, 4, n_cells); best = -1 where nothing is offered.
        Score = trust(kind) x language factor x exp(-distance / decay length).
        Each domain's part depends only on which points offer that domain, so it is
        computed once per such pattern and kept (the most recent ``BEST_POINTS_CACHE``).
        """
        parts = [self._best_points_for(has_capacity[:, k]) for k in range(N_DOMAINS)]
        return np.stack([b for b, _ in parts]), np.stack([v for _, v in parts])

    def _best_points_for(self, offering: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Best point and score (each shape (4, n_cells)) among the points ``offering``."""
        key = offering.tobytes()
        cache = self._best_cache
        if key in cache:
            cache[key] = cache.pop(key)  # most recently used last
            return cache[key]
        n_cells = self.space.n_cells
        points = np.flatnonzero(offering)
        if len(points) == 0:
            result = (np.full((4, n_cells), -1), np.zeros((4, n_cells)))
        else:
            sub = self._access_scores()[:, points, :]  # (4, offering points, cells)
            b = np.argmax(sub, axis=1)
            val = np.take_along_axis(sub, b[:, None, :], axis=1)[:, 0, :]
            result = (np.where(val > 0, points[b], -1), np.maximum(val, 0.0))
        cache[key] = result
        if len(cache) > BEST_POINTS_CACHE:
            del cache[next(iter(cache))]  # least recently used
        return result

    def _access_scores(self) -> np.ndarray:
        """Seeking score by access class, point and cell, shape (4, points, cells):
        trust(kind) x language factor (class with a language barrier) x
        exp(-distance / decay length (limited classes: the shorter one)). Computed once."""
        if self._scores is None:
            acc = self.config.access
            kinds = [p.kind for p in self.space.points]
            trust = np.array([acc.trust(k) for k in kinds])
            lang = np.array([acc.language_factor(k) for k in kinds])
            dist = self.space.distance_m
            out = np.empty((4, len(kinds), self.space.n_cells))
            for cls in range(4):
                limited, barrier = divmod(cls, 2)
                decay = acc.decay_length_limited_m if limited else acc.decay_length_m
                out[cls] = (trust * (lang if barrier else 1.0))[:, None] * np.exp(-dist / decay)
            self._scores = out
        return self._scores

    def match_and_serve(self) -> None:
        """Residents with an open need they know of seek their best reachable offer with
        probability trust x language factor x distance decay (clients served last month
        return with ``access.client_continuation_probability``); each point serves requests
        up to its capacity, rationing proportionally. Requests left unserved at a full
        point seek once more, at the best point with capacity left (second choice).
        Staff and volunteer hours are spent in proportion to their share of capacity."""
        a, rng = self.residents, self.rng
        staff, vols = self.capacity()
        cap = staff + vols
        cls = 2 * ((a.age >= 75) | a.mobility_limited) + a.language_barrier
        need, served, aware = a.flat("need_hours"), a.flat("served_hours"), a.flat("aware")
        client = served > 0  # served last month: a client who keeps coming
        a.served_hours.fill(0.0)  # last month's service is replaced here
        requested = np.zeros_like(cap)
        remaining = cap.copy()
        x = self.cooperation.cross_referral_probability
        # all domains at once: flat domain-major entries k * n + i of open, known needs
        seeking = np.flatnonzero((need > 0) & aware)
        for _choice in range(2):
            best, score = self._best_points(remaining > 1e-9)
            dom, slot = np.divmod(seeking, a.n)
            c, cells = cls[slot], a.home_cell[slot]
            bp, p_seek = best[dom, c, cells], score[dom, c, cells]
            if _choice == 0:  # clients return with the continuation probability
                p_seek = np.where(client[seeking], self._continuation, p_seek)
            go = (bp >= 0) & (rng.random(len(seeking)) < p_seek)
            entry, dom, slot, bp = seeking[go], dom[go], slot[go], bp[go]
            req = need[entry] - served[entry]
            at = bp * N_DOMAINS + dom  # (point, domain) of each request
            demand = np.bincount(at, weights=req, minlength=cap.size).reshape(cap.shape)
            frac = np.where(demand > 0, np.minimum(1.0, remaining / np.maximum(demand, 1e-12)), 0.0)
            got = req * frac.reshape(-1)[at]
            served[entry] += got
            requested += demand
            remaining -= np.minimum(demand, remaining)
            if x > 0 and len(entry):
                refer_i, refer_k = np.nonzero((cap[bp] > 0) & (rng.random((len(entry), N_DOMAINS)) < x))
                aware[refer_k * a.n + slot[refer_i]] = True
            seeking = entry[got < req - 1e-9]  # left over at a full point: second choice
        used = cap - remaining
        aware |= served > 0
        served = a.served_hours  # (n, 6)
        self.capacity_hours, self.used_hours = cap, used  # (points, 6), this month
        vol_share = np.where(cap > 0, vols / np.maximum(cap, 1e-12), 0.0)
        self.used_volunteer_hours = used * vol_share
        self.load = np.where(cap > 0, requested / np.maximum(cap, 1e-12), 0.0)
        self._staff_hours_month = float(staff.sum())
        self._volunteer_hours_month = float(self.used_volunteer_hours.sum())
        self.volunteer_hours_total += self._volunteer_hours_month
        # coverage statistics: need-hours of residents in a mandatory case count as needed
        # and not met by the offers (the need was not met preventively)
        need = a.need_hours + (a.case_months_left > 0) * self._hours
        self._need_month = need.sum(axis=0)
        self._served_month = served.sum(axis=0)
        self.acc_need += self._need_month
        self.acc_served += self._served_month
        self.year_need += self._need_month
        groups = np.array(self._group_masks(), dtype=float)  # (4, n) 0/1
        self.acc_need_group += (groups @ need).sum(axis=1)
        self.acc_served_group += (groups @ served).sum(axis=1)
        if self.cell_need is not None:
            self._accumulate_cells(need, served)

    def _accumulate_cells(self, need: np.ndarray, served: np.ndarray) -> None:
        """Add this month's need and served hours (each (n, 6)) to the per-cell accumulators:
        one bincount each over the flat domain-major entries, index k * n_cells + home cell."""
        a, n_cells = self.residents, self.space.n_cells
        if self._cell_index is None or len(self._cell_index) != N_DOMAINS * a.n:
            self._cell_index = (np.arange(N_DOMAINS)[:, None] * n_cells + a.home_cell).ravel()
        size = N_DOMAINS * n_cells
        self.cell_need += np.bincount(self._cell_index, weights=need.T.ravel(), minlength=size)
        self.cell_served += np.bincount(self._cell_index, weights=served.T.ravel(), minlength=size)

    def best_points_by_domain(self, access_class: int = 0) -> np.ndarray:
        """Each cell's best point (index, -1 where none) per domain among the points with
        capacity this month (all points before the first month), for one access class
        (0: no limitation, no language barrier; see :meth:`_best_points`); shape (6, n_cells)."""
        cap = getattr(self, "capacity_hours", None)
        offering = (np.ones((len(self.space.points), N_DOMAINS), bool) if cap is None
                    else cap > 1e-9)
        return np.stack([self._best_points_for(offering[:, k])[0][access_class]
                         for k in range(N_DOMAINS)])

    def _group_masks(self) -> list[np.ndarray]:
        a = self.residents
        return [a.alive & (a.age >= 65), a.alive & a.transfer, a.alive & a.migration,
                a.alive & a.mobility_limited]

    # ------------------------------------------------------------------ 5 delivery outcome
    def resolve_needs(self) -> None:
        """Needs resolve with a probability between the unserved and the served rate, by
        the served share; the unmet-months counter grows while less than half is served."""
        a = self.residents
        need, served, unmet = a.flat("need_hours"), a.flat("served_hours"), a.flat("unmet_months")
        idx = np.flatnonzero(need > 0)  # open needs, flat domain-major entries k * n + i
        dom = idx // a.n
        share = served[idx] / need[idx]
        p = self._resolve_unserved[dom] + \
            (self._resolve_served[dom] - self._resolve_unserved[dom]) * share
        resolved = self.rng.random(len(idx)) < p
        need[idx[resolved]] = 0.0
        unmet[idx[~resolved & (share < 0.5)]] += 1
        unmet[idx[resolved | (share >= 0.5)]] = 0

    # ------------------------------------------------------------------ 6 money
    def pay_for_provision(self) -> None:
        """Voluntary payments of the cooperation model, booked to payers by the financing
        model; carriers receive theirs. Mandatory cases are paid by the municipality."""
        self.financing.book_month(self.cooperation.payments)
        cases = np.count_nonzero(self.residents.case_months_left, axis=0)
        cost = self._case_cost
        for k, d in enumerate(DOMAINS):
            amount = float(cases[k] * cost[k])
            self.ledger.book(self.steps, Payer.MUNICIPALITY, CostCategory.MANDATORY,
                             f"mandatory_case_{d.value}", amount)
            self.municipality.pay(CostCategory.MANDATORY, amount)
        self._active_cases = int(cases.sum())

    # ------------------------------------------------------------------ 7 adaptation
    def carriers_settle(self) -> None:
        """Carriers receive own funds, pay costs, cut staff or close in deficit."""
        was_open = {c for c in self.carriers_list if c.is_open}
        if self.carriers_list:
            self.agents_by_type[Carrier].do("settle_month")
        if any(not c.is_open for c in was_open):
            self._reassign_volunteers()

    def _reassign_volunteers(self) -> None:
        a = self.residents
        vols = np.flatnonzero(a.volunteer_hours > 0)
        a.volunteer_point[vols] = self._nearest_volunteer_point(a.home_cell[vols])

    def volunteers_quit_or_stay(self) -> None:
        """Volunteers quit with a monthly hazard between the coordinated and the
        uncoordinated attrition rate (by the coordinated share of hours at their point),
        raised by overload (demand over capacity at their point and domain)."""
        a, vol = self.residents, self.config.volunteering
        vols = np.flatnonzero(a.volunteer_hours > 0)
        self.volunteer_months += len(vols)
        if len(vols) == 0:
            return
        pt, dom = a.volunteer_point[vols], a.volunteer_domain[vols]
        coordinated = np.where(pt >= 0, self._coordinated_share[np.maximum(pt, 0)], 0.0)
        annual = coordinated * vol.attrition_per_year_coordinated + \
            (1 - coordinated) * vol.attrition_per_year_uncoordinated
        load = np.where(pt >= 0, self.load[np.maximum(pt, 0), dom], 0.0)
        overload = 1.0 + (vol.overload_quit_multiplier - 1.0) * np.clip(load - 1.0, 0.0, 1.0)
        p = _monthly(annual) * overload
        quitting = vols[self.rng.random(len(vols)) < p]
        self._stop_volunteering(quitting)
        self.volunteers_quit += len(quitting)

    # ------------------------------------------------------------------ 8 year end
    def close_year(self) -> YearClose:
        """Close the municipal budget year, apply the consolidation rule, let the
        cooperation model see the year's needs, and plan the next year."""
        year_index = self.steps // 12 - 1
        close = self.municipality.close_year(year_index, self.start_year + year_index)
        self.cooperation.observe_year(self.year_need)
        self.year_need = np.zeros(N_DOMAINS)
        self.plan_year()
        return close

    def plan_year(self) -> None:
        year_index = self.steps // 12
        apply_transfer_shocks(self, self.start_year + year_index)
        funds = self.financing.funds_for_year(year_index, self.start_year + year_index)
        self.cooperation.plan_year(funds)
        self.financing.plan_bookings(self.cooperation.payments)

    # ------------------------------------------------------------------ 9 data
    def record_month(self) -> None:
        a, s = self.residents, self.month_stats
        need, served = float(self._need_month.sum()), float(self._served_month.sum())
        s["year"] = self.start_year + (self.steps - 1) // 12
        s["month"] = self.steps
        n_alive = int(np.count_nonzero(a.alive))
        s["residents"] = n_alive
        s["coverage"] = served / need if need > 0 else 1.0
        for k, d in enumerate(DOMAINS):
            nk = self._need_month[k]
            s[f"coverage_{d.value}"] = float(self._served_month[k] / nk) if nk > 0 else 1.0
        s["need_hours"] = need
        s["served_hours"] = served
        s["unmet_need_hours"] = need - served
        s["staff_hours"] = self._staff_hours_month
        s["volunteer_hours"] = self._volunteer_hours_month
        s["new_mandatory_cases"] = self._new_cases_month
        s["active_mandatory_cases"] = self._active_cases
        s["volunteers"] = len(self.volunteer_of_slot)
        s["volunteers_deployed"] = int(((a.volunteer_hours > 0) & (a.volunteer_point >= 0)).sum())
        s["carriers_open"] = len(self.open_carriers())
        led = self.ledger
        s["municipal_voluntary_eur"] = led.month_total(Payer.MUNICIPALITY, CostCategory.VOLUNTARY)
        s["municipal_mandatory_eur"] = led.month_total(Payer.MUNICIPALITY, CostCategory.MANDATORY)
        s["municipal_cost_eur"] = s["municipal_voluntary_eur"] + s["municipal_mandatory_eur"]
        s["total_cost_eur"] = led.month_total()
        s["voluntary_budget_eur"] = self.municipality.voluntary_budget_eur
        # aware is cleared for vacant slots, so this is the share over residents
        s["awareness"] = np.count_nonzero(a.aware) / (n_alive * N_DOMAINS) if n_alive else 0.0

    # ------------------------------------------------------------------ queries
    def open_carriers(self) -> list[Carrier]:
        return [c for c in self.carriers_list if c.is_open]

    def run_months(self, months: int, callback: Callable[[QuarterModel], None] | None = None) -> None:
        """Advance ``months`` steps, calling ``callback(model)`` after each."""
        for _ in range(months):
            self.step()
            if callback is not None:
                callback(self)

