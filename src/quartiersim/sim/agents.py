"""Mesa agents: Resident, Volunteer, Carrier (freier Träger) and Municipality (Kommune).

Residents and volunteers are many; their hot state lives in arrays owned by the model
(:class:`quartiersim.sim.population.ResidentArrays`, one row per dwelling slot) so that the
monthly processes run as array operations. The agent objects are the Mesa interface
onto that state: ``model.agents_by_type[Resident]`` is an AgentSet like any other, and
each property reads the resident's row. Carriers and the municipality are few and keep
their state on the agent.

Residents and volunteers arrive and leave by the hundred each month (by the thousand at
the start, 600,000 in a city). Mesa 3.5 registers one agent at a time (``Agent.__init__``
-> ``Model.register_agent``: a signal emit, the AgentSets, a debug message formatted per
agent with logging off; about 2-5 µs each) and has no bulk registration
(``Agent.create_agents`` loops over it). :meth:`Resident.add_to`,
:meth:`Resident.remove_from` and the same of :class:`Volunteer` do what
``register_agent`` / ``deregister_agent`` do, for a whole batch at once
(:func:`register_many`, :func:`deregister_many`): the same unique ids in the same order,
the same AgentSets (``model.agents``, ``model.agents_by_type``). Where the per-agent path
would do more (someone subscribed to the model's ``agents`` signals or batches them,
Mesa's debug log is on, a dataset tracks the class, or a Mesa version keeps its agents
differently) they take that path, agent by agent.

Nobody looks at these agents while a run steps, so they are made when first asked for
(:class:`AgentLog`): an arrival or a leaving is written to the model's log (its unique
ids are taken at once), and the log is replayed in order, in bulk, the first time
anything reads ``model.agents``, the Resident or Volunteer AgentSet of
``model.agents_by_type``, ``model.resident_of_slot`` or ``model.volunteer_of_slot``
(their lengths excepted), so that the model's agents, their ids and their order are
those of making them at once (an agent registered one by one meanwhile, e.g. a Carrier,
took its id after the logged ones; the replay puts it after them, as Mesa orders its
agents by registration). A class's first agent is made at once (it sets up the
AgentSet). A month, and the start's population, then cost no agent work at all.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import ItemsView, Iterator, KeysView, Mapping, Sequence, ValuesView
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np
from mesa import Agent
from mesa.agentset import _HardKeyAgentSet

from quartiersim.config.domains import (
    DOMAINS,
    CofinancingRoute,
    CostCategory,
    Domain,
    Payer,
)
from quartiersim.sim.processes.trust import place_closed

from quartiersim.sim.staff import NO_DOMAIN, PostKey, Role

if TYPE_CHECKING:
    from quartiersim.config.schema import CarrierSpec
    from quartiersim.config.schema import Municipality as MunicipalitySpec
    from quartiersim.sim.model import QuarterModel
    from quartiersim.sim.space import ServicePoint


_unique_id = attrgetter("unique_id")

#: Mesa's logger of agent registration (its debug messages are per agent).
_MESA_MODEL_LOG = logging.getLogger("MESA.mesa.model")


def bulk_possible(model: Any, cls: type[Agent]) -> bool:
    """Whether agents of ``cls`` can be registered with ``model`` in bulk with the same
    effect as Mesa's per-agent ``register_agent``: nobody subscribed to or batches the
    model's ``agents`` signals, Mesa's debug log is off, no dataset tracks ``cls``, and
    the model keeps its agents as Mesa 3.5 does (hard-key AgentSets over a dict)."""
    subscribers = getattr(model, "subscribers", None)
    return (subscribers is not None and not any(k[0] == "agents" and v for k, v in subscribers.items())
            and getattr(model, "_batch_context", None) is None
            and not getattr(model, "_suppress", False)
            and not cls._datasets
            and not _MESA_MODEL_LOG.isEnabledFor(logging.DEBUG)
            and isinstance(getattr(model, "_all_agents", None), _HardKeyAgentSet)
            and isinstance(getattr(model._all_agents, "_agents", None), dict)
            and isinstance(getattr(model, "agent_id_counter", None), int))


def register_many[A: Agent](model: Any, cls: type[A], name: str, values: Sequence[Any],
                            construct_first: bool = True) -> list[A]:
    """New agents of ``cls``, one per item of ``values`` (``cls(model, value)``; the
    value is attribute ``name``), registered with ``model``: unique ids from
    ``model.agent_id_counter`` in order, added to ``model.agents`` and
    ``model.agents_by_type[cls]`` in order, as ``cls(model, value)`` one by one would.
    Requires :func:`bulk_possible`.

    The first agent is made by its constructor (so that CPython lays out the class's
    instances compactly, with shared attribute keys: an agent made first without
    ``__init__`` would leave every agent of the class with a dict of its own, +170 bytes),
    the others without it; with ``construct_first=False`` (the class has such an
    instance already) all without it, and no signal is emitted."""
    if not values:
        return []
    agents: list[A] = [cls(model, values[0])] if construct_first else []
    rest = values[1:] if construct_first else values
    first = model.agent_id_counter
    new = object.__new__
    collecting = gc.isenabled()
    gc.disable()  # new objects, none of them garbage: no collections while they are made
    try:
        more: list[A] = [new(cls) for _ in rest]
        for a, uid, value in zip(more, range(first, first + len(more)), rest):
            a.model = model
            a.unique_id = uid
            a.pos = None
            setattr(a, name, value)
    finally:
        if collecting:
            gc.enable()
    model.agent_id_counter = first + len(more)
    model._all_agents._agents.update(zip(more, repeat(None)))
    model._agents_by_type[cls]._agents.update(zip(more, repeat(None)))
    agents += more
    return agents


def deregister_many(model: Any, cls: type[Agent], agents: Sequence[Agent]) -> None:
    """Remove ``agents`` (all of type ``cls``, registered) from ``model`` as their
    ``remove()`` would. Requires :func:`bulk_possible`."""
    if not agents:
        return
    everyone, of_type = model._all_agents._agents, model._agents_by_type[cls]._agents
    for a in agents:
        del of_type[a]
        del everyone[a]


def remove_agents(model: Any, cls: type[Agent], index: dict, slots: np.ndarray,
                  bulk: bool | None = None) -> None:
    """Remove the ``cls`` agents of ``slots`` (int array) from ``index`` (slot -> agent)
    and from the model: in bulk where possible (module docstring; ``bulk``: whether, if
    known), else one by one."""
    agents = [index.pop(s) for s in slots.tolist()]
    if bulk if bulk is not None else bulk_possible(model, cls):
        deregister_many(model, cls, agents)
    else:
        for a in agents:
            a.remove()


class SlotIndex[A: Agent](Mapping[int, A]):
    """The agents of one class by slot (``model.resident_of_slot``,
    ``model.volunteer_of_slot``): a read-only mapping that replays the model's
    :class:`AgentLog` before it answers; its length needs no replay (it counts the
    logged arrivals and leavings)."""

    def __init__(self, log: AgentLog) -> None:
        self._log = log
        self._agents: dict[int, A] = {}  # the agents made so far
        self._pending = 0  # logged arrivals - logged leavings, not yet made

    def __len__(self) -> int:
        return len(self._agents) + self._pending

    def __getitem__(self, slot: int) -> A:
        self._log.replay()
        return self._agents[slot]

    def __iter__(self) -> Iterator[int]:
        self._log.replay()
        return iter(self._agents)

    def __contains__(self, slot: object) -> bool:
        self._log.replay()
        return slot in self._agents

    def keys(self) -> KeysView[int]:
        self._log.replay()
        return self._agents.keys()

    def values(self) -> ValuesView[A]:
        self._log.replay()
        return self._agents.values()

    def items(self) -> ItemsView[int, A]:
        self._log.replay()
        return self._agents.items()


class AgentLog:
    """Residents' and volunteers' agents made when first asked for (module docstring).

    ``add(cls, slots)`` / ``remove(cls, slots)`` log the arrival or leaving of the
    ``cls`` agents of ``slots`` (``Resident``: the residents of the slots; ``Volunteer``:
    their volunteering) and take the new agents' unique ids from
    ``model.agent_id_counter`` at once; :meth:`replay` makes and registers (or removes)
    them in the logged order with those ids, as :func:`register_many` and
    :func:`deregister_many` would have then. Where the bulk path is not possible
    (:func:`bulk_possible`), or for a class's first agents (they set up its AgentSet
    and its instances' layout), the log is replayed and the agents are made at once.
    ``index[cls]``: the :class:`SlotIndex` of the class."""

    LAZY: tuple[type[Agent], ...] = ()  # Resident and Volunteer, set below

    def __init__(self, model: QuarterModel) -> None:
        self.model = model
        self.index: dict[type[Agent], SlotIndex] = {cls: SlotIndex(self) for cls in self.LAZY}
        self._ops: list[tuple[bool, type[Agent], np.ndarray, int]] = []  # (add, cls, slots, first id)
        self._replaying = False
        self._interleaved = False  # an agent was registered one by one while ops were logged

    def registering_one(self) -> None:
        """An agent is being registered one by one (Mesa's ``register_agent``): it gets
        its id after the logged ones; :meth:`replay` puts it after them too."""
        if self._ops and not self._replaying:
            self._interleaved = True

    def _loggable(self, cls: type[Agent]) -> bool:
        model = self.model
        return cls in model._agents_by_type and bulk_possible(model, cls)

    def add(self, cls: type[Agent], slots: np.ndarray) -> None:
        if not len(slots):
            return
        model = self.model
        if cls not in model._agents_by_type and bulk_possible(model, cls):
            # the class's first agent is made at once (its AgentSet, its instances' layout)
            self.replay()
            self._make(cls, slots[:1].tolist(), True)
            slots = slots[1:]
        if self._loggable(cls):  # slots kept as an array: 8 bytes each until replayed
            self._ops.append((True, cls, np.array(slots, np.int64), model.agent_id_counter))
            model.agent_id_counter += len(slots)
            self.index[cls]._pending += len(slots)
            return
        self.replay()
        self._make(cls, slots.tolist(), bulk_possible(model, cls))

    def remove(self, cls: type[Agent], slots: np.ndarray) -> None:
        if not len(slots):  # nobody leaves (the common case for volunteers): nothing to log
            return
        if self._loggable(cls):
            self._ops.append((False, cls, np.array(slots, np.int64), 0))
            self.index[cls]._pending -= len(slots)
            return
        self.replay()
        remove_agents(self.model, cls, self.index[cls]._agents, slots)

    def _make(self, cls: type[Agent], keys: list[int], bulk: bool, logged: bool = False) -> None:
        model = self.model
        values: list[Any] = keys
        if cls is Volunteer:
            residents = self.index[Resident]._agents
            values = [residents[s] for s in keys]
        if bulk:  # logged: registered when nobody listened (the class's first agent exists)
            agents = register_many(model, cls, cls.INDEX_ATTRIBUTE, values, construct_first=not logged)
        else:
            agents = [cls(model, v) for v in values]
        self.index[cls]._agents.update(zip(keys, agents))

    def replay(self) -> None:
        """Make and register (or remove) the logged agents, in order, with their ids."""
        if not self._ops or self._replaying:
            return
        model = self.model
        self._replaying = True
        counter = model.agent_id_counter
        try:
            for add, cls, slots, first in self._ops:
                if add:
                    model.agent_id_counter = first
                    self._make(cls, slots.tolist(), True, logged=True)
                else:
                    remove_agents(model, cls, self.index[cls]._agents, slots, bulk=True)
            if self._interleaved:  # Mesa's order: by registration, i.e. by unique id
                for agent_set in [model._all_agents, *(model._agents_by_type[c] for c in self.LAZY
                                                       if c in model._agents_by_type)]:
                    order = sorted(agent_set._agents, key=_unique_id)
                    agent_set._agents.clear()
                    agent_set._agents.update(zip(order, repeat(None)))
        finally:
            self._interleaved = False
            model.agent_id_counter = counter
            self._ops.clear()
            for index in self.index.values():
                index._pending = 0
            self._replaying = False


class AgentsByType(Mapping):
    """``model.agents_by_type``: Mesa's dict of AgentSets by class, the Resident and
    Volunteer sets made complete (:meth:`AgentLog.replay`) when asked for."""

    def __init__(self, model: QuarterModel) -> None:
        self._model = model

    def __getitem__(self, cls: type[Agent]) -> Any:
        if cls in AgentLog.LAZY:
            self._model.agent_log.replay()
        return self._model._agents_by_type[cls]

    def __iter__(self) -> Iterator[type[Agent]]:
        return iter(self._model._agents_by_type)

    def __len__(self) -> int:
        return len(self._model._agents_by_type)

    def __contains__(self, cls: object) -> bool:
        return cls in self._model._agents_by_type

    def values(self) -> ValuesView[Any]:
        self._model.agent_log.replay()
        return self._model._agents_by_type.values()

    def items(self) -> ItemsView[type[Agent], Any]:
        self._model.agent_log.replay()
        return self._model._agents_by_type.items()


class Resident(Agent):
    """A resident (Bewohnerin/Bewohner): a view onto row ``slot`` of the resident arrays."""

    model: QuarterModel
    INDEX_ATTRIBUTE = "slot"  # what register_many sets

    def __init__(self, model: QuarterModel, slot: int) -> None:
        super().__init__(model)
        self.slot = int(slot)

    @classmethod
    def add_to(cls, model: QuarterModel, slots: np.ndarray) -> None:
        """Resident agents for the newly occupied ``slots`` (int array), registered in
        bulk when first asked for (module docstring) and indexed in
        ``model.resident_of_slot``."""
        model.agent_log.add(cls, slots)

    @classmethod
    def remove_from(cls, model: QuarterModel, slots: np.ndarray) -> None:
        """Remove the Resident agents of ``slots`` (int array) from the model and from
        ``model.resident_of_slot``."""
        model.agent_log.remove(cls, slots)

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
    def trust(self) -> dict[str, float]:
        """Trust in each candidate place (the home cell's nearest service points), by the
        point's layout letter, nearest first (ODD 7.4, "Trust")."""
        t = self.model.trust
        points = self.model.space.points
        row = t.level[self.slot]
        return {points[p].letter: float(row[j])
                for j, p in enumerate(t.point[self.home_cell].tolist())}

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
    INDEX_ATTRIBUTE = "resident"  # what register_many sets

    def __init__(self, model: QuarterModel, resident: Resident) -> None:
        super().__init__(model)
        self.resident = resident

    @classmethod
    def add_to(cls, model: QuarterModel, slots: np.ndarray) -> None:
        """Volunteer agents for the residents in ``slots`` (int array) who start
        volunteering, registered in bulk when first asked for (module docstring) and
        indexed in ``model.volunteer_of_slot``."""
        model.agent_log.add(cls, slots)

    @classmethod
    def remove_from(cls, model: QuarterModel, slots: np.ndarray) -> None:
        """Remove the Volunteer agents of ``slots`` (int array) from the model and from
        ``model.volunteer_of_slot``."""
        model.agent_log.remove(cls, slots)

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


AgentLog.LAZY = (Resident, Volunteer)


class Carrier(Agent):
    """A carrier (freier Träger): staff by domain at its premises, income and reserve.

    Its posts are rows of the model's :class:`~quartiersim.sim.staff.StaffStock`
    (employer = its index ``number``): staff paid from its own funds (``funded=False``;
    the scenario's ``staff_fte`` and ``coordination_fte``) and staff the cooperation
    model funds (``funded=True``, paid through :meth:`receive` in proportion to the
    staff employed). Each month (:meth:`settle_month`) its own funds arrive, it pays all
    its staff (those serving notice after their money ended included), rent and
    overhead; public money pays first, its own money the rest, which is booked to
    ``Payer.DONORS`` when spent; what it does not spend stays in its reserve (the
    carrier's, not a cost). A reserve below 0 is a deficit month: it gives notice to
    ``carrier_behaviour.staff_cut_share_per_deficit_month`` of its own-funded posts; after
    ``carrier_behaviour.close_after_deficit_months`` consecutive deficit months it
    closes (:meth:`close`). While notice from a cut still runs it cuts no further (the
    cut's saving has not come yet); once its reserve is back at the scenario's
    ``reserve_eur`` it restores its own-funded posts (they are hired anew). At each
    year's planning it spends a lasting surplus of its own money on more own-funded
    posts (:meth:`plan_own_posts`), so its reserve does not pile up.
    """

    model: QuarterModel

    def __init__(self, model: QuarterModel, spec: CarrierSpec, point: ServicePoint,
                 number: int) -> None:
        super().__init__(model)
        self.spec = spec
        self.name = spec.name
        self.number = number  # employer index of its posts
        self.point = point
        # premises and overhead; a cooperation model may move the carrier (e.g. into a
        # shared centre with a share of its rent and a lower overhead)
        self.rent_eur_per_month = spec.rent_eur_per_month
        self.overhead_share = spec.overhead_share
        self.rent_paid_eur = 0.0
        self.overhead_paid_eur = 0.0
        staff = model.staff
        for k, d in enumerate(DOMAINS):
            if spec.staff_fte.get(d, 0.0) > 0:
                staff.set_target(PostKey(number, Role.SERVICE, k, False), point.index,
                                 spec.staff_fte[d])
        if spec.coordination_fte > 0:
            staff.set_target(PostKey(number, Role.COORDINATION, NO_DOMAIN, False), point.index,
                             spec.coordination_fte)
        #: its own-funded posts (rows of the staff stock) and their targets as the
        #: scenario plans them (restored when its reserve is back at ``spec.reserve_eur``)
        self.own_posts = staff.rows(employer=number, funded=False)
        self.own_posts_planned = staff.target[self.own_posts].copy()
        self.reserve_eur = spec.reserve_eur
        self.reserve_start_eur = spec.reserve_eur  # at the horizon's start (after the spin-up)
        self.is_open = True
        self.deficit_months = 0
        self.income_month_eur = 0.0
        self.spent_eur = 0.0
        self.received_eur = 0.0
        self.own_spent_eur = 0.0
        #: public income over the horizon by payer, EUR (its income mix)
        self.income_by_payer: dict[Payer, float] = {}

    # ------------------------------------------------------------------ staff
    def _fte(self, role: Role, funded: bool | None) -> np.ndarray:
        st = self.model.staff
        rows = st.rows(employer=self.number, role=role, funded=funded)
        out = np.zeros(len(DOMAINS))
        if role is Role.SERVICE:
            np.add.at(out, st.domain[rows], st.fte[rows])
            return out
        return np.array([st.fte[rows].sum()])

    @property
    def own_fte(self) -> np.ndarray:
        """Employed own-funded service staff by domain, FTE, shape (6,)."""
        return self._fte(Role.SERVICE, False)

    @property
    def funded_fte(self) -> np.ndarray:
        """Employed service staff the cooperation model funds, by domain, FTE, (6,)."""
        return self._fte(Role.SERVICE, True)

    @property
    def staff_fte(self) -> np.ndarray:
        """All employed service staff by domain, FTE (own + funded), shape (6,)."""
        return self._fte(Role.SERVICE, None)

    @property
    def coordination_fte(self) -> float:
        """Employed volunteer coordinators, FTE (own + funded)."""
        return float(self._fte(Role.COORDINATION, None)[0])

    @property
    def own_target_fte(self) -> np.ndarray:
        """Own-funded service posts by domain, FTE (the target, filled or not), (6,)."""
        st = self.model.staff
        rows = st.rows(employer=self.number, role=Role.SERVICE, funded=False)
        out = np.zeros(len(DOMAINS))
        np.add.at(out, st.domain[rows], st.target[rows])
        return out

    @property
    def hour_cost_eur(self) -> float:
        """Full cost of one staff hour (direct cost plus overhead), EUR, in the year's
        prices (``model.price_index``)."""
        return self.spec.cost_eur_per_staff_hour * (1.0 + self.overhead_share) * self.model.price_index

    # ------------------------------------------------------------------ money
    def receive(self, amount_eur: float, payer: Payer | None = None) -> None:
        """Income from a payer this month (the payer's booking is made by the caller)."""
        self.income_month_eur += amount_eur
        if payer is not None:
            self.income_by_payer[payer] = self.income_by_payer.get(payer, 0.0) + amount_eur

    def _hours(self) -> float:
        """Staff hours it pays this month: every employed FTE of its posts."""
        st = self.model.staff
        return float(st.fte[st.rows(employer=self.number)].sum()) * self.model.hours_per_fte

    def monthly_cost_eur(self, hours: float | None = None) -> float:
        """This month's cost, EUR: staff hours (``hours``, default :meth:`_hours`) at the
        full hour cost plus rent, in the year's prices; 0 when closed."""
        if not self.is_open:
            return 0.0
        if hours is None:
            hours = self._hours()
        return hours * self.hour_cost_eur + self.rent_eur_per_month * self.model.price_index

    def settle_month(self) -> None:
        """Own funds arrive, costs are paid (public money first, then its own, booked to
        donors when spent), the reserve absorbs the difference; a deficit cuts own staff
        and may close the carrier."""
        if not self.is_open:
            self.income_month_eur = 0.0
            return
        index = self.model.price_index  # own funds grow with the wage level (assumption)
        own = self.spec.own_funds_eur_per_year / 12.0 * index
        public = self.income_month_eur
        hours = self._hours()
        cost = self.monthly_cost_eur(hours)
        from_own = max(cost - public, 0.0)
        self.model.ledger.book(self.model.steps, Payer.DONORS, CostCategory.VOLUNTARY,
                               "carrier_own_funds", from_own)
        self.own_spent_eur += from_own
        self.rent_paid_eur += self.rent_eur_per_month * index
        self.overhead_paid_eur += hours * self.spec.cost_eur_per_staff_hour * self.overhead_share * index
        self.reserve_eur += own + public - cost
        self.received_eur += own + public
        self.spent_eur += cost
        self.income_month_eur = 0.0
        st = self.model.staff
        own_posts = self.own_posts
        if self.reserve_eur < 0:
            behaviour = self.model.config.carrier_behaviour
            self.deficit_months += 1
            if st.leaving[own_posts].sum() <= 0:  # no earlier cut still serving notice
                st.target[own_posts] *= 1.0 - self.cut_share(own + public)
            if self.deficit_months >= behaviour.close_after_deficit_months:
                self.close()
        else:
            self.deficit_months = 0
            if self.reserve_eur >= self.spec.reserve_eur:  # its buffer is whole again
                self.restore_own_posts(own + public)

    def cut_share(self, income_eur: float) -> float:
        """Share of its own-funded posts a carrier in deficit gives notice to this month.

        It plans to be out of deficit before it would have to close: the reserve it
        will have when the notice has run out (this month's shortfall, ``income_eur``
        against its cost, for ``staffing.notice_months`` more months) is to be repaid in
        the months then left before ``carrier_behaviour.close_after_deficit_months`` (at
        least one), on top of balancing its posts' targets and rent against its income.
        The share is at least ``staff_cut_share_per_deficit_month``, at most 1."""
        behaviour = self.model.config.carrier_behaviour
        st, m = self.model.staff, self.model
        per_fte = m.hours_per_fte * self.hour_cost_eur
        own_cost = float(st.target[self.own_posts].sum()) * per_fte
        if own_cost <= 0:
            return 0.0
        notice = m.config.staffing.notice_months
        planned = float(st.target[st.rows(employer=self.number)].sum()) * per_fte
        gap = planned + self.rent_eur_per_month * m.price_index - income_eur
        projected = self.reserve_eur + notice * min(income_eur - self.monthly_cost_eur(), 0.0)
        months_left = max(1, behaviour.close_after_deficit_months - self.deficit_months - notice - 1)
        saving = max(gap, 0.0) + max(-projected, 0.0) / months_left
        return min(1.0, max(behaviour.staff_cut_share_per_deficit_month, saving / own_cost))

    def restore_own_posts(self, income_eur: float) -> None:
        """Its buffer whole again, a carrier restores cut own-funded posts towards their
        planned level, as far as the month's income (``income_eur``) pays them besides
        its other posts and its rent (a carrier whose own money never paid the planned
        level does not cut and restore in turn)."""
        st, m = self.model.staff, self.model
        per_fte = m.hours_per_fte * self.hour_cost_eur
        planned = float(self.own_posts_planned.sum()) * per_fte
        if planned <= 0:
            return
        others = float(st.target[st.rows(employer=self.number, funded=True)].sum()) * per_fte
        affordable = income_eur - others - self.rent_eur_per_month * m.price_index
        level = self.own_posts_planned * min(1.0, max(affordable, 0.0) / planned)
        st.target[self.own_posts] = np.maximum(st.target[self.own_posts], level)

    def plan_own_posts(self) -> None:
        """At the year's planning: spend what its own money lastingly leaves on its own
        posts.

        A non-profit carrier must use its funds for its purposes in good time (timely use
        of funds, § 55 (1) no. 5 Abgabenordnung: within the two years after receipt;
        docs/sources.md: ao-55) and keeps only a buffer. So when its own funds for the
        coming year (indexed) exceed the cost of its planned own-funded posts and its
        rent, and its reserve is at least its buffer (``reserve_eur`` of the scenario), it
        raises its planned own-funded posts in proportion until they use them. A carrier
        without own posts, or whose money does not stretch that far, changes nothing here
        (a deficit is handled monthly, :meth:`settle_month`)."""
        if not self.is_open or self.own_posts_planned.sum() <= 0:
            return
        m = self.model
        year_cost = 12.0 * m.hours_per_fte * self.hour_cost_eur
        own_cost = float(self.own_posts_planned.sum()) * year_cost
        available = (self.spec.own_funds_eur_per_year * m.price_index - own_cost
                     - 12.0 * self.rent_eur_per_month * m.price_index)
        if available <= 0 or self.reserve_eur < self.spec.reserve_eur:
            return
        self.own_posts_planned = self.own_posts_planned * (1.0 + available / own_cost)
        m.staff.target[self.own_posts] = self.own_posts_planned

    def close(self) -> None:
        """Stop offering: its posts end (staff gone, experience lost), no rent; the point
        drops out of matching and residents' trust in the place is gone
        (:func:`~quartiersim.sim.processes.trust.place_closed`)."""
        self.is_open = False
        self.model.staff.end_employer(self.number)
        place_closed(self.model, self.point)


@dataclass(frozen=True)
class YearClose:
    """The municipality's budget year, EUR (nominal, in the year's prices).
    ``balance = revenue - expenses``.

    Attributes:
        year: calendar year.
        revenue_eur: the city's revenue (with shocks and consolidation aid).
        other_expenses_eur: all city expenses outside the quarter's offers and mandatory
            cases: the indexed base, less the cut part of the rest of the voluntary line
            and the other consolidation measures.
        quarter_voluntary_eur, quarter_mandatory_eur: what the simulation booked to the
            municipality for the quarter.
        voluntary_budget_eur: the quarter's voluntary budget in force this year.
        consolidation_cut: whether the close cut next year's voluntary line.
        voluntary_line_eur: the city's whole voluntary line in force this year (the
            quarter's budget included).
        voluntary_level: the line in force as a share of its pre-cut (indexed) level.
        cut_eur: how much the close cut from the voluntary line (this year's prices).
        restored_eur: how much of a surplus the close gave back to the voluntary line.
        measures_eur: the other consolidation measures in force this year (lower other
            expenses).
    """

    year: int
    revenue_eur: float
    other_expenses_eur: float
    quarter_voluntary_eur: float
    quarter_mandatory_eur: float
    voluntary_budget_eur: float
    consolidation_cut: bool
    voluntary_line_eur: float = 0.0
    voluntary_level: float = 1.0
    cut_eur: float = 0.0
    restored_eur: float = 0.0
    measures_eur: float = 0.0

    @property
    def expenses_eur(self) -> float:
        return self.other_expenses_eur + self.quarter_voluntary_eur + self.quarter_mandatory_eur

    @property
    def balance_eur(self) -> float:
        return self.revenue_eur - self.expenses_eur


class Municipality(Agent):
    """The municipality (Kommune): city budget, voluntary line, the quarter's voluntary
    budget, own staff.

    Prices. All expenses grow with one price index, ``(1 + expense_growth_per_year)^k``
    in year ``k`` of the horizon (0-based; :meth:`price_index`): the city's other
    expenses, and every price of the quarter (staff hour costs, rents, case costs,
    contract prices; ``model.price_index``). Revenue grows at ``revenue_growth_per_year``.

    The voluntary line. The city's voluntary services (freiwillige Leistungen) are a line
    of ``voluntary_line_share`` of its start-year expenses; the quarter's voluntary budget
    (``voluntary_budget_eur_per_year``) is part of it, the rest is inside the other
    expenses. The line in force is ``voluntary_level`` (1 = pre-cut) times its indexed
    pre-cut level; a cut or a restoration moves the level, so it hits the whole line and
    the quarter's share of it alike: the quarter's budget in year k is
    ``voluntary_budget_eur_per_year x level x price_index(k)``.

    The consolidation rule (:meth:`close_year`), under a consolidation regime
    (Haushaltssicherung / Stärkungspakt) only: a deficit (gap G > 0) cuts the voluntary
    line by ``consolidation_voluntary_share_of_gap x G`` for the next year, never below
    ``voluntary_budget_floor_share`` of its pre-cut level; the rest of the gap is closed
    by other measures (taxes, staff, investment: lower other expenses, for good) spread
    over the years left until the plan's target year (``consolidation_target_year``, or
    the first deficit year of the plan + ``consolidation_plan_years``): ``(1 - share) x G
    / max(1, target - year)``. A surplus S restores a cut line by
    ``restoration_share_of_surplus x S``, up to its pre-cut level; what that share leaves
    once the line is whole relaxes the other measures. Mandatory tasks (SGB
    VIII youth welfare, SGB XII) are paid whatever the balance: voluntary spending is cut
    first (seed 002, Table 1).

    New voluntary commitments (a grant's co-financing share, continuing grant-funded
    structures) need room in the budget: see :meth:`room_eur` and
    :meth:`cofinancing_route`. ``revenue_shocks`` (calendar year -> factor on revenue)
    are set by the fiscal stress test (:mod:`quartiersim.studies.stress`).
    """

    model: QuarterModel

    def __init__(self, model: QuarterModel, spec: MunicipalitySpec) -> None:
        super().__init__(model)
        self.spec = spec
        self.initial_voluntary_budget_eur = spec.voluntary_budget_eur_per_year
        #: the city's voluntary line in the start year (at least the quarter's budget)
        self.voluntary_line_start_eur = max(
            spec.voluntary_line_share * (spec.other_expenses_eur_per_year
                                         + spec.voluntary_budget_eur_per_year),
            spec.voluntary_budget_eur_per_year)
        self.revenue_shocks: dict[int, float] = {}
        self.reset()

    def reset(self) -> None:
        """The budget as at the start year: no cut, no measures, no history (also after
        the spin-up)."""
        self.voluntary_level = 1.0
        self.measures_start_eur = 0.0  # other consolidation measures, start-year prices
        self.plan_target_year: int | None = None
        self.voluntary_budget_eur = self.initial_voluntary_budget_eur
        self.history: list[YearClose] = []
        self.year_voluntary_eur = 0.0
        self.year_mandatory_eur = 0.0

    @property
    def hour_cost_eur(self) -> float:
        """Full cost of one hour of municipal staff (direct cost plus overhead), EUR, in
        the year's prices (``model.price_index``)."""
        return self.spec.staff_cost_eur_per_hour * (1.0 + self.spec.overhead_share) * self.model.price_index

    def post_cost_eur_per_year(self, workplace: bool = True) -> float:
        """Cost of one FTE of a municipal post for a year, EUR: its hours at
        :attr:`hour_cost_eur` plus, with ``workplace``, the imputed workplace
        (``municipality.workplace_eur_per_month_per_fte``, indexed); without it where the
        cooperation model pays the rooms the post works in (offices, meeting point)."""
        m = self.model
        cost = 12.0 * m.hours_per_fte * self.hour_cost_eur
        if workplace:
            cost += 12.0 * self.spec.workplace_eur_per_month_per_fte * m.price_index
        return cost

    def price_index(self, year_index: int) -> float:
        """Price level of year ``year_index`` (0-based) relative to the start year:
        ``(1 + expense_growth_per_year) ** year_index``."""
        return (1.0 + self.spec.expense_growth_per_year) ** year_index

    def voluntary_line_eur(self, year_index: int) -> float:
        """The city's voluntary line in force in year ``year_index``, EUR (cut level x
        indexed pre-cut level)."""
        return self.voluntary_line_start_eur * self.voluntary_level * self.price_index(year_index)

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
        """The city's expenses outside the quarter in year ``year_index`` at the cut
        level in force: ``(other - rest of the line x (1 - level) - measures) x index``."""
        s = self.spec
        rest_of_line = self.voluntary_line_start_eur - self.initial_voluntary_budget_eur
        base = (s.other_expenses_eur_per_year - rest_of_line * (1.0 - self.voluntary_level)
                - self.measures_start_eur)
        return base * self.price_index(year_index)

    def pay(self, category: CostCategory, amount_eur: float) -> None:
        """Record the municipality's own share of a quarter payment (already booked)."""
        if category is CostCategory.VOLUNTARY:
            self.year_voluntary_eur += amount_eur
        else:
            self.year_mandatory_eur += amount_eur

    def close_year(self, year_index: int, calendar_year: int) -> YearClose:
        """Close the budget year and apply the consolidation rule for the next year
        (class docstring); sets the next year's ``voluntary_budget_eur``."""
        s = self.spec
        revenue = self.revenue_eur(year_index, calendar_year)
        other = self.other_expenses_eur(year_index)
        balance = revenue - other - self.year_voluntary_eur - self.year_mandatory_eur
        index = self.price_index(year_index)
        pre_cut_line = self.voluntary_line_start_eur * index
        level_before = self.voluntary_level
        measures_before = self.measures_start_eur * index
        cut = restored = 0.0
        if s.consolidation_regime and balance < 0:
            gap = -balance
            share = s.consolidation_voluntary_share_of_gap
            if pre_cut_line > 0:
                self.voluntary_level = max(min(s.voluntary_budget_floor_share, level_before),
                                           level_before - share * gap / pre_cut_line)
            cut = (level_before - self.voluntary_level) * pre_cut_line
            if self.plan_target_year is None:
                self.plan_target_year = (s.consolidation_target_year or
                                         calendar_year + s.consolidation_plan_years)
            years_left = max(1, self.plan_target_year - calendar_year)
            self.measures_start_eur += (1.0 - share) * gap / years_left / index
        elif s.consolidation_regime and balance > 0:
            if not s.consolidation_target_year:
                self.plan_target_year = None  # the plan is fulfilled; a new deficit starts one
            room = s.restoration_share_of_surplus * balance
            if pre_cut_line > 0 and level_before < 1.0:
                self.voluntary_level = min(1.0, level_before + room / pre_cut_line)
            restored = (self.voluntary_level - level_before) * pre_cut_line
            # what the share leaves once the line is whole relaxes the other measures
            relaxed = min(self.measures_start_eur * index, room - restored)
            self.measures_start_eur -= relaxed / index
        close = YearClose(calendar_year, revenue, other, self.year_voluntary_eur,
                          self.year_mandatory_eur, self.voluntary_budget_eur, cut > 0,
                          voluntary_line_eur=level_before * pre_cut_line,
                          voluntary_level=level_before, cut_eur=cut, restored_eur=restored,
                          measures_eur=measures_before)
        self.history.append(close)
        self.voluntary_budget_eur = (self.initial_voluntary_budget_eur * self.voluntary_level
                                     * self.price_index(year_index + 1))
        self.year_voluntary_eur = 0.0
        self.year_mandatory_eur = 0.0
        return close
