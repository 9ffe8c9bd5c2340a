"""Results back to GIS: per-cell outcomes and service points as a GeoPackage.

``quartiersim run|compare ... --geo OUT.gpkg`` writes two layers a planner opens in QGIS:

- ``cells``: one square polygon per cell of the quarter (cells outside an imported
  quarter's boundary are left out) and cooperation model, with the need, served and unmet
  need-hours over the run, coverage (served / need; empty where nothing was needed) and the
  walking distance to the best point offering each domain at the end of the run, overall
  and by domain (``need_hours_<domain>``, ``coverage_<domain>``, ``distance_m_<domain>``,
  ...). After ``compare`` the values are means over the seeds; filter by ``model``.
- ``service_points``: one point per service point (cell centre) with its letter, kind and
  name.

Coordinates come from the scenario's ``[space.georeference]`` (imported quarters: the
Zensus grid's EPSG:3035). A hand-drawn layout without one is written on a local grid
without CRS: metres east and south of the layout's north-west corner.

Needs the ``geo`` extra; geopandas is imported only when a file is written.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from quartiersim.config.domains import DOMAINS, LandUse
from quartiersim.config.schema import Scenario
from quartiersim.sim.outcomes import CellOutcomes
from quartiersim.studies.geoimport import check_geo_installed

LOCAL_GRID_NOTE = ("has no [space.georeference]: cells written on a local grid without CRS "
                   "(metres east and south of the layout's north-west corner)")


@dataclass(frozen=True)
class GeoExport:
    """What was written: file, CRS (None = local grid) and feature counts."""

    path: Path
    crs: str | None
    cells: int
    points: int
    note: str = ""


def _share(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def cell_table(outcomes: CellOutcomes, model: str, financing: str) -> dict[str, np.ndarray]:
    """Columns of the ``cells`` layer for one model (cells of the quarter only)."""
    keep = np.flatnonzero(outcomes.land_use != LandUse.OUTSIDE)
    row, col = np.divmod(keep, outcomes.width)
    need, served = outcomes.need_hours[keep], outcomes.served_hours[keep]
    dist = np.where(np.isfinite(outcomes.distance_m[keep]), outcomes.distance_m[keep], np.nan)
    letters = np.array([p[0] for p in outcomes.points] + [""], dtype=object)
    n = len(keep)
    out: dict[str, Any] = {
        "model": np.full(n, model, dtype=object), "financing": np.full(n, financing, dtype=object),
        "runs": np.full(n, outcomes.runs), "row": row, "col": col,
        "land_use": np.array([LandUse(int(u)).name.lower() for u in outcomes.land_use[keep]],
                             dtype=object),
        "residents_start": outcomes.residents_start[keep],
        "residents_end": outcomes.residents_end[keep],
        "need_hours": need.sum(axis=1), "served_hours": served.sum(axis=1),
        "unmet_hours": (need - served).sum(axis=1),
        "coverage": _share(served.sum(axis=1), need.sum(axis=1)),
        "distance_m": np.nanmin(np.where(np.isnan(dist), np.inf, dist), axis=1),
    }
    out["distance_m"] = np.where(np.isfinite(out["distance_m"]), out["distance_m"], np.nan)
    for k, d in enumerate(DOMAINS):
        out[f"need_hours_{d.value}"] = need[:, k]
        out[f"served_hours_{d.value}"] = served[:, k]
        out[f"unmet_hours_{d.value}"] = need[:, k] - served[:, k]
        out[f"coverage_{d.value}"] = _share(served[:, k], need[:, k])
        out[f"distance_m_{d.value}"] = dist[:, k]
        out[f"best_point_{d.value}"] = letters[outcomes.best_point[keep, k]]
    return out


def write_geopackage(path: str | Path, scenario: Scenario, outcomes: Mapping[str, CellOutcomes],
                     financing: str) -> GeoExport:
    """Write the layers ``cells`` (one row per cell and model) and ``service_points``.

    Args:
        outcomes: per-cell outcomes by cooperation model name.
        financing: the financing model's name (a column).

    Raises:
        QuartiersimError: the geo extra is missing.
    """
    check_geo_installed(f"--geo {path}")
    import geopandas as gpd
    import pandas as pd
    import shapely

    p = Path(path)
    space = scenario.space
    geo = space.georeference
    size = space.cell_size_m
    x0, y0 = (geo.origin_x, geo.origin_y) if geo is not None else (0.0, 0.0)
    crs = geo.crs if geo is not None else None
    frames = [pd.DataFrame(cell_table(o, model, financing)) for model, o in outcomes.items()]
    table = pd.concat(frames, ignore_index=True)
    if geo is not None and geo.crs == "EPSG:3035" and x0 % 100 == 0 and y0 % 100 == 0:
        # the Zensus cell each cell lies in: the key to join Zensus tables in QGIS
        east = (x0 + table["col"] * size) // 100 * 100
        north = (y0 - (table["row"] + 1) * size) // 100 * 100
        table.insert(5, "zensus_id", [f"CRS3035RES100mN{int(n)}E{int(e)}" for n, e in zip(north, east)])
    xmin = x0 + table["col"].to_numpy() * size
    ymax = y0 - table["row"].to_numpy() * size
    cells = gpd.GeoDataFrame(table, geometry=shapely.box(xmin, ymax - size, xmin + size, ymax),
                             crs=crs)
    first = next(iter(outcomes.values()))
    prow, pcol = np.divmod(np.array([pt[3] for pt in first.points], dtype=np.int64), first.width)
    points = gpd.GeoDataFrame(
        {"letter": [pt[0] for pt in first.points], "kind": [pt[1] for pt in first.points],
         "name": [pt[2] for pt in first.points], "row": prow, "col": pcol},
        geometry=shapely.points(x0 + (pcol + 0.5) * size, y0 - (prow + 0.5) * size), crs=crs)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.unlink(missing_ok=True)
    with warnings.catch_warnings():  # a local grid has no CRS on purpose: the note says so
        warnings.filterwarnings("ignore", message=".*'crs' was not provided", category=UserWarning)
        cells.to_file(p, layer="cells", driver="GPKG", engine="pyogrio")
        points.to_file(p, layer="service_points", driver="GPKG", engine="pyogrio")
    note = "" if geo is not None else f"{scenario.path} {LOCAL_GRID_NOTE}"
    return GeoExport(p, crs, len(cells), len(points), note)
