"""Residents' state as arrays (one row per dwelling slot) and the social network.

A slot is a place to live in a home cell. When a resident dies or moves out, the slot
is vacated; a newcomer moving in takes a vacated slot and with it the slot's
neighbourhood ties (ties belong to the dwelling's surroundings), but none of the
leaver's awareness, needs or volunteering. Shapes: ``n`` = number of slots; per-domain
arrays are ``(n, 6)`` in ``DOMAINS`` order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix

from quartiersim.domains import N_DOMAINS
from quartiersim.scenario import Network, Population

# Share of transfer recipients among under-18s relative to all residents:
# derived: EN-Kreis SGB II rate under 18 / total = 15.4 / 9.8 (Arbeitslosenreport NRW 1/2022)
CHILD_TRANSFER_FACTOR = 15.4 / 9.8
# Grundsicherung im Alter is far rarer than SGB II among 65+ (assumption)
ELDERLY_TRANSFER_FACTOR = 0.3


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
    volunteer_hours: np.ndarray  # committed h/month, 0 = not a volunteer
    volunteer_domain: np.ndarray
    volunteer_point: np.ndarray  # point index, -1 = none
    cohort: np.ndarray = field(default=None)  # True for residents present at the start

    @property
    def n(self) -> int:
        return len(self.alive)

    @classmethod
    def empty(cls, n: int) -> ResidentArrays:
        z = np.zeros
        return cls(alive=z(n, bool), age=z(n), transfer=z(n, bool), migration=z(n, bool),
                   language_barrier=z(n, bool), single=z(n, bool), mobility_limited=z(n, bool),
                   home_cell=z(n, np.int64), need_hours=z((n, N_DOMAINS)),
                   served_hours=z((n, N_DOMAINS)), unmet_months=z((n, N_DOMAINS), np.int32),
                   aware=z((n, N_DOMAINS), bool), case_months_left=z((n, N_DOMAINS), np.int32),
                   volunteer_hours=z(n), volunteer_domain=z(n, np.int64),
                   volunteer_point=np.full(n, -1, np.int64), cohort=z(n, bool))

    def draw_attributes(self, slots: np.ndarray, ages: np.ndarray, pop: Population,
                        rng: np.random.Generator, share_transfer: float,
                        share_migration: float) -> None:
        """Give residents in ``slots`` the ages ``ages`` and draw their status attributes."""
        k = len(slots)
        self.alive[slots] = True
        self.age[slots] = ages
        child, old = ages < 18, ages >= 65
        factor = np.where(child, CHILD_TRANSFER_FACTOR, np.where(old, ELDERLY_TRANSFER_FACTOR, 1.0))
        # rescale so that the mean share over these ages is share_transfer
        base = share_transfer / max(factor.mean(), 1e-12)
        self.transfer[slots] = rng.random(k) < np.clip(base * factor, 0, 1)
        self.migration[slots] = rng.random(k) < share_migration
        self.language_barrier[slots] = self.migration[slots] & (rng.random(k) < pop.share_language_barrier)
        self.single[slots] = old & (rng.random(k) < pop.share_single_household_65_plus)
        limited_p = np.where(old, pop.share_mobility_limited_65_plus, pop.share_mobility_limited_under_65)
        self.mobility_limited[slots] = rng.random(k) < limited_p
        for arr in (self.need_hours, self.served_hours):
            arr[slots] = 0.0
        for arr in (self.unmet_months, self.case_months_left):
            arr[slots] = 0
        self.aware[slots] = False
        self.volunteer_hours[slots] = 0.0
        self.volunteer_point[slots] = -1
        self.cohort[slots] = False


def initial_ages(pop: Population, n: int, rng: np.random.Generator) -> np.ndarray:
    """Ages (years) with the scenario's shares under 18 and 65+; within bands uniform,
    65+ with an exponential tail (mean 10 years above 65, capped at 100; assumption)."""
    band = rng.choice(3, size=n, p=[pop.share_under_18,
                                    1 - pop.share_under_18 - pop.share_65_plus,
                                    pop.share_65_plus])
    ages = np.empty(n)
    ages[band == 0] = rng.uniform(0, 18, (band == 0).sum())
    ages[band == 1] = rng.uniform(18, 65, (band == 1).sum())
    ages[band == 2] = np.minimum(65 + rng.exponential(10.0, (band == 2).sum()), 100.0)
    return ages


def newcomer_ages(n: int, rng: np.random.Generator) -> np.ndarray:
    """Ages of people moving in (births included): younger than the quarter (assumption:
    25 % under 18, 60 % 18-49, 10 % 50-64, 5 % 65+)."""
    band = rng.choice(4, size=n, p=[0.25, 0.60, 0.10, 0.05])
    lo = np.array([0.0, 18.0, 50.0, 65.0])[band]
    hi = np.array([18.0, 50.0, 65.0, 90.0])[band]
    return rng.uniform(lo, hi)


def place_households(n: int, housing_cells: np.ndarray, mean_size: float,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Group ``n`` residents into households (size 1 + Poisson(mean - 1)) placed on
    uniformly drawn housing cells. Returns (home_cell, household_id), both shape (n,)."""
    sizes = []
    total = 0
    while total < n:
        s = 1 + int(rng.poisson(max(mean_size - 1.0, 0.0)))
        s = min(s, n - total)
        sizes.append(s)
        total += s
    sizes = np.array(sizes)
    hh = np.repeat(np.arange(len(sizes)), sizes)
    cells = rng.choice(housing_cells, size=len(sizes))
    return cells[hh], hh


def build_ties(home_cell: np.ndarray, household: np.ndarray, width: int, net: Network,
               rng: np.random.Generator) -> np.ndarray:
    """Undirected ties as an array (m, 2) of slot pairs, i < j, without duplicates.

    Household members are all tied; each resident draws ``neighbour_ties`` partners among
    residents of the same or an adjacent cell and ``friend_ties`` partners anywhere.
    """
    n = len(home_cell)
    edges = []
    # household cliques
    order = np.argsort(household, kind="stable")
    hh_sorted = household[order]
    starts = np.flatnonzero(np.r_[True, hh_sorted[1:] != hh_sorted[:-1]])
    ends = np.r_[starts[1:], n]
    for s, e in zip(starts[ends - starts > 1], ends[ends - starts > 1]):
        members = order[s:e]
        i, j = np.triu_indices(len(members), 1)
        edges.append(np.stack([members[i], members[j]], axis=1))
    # neighbours: partner drawn among residents of a cell in the 3x3 block around home
    k_n = rng.poisson(net.neighbour_ties / 2.0, n)  # each tie is drawn by one end
    src = np.repeat(np.arange(n), k_n)
    if len(src):
        r, c = np.divmod(home_cell[src], width)
        target_cell = (r + rng.integers(-1, 2, len(src))) * width + (c + rng.integers(-1, 2, len(src)))
        by_cell = np.argsort(home_cell, kind="stable")
        sorted_cells = home_cell[by_cell]
        lo = np.searchsorted(sorted_cells, target_cell, "left")
        hi = np.searchsorted(sorted_cells, target_cell, "right")
        has = hi > lo
        pick = lo[has] + (rng.random(has.sum()) * (hi[has] - lo[has])).astype(np.int64)
        edges.append(np.stack([src[has], by_cell[pick]], axis=1))
    # friends anywhere
    k_f = rng.poisson(net.friend_ties / 2.0, n)
    src = np.repeat(np.arange(n), k_f)
    edges.append(np.stack([src, rng.integers(0, n, len(src))], axis=1))
    e = np.concatenate(edges) if edges else np.zeros((0, 2), np.int64)
    e = e[e[:, 0] != e[:, 1]]
    e = np.sort(e, axis=1)
    return np.unique(e, axis=0)


def adjacency(edges: np.ndarray, n: int) -> csr_matrix:
    """Symmetric 0/1 adjacency matrix (n, n), float32, of undirected ``edges``."""
    data = np.ones(2 * len(edges), dtype=np.float32)
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    return csr_matrix((data, (rows, cols)), shape=(n, n))


def to_networkx(edges: np.ndarray, n: int) -> nx.Graph:
    """The social network as a networkx Graph over slots 0..n-1."""
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(map(tuple, edges.tolist()))
    return g
