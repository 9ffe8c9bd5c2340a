"""Process 7, trust from experience (ODD 7.4): each resident who sought at a place
this month moves its trust there towards what it got; its ties move theirs towards the
same outcome by word of mouth. And the places' life cycle: a place first used after the
start begins with low trust (:func:`place_opened`), a closed place loses the trust
residents had in it (:func:`place_closed`).

Trust is a state of each resident (dwelling slot) and place it can reach: its home
cell's ``K`` candidate places (:meth:`~quartiersim.sim.space.QuarterSpace.candidates`,
``K = min(points, access.candidate_points)``), an array (slots, K) indexed like the home
cell's candidates. Nothing here is slots x all points or points x cells per month.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import csr_matrix

from quartiersim.config.domains import POINT_KINDS, AccessClass, PointKind
from quartiersim.sim.population import group, partners

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel
    from quartiersim.sim.space import ServicePoint


#: Memory for the candidates' offers of recent offer patterns (:meth:`Trust.offered`).
OFFERED_BYTES = 64 * 2**20


class PlaceStatus(IntEnum):
    """Where a service point is in its life: unused since the start, in use (established
    at the start, or opened since), or closed (its carrier closed)."""

    UNUSED = 0
    OPEN = 1
    CLOSED = 2


@dataclass
class Trust:
    """Residents' trust in the places they can reach.

    Attributes:
        point: (n_cells, K) int32, each cell's candidate places (service point indices),
            nearest first (:meth:`QuarterSpace.candidates`).
        weight: (4, n_cells, K) float32, the seeking weight of each candidate by access
            class (:class:`AccessClass`): language factor of the place's kind (classes
            with a language barrier) x exp(-walking distance / decay length of the
            class); 0 where the place cannot be reached.
        level: (slots, K) float32 in [0, 1], each slot's trust in its home cell's
            candidates; 0 for vacant slots.
        start: (points,) float32, the trust of a resident without experience of the
            place (a newcomer): the prior of its kind for places established at the
            start, ``access.trust_new_place`` for places opened later, 0 for a closed one.
        status: (points,) :class:`PlaceStatus` values, int8.
        kind: (n_cells, K) int8, each candidate's kind (its position in ``PointKind``).
        position: (n_cells, points) int8 (int16 for K > 127), each point's index among
            the cell's candidates, -1 where it is none; built once per layout.
        offered_memo: awareness's offers within reach by slot and domain and the offer
            pattern they are for (:mod:`~quartiersim.sim.processes.awareness`).
    """

    point: np.ndarray
    weight: np.ndarray
    level: np.ndarray
    start: np.ndarray
    status: np.ndarray
    kind: np.ndarray
    position: np.ndarray
    _by_cell: csr_matrix | None = None  # (n_cells, slots) 0/1: each slot's home cell
    offered_memo: tuple[tuple[bytes, int], np.ndarray] | None = None

    _offered: dict[bytes, np.ndarray] = field(default_factory=dict)  # offers by offer pattern
    _in_use: tuple[bytes, np.ndarray, np.ndarray, np.ndarray] | None = field(  # in_use_by_kind's
        default=None, init=False, repr=False, compare=False)

    def in_use_by_kind(self, in_use: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The candidates in use, for ``in_use`` (points,) bool: (their flat positions in
        a (n_cells, K) array, in row-major order; their kinds (positions in
        ``PointKind``); the number of candidates in use of each kind per cell,
        (n_cells, kinds) float). The places in use change rarely (a place opens or
        closes, a domain's capacity starts or ends): the last pattern's are kept."""
        key = in_use.tobytes()
        if self._in_use is None or self._in_use[0] != key:
            use = in_use[self.point]  # (n_cells, K)
            kind = self.kind[use]
            n_kinds = len(POINT_KINDS)
            per_cell = np.zeros((self.point.shape[0], n_kinds))
            np.add.at(per_cell, (np.nonzero(use)[0], kind), 1.0)
            self._in_use = key, np.flatnonzero(use), kind, per_cell
        return self._in_use[1:]

    @property
    def k(self) -> int:
        return self.point.shape[1]

    def positions(self, cells: np.ndarray, points: np.ndarray) -> np.ndarray:
        """``position[cells, points]`` (same shape, -1 where the point is not one of the
        cell's candidates), gathered from the flat table: twice as fast as the 2-D fancy
        index on the word-of-mouth ties of a large city."""
        flat = cells.astype(np.intp) * self.position.shape[1] + points
        return self.position.reshape(-1).take(flat)

    def offered(self, offering: np.ndarray) -> np.ndarray:
        """Whether each candidate offers each domain, by domain, cell and candidate:
        (6, n_cells, K) bool, for ``offering`` (points, 6) bool. It depends only on the
        offer pattern, which changes rarely: the most recent patterns are kept, as many
        as fit in :data:`OFFERED_BYTES` (a byte per domain, cell and candidate: at
        least 14 patterns of a 1.5-million-resident city)."""
        key = offering.tobytes()
        tables = self._offered
        if key in tables:
            tables[key] = tables.pop(key)  # most recently used last
            return tables[key]
        table = np.ascontiguousarray(np.moveaxis(offering[self.point], 2, 0))  # (6, cells, K)
        keep = max(2, OFFERED_BYTES // max(table.nbytes, 1))
        while len(tables) >= keep:
            del tables[next(iter(tables))]  # least recently used
        tables[key] = table
        return table

    def cell_sums(self, home_cell: np.ndarray, alive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(trust summed over each cell's living residents, (n_cells, K); living
        residents per cell, (n_cells,)). Vacant slots hold 0, so the sum runs over all
        slots: one product with a 0/1 matrix that changes only when slots are added."""
        n_cells, n = self.point.shape[0], len(home_cell)
        if self._by_cell is None or self._by_cell.shape[1] != n:
            self._by_cell = csr_matrix((np.ones(n, np.float32), (home_cell, np.arange(n))),
                                       shape=(n_cells, n))
        return (np.asarray(self._by_cell @ self.level, dtype=np.float64),
                np.bincount(home_cell[alive], minlength=n_cells).astype(np.float64))


def init_trust(model: QuarterModel) -> Trust:
    """Trust at the start (ODD 5): the municipal offices and the premises of the
    scenario's carriers are in use (established) and start from the prior of their kind
    (``access.trust_municipal_office``, ``access.trust_carrier``); every other point is
    unused and starts at ``access.trust_new_place`` once first used. Every resident
    holds the start value of each candidate place."""
    space, acc, a = model.space, model.config.access, model.residents
    point, dist = space.candidates(acc.candidate_points)
    n_p = len(space.points)
    carrier_points = {space.point(c.spec.point).index for c in model.carriers_list}
    start = np.full(n_p, acc.trust_new_place, np.float32)
    status = np.full(n_p, PlaceStatus.UNUSED, np.int8)
    for p in space.points:  # established: an office, or a carrier's premises
        if p.index in carrier_points:
            start[p.index], status[p.index] = acc.trust_carrier, PlaceStatus.OPEN
        elif p.kind is PointKind.MUNICIPAL_OFFICE:
            start[p.index], status[p.index] = acc.trust_municipal_office, PlaceStatus.OPEN
    lang = np.array([acc.language_factor(p.kind) for p in space.points], dtype=float)[point]
    weight = np.empty((len(AccessClass), *point.shape), np.float32)
    for cls in AccessClass:
        decay = acc.decay_length_limited_m if cls.limited else acc.decay_length_m
        weight[cls] = (lang if cls.language_barrier else 1.0) * np.exp(-dist / decay)
    kind = np.array([POINT_KINDS.index(p.kind) for p in space.points], np.int8)[point]
    # once per layout, like the distances (a byte per cell and point: an eighth of them)
    position = np.full((space.n_cells, n_p), -1, np.int8 if point.shape[1] < 128 else np.int16)
    np.put_along_axis(position, point.astype(np.intp), np.arange(point.shape[1]), axis=1)
    trust = Trust(point=point, weight=weight, level=np.zeros((a.n, point.shape[1]), np.float32),
                  start=start, status=status, kind=kind, position=position)
    residents_arrived(model, np.flatnonzero(a.alive), trust)
    return trust


def residents_arrived(model: QuarterModel, slots: np.ndarray, trust: Trust | None = None) -> None:
    """Residents moving into ``slots`` hold each candidate place's start value (no
    experience of their own yet); the array grows with the slots."""
    t = trust if trust is not None else model.trust
    a = model.residents
    if t.level.shape[0] < a.n:
        t.level = np.concatenate([t.level, np.zeros((a.n - t.level.shape[0], t.k), np.float32)])
    t.level[slots] = t.start[t.point[a.home_cell[slots]]]


def residents_left(model: QuarterModel, slots: np.ndarray) -> None:
    """Residents leaving ``slots`` take their trust with them (the rows become 0)."""
    model.trust.level[slots] = 0.0


def _set_place(model: QuarterModel, point: int, value: float) -> None:
    """Every living resident's trust in ``point`` (where it is a candidate) = ``value``."""
    t, a = model.trust, model.residents
    j = t.position[a.home_cell, point]
    rows = np.flatnonzero(a.alive & (j >= 0))
    t.level[rows, j[rows]] = value


def place_opened(model: QuarterModel, point: ServicePoint | int) -> None:
    """``point`` is used for the first time since the start or since it closed: everybody
    (and every newcomer) starts at ``access.trust_new_place`` there, whatever they
    thought of what was there before."""
    p = point if isinstance(point, int) else point.index
    value = model.config.access.trust_new_place
    t = model.trust
    t.status[p], t.start[p] = PlaceStatus.OPEN, value
    _set_place(model, p, value)


def place_closed(model: QuarterModel, point: ServicePoint | int) -> None:
    """The place at ``point`` closes (its carrier closed): the trust residents had in it
    is gone (0), and if it is used again it opens as a new place (:func:`place_opened`).
    While another open carrier remains at the point (a shared centre), the place stays
    open and nothing changes."""
    p = point if isinstance(point, int) else point.index
    if any(c.is_open and c.point.index == p for c in model.carriers_list):
        return
    t = model.trust
    t.status[p], t.start[p] = PlaceStatus.CLOSED, 0.0
    _set_place(model, p, 0.0)


def notice_openings(model: QuarterModel, capacity: np.ndarray) -> None:
    """"First used" = the first month with capacity at the point: each point with
    capacity (``capacity`` (points, 6), hours) that is not open yet opens now
    (:func:`place_opened`). Called by matching before residents seek."""
    t = model.trust
    for p in ((capacity.sum(axis=1) > 1e-9) & (t.status != PlaceStatus.OPEN)).nonzero()[0].tolist():
        place_opened(model, p)


def learn_from_experience(model: QuarterModel) -> None:
    """Each resident who sought at a place this month moves its trust there towards the
    outcome o = hours got / hours requested there (summed over its requests at the
    place: 1 served in full, 0 turned away, between when rationed) by
    ``access.trust_learning_rate``: trust += rate x (o - trust). Word of mouth: each
    living tie for whom the place is a candidate moves its trust there towards the same
    outcome by ``access.trust_word_of_mouth_rate``; m experiences of ties at one place
    in a month move it by 1 - (1 - rate)^m towards their mean outcome. Then the
    cooperation model's outreach builds trust in its place (:func:`outreach_builds_trust`).
    Reads the month's requests (``model.month.requests``); writes ``model.trust.level``."""
    learn_from_requests(model)
    outreach_builds_trust(model)


def learn_from_requests(model: QuarterModel) -> None:
    """What residents got where they sought, and word of mouth
    (:func:`learn_from_experience`)."""
    t, a, acc = model.trust, model.residents, model.config.access
    slot, point, asked, got = model.month.requests
    if len(slot) == 0:
        return
    n_p = len(model.space.points)
    key, inv = group(slot.astype(np.int64) * n_p + point)
    outcome = np.bincount(inv, weights=got) / np.bincount(inv, weights=asked)
    slot, point = np.divmod(key, n_p)
    j = t.positions(a.home_cell[slot], point)  # a candidate: it was chosen
    level = t.level.reshape(-1)  # a view: level is C-contiguous (created and grown so)
    entry = slot * t.k + j
    own = level[entry]
    level[entry] = own + acc.trust_learning_rate * (outcome - own)
    rate = acc.trust_word_of_mouth_rate
    if rate <= 0:
        return
    row, tie = partners(model.adjacency, slot)
    jt = t.positions(a.home_cell.take(tie), point.take(row))
    keep = a.alive[tie] & (jt >= 0)  # living ties who can reach the place
    flat = tie[keep].astype(np.intp) * t.k + jt[keep]
    heard_of = outcome[row[keep]]
    if level.size <= 32 * len(flat):  # a dense count beats a sort
        heard = np.bincount(flat, minlength=level.size)[flat]
        mean = np.bincount(flat, weights=heard_of, minlength=level.size)[flat] / heard
    else:
        flat, inv = group(flat)
        heard = np.bincount(inv)
        mean = np.bincount(inv, weights=heard_of) / heard
    cur = level[flat]  # an entry heard of twice is written twice with the same value
    level[flat] = cur + (1.0 - (1.0 - rate) ** heard) * (mean - cur)


def outreach_builds_trust(model: QuarterModel) -> None:
    """A known address lowers the threshold (seed 004): the residents the cooperation
    model's outreach reaches this month (each living resident who can reach the
    outreaching place, :meth:`~quartiersim.sim.cooperation.CooperationModel.outreach_place`,
    with the outreach probability: a binomial count chosen uniformly) have met its staff,
    and move their trust in the place towards full trust by
    ``access.trust_word_of_mouth_rate`` (an encounter, not a service). Nothing without
    outreach. Writes ``model.trust.level``."""
    place = model.cooperation.outreach_place()
    p = model.cooperation.outreach_probability()
    if place is None or p <= 0:
        return
    t, a, rng = model.trust, model.residents, model.rng
    j = t.position[a.home_cell, place]
    near = np.flatnonzero(a.alive & (j >= 0))
    k = rng.binomial(len(near), min(p, 1.0))
    met = near[rng.choice(len(near), size=k, replace=False)] if k else near[:0]
    rate = model.config.access.trust_word_of_mouth_rate
    cur = t.level[met, j[met]]
    t.level[met, j[met]] = cur + rate * (1.0 - cur)


def mean_trust_by_kind(model: QuarterModel, in_use: np.ndarray) -> dict[PointKind, float]:
    """Mean trust of the living residents in the places of each kind among their
    candidates that are in use (``in_use`` (points,) bool, e.g. capacity this month);
    NaN for a kind without such a place."""
    t, a = model.trust, model.residents
    sums, counts = t.cell_sums(a.home_cell, a.alive)
    used, kind, per_cell = t.in_use_by_kind(in_use)
    num = np.bincount(kind, weights=sums.reshape(-1).take(used), minlength=len(POINT_KINDS))
    den = counts @ per_cell  # residents x their candidates in use, by kind (whole numbers)
    mean = np.divide(num, den, out=np.full(len(POINT_KINDS), np.nan), where=den > 0)
    return dict(zip(POINT_KINDS, mean.tolist()))


def cell_mean_trust(model: QuarterModel) -> np.ndarray:
    """Mean trust of each cell's living residents in its candidates, (n_cells, K); the
    places' start values in cells where nobody lives."""
    t, a = model.trust, model.residents
    sums, counts = t.cell_sums(a.home_cell, a.alive)
    return np.where(counts[:, None] > 0, sums / np.maximum(counts, 1.0)[:, None], t.start[t.point])
