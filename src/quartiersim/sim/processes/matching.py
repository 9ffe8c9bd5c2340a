"""Process 5, matching and service (ODD 7.4): the month's capacity at each point, each
cell's best point per domain and access class, residents seeking and points serving with
proportional rationing (first and second choice), and cross-referral."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from quartiersim.config.domains import N_DOMAINS, AccessClass
from quartiersim.config.schema import Access
from quartiersim.sim.population import ResidentArrays
from quartiersim.sim.space import QuarterSpace
from quartiersim.sim.staff import Role

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel

#: Offer patterns (which points offer a domain) whose best points are kept.
BEST_POINTS_CACHE = 64


def capacity(model: QuarterModel) -> tuple[np.ndarray, np.ndarray]:
    """Staff and deployable volunteer hours this month, each shape (points, 6).

    Staff hours: every service post's effective hours (employed FTE x productivity x
    hours per FTE, :mod:`quartiersim.sim.staff`) at its point and domain. Volunteer
    hours at a point are deployable in full up to its paid coordination capacity
    (:meth:`~quartiersim.sim.cooperation.CooperationModel.coordination_hours` x
    volunteer hours per coordinator hour) plus its self-run hours; beyond it,
    ``volunteering.uncoordinated_productivity`` of them (not zero: self-organised help
    goes on at a fraction). Volunteers without a place (theirs closed) deliver nothing.
    Writes ``model.month.coordinated_share`` (share of the offered hours within
    coordination), ``deployable_share`` (share of the offered hours deployable) and
    ``volunteer_offered_hours``."""
    n_p, h = len(model.space.points), model.hours_per_fte
    st = model.staff
    service = np.flatnonzero((st.role == Role.SERVICE) & (st.point >= 0) & (st.fte > 0))
    staff = np.bincount(st.point[service] * N_DOMAINS + st.domain[service],
                        weights=st.effective_fte()[service] * h,
                        minlength=n_p * N_DOMAINS).reshape(n_p, N_DOMAINS)
    coord = model.cooperation.coordination_hours()
    a, vol = model.residents, model.config.volunteering
    vmask = (a.volunteer_hours > 0) & (a.volunteer_point >= 0)
    where = a.volunteer_point[vmask] * N_DOMAINS + a.volunteer_domain[vmask]
    offered = np.bincount(where, weights=a.volunteer_hours[vmask],
                          minlength=n_p * N_DOMAINS).reshape(n_p, N_DOMAINS)
    per_point = offered.sum(axis=1)
    limit = coord * vol.volunteer_hours_per_coordinator_hour + model.cooperation.self_run_hours
    coordinated = np.where(per_point > 0, np.minimum(1.0, limit / np.maximum(per_point, 1e-12)), 0.0)
    scale = coordinated + (1.0 - coordinated) * vol.uncoordinated_productivity
    model.month.coordinated_share = coordinated
    model.month.deployable_share = scale
    model.month.volunteer_offered_hours = offered
    return staff, offered * scale[:, None] + model.cooperation.outside_volunteer_hours()


def access_classes(a: ResidentArrays, access: Access) -> np.ndarray:
    """Each slot's :class:`AccessClass` value, shape (n,): 2 x limited (aged
    ``access.limited_from_age`` or more, or mobility-limited) + language barrier."""
    return 2 * ((a.age >= access.limited_from_age) | a.mobility_limited) + a.language_barrier


class BestPoints:
    """For each domain and access class, each cell's best point and its seeking score.

    Score = trust(kind) x language factor (classes with a language barrier) x
    exp(-distance / decay length (limited classes: the shorter one)). Each domain's part
    depends only on which points offer that domain, so it is computed once per such
    pattern and kept (the most recent ``cache_size``); the scores are tabulated once.
    """

    def __init__(self, space: QuarterSpace, access: Access, cache_size: int = BEST_POINTS_CACHE) -> None:
        self.space, self.access, self.cache_size = space, access, cache_size
        self._cache: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        self._scores: np.ndarray | None = None

    def __call__(self, offering: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``offering`` (points, 6) bool -> (best, score), each shape (6, 4, n_cells);
        best = -1 where nothing is offered."""
        parts = [self.for_domain(offering[:, k]) for k in range(N_DOMAINS)]
        return np.stack([b for b, _ in parts]), np.stack([v for _, v in parts])

    def for_domain(self, offering: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Best point and score (each shape (4, n_cells)) among the points ``offering``."""
        key = offering.tobytes()
        cache = self._cache
        if key in cache:
            cache[key] = cache.pop(key)  # most recently used last
            return cache[key]
        n_cells = self.space.n_cells
        points = np.flatnonzero(offering)
        if len(points) == 0:
            result = (np.full((4, n_cells), -1), np.zeros((4, n_cells)))
        else:
            sub = self.scores()[:, points, :]  # (4, offering points, cells)
            b = np.argmax(sub, axis=1)
            val = np.take_along_axis(sub, b[:, None, :], axis=1)[:, 0, :]
            result = (np.where(val > 0, points[b], -1), np.maximum(val, 0.0))
        cache[key] = result
        if len(cache) > self.cache_size:
            del cache[next(iter(cache))]  # least recently used
        return result

    def scores(self) -> np.ndarray:
        """Seeking score by access class, point and cell, shape (4, points, cells)."""
        if self._scores is None:
            acc = self.access
            kinds = [p.kind for p in self.space.points]
            trust = np.array([acc.trust(k) for k in kinds])
            lang = np.array([acc.language_factor(k) for k in kinds])
            dist = self.space.distance_m
            out = np.empty((len(AccessClass), len(kinds), self.space.n_cells))
            for cls in AccessClass:
                decay = acc.decay_length_limited_m if cls.limited else acc.decay_length_m
                out[cls] = (trust * (lang if cls.language_barrier else 1.0))[:, None] * np.exp(-dist / decay)
            self._scores = out
        return self._scores


def best_points_by_domain(model: QuarterModel, access_class: AccessClass = AccessClass.PLAIN) -> np.ndarray:
    """Each cell's best point (index, -1 where none) per domain among the points with
    capacity this month (all points before the first month), for one access class;
    shape (6, n_cells)."""
    n_p = len(model.space.points)
    offering = (np.ones((n_p, N_DOMAINS), bool) if model.steps == 0
                else model.month.capacity_hours > 1e-9)
    return np.stack([model.best_points.for_domain(offering[:, k])[0][access_class]
                     for k in range(N_DOMAINS)])


def cross_refer(aware: np.ndarray, slots: np.ndarray, points: np.ndarray, cap: np.ndarray,
                probability: float, rng: np.random.Generator) -> None:
    """Cross-referral: each resident ``slots[i]`` who sought at point ``points[i]``
    becomes aware of each domain offered there (``cap[point, domain] > 0``, the sought
    one included) with ``probability``, one draw per resident and domain.

    ``aware`` is the flat domain-major (6 n,) awareness, written in place; ``cap`` has
    shape (points, 6). Draws nothing when the probability is 0 or nobody sought."""
    if probability <= 0 or len(slots) == 0:
        return
    n = len(aware) // N_DOMAINS
    refer_i, refer_k = np.nonzero((cap[points] > 0) & (rng.random((len(slots), N_DOMAINS)) < probability))
    aware[refer_k * n + slots[refer_i]] = True


def match_and_serve(model: QuarterModel) -> None:
    """Residents with an open need they know of seek their best reachable offer with
    probability trust x language factor x distance decay (clients served last month
    return with ``access.client_continuation_probability``); each point serves requests
    up to its capacity, rationing proportionally. Requests left unserved at a full
    point seek once more, at the best point with capacity left (second choice); those
    who sought are cross-referred (:func:`cross_refer`). Staff and volunteer hours are
    spent in proportion to their share of capacity.

    Reads needs, awareness and last month's service; writes this month's service,
    awareness, ``model.month`` (capacity, use, load, hours) and
    ``model.totals.volunteer_hours``."""
    a, rng, month = model.residents, model.rng, model.month
    staff, vols = capacity(model)
    cap = staff + vols
    cls = access_classes(a, model.config.access)
    need, served, aware = a.flat("need_hours"), a.flat("served_hours"), a.flat("aware")
    client = served > 0  # served last month: a client who keeps coming
    a.served_hours.fill(0.0)  # last month's service is replaced here
    requested = np.zeros_like(cap)
    remaining = cap.copy()
    referral = model.cooperation.cross_referral_probability
    # all domains at once: flat domain-major entries k * n + i of open, known needs
    seeking = np.flatnonzero((need > 0) & aware)
    for choice in range(2):
        best, score = model.best_points(remaining > 1e-9)
        dom, slot = np.divmod(seeking, a.n)
        c, cells = cls[slot], a.home_cell[slot]
        bp, p_seek = best[dom, c, cells], score[dom, c, cells]
        if choice == 0:  # clients return with the continuation probability
            p_seek = np.where(client[seeking], model.need_tables.continuation, p_seek)
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
        cross_refer(aware, slot, bp, cap, referral, rng)
        seeking = entry[got < req - 1e-9]  # left over at a full point: second choice
    used = cap - remaining
    aware |= served > 0
    month.capacity_hours, month.used_hours = cap, used
    vol_share = np.where(cap > 0, vols / np.maximum(cap, 1e-12), 0.0)
    month.used_volunteer_hours = used * vol_share
    # what the residents volunteering at each (point, domain) saw come of their hours:
    # their part of the hours used over the hours they offered
    month.volunteer_results = np.where((month.volunteer_offered_hours > 0) & (cap > 0),
                                       used * month.deployable_share[:, None] / np.maximum(cap, 1e-12),
                                       0.0)
    month.load = np.where(cap > 0, requested / np.maximum(cap, 1e-12), 0.0)
    month.staff_hours = float(staff.sum())
    month.volunteer_hours = float(month.used_volunteer_hours.sum())
    model.totals.volunteer_hours += month.volunteer_hours
