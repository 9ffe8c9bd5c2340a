"""The quarter as a Mesa grid with land use and crossing-cost property layers, and
walking distances from every service point to every cell, computed once per layout.

Cells are addressed ``(row, column)``, row 0 north; flat cell index = row * width + column.
Cells outside an imported quarter (land use ``OUTSIDE``) have no walking edges: nobody
walks through them, and their distance from every point is infinite.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from random import Random

import numpy as np
from mesa.discrete_space import OrthogonalMooreGrid
from mesa.discrete_space.property_layer import PropertyLayer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from quartiersim.config.domains import LAND_USE_SYMBOLS, LandUse, PointKind
from quartiersim.config.schema import Space


@dataclass(frozen=True)
class ServicePoint:
    """A place where offers are delivered: an office, carrier premises, a centre, a meeting point."""

    index: int  # row in the distance matrix
    letter: str
    kind: PointKind
    name: str
    cell: int  # flat cell index


class QuarterSpace:
    """Grid, land use, crossing costs, service points and precomputed walking distances.

    Attributes:
        grid: the Mesa ``OrthogonalMooreGrid`` with property layers ``land_use`` (int)
            and ``crossing_cost`` (factor, 1 = plain walking), built on first access.
        land_use: flat array (n_cells,) of :class:`LandUse` values.
        points: service points in layout order (row-major).
        distance_m: array (n_points, n_cells): shortest walking distance in metres from
            each service point to each cell, crossing costs included.
        housing_weight: array (n_housing,) of probabilities (sum 1) of placing a household
            on each housing cell (``space.residents_per_cell``), or None for uniform.
        georeference: where the layout lies on the map (``space.georeference``), or None.
    """

    def __init__(self, spec: Space, random: Random | None = None) -> None:
        rows = spec.layout
        self.height, self.width = len(rows), len(rows[0])
        self.cell_size_m = spec.cell_size_m
        self._random = random
        land = np.empty((self.height, self.width), dtype=np.int8)
        points: list[ServicePoint] = []
        for r, row in enumerate(rows):
            for c, ch in enumerate(row):
                if ch in LAND_USE_SYMBOLS:
                    land[r, c] = LAND_USE_SYMBOLS[ch]
                else:
                    land[r, c] = LandUse.FACILITY
                    sp = spec.service_points[ch]
                    points.append(ServicePoint(len(points), ch, sp.kind, sp.name, r * self.width + c))
        cost_by_use = np.array([np.inf if u is LandUse.OUTSIDE
                                else getattr(spec.crossing_cost, u.name.lower()) for u in LandUse])
        cost = cost_by_use[land]
        self.land_use = land.ravel().copy()
        self.crossing_cost = cost.ravel().astype(float)
        self.points = points
        self.n_cells = self.height * self.width
        self.housing_cells = np.flatnonzero(self.land_use == LandUse.HOUSING)
        weights = spec.residents_per_cell
        self.housing_weight = (None if weights is None
                               else np.asarray(weights, dtype=float) / float(np.sum(weights)))
        self.georeference = spec.georeference
        self.distance_m = self._distances()
        self._candidates: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    @cached_property
    def grid(self) -> OrthogonalMooreGrid:
        """The Mesa grid with its property layers, built on first use: the simulation
        works on the flat arrays, and a city's grid (its cells and their neighbours, one
        Python object each) costs seconds to build."""
        shape = (self.height, self.width)
        grid = OrthogonalMooreGrid(shape, torus=False, random=self._random)
        grid.add_property_layer(PropertyLayer.from_data("land_use", self.land_use.reshape(shape).copy()))
        grid.add_property_layer(PropertyLayer.from_data("crossing_cost", self.crossing_cost.reshape(shape).copy()))
        return grid

    def _distances(self) -> np.ndarray:
        """Dijkstra from every service point over the 8-neighbour grid.

        The cost of a step between two cells is the step length (cell size, or cell size
        x sqrt 2 diagonally) times the mean crossing cost of both cells; there is no step
        into or out of an outside cell.
        """
        h, w = self.height, self.width
        rr, cc = np.divmod(np.arange(h * w), w)
        src, dst, wt = [], [], []
        for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
            r2, c2 = rr + dr, cc + dc
            ok = (r2 >= 0) & (r2 < h) & (c2 >= 0) & (c2 < w)
            a, b = np.flatnonzero(ok), r2[ok] * w + c2[ok]
            walkable = np.isfinite(self.crossing_cost[a]) & np.isfinite(self.crossing_cost[b])
            if not walkable.all():  # only imported quarters have outside cells
                a, b = a[walkable], b[walkable]
            step = self.cell_size_m * (np.sqrt(2.0) if dr and dc else 1.0)
            weight = step * (self.crossing_cost[a] + self.crossing_cost[b]) / 2.0
            src += [a, b]
            dst += [b, a]
            wt += [weight, weight]
        graph = coo_matrix((np.concatenate(wt), (np.concatenate(src), np.concatenate(dst))),
                           shape=(h * w, h * w)).tocsr()
        if not self.points:
            return np.zeros((0, h * w))
        return dijkstra(graph, directed=True, indices=[p.cell for p in self.points])

    def candidates(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Each cell's ``min(k, points)`` nearest service points by walking distance, the
        places its residents weigh when seeking (ODD 7.4).

        Returns (point index, shape (n_cells, K), int32, nearest first, ties in layout
        order; walking distance in metres, shape (n_cells, K), inf where unreachable).
        Computed once per layout and ``k``."""
        cache = self._candidates
        if k not in cache:
            K = min(int(k), len(self.points))
            dist = self.distance_m.T  # (cells, points)
            idx = np.argsort(dist, axis=1, kind="stable")[:, :K].astype(np.int32)
            cache[k] = (idx, np.take_along_axis(dist, idx, axis=1))
        return cache[k]

    def point(self, letter: str) -> ServicePoint:
        """The service point with layout letter ``letter``; raises KeyError if absent."""
        for p in self.points:
            if p.letter == letter:
                return p
        raise KeyError(f"no service point {letter!r} on the layout")

    def points_of_kind(self, kind: PointKind) -> list[ServicePoint]:
        return [p for p in self.points if p.kind is kind]

    def cell(self, flat_index: int):
        """The Mesa cell object at a flat index."""
        return self.grid._cells[divmod(int(flat_index), self.width)]
