"""Process 6, matching and service (ODD 7.4): the month's capacity at each point,
residents seeking their best place among their home cell's candidates (by their trust
there, language and distance), points serving with proportional rationing (first and
second choice), and cross-referral."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from quartiersim.config.domains import N_DOMAINS, AccessClass
from quartiersim.config.schema import Access
from quartiersim.sim.population import ResidentArrays
from quartiersim.sim.space import QuarterSpace
from quartiersim.sim.staff import Role
from quartiersim.sim.processes import trust

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel

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
    service = ((st.role == Role.SERVICE) & (st.point >= 0) & (st.fte > 0)).nonzero()[0]
    staff = np.bincount(st.point[service] * N_DOMAINS + st.domain[service],
                        weights=st.effective_fte()[service] * h,
                        minlength=n_p * N_DOMAINS).reshape(n_p, N_DOMAINS)
    coord = model.cooperation.coordination_hours()
    a, vol = model.residents, model.config.volunteering
    v = (a.volunteer_hours > 0).nonzero()[0]  # the volunteers, then those with a place
    v = v[a.volunteer_point[v] >= 0]
    where = a.volunteer_point[v] * N_DOMAINS + a.volunteer_domain[v]
    offered = np.bincount(where, weights=a.volunteer_hours[v],
                          minlength=n_p * N_DOMAINS).reshape(n_p, N_DOMAINS)
    per_point = offered.sum(axis=1)
    limit = coord * vol.volunteer_hours_per_coordinator_hour + model.cooperation.self_run_hours
    coordinated = np.where(per_point > 0, np.minimum(1.0, limit / np.maximum(per_point, 1e-12)), 0.0)
    scale = coordinated + (1.0 - coordinated) * vol.uncoordinated_productivity
    model.month.coordinated_share = coordinated
    model.month.deployable_share = scale
    model.month.volunteer_offered_hours = offered
    return staff, offered * scale[:, None] + model.cooperation.outside_volunteer_hours()


def access_classes(a: ResidentArrays, access: Access, slots: np.ndarray | None = None) -> np.ndarray:
    """Each slot's :class:`AccessClass` value, shape (n,) (or of ``slots`` only, shape
    (len(slots),)): 2 x limited (aged ``access.limited_from_age`` or more, or
    mobility-limited) + language barrier."""
    if slots is None:
        return 2 * ((a.age >= access.limited_from_age) | a.mobility_limited) + a.language_barrier
    return (2 * ((a.age.take(slots) >= access.limited_from_age) | a.mobility_limited.take(slots))
            + a.language_barrier.take(slots))


def choose(model: QuarterModel, slot: np.ndarray, domain: np.ndarray, access_class: np.ndarray,
           offering: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each seeking entry's best place and seeking probability.

    Entry i is slot ``slot[i]`` seeking in ``domain[i]`` with ``access_class[i]``
    (:class:`AccessClass`); over its home cell's candidate places that offer the domain
    (``offering`` (points, 6) bool: capacity left), score = the slot's trust in the place
    x language factor (classes with a language barrier) x exp(-distance / decay length of
    the class). Returns (best point index, -1 where no candidate scores above 0; its
    score), each shape (entries,). Ties go to the nearer place.

    Work per entry: three rows of K gathered (trust, weights of the class, offers of the
    domain: :meth:`~quartiersim.sim.processes.trust.Trust.offered`) and their product;
    nothing per cell or point beyond a new offer pattern's (6, cells, K) table.
    ``take`` on axis 0 gathers the same rows as fancy indexing, three times faster."""
    t = model.trust
    m = len(slot)
    if m == 0 or t.k == 0:
        return np.full(m, -1), np.zeros(m)
    n_cells, k = t.point.shape
    cells = model.residents.home_cell.take(slot)
    score = t.level.take(slot, axis=0)
    score *= t.weight.reshape(-1, k).take(access_class * n_cells + cells, axis=0)
    # x 1 or x 0: the same float32 as weight x offered, then x trust
    score *= t.offered(offering).reshape(-1, k).take(domain * n_cells + cells, axis=0)
    j = score.argmax(axis=1)
    best = score.reshape(-1).take(np.arange(m) * k + j).astype(np.float64)
    return np.where(best > 0, t.point.reshape(-1).take(cells * k + j), -1), np.maximum(best, 0.0)


def best_points_by_domain(model: QuarterModel, access_class: AccessClass = AccessClass.PLAIN) -> np.ndarray:
    """Each cell's best point (index, -1 where none) per domain among the points with
    capacity this month (all points before the first month), for one access class, with
    the mean trust of the cell's living residents in its candidates (the places' start
    values where nobody lives; :func:`trust.cell_mean_trust`); shape (6, n_cells)."""
    t = model.trust
    n_cells = model.space.n_cells
    if t.k == 0:
        return np.full((N_DOMAINS, n_cells), -1)
    n_p = len(model.space.points)
    offering = (np.ones((n_p, N_DOMAINS), bool) if not model.month.matched
                else model.month.capacity_hours > 1e-9)
    base = trust.cell_mean_trust(model) * t.weight[access_class]  # (cells, K)
    out = np.empty((N_DOMAINS, n_cells), np.int64)
    rows = np.arange(n_cells)
    for k in range(N_DOMAINS):
        score = base * offering[t.point, k]
        j = score.argmax(axis=1)
        out[k] = np.where(score[rows, j] > 0, t.point[rows, j], -1)
    return out


def cross_refer(aware: np.ndarray, slots: np.ndarray, points: np.ndarray, cap: np.ndarray,
                probability: np.ndarray | float, rng: np.random.Generator) -> None:
    """Cross-referral: each resident ``slots[i]`` served at point ``points[i]`` becomes
    aware of each domain offered there (``cap[point, domain] > 0``, the sought one
    included) with ``probability[i]`` (or one probability for all), one draw per resident
    and domain. Matching passes
    the model's cross-referral probability x the share of the request the point served:
    referral happens in the time of service, so a resident turned away (or rationed to
    nothing) is not referred.

    ``aware`` is the flat domain-major (6 n,) awareness, written in place; ``cap`` has
    shape (points, 6). Draws nothing when no probability is positive."""
    probability = np.asarray(probability, dtype=float)  # () or (len(slots),)
    if len(slots) == 0 or not (probability > 0).any():
        return
    n = len(aware) // N_DOMAINS
    draw = rng.random((len(slots), N_DOMAINS)) < (probability[:, None] if probability.ndim else probability)
    refer_i, refer_k = np.divmod(np.flatnonzero((cap.take(points, axis=0) > 0) & draw), N_DOMAINS)
    aware[refer_k * n + slots.take(refer_i)] = True


def match_and_serve(model: QuarterModel) -> None:
    """Residents with an open need they know of seek their best reachable place
    (:func:`choose`) with probability trust x language factor x distance decay (clients
    served last month return with ``access.client_continuation_probability``); each
    point serves requests up to its capacity, rationing proportionally. Requests left
    unserved at a full point seek once more, at the best place with capacity left
    (second choice); those served are cross-referred (:func:`cross_refer`). Staff and
    volunteer hours are spent in proportion to their share of capacity. A point with
    capacity for the first time (since the start or since it closed) opens first
    (:func:`trust.notice_openings`).

    Reads needs, awareness, trust and last month's service; writes this month's service,
    awareness, ``model.month`` (capacity, use, load, hours, requests) and
    ``model.totals.volunteer_hours``. The load counts each requested hour once, at the
    point where its request ended: a first point keeps the hours it served and those
    that did not seek again; the hours that sought a second time count there."""
    a, rng, month = model.residents, model.rng, model.month
    staff, vols = capacity(model)
    cap = staff + vols
    trust.notice_openings(model, cap)
    need, served, aware = a.flat("need_hours"), a.flat("served_hours"), a.flat("aware")
    # all domains at once: flat domain-major entries k * n + i of open, known needs
    seeking = ((need > 0) & aware).nonzero()[0]
    client = served.take(seeking) > 0  # served last month: a client who keeps coming
    a.served_hours.fill(0.0)  # last month's service is replaced here
    requested = np.zeros(cap.size)
    remaining = cap.copy()
    referral = model.cooperation.cross_referral_probability
    log: list[tuple[np.ndarray, ...]] = []
    first_at = np.zeros(0, np.int64)  # (point, domain) of each first-choice request left over
    dom, slot = np.divmod(seeking, a.n)
    cls = access_classes(a, model.config.access, slot)
    for choice in range(2):
        bp, p_seek = choose(model, slot, dom, cls, remaining > 1e-9)
        if choice == 0:  # clients return with the continuation probability
            p_seek = np.where(client, model.need_tables.continuation, p_seek)
        go = (bp >= 0) & (rng.random(len(seeking)) < p_seek)
        entry, dom, slot, bp, cls = seeking[go], dom[go], slot[go], bp[go], cls[go]
        req = need[entry] - served[entry]
        at = bp * N_DOMAINS + dom  # (point, domain) of each request
        demand = np.bincount(at, weights=req, minlength=cap.size)
        frac = np.where(demand > 0, np.minimum(1.0, remaining.reshape(-1) / np.maximum(demand, 1e-12)), 0.0)
        got = req * frac[at]
        served[entry] += got
        requested += demand
        if choice == 1:  # hours seeking again leave their first point's count
            requested -= np.bincount(first_at[go], weights=req, minlength=cap.size)
        remaining -= np.minimum(demand.reshape(cap.shape), remaining)
        cross_refer(aware, slot, bp, cap, referral * got / req, rng)
        aware[entry[got > 0]] = True  # a need served is known
        log.append((slot, bp, req, got))
        left = got < req - 1e-9  # left over at a full point: second choice
        seeking, first_at = entry[left], at[left]
        dom, slot, cls = dom[left], slot[left], cls[left]
        if not len(seeking):  # nothing left over: a second round would draw and change nothing
            break
    used = cap - remaining
    # one round (nothing was left over): its arrays as they are, else both rounds joined
    month.requests = log[0] if len(log) == 1 else tuple(np.concatenate(x) for x in zip(*log))
    month.matched = True
    month.capacity_hours, month.used_hours = cap, used
    vol_share = np.where(cap > 0, vols / np.maximum(cap, 1e-12), 0.0)
    month.used_volunteer_hours = used * vol_share
    # what the residents volunteering at each (point, domain) saw come of their hours:
    # their part of the hours used over the hours they offered
    month.volunteer_results = np.where((month.volunteer_offered_hours > 0) & (cap > 0),
                                       used * month.deployable_share[:, None] / np.maximum(cap, 1e-12),
                                       0.0)
    requested = requested.reshape(cap.shape)
    month.load = np.where(cap > 0, requested / np.maximum(cap, 1e-12), 0.0)
    month.staff_hours = float(staff.sum())
    month.volunteer_hours = float(month.used_volunteer_hours.sum())
    model.totals.volunteer_hours += month.volunteer_hours
