"""The state that passes between the processes of a month, and the run's totals.

Both are created once, in :class:`~quartiersim.sim.model.QuarterModel`'s ``__init__``
(``model.month``, ``model.totals``), so no process depends on an attribute another one
creates. Shapes: ``points`` = service points on the layout (``model.space.points``);
``6`` = the need domains in ``DOMAINS`` order; ``4`` = the reported groups in ``Group``
order. Hours are hours in the month unless the name says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from quartiersim.config.domains import N_DOMAINS, Group


@dataclass
class MonthState:
    """What one process of the month hands to a later one. Every field is overwritten
    each month by the process named below before any process reads it; before the first
    month all are zero.

    Attributes:
        new_cases: mandatory cases started this month, count. Written by
            :func:`~quartiersim.sim.processes.needs.needs_arise_and_escalate`; read by
            recording.
        coordinated_share: (points,), share in [0, 1] of the volunteer hours offered at a
            point that its paid coordination (and self-run money) can deploy in full.
            Written by :func:`~quartiersim.sim.processes.matching.capacity`; read by
            recording.
        deployable_share: (points,), share of the offered volunteer hours that is
            deployable (the coordinated share in full, the rest at
            ``volunteering.uncoordinated_productivity``). Capacity; read by matching.
        volunteer_offered_hours: (points, 6), hours the residents volunteering at a point
            in a domain offer. Capacity; read by matching.
        volunteer_results: (points, 6), share in [0, 1] of the offered volunteer hours
            that served residents this month (what volunteers see come of their work).
            Written by matching; read by volunteering (activation) and attrition.
        capacity_hours: (points, 6), staff + deployable volunteer hours. Written by
            matching; read by outcomes, the app and the invariant tests.
        used_hours: (points, 6), hours spent serving requests (<= capacity). Matching.
        used_volunteer_hours: (points, 6), the volunteers' part of ``used_hours`` (in
            proportion to their share of the capacity). Matching.
        load: (points, 6), hours requested / capacity (0 where there is no capacity;
            above 1 when a point is over-asked). Written by matching; read by attrition.
        staff_hours: staff hours available in the quarter (capacity, not use). Matching;
            read by recording.
        volunteer_hours: volunteer hours used in the quarter. Matching; read by recording.
        need_hours: (6,), hours needed by domain: open needs plus the need-hours of
            residents in a running mandatory case (needed and not met by the offers).
            Written by :func:`~quartiersim.sim.processes.recording.count_need_and_service`
            right after matching (before resolution changes the needs); read by recording.
        served_hours: (6,), hours served by domain. As ``need_hours``.
        active_cases: running mandatory cases, count. Written by payments (which book
            them); read by recording.
        hired_fte, left_fte: FTE hired, and FTE that left their posts, this month.
            Written by :func:`~quartiersim.sim.processes.staffing.staff_come_and_go`;
            read by recording.
        requests: the month's requests, first and second choice, as four arrays of one
            length: (slot, point index, hours requested, hours got there). Written by
            matching; read by trust (:mod:`~quartiersim.sim.processes.trust`).
        matched: whether a month has been matched yet (awareness reads last month's
            capacity as what is offered; before the first month everything counts).
    """

    new_cases: int
    coordinated_share: np.ndarray
    deployable_share: np.ndarray
    volunteer_offered_hours: np.ndarray
    volunteer_results: np.ndarray
    capacity_hours: np.ndarray
    used_hours: np.ndarray
    used_volunteer_hours: np.ndarray
    load: np.ndarray
    staff_hours: float
    volunteer_hours: float
    need_hours: np.ndarray
    served_hours: np.ndarray
    active_cases: int
    requests: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    matched: bool = False
    hired_fte: float = 0.0
    left_fte: float = 0.0

    @classmethod
    def empty(cls, n_points: int) -> MonthState:
        """All zero, for a layout with ``n_points`` service points."""
        per_point = (n_points, N_DOMAINS)
        return cls(new_cases=0, coordinated_share=np.zeros(n_points),
                   deployable_share=np.zeros(n_points), volunteer_offered_hours=np.zeros(per_point),
                   volunteer_results=np.zeros(per_point),
                   capacity_hours=np.zeros(per_point), used_hours=np.zeros(per_point),
                   used_volunteer_hours=np.zeros(per_point), load=np.zeros(per_point),
                   staff_hours=0.0, volunteer_hours=0.0, need_hours=np.zeros(N_DOMAINS),
                   served_hours=np.zeros(N_DOMAINS), active_cases=0,
                   requests=(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0),
                             np.zeros(0)))


@dataclass
class RunTotals:
    """Sums over the run (over the current year for ``year_need_hours``), for the
    end-of-run outcomes (:mod:`quartiersim.sim.outcomes`) and the year close.

    Attributes:
        need_hours: (6,), need-hours by domain over the run (as ``MonthState.need_hours``).
        served_hours: (6,), served hours by domain over the run.
        need_hours_group: (4,), need-hours of each group's members, all domains.
        served_hours_group: (4,), served hours of each group's members.
        year_need_hours: (6,), need-hours by domain since the last year close; the
            cooperation model sees it at the close (then it is zeroed).
        new_cases: (6,) int, mandatory cases started by domain.
        volunteer_hours: volunteer hours used over the run.
        volunteers_quit: volunteers who quit (attrition; not those who left the quarter).
        volunteer_months: months volunteered, summed over volunteers (at attrition time).
        episodes: the need episodes begun in the horizon (:class:`EpisodeTotals`).
    """

    need_hours: np.ndarray
    served_hours: np.ndarray
    need_hours_group: np.ndarray
    served_hours_group: np.ndarray
    year_need_hours: np.ndarray
    new_cases: np.ndarray
    volunteer_hours: float = 0.0
    volunteers_quit: int = 0
    volunteer_months: int = 0
    episodes: EpisodeTotals = field(default_factory=lambda: EpisodeTotals.empty())

    @classmethod
    def empty(cls) -> RunTotals:
        return cls(need_hours=np.zeros(N_DOMAINS), served_hours=np.zeros(N_DOMAINS),
                   need_hours_group=np.zeros(len(Group)), served_hours_group=np.zeros(len(Group)),
                   year_need_hours=np.zeros(N_DOMAINS),
                   new_cases=np.zeros(N_DOMAINS, dtype=np.int64))


#: The counters of :class:`EpisodeTotals`.
EPISODE_COUNTERS: tuple[str, ...] = ("begun", "served", "wait_months", "reached", "not_reached",
                                     "resolved", "escalated", "left")


@dataclass
class EpisodeTotals:
    """Counters of the need episodes begun in the horizon (:mod:`quartiersim.sim.episodes`),
    by domain (``by_domain[name]``, (6,)) and by group (``by_group[name]``, (4,), the
    resident's group when the event was counted).

    Counters (:data:`EPISODE_COUNTERS`): ``begun`` episodes; ``served`` episodes served at
    least once; ``wait_months`` months from onset to the first service, summed over the
    served ones; ``reached`` / ``not_reached`` episodes whose reach was decided; ``resolved``
    and ``escalated`` episodes that ended so; ``left`` episodes whose resident left the
    quarter (the rest are still open).
    """

    by_domain: dict[str, np.ndarray]
    by_group: dict[str, np.ndarray]

    @classmethod
    def empty(cls) -> EpisodeTotals:
        return cls({k: np.zeros(N_DOMAINS) for k in EPISODE_COUNTERS},
                   {k: np.zeros(len(Group)) for k in EPISODE_COUNTERS})

    def add(self, name: str, by_domain: np.ndarray, by_group: np.ndarray) -> None:
        """Add counts (or sums) by domain and by group to counter ``name``."""
        self.by_domain[name] += by_domain
        self.by_group[name] += by_group

    def add_many(self, names: tuple[str, ...], by_domain: np.ndarray, by_group: np.ndarray) -> None:
        """Add column i of ``by_domain`` (6, len(names)) and ``by_group`` (4, len(names))
        to counter ``names[i]``."""
        for name, d, g in zip(names, by_domain.T, by_group.T):
            self.by_domain[name] += d
            self.by_group[name] += g


@dataclass
class CellTotals:
    """Need and served hours per cell and domain over the run, kept when the model is
    built with ``track_cells=True`` (for :func:`~quartiersim.sim.outcomes.cell_outcomes`).

    Attributes:
        need_hours, served_hours: flat domain-major (6 x n_cells,): entry
            ``k * n_cells + cell`` (as ``MonthState.need_hours``, by home cell).
    """

    n_cells: int
    need_hours: np.ndarray
    served_hours: np.ndarray
    _index: np.ndarray | None = None  # k * n_cells + home cell of each (slot, domain) entry

    @classmethod
    def empty(cls, n_cells: int) -> CellTotals:
        return cls(n_cells, np.zeros(N_DOMAINS * n_cells), np.zeros(N_DOMAINS * n_cells))

    def add(self, home_cell: np.ndarray, need: np.ndarray, served: np.ndarray) -> None:
        """Add a month's need and served hours (each (n, 6)) by home cell: one bincount
        each (the index is rebuilt only when the slots grew)."""
        if self._index is None or len(self._index) != N_DOMAINS * len(home_cell):
            self._index = (np.arange(N_DOMAINS)[:, None] * self.n_cells + home_cell).ravel()
        size = N_DOMAINS * self.n_cells
        self.need_hours += np.bincount(self._index, weights=need.T.ravel(), minlength=size)
        self.served_hours += np.bincount(self._index, weights=served.T.ravel(), minlength=size)
