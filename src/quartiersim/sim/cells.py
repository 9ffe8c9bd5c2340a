"""Outcomes per cell of the layout: need and served hours, distances to the best point,
residents (for maps and the GeoPackage export, :mod:`quartiersim.studies.geoexport`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from quartiersim.config.domains import DOMAINS

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel


@dataclass(frozen=True)
class CellOutcomes:
    """Outcomes per cell of the layout (flat index row * width + column), over a run or
    the mean over several runs (``runs``) of one cooperation model.

    Attributes:
        need_hours, served_hours: need-hours of the cell's residents over the run (as the
            summary's ``need_hours`` / ``served_hours``, which are their sums), shape
            (n_cells, 6) in ``DOMAINS`` order.
        distance_m: walking distance from the cell to its best point offering each
            domain at the end of the run (trust x distance decay, residents without a
            limitation or language barrier), inf where none; shape (n_cells, 6).
        best_point: that point's index in ``points``, -1 where none; (n_cells, 6).
        residents_start, residents_end: residents living in the cell; (n_cells,).
        land_use: :class:`LandUse` value per cell; (n_cells,).
        points: service points as (letter, kind, name, flat cell index).
    """

    height: int
    width: int
    land_use: np.ndarray
    need_hours: np.ndarray
    served_hours: np.ndarray
    distance_m: np.ndarray
    best_point: np.ndarray
    residents_start: np.ndarray
    residents_end: np.ndarray
    points: tuple[tuple[str, str, str, int], ...]
    runs: int = 1

    @staticmethod
    def mean(runs: Sequence[CellOutcomes]) -> CellOutcomes:
        """The mean over runs of the same layout (distances: over the runs with a point;
        best point: the first run's)."""
        first = runs[0]

        def avg(name: str) -> np.ndarray:
            return np.mean([getattr(r, name) for r in runs], axis=0)

        dist = np.stack([r.distance_m for r in runs])
        finite = np.isfinite(dist)
        with np.errstate(invalid="ignore"):
            mean_dist = np.where(finite.any(axis=0),
                                 np.where(finite, dist, 0.0).sum(axis=0) / finite.sum(axis=0), np.inf)
        return CellOutcomes(first.height, first.width, first.land_use, avg("need_hours"),
                            avg("served_hours"), mean_dist, first.best_point,
                            avg("residents_start"), avg("residents_end"), first.points,
                            sum(r.runs for r in runs))


def cell_outcomes(model: QuarterModel) -> CellOutcomes:
    """Per-cell outcomes of a finished model built with ``track_cells=True``.

    Raises:
        ValueError: the model did not track cells.
    """
    if model.cell_need is None:
        raise ValueError("cell_outcomes needs a model built with track_cells=True")
    sp, a = model.space, model.residents
    n = sp.n_cells
    best = model.best_points_by_domain().T  # (cells, 6)
    cells = np.arange(n)[:, None]
    dist = (np.where(best >= 0, sp.distance_m[np.maximum(best, 0), cells], np.inf)
            if len(sp.points) else np.full((n, len(DOMAINS)), np.inf))
    points = tuple((p.letter, p.kind.value, p.name, p.cell) for p in sp.points)
    return CellOutcomes(
        height=sp.height, width=sp.width, land_use=sp.land_use.astype(np.int64),
        need_hours=model.cell_need.reshape(len(DOMAINS), n).T.copy(),
        served_hours=model.cell_served.reshape(len(DOMAINS), n).T.copy(),
        distance_m=dist, best_point=best, residents_start=model.cell_residents_start.astype(float),
        residents_end=np.bincount(a.home_cell[a.alive], minlength=n).astype(float), points=points)
