"""Residents' state as arrays (one row per dwelling slot) and the social network.

A slot is a place to live in a home cell. When a resident dies or moves out, the slot
is vacated; a newcomer moving in takes a vacated slot and with it the slot's
neighbourhood ties (ties belong to the dwelling's surroundings), but none of the
leaver's awareness, needs or volunteering. Shapes: ``n`` = number of slots; per-domain
arrays are ``(n, 6)`` in ``DOMAINS`` order, stored domain-major (Fortran order) so that
per-domain columns are contiguous and monthly array operations run at memory speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix

from quartiersim.config.behaviour import Demography
from quartiersim.config.domains import DOMAINS, N_DOMAINS
from quartiersim.config.schema import Needs, Network, Population, Scenario

if TYPE_CHECKING:
    from quartiersim.sim.space import QuarterSpace


@dataclass
class ResidentArrays:
    """Struct of arrays over dwelling slots. Units: age in years, hours per month."""

    alive: np.ndarray
    age: np.ndarray
    transfer: np.ndarray
    migration: np.ndarray
    language_barrier: np.ndarray
    single: np.ndarray
    mobility_limited: np.ndarray
    home_cell: np.ndarray
    need_hours: np.ndarray  # (n, 6) open need, h/month; 0 = none
    served_hours: np.ndarray  # (n, 6) served last month, h
    unmet_months: np.ndarray  # (n, 6) consecutive months mostly unmet
    aware: np.ndarray  # (n, 6) bool
    case_months_left: np.ndarray  # (n, 6) running mandatory case, months left
    need_onset_month: np.ndarray  # (n, 6) horizon month the open need arose; -1 = not counted
    first_service_month: np.ndarray  # (n, 6) month the open need was first served; -1 = not yet
    volunteer_hours: np.ndarray  # committed h/month, 0 = not a volunteer
    volunteer_domain: np.ndarray
    volunteer_point: np.ndarray  # point index, -1 = none

    @property
    def n(self) -> int:
        return len(self.alive)

    @classmethod
    def empty(cls, n: int) -> ResidentArrays:
        z = np.zeros

        def per_domain(dtype: type = float, fill: float = 0) -> np.ndarray:
            return np.full((n, N_DOMAINS), fill, dtype, order="F")

        return cls(alive=z(n, bool), age=z(n), transfer=z(n, bool), migration=z(n, bool),
                   language_barrier=z(n, bool), single=z(n, bool), mobility_limited=z(n, bool),
                   home_cell=z(n, np.int64), need_hours=per_domain(),
                   served_hours=per_domain(), unmet_months=per_domain(np.int32),
                   aware=per_domain(bool), case_months_left=per_domain(np.int32),
                   need_onset_month=per_domain(np.int32, -1),
                   first_service_month=per_domain(np.int32, -1),
                   volunteer_hours=z(n), volunteer_domain=z(n, np.int64),
                   volunteer_point=np.full(n, -1, np.int64))

    def flat(self, name: str) -> np.ndarray:
        """A flat, writable view (6 * n,) of the per-domain array ``name``, domain-major:
        entry ``k * n + i`` is slot ``i`` in domain ``k``. Restores the Fortran layout if
        the array was replaced by a C-ordered one."""
        arr = getattr(self, name)
        if not arr.flags.f_contiguous:
            arr = np.asfortranarray(arr)
            setattr(self, name, arr)
        return arr.T.reshape(-1)

    def extend(self, more: ResidentArrays) -> None:
        """Append the slots of ``more`` (same layout), e.g. new vacant dwellings."""
        for name in self.__dataclass_fields__:
            joined = np.concatenate([getattr(self, name), getattr(more, name)])
            setattr(self, name, np.asfortranarray(joined) if joined.ndim == 2 else joined)

    def draw_attributes(self, slots: np.ndarray, ages: np.ndarray, pop: Population,
                        demo: Demography, rng: np.random.Generator, share_transfer: float,
                        share_migration: float) -> None:
        """Give residents in ``slots`` the ages ``ages`` and draw their status attributes:
        transfer receipt with ``share_transfer`` overall, by the age factors of ``demo``;
        migration background with ``share_migration``; the rest by ``pop``'s shares."""
        k = len(slots)
        self.alive[slots] = True
        self.age[slots] = ages
        child, old = ages < 18, ages >= 65
        factor = np.where(child, demo.transfer_factor_under_18,
                          np.where(old, demo.transfer_factor_65_plus, 1.0))
        # rescale so that the mean share over these ages is share_transfer
        base = share_transfer / max(factor.mean(), 1e-12)
        self.transfer[slots] = rng.random(k) < (base * factor).clip(0, 1)
        self.migration[slots] = rng.random(k) < share_migration
        self.language_barrier[slots] = self.migration[slots] & (rng.random(k) < pop.share_language_barrier)
        self.single[slots] = old & (rng.random(k) < pop.share_single_household_65_plus)
        limited_p = np.where(old, pop.share_mobility_limited_65_plus, pop.share_mobility_limited_under_65)
        self.mobility_limited[slots] = rng.random(k) < limited_p
        for arr in (self.need_hours, self.served_hours):
            arr[slots] = 0.0
        for arr in (self.unmet_months, self.case_months_left):
            arr[slots] = 0
        for arr in (self.need_onset_month, self.first_service_month):
            arr[slots] = -1  # a newcomer's needs were not seen to arise: not counted
        self.aware[slots] = False
        self.volunteer_hours[slots] = 0.0
        self.volunteer_point[slots] = -1


def populate(scenario: Scenario, space: QuarterSpace,
             rng: np.random.Generator) -> tuple[ResidentArrays, np.ndarray]:
    """The residents at the start and their ties (ODD 5): ``population.residents``
    residents in households on the housing cells (by the space's ``housing_weight`` if
    any), with ages, status and awareness, and 10 % (+ 16) vacant slots with dwellings
    for turnover and growth.

    Returns (arrays over all slots, ties (m, 2) as :func:`build_ties`); residents occupy
    slots ``0 .. residents - 1``."""
    pop, cells, weight = scenario.population, space.housing_cells, space.housing_weight
    n = pop.residents
    capacity = int(n * 1.1) + 16
    a = ResidentArrays.empty(capacity)
    home, household = place_households(n, cells, scenario.network.household_size_mean, rng, weight)
    # vacant slots get dwellings too (in the same proportions), for growth and turnover
    spare_home, spare_hh = place_households(capacity - n, cells, 1.0, rng, weight)
    a.home_cell[:n], a.home_cell[n:] = home, spare_home
    slots = np.arange(n)
    a.draw_attributes(slots, initial_ages(pop, scenario.demography, n, rng), pop,
                      scenario.demography, rng, pop.share_transfer_recipients,
                      pop.share_migration_background)
    a.aware[slots] = rng.random((n, N_DOMAINS)) < scenario.access.initial_awareness
    household_all = np.concatenate([household, spare_hh + household.max() + 1])
    return a, build_ties(a.home_cell, household_all, space.width, scenario.network, rng)


#: Status flags that set a resident's need onset probability, in the order the
#: multipliers apply; bit ``b`` of a status code is flag ``STATUS_FLAGS[b]``.
STATUS_FLAGS: tuple[str, ...] = ("transfer", "migration", "language_barrier", "single_65_plus",
                                 "mobility_limited", "age_75_plus")


def status_codes(a: ResidentArrays, slots: np.ndarray | None = None) -> np.ndarray:
    """Status code 0..63 of each slot (all slots, or ``slots``), bits as ``STATUS_FLAGS``."""
    sel = slice(None) if slots is None else slots
    age = a.age[sel]
    code = a.transfer[sel].astype(np.intp)
    code |= a.migration[sel] << 1
    code |= a.language_barrier[sel] << 2
    code |= (a.single[sel] & (age >= 65)) << 3
    code |= a.mobility_limited[sel] << 4
    code |= (age >= 75) << 5
    return code


def eligibility_groups(needs: Needs) -> list[tuple[float, float, int]]:
    """Distinct age ranges of the domains: ``(min_age, max_age + 1, bits)`` where bit k of
    ``bits`` marks domain k as eligible in that range (ages in ``[min, max + 1]``)."""
    groups: dict[tuple[float, float], int] = {}
    for k, d in enumerate(DOMAINS):
        key = (needs[d].min_age, needs[d].max_age + 1)
        groups[key] = groups.get(key, 0) | (1 << k)
    return [(lo, hi, bits) for (lo, hi), bits in groups.items()]


def onset_by_code(needs: Needs) -> np.ndarray:
    """Onset probability by full code and domain, shape (6, 4096), domain-major.

    Full code = status code (bits 0-5, :func:`status_codes`) + eligibility bits
    (bit 6 + k: the resident's age is in domain k's range and the slot is occupied);
    ineligible domains have probability 0."""
    table = onset_table(needs)  # (64, 6)
    elig = (np.arange(64)[:, None] >> np.arange(N_DOMAINS)) & 1  # (64 eligibility codes, 6)
    full = np.where(elig[:, None, :].astype(bool), table[None, :, :], 0.0)  # (64, 64, 6)
    return np.ascontiguousarray(full.reshape(64 * 64, N_DOMAINS).T)


def onset_table(needs: Needs) -> np.ndarray:
    """Monthly need onset probability by status code and domain, shape (64, 6).

    Base rate (integration: the language-barrier rate for residents with a language
    barrier) times each applicable status multiplier, applied in ``STATUS_FLAGS`` order,
    capped at 1. Age eligibility is applied by the caller."""
    codes = np.arange(64)
    flag = [((codes >> b) & 1).astype(bool) for b in range(len(STATUS_FLAGS))]
    out = np.zeros((64, N_DOMAINS))
    for k, d in enumerate(DOMAINS):
        nd = needs[d]
        p = np.full(64, nd.onset_probability_per_month)
        if d.value == "integration":
            p = np.where(flag[2], needs.integration_onset_language_barrier, p)
        mults = (nd.multiplier_transfer, nd.multiplier_migration, nd.multiplier_language_barrier,
                 nd.multiplier_single_65_plus, nd.multiplier_mobility_limited,
                 nd.multiplier_age_75_plus)
        for mask, mult in zip(flag, mults):
            if mult != 1.0:
                p = np.where(mask, p * mult, p)
        out[:, k] = np.minimum(p, 1.0)
    return out


def initial_ages(pop: Population, demo: Demography, n: int, rng: np.random.Generator) -> np.ndarray:
    """Ages (years) with the scenario's shares under 18 and 65+; within bands uniform,
    65+ with an exponential tail (``demo.initial_65_plus_mean_excess_years`` above 65 on
    average, capped at ``demo.initial_max_age``)."""
    band = rng.choice(3, size=n, p=[pop.share_under_18,
                                    1 - pop.share_under_18 - pop.share_65_plus,
                                    pop.share_65_plus])
    ages = np.empty(n)
    ages[band == 0] = rng.uniform(0, 18, (band == 0).sum())
    ages[band == 1] = rng.uniform(18, 65, (band == 1).sum())
    ages[band == 2] = np.minimum(65 + rng.exponential(demo.initial_65_plus_mean_excess_years,
                                                      (band == 2).sum()), demo.initial_max_age)
    return ages


def newcomer_ages(n: int, demo: Demography, rng: np.random.Generator) -> np.ndarray:
    """Ages of ``n`` people moving in: a band (under 18, 18-49, 50-64, 65 to
    ``demo.newcomer_max_age``) by ``demo``'s newcomer shares, uniform within it."""
    band = rng.choice(4, size=n, p=demo.newcomer_age_shares())
    lo = np.array([0.0, 18.0, 50.0, 65.0])[band]
    hi = np.array([18.0, 50.0, 65.0, demo.newcomer_max_age])[band]
    return rng.uniform(lo, hi)


def household_sizes(n: int, mean_size: float, rng: np.random.Generator,
                    batch: int | None = None) -> np.ndarray:
    """Sizes of households (1 + Poisson(mean - 1) each, drawn one after another) until
    they hold ``n`` residents, the last cut to fit; int64 (households,), sum ``n``.

    Drawn in arrays, with the same draws as one scalar draw per household until the
    total reaches ``n``: the generator's state is kept, a batch is drawn to find how many
    households it takes, and then the generator is set back and exactly that many are
    drawn (an array draw is the scalar draws in turn), so that the draws after these are
    unchanged too. ``batch``: households drawn per batch (default about the expected
    number)."""
    lam = max(mean_size - 1.0, 0.0)
    if n <= 0:
        return np.zeros(0, np.int64)
    state = rng.bit_generator.state
    batch = batch or int(n / max(mean_size, 1.0) * 1.05) + 64  # households per batch
    drawn, total = 0, 0
    while total < n:  # how many households until n (usually one batch)
        more = np.cumsum(1 + rng.poisson(lam, batch)) + total
        reached = int(np.searchsorted(more, n, "left"))  # first household at or over n
        if reached < batch:
            drawn += reached + 1
            break
        drawn, total = drawn + batch, int(more[-1])
    rng.bit_generator.state = state
    sizes = 1 + rng.poisson(lam, drawn).astype(np.int64)
    sizes[-1] -= int(sizes.sum()) - n  # the last household cut to fit
    return sizes


def place_households(n: int, housing_cells: np.ndarray, mean_size: float,
                     rng: np.random.Generator,
                     weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Group ``n`` residents into households (size 1 + Poisson(mean - 1)) placed on housing
    cells. Returns (home_cell, household_id), both shape (n,).

    Without ``weights`` households go to uniformly drawn housing cells. With ``weights``
    (probabilities per housing cell, sum 1, e.g. Zensus residents per cell) each cell gets
    its share of the ``n`` residents, rounded by largest remainder, and the households fill
    the cells in turn (a household that would span two cells is split at the border)."""
    sizes = household_sizes(n, mean_size, rng)
    if weights is None:
        hh = np.repeat(np.arange(len(sizes)), sizes)
        cells = rng.choice(housing_cells, size=len(sizes))
        return cells[hh], hh
    quota = np.asarray(weights, dtype=float) * n
    counts = np.floor(quota).astype(np.int64)
    short = n - int(counts.sum())
    if short > 0:  # largest remainders first; ties by cell order
        counts[np.argsort(counts - quota, kind="stable")[:short]] += 1
    home = np.repeat(housing_cells, counts)
    start = np.zeros(n, bool)
    start[np.cumsum(sizes)[:-1]] = True  # household starts
    bounds = np.cumsum(counts)[:-1]
    start[bounds[bounds < n]] = True  # cell starts
    start[:1] = True
    hh = np.cumsum(start) - 1
    return home, hh


def build_ties(home_cell: np.ndarray, household: np.ndarray, width: int, net: Network,
               rng: np.random.Generator) -> np.ndarray:
    """Undirected ties as an array (m, 2) of slot pairs, i < j, without duplicates.

    Household members are all tied; each resident draws ``neighbour_ties`` partners among
    residents of the same or an adjacent cell and ``friend_ties`` partners anywhere. A
    neighbour draw that falls beyond the grid's edge (``width`` columns) makes no tie.
    """
    n = len(home_cell)
    edges = []
    # household cliques
    order = np.argsort(household, kind="stable")
    hh_sorted = household[order]
    starts = np.flatnonzero(np.r_[True, hh_sorted[1:] != hh_sorted[:-1]])
    sizes = np.diff(np.r_[starts, n])
    for size in np.unique(sizes[sizes > 1]).tolist():  # all households of one size at once
        members = order[starts[sizes == size][:, None] + np.arange(size)]  # (households, size)
        i, j = np.triu_indices(size, 1)
        edges.append(np.stack([members[:, i].ravel(), members[:, j].ravel()], axis=1))
    # neighbours: partner drawn among residents of a cell in the 3x3 block around home
    k_n = rng.poisson(net.neighbour_ties / 2.0, n)  # each tie is drawn by one end
    src = np.repeat(np.arange(n), k_n)
    if len(src):
        r, c = np.divmod(home_cell[src], width)
        r2, c2 = r + rng.integers(-1, 2, len(src)), c + rng.integers(-1, 2, len(src))
        target_cell = r2 * width + c2
        by_cell = np.argsort(home_cell, kind="stable")
        sorted_cells = home_cell[by_cell]
        lo = np.searchsorted(sorted_cells, target_cell, "left")
        hi = np.searchsorted(sorted_cells, target_cell, "right")
        # a block beyond the grid's edge has no cell there: no tie (the flat index of
        # column -1 or width would be the other edge's cell)
        has = (hi > lo) & (c2 >= 0) & (c2 < width) & (r2 >= 0)
        pick = lo[has] + (rng.random(has.sum()) * (hi[has] - lo[has])).astype(np.int64)
        edges.append(np.stack([src[has], by_cell[pick]], axis=1))
    # friends anywhere
    k_f = rng.poisson(net.friend_ties / 2.0, n)
    src = np.repeat(np.arange(n), k_f)
    edges.append(np.stack([src, rng.integers(0, n, len(src))], axis=1))
    e = np.concatenate(edges) if edges else np.zeros((0, 2), np.int64)
    e = e[e[:, 0] != e[:, 1]]
    lo, hi = np.minimum(e[:, 0], e[:, 1]), np.maximum(e[:, 0], e[:, 1])
    key = np.sort(lo.astype(np.int64) * n + hi)  # row-major order of (i, j)
    key = key[np.r_[True, key[1:] != key[:-1]]]  # without duplicates (a sort beats a hash here)
    return np.stack([key // n, key % n], axis=1)


def adjacency(edges: np.ndarray, n: int) -> csr_matrix:
    """Symmetric 0/1 adjacency matrix (n, n), float32, of undirected ``edges``."""
    data = np.ones(2 * len(edges), dtype=np.float32)
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    return csr_matrix((data, (rows, cols)), shape=(n, n))


class TieCounter:
    """Number of tie partners in a state, per slot.

    ``state`` is a flat bool array of ``L * n`` entries (``L`` layers of the ``n`` slots,
    e.g. the six domains of ``aware``, domain-major). :meth:`count` returns an integer
    array of the same length: entry ``l * n + i`` = number of ties of slot ``i`` whose
    partner is in the state in layer ``l``, i.e. ``adjacency @ state`` per layer.

    All layers are counted in one sparse product: each slot's layers are packed into the
    bytes of one number (layer ``l`` in byte ``l``: ``sum_l state_l 256^l``, exact in
    float64 for up to 6 layers), the product sums them over each slot's partners, and
    as no slot has 256 ties or more no byte overflows into the next; the bytes are the
    counts (uint8). One product over the ties costs less than applying each month's
    changes of state tie by tie. With more layers or a slot with 256 ties or more the
    layers are multiplied one by one (int32).
    """

    #: Layers packed into one float64 (8 bits each: 48 bits < its 53-bit mantissa).
    PACKED_LAYERS = 6

    def __init__(self, adjacency: csr_matrix) -> None:
        self.adjacency = adjacency
        # (shape and ties, the adjacency in float64 if its layers can be packed, else None)
        self._packs: tuple[tuple[int, int], csr_matrix | None] | None = None

    def _packable(self) -> csr_matrix | None:
        adj = self.adjacency
        key = (adj.shape[0], adj.nnz)  # the adjacency changes only by growing
        if self._packs is None or self._packs[0] != key:
            ok = bool(np.all(adj.data == 1)) and int(np.diff(adj.indptr).max(initial=0)) < 256
            adj64 = csr_matrix((adj.data.astype(np.float64), adj.indices, adj.indptr), shape=adj.shape)
            self._packs = (key, adj64 if ok else None)  # the ties shared, the 1s in float64
        return self._packs[1]

    def count(self, state: np.ndarray) -> np.ndarray:
        adj = self.adjacency
        n = adj.shape[0]
        layers = state.reshape(-1, n)  # (L, n)
        n_layers = layers.shape[0]
        adj64 = self._packable() if n_layers <= self.PACKED_LAYERS else None
        if adj64 is None:
            return np.ascontiguousarray((adj @ layers.T.astype(np.float64)).T).reshape(-1).astype(np.int32)
        packed = (256.0 ** np.arange(n_layers)) @ layers  # (n,) float64, whole numbers
        summed = (adj64 @ packed).astype("<u8")  # (n,): byte l (little-endian) = count in layer l
        return summed.view(np.uint8).reshape(n, 8)[:, :n_layers].T.reshape(-1)


def partner_positions(adjacency: csr_matrix, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the ties of ``slots`` (shape (m,)) are stored: (row, pos), each shape (ties,),
    where ``adjacency.indices[pos[i]]`` (and ``.data[pos[i]]``) is a tie of
    ``slots[row[i]]``; rows in order, ties in the adjacency's order."""
    start = adjacency.indptr[slots]
    length = adjacency.indptr[slots + 1] - start
    end = length.cumsum()
    row = np.arange(len(slots)).repeat(length)
    pos = np.arange(end[-1] if len(end) else 0)  # position in the concatenated partner lists
    pos -= (end - length - start)[row]  # ... and in the adjacency
    return row, pos


def partners(adjacency: csr_matrix, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The tie partners of ``slots`` (shape (m,)): (row, partner), each shape (ties,), where
    ``partner[i]`` is a partner of ``slots[row[i]]``; rows in order, partners in the
    adjacency's order."""
    row, pos = partner_positions(adjacency, slots)
    return row, adjacency.indices[pos]


def group(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)`` for a 1-D integer array: (the distinct
    keys ascending, (k,); the index of each key among them, (len(keys),) intp). A sort
    and a cumulative sum: several times cheaper than ``np.unique`` on the few hundred to
    few thousand keys of a month."""
    order = keys.argsort()
    ordered = keys[order]
    first = np.empty(len(keys), bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    inverse = np.empty(len(keys), np.intp)
    inverse[order] = first.cumsum() - 1
    return ordered[first], inverse


def to_networkx(edges: np.ndarray, n: int) -> nx.Graph:
    """The social network as a networkx Graph over slots 0..n-1."""
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(map(tuple, edges.tolist()))
    return g
