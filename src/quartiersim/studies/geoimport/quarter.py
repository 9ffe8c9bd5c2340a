"""The quarter's cell grid: clipping, residents, barriers, service points."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from quartiersim.config.domains import PointKind
from quartiersim.studies.geoimport.common import (
    BARRIER,
    CROSSING,
    CROSSING_KIND,
    FOOTPATH_KINDS,
    HOUSING,
    MASKED_COUNT,
    MAX_CELLS,
    OPEN,
    OUTSIDE,
    POINT_KINDS,
    ZENSUS_CELL_M,
    GeoImportError,
)
from quartiersim.studies.geoimport.grid import ZensusGrid
from quartiersim.studies.geoimport.layers import _kind_column, _name_column, read_layer
from quartiersim.studies.synth import (
    POINT_LETTERS,
)

if TYPE_CHECKING:
    pass


# --------------------------------------------------------------------------- the cell grid
@dataclass
class CellGrid:
    """The quarter's cells: row 0 north, origin = north-west corner (EPSG:3035, m)."""

    origin_x: float
    origin_y: float
    size: float
    height: int
    width: int

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell centres (x, y), each shape (height, width)."""
        c, r = np.meshgrid(np.arange(self.width), np.arange(self.height))
        return self.origin_x + (c + 0.5) * self.size, self.origin_y - (r + 0.5) * self.size

    def cell_of(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) of points, possibly outside the grid."""
        col = np.floor((np.asarray(x) - self.origin_x) / self.size).astype(np.int64)
        row = np.floor((self.origin_y - np.asarray(y)) / self.size).astype(np.int64)
        return row, col

    def contains(self, row: np.ndarray, col: np.ndarray) -> np.ndarray:
        return (row >= 0) & (row < self.height) & (col >= 0) & (col < self.width)


def _rasterise_lines(lines: Sequence[Any], cells: CellGrid) -> np.ndarray:
    """Cells the lines pass through, 4-connected (a diagonal step between two cells of a
    line also marks a shared neighbour, so nobody slips through diagonally); bool (h, w)."""
    import shapely

    out = np.zeros((cells.height, cells.width), bool)
    for geom in lines:
        parts = getattr(geom, "geoms", [geom])
        for part in parts:
            dense = shapely.segmentize(part, cells.size / 8.0)
            xy = shapely.get_coordinates(dense)
            if len(xy) == 0:
                continue
            r, c = cells.cell_of(xy[:, 0], xy[:, 1])
            keep = np.r_[True, (r[1:] != r[:-1]) | (c[1:] != c[:-1])]
            r, c = r[keep], c[keep]
            diag = np.flatnonzero((r[1:] != r[:-1]) & (c[1:] != c[:-1]))
            r = np.concatenate([r, r[diag]])
            c = np.concatenate([c, c[diag + 1]])
            ok = cells.contains(r, c)
            out[r[ok], c[ok]] = True
    return out


def _nearest(mask: np.ndarray, row: int, col: int, cells: CellGrid) -> tuple[int, int] | None:
    """The cell of ``mask`` nearest to (row, col) (Euclidean), None if mask is empty."""
    rr, cc = np.nonzero(mask)
    if len(rr) == 0:
        return None
    i = int(np.argmin((rr - row) ** 2 + (cc - col) ** 2))
    return int(rr[i]), int(cc[i])


@dataclass
class ServicePointPlacement:
    letter: str
    kind: str
    name: str
    row: int
    col: int
    note: str  # where it came from


@dataclass
class ImportedQuarter:
    """Everything the scenario file needs, with the counts for its comments."""

    cells: CellGrid
    layout: list[str]
    weights: np.ndarray  # (h, w) residents per cell (housing cells only > 0)
    points: list[ServicePointPlacement]
    residents: int
    zensus_cells: int  # populated Zensus cells in the quarter
    zensus_cells_total: int  # populated cells in the tables
    masked_residents: int  # of the quarter's cells: Einwohner masked
    moved_residents: float  # residents moved off barrier / point / outside cells
    mix: dict[str, tuple[float, str]]  # derived parameter -> (value, note)
    crossings: int
    barrier_cells: int
    notes: list[str]  # warnings for the user
    sources: dict[str, str]


def _derive_mix(grid: ZensusGrid, inside: np.ndarray) -> dict[str, tuple[float, str]]:
    """Age and household mix of the quarter's cells, as (value, note) by parameter."""
    v, m = grid.values, grid.masked
    w = grid.residents
    n_in = int(inside.sum())
    out: dict[str, tuple[float, str]] = {}

    def count_share(col: str, label: str, key: str) -> bool:
        total = "insgesamt_bevoelkerung" if "insgesamt_bevoelkerung" in v else None
        if col not in v:
            return False
        present = inside & ~np.isnan(v[col]) | inside & m[col]
        if total:
            present &= ~np.isnan(v[total]) | m[total]
        if not present.any():
            return False
        num = np.where(m[col], MASKED_COUNT, v[col])[present]
        den = (np.where(m[total], MASKED_COUNT, v[total]) if total else w)[present]
        if den.sum() <= 0:
            return False
        n_masked = int((m[col] & present).sum())
        out[key] = (float(num.sum() / den.sum()),
                    f"derived: Zensus 2022, {grid.names[col]} / "
                    f"{grid.names[total] if total else 'Einwohner'} over {int(present.sum())} of "
                    f"{n_in} cells in the quarter ({n_masked} masked counts taken as "
                    f"{MASKED_COUNT:g}) = {label}")
        return True

    def weighted_mean(col: str, scale: float, key: str, label: str, lo: float, hi: float) -> bool:
        if col not in v:
            return False
        ok = inside & ~np.isnan(v[col])
        if not ok.any() or w[ok].sum() <= 0:
            return False
        value = float(np.average(v[col][ok] * scale, weights=w[ok]))
        n_masked = int((inside & m[col]).sum())
        out[key] = (min(max(value, lo), hi),
                    f"derived: Zensus 2022, {grid.names[col]} weighted by Einwohner over "
                    f"{int(ok.sum())} of {n_in} cells in the quarter ({n_masked} masked left out)"
                    f" = {label}")
        return True

    count_share("unter18", "share under 18", "share_under_18") or weighted_mean(
        "anteilunter18", 0.01, "share_under_18", "share under 18", 0.0, 1.0)
    count_share("a65undaelter", "share 65 and older", "share_65_plus") or weighted_mean(
        "anteilueber65", 0.01, "share_65_plus", "share 65 and older", 0.0, 1.0)
    if not weighted_mean("durchschnhhgroesse", 1.0, "household_size_mean",
                         "mean household size", 1.0, 8.0) and "insgesamt_haushalte" in v:
        ok = inside & ~np.isnan(v["insgesamt_haushalte"]) & (v["insgesamt_haushalte"] > 0)
        if ok.any():
            value = float(w[ok].sum() / v["insgesamt_haushalte"][ok].sum())
            out["household_size_mean"] = (
                min(max(value, 1.0), 8.0),
                f"derived: Zensus 2022, Einwohner / {grid.names['insgesamt_haushalte']} over "
                f"{int(ok.sum())} of {n_in} cells in the quarter = mean household size")
    if "share_under_18" in out and "share_65_plus" in out:
        a, b = out["share_under_18"][0], out["share_65_plus"][0]
        if a + b > 1.0:  # masked counts taken as 1 can push tiny quarters over 1
            out["share_65_plus"] = (1.0 - a, out["share_65_plus"][1] + " (capped at 1 - share under 18)")
    return out


def build_quarter(grid: ZensusGrid, boundary_path: str | Path, points_path: str | Path | None,
                  barriers_path: str | Path | None, cell_size: int) -> ImportedQuarter:
    """Clip the grid to the boundary and lay out the quarter's cells.

    Raises:
        GeoImportError: unusable files (see :func:`read_layer`), a grid that does not
            overlap the boundary, a quarter of more than :data:`MAX_CELLS` cells, points of
            an unknown kind, more points than layout letters.
    """
    import shapely

    if cell_size not in (50, 100):
        raise GeoImportError(f"--cell-size {cell_size}: allowed: 50 or 100 (m)")
    boundary = _read_boundary(boundary_path)
    in_q = _clip(grid, boundary, boundary_path)
    cells = _cell_grid(boundary, cell_size, boundary_path)
    inside = shapely.contains_xy(boundary, *cells.centres())
    weights = _spread_residents(grid, in_q, cells, inside)
    land = np.full((cells.height, cells.width), OUTSIDE, dtype="<U1")
    land[inside] = OPEN
    land[inside & (weights > 0)] = HOUSING
    notes: list[str] = []
    barrier_cells, crossings = (_lay_barriers(barriers_path, cells, land, inside)
                                if barriers_path is not None else (0, []))
    points = _read_points(points_path) if points_path is not None else []
    crossings += [(x, y, f"crossing {nm!r}") for x, y, kd, nm in points if kd == CROSSING_KIND]
    n_cross = _mark_crossings(crossings, cells, land, notes)
    letters = iter(POINT_LETTERS)
    placed = [_place_point(x, y, kd, nm, cells, land, notes, letters, points_path)
              for x, y, kd, nm in points if kd != CROSSING_KIND]
    if not (land == HOUSING).any():
        raise GeoImportError(f"{grid.label}: no populated cell of the quarter is left for housing "
                             "(all lie on barriers or service points)")
    placed += _assumed_sites(placed, weights, cells, land, notes, letters, boundary_path)
    moved = _move_stray_residents(weights, land)
    cut_off = _cut_off_residents(weights, land, placed)
    if cut_off > 0:
        notes.append(f"{cut_off:.0f} residents live in parts of the quarter that do not touch the "
                     "part with the service points: they can reach no offer (is the boundary one area?)")
    return ImportedQuarter(
        cells=cells, layout=["".join(row) for row in land], weights=weights, points=placed,
        residents=int(round(float(grid.residents[in_q].sum()))), zensus_cells=int(in_q.sum()),
        zensus_cells_total=len(in_q), masked_residents=int((grid.residents_masked & in_q).sum()),
        moved_residents=moved, mix=_derive_mix(grid, in_q), crossings=n_cross,
        barrier_cells=barrier_cells, notes=notes,
        sources={"grid": ", ".join(p.name for p in grid.files), "boundary": Path(boundary_path).name,
                 "points": Path(points_path).name if points_path else "",
                 "barriers": Path(barriers_path).name if barriers_path else ""})


def _read_boundary(path: str | Path) -> Any:
    """The boundary as one (multi)polygon in EPSG:3035, prepared for point queries."""
    import shapely

    gdf = read_layer(path, "boundary", ("Polygon", "MultiPolygon"))
    geom = shapely.make_valid(gdf.geometry.union_all())
    geom = shapely.union_all([g for g in getattr(geom, "geoms", [geom])
                              if g.geom_type in ("Polygon", "MultiPolygon")])
    if geom.is_empty or geom.area <= 0:
        raise GeoImportError(f"{path}: the boundary encloses no area")
    shapely.prepare(geom)
    return geom


def _clip(grid: ZensusGrid, boundary: Any, boundary_path: str | Path) -> np.ndarray:
    """Which Zensus cells belong to the quarter (centre in the boundary), shape (n,)."""
    import shapely

    half = ZENSUS_CELL_M / 2
    in_q = shapely.contains_xy(boundary, grid.east + half, grid.north + half)
    if not in_q.any():
        minx, miny, maxx, maxy = boundary.bounds
        raise GeoImportError(
            f"{grid.label}: none of the {len(in_q)} populated cells (E {grid.east.min()} to "
            f"{grid.east.max() + ZENSUS_CELL_M}, N {grid.north.min()} to "
            f"{grid.north.max() + ZENSUS_CELL_M}, EPSG:3035) lies inside the boundary "
            f"{boundary_path} (E {minx:.0f} to {maxx:.0f}, N {miny:.0f} to {maxy:.0f} in "
            "EPSG:3035): do the grid and the boundary show the same place?")
    return in_q


def _cell_grid(boundary: Any, cell_size: int, boundary_path: str | Path) -> CellGrid:
    """Cells covering the boundary's extent, its edges on Zensus grid lines."""
    z = ZENSUS_CELL_M
    minx, miny, maxx, maxy = boundary.bounds
    x0, x1 = math.floor(minx / z) * z, math.ceil(maxx / z) * z
    y0, y1 = math.floor(miny / z) * z, math.ceil(maxy / z) * z
    cells = CellGrid(float(x0), float(y1), float(cell_size), int(round((y1 - y0) / cell_size)),
                     int(round((x1 - x0) / cell_size)))
    if cells.height * cells.width > MAX_CELLS:
        raise GeoImportError(f"{boundary_path}: the quarter's extent is {cells.width} x "
                             f"{cells.height} cells of {cell_size} m, more than {MAX_CELLS:,}; "
                             "use --cell-size 100 or a smaller boundary")
    return cells


def _spread_residents(grid: ZensusGrid, in_q: np.ndarray, cells: CellGrid,
                      inside: np.ndarray) -> np.ndarray:
    """Residents per cell (h, w): each quarter Zensus cell's over its sub-cells in the
    boundary (all its sub-cells when none is; :func:`_move_stray_residents` moves them)."""
    z = ZENSUS_CELL_M
    k = int(z // cells.size)
    weights = np.zeros((cells.height, cells.width))
    zr = ((cells.origin_y - grid.north[in_q] - z) / z).astype(np.int64)
    zc = ((grid.east[in_q] - cells.origin_x) / z).astype(np.int64)
    for r, c, e in zip(zr.tolist(), zc.tolist(), grid.residents[in_q].tolist()):
        block = (slice(r * k, r * k + k), slice(c * k, c * k + k))
        sub = inside[block]
        n = int(sub.sum())
        if n:
            weights[block][sub] += e / n
        else:
            weights[block] += e / (k * k)
    return weights


def _lay_barriers(path: str | Path, cells: CellGrid, land: np.ndarray,
                  inside: np.ndarray) -> tuple[int, list[tuple[float, float, str]]]:
    """Mark the barrier lines' cells in ``land``; return their number and the points where
    footpath lines cross them (x, y, label)."""
    import shapely

    lines = read_layer(path, "barriers", ("LineString", "MultiLineString"))
    has_kind = any(c.lower() == "kind" for c in lines.columns)
    foot = (_kind_column(lines, path, "barrier lines").isin(FOOTPATH_KINDS).to_numpy() if has_kind
            else np.zeros(len(lines), bool))  # without 'kind' every line is a barrier
    barriers = list(lines.geometry[~foot])
    mask = _rasterise_lines(barriers, cells) & inside
    land[mask] = BARRIER
    crossings = []
    if barriers and foot.any():
        union = shapely.union_all(barriers)
        for g, nm in zip(lines.geometry[foot], _name_column(lines[foot], "footpath")):
            for x, y in shapely.get_coordinates(shapely.intersection(g, union)).tolist():
                crossings.append((x, y, f"footpath {nm!r}"))
    return int(mask.sum()), crossings


def _read_points(path: str | Path) -> list[tuple[float, float, str, str]]:
    """Points (x, y in EPSG:3035, kind, name); polygons (e.g. buildings) by an inner point."""
    pts = read_layer(path, "points", ("Point", "MultiPoint", "Polygon", "MultiPolygon"))
    kinds = _kind_column(pts, path, "points")
    bad = sorted(set(kinds) - set(POINT_KINDS) - {CROSSING_KIND})
    if bad:
        raise GeoImportError(f"{path}: unknown kind {bad[0]!r}; allowed: "
                             f"{', '.join(POINT_KINDS)}, {CROSSING_KIND}")
    where = pts.geometry.representative_point()
    return list(zip(where.x.tolist(), where.y.tolist(), kinds.tolist(), _name_column(pts, "point")))


def _mark_crossings(crossings: list[tuple[float, float, str]], cells: CellGrid, land: np.ndarray,
                    notes: list[str]) -> int:
    """Turn the barrier cell at (or next to) each crossing into a crossing cell."""
    n = 0
    for x, y, label in crossings:
        rr, cc = cells.cell_of(np.array([x]), np.array([y]))
        r, c = int(rr[0]), int(cc[0])
        if not (0 <= r < cells.height and 0 <= c < cells.width):
            notes.append(f"{label} lies outside the quarter: ignored")
            continue
        window = np.zeros(land.shape, bool)
        window[max(r - 1, 0):r + 2, max(c - 1, 0):c + 2] = True
        target = _nearest(window & np.isin(land, (BARRIER, CROSSING)), r, c, cells)
        if target is None:
            notes.append(f"{label} is not on a barrier line (no barrier cell within one cell): ignored")
        elif land[target] == BARRIER:
            land[target] = CROSSING
            n += 1
    return n


def _place_point(x: float, y: float, kind: str, name: str, cells: CellGrid, land: np.ndarray,
                 notes: list[str], letters: Any, source: Any) -> ServicePointPlacement:
    """Put a service point on its cell, or on the nearest free cell of the quarter when its
    cell is outside, a barrier or taken."""
    rr, cc = cells.cell_of(np.array([x]), np.array([y]))
    r, c = int(rr[0]), int(cc[0])
    free = np.isin(land, (OPEN, HOUSING))
    note = f"from {Path(source).name}"
    in_quarter = 0 <= r < cells.height and 0 <= c < cells.width and land[r, c] != OUTSIDE
    if not (in_quarter and free[r, c]):
        target = _nearest(free, r, c, cells)
        if target is None:
            raise GeoImportError(f"{source}: no free cell in the quarter for {name!r}")
        dist = math.hypot(target[0] - r, target[1] - c) * cells.size
        why = "outside the quarter" if not in_quarter else "on a barrier or another point"
        note += f"; moved {dist:.0f} m from {why}"
        notes.append(f"service point {name!r} ({kind}) lies {why}: moved {dist:.0f} m to the "
                     "nearest free cell of the quarter")
        r, c = target
    letter = _next_letter(letters, source)
    land[r, c] = letter
    return ServicePointPlacement(letter, kind, name, r, c, note)


#: Kinds of service point the cooperation models need, with a label for assumed sites.
NEEDED_KINDS = ((PointKind.MUNICIPAL_OFFICE, "municipal office"),
                (PointKind.CARRIER_PREMISES, "carrier's premises"),
                (PointKind.CENTRE_SITE, "site for an integration centre"),
                (PointKind.MEETING_POINT_SITE, "rooms for a meeting point"))


def _assumed_sites(placed: list[ServicePointPlacement], weights: np.ndarray, cells: CellGrid,
                   land: np.ndarray, notes: list[str], letters: Any,
                   source: Any) -> list[ServicePointPlacement]:
    """A point of each needed kind the inputs lack, at the free cell nearest to the centre
    of the quarter's residents (cells without residents first)."""
    rr, cc = np.nonzero(weights > 0)
    w = weights[rr, cc]
    centre = (int(round(np.average(rr, weights=w))), int(round(np.average(cc, weights=w))))
    out = []
    for kind, label in NEEDED_KINDS:
        if any(p.kind == kind.value for p in placed):
            continue
        free = np.isin(land, (OPEN, HOUSING))
        target = _nearest(land == OPEN, *centre, cells) or _nearest(free, *centre, cells)
        if target is None:
            raise GeoImportError(f"{source}: no free cell in the quarter for a {label}")
        letter = _next_letter(letters, source)
        land[target] = letter
        out.append(ServicePointPlacement(
            letter, kind.value, f"Assumed {label} (no '{kind.value}' point given; replace)",
            target[0], target[1], "assumption: no such point given; placed at the cell nearest "
            "to the centre of the quarter's residents"))
        notes.append(f"no '{kind.value}' point given: assumed {label} placed at the centre "
                     "of the quarter's residents")
    return out


def _move_stray_residents(weights: np.ndarray, land: np.ndarray) -> float:
    """Move residents off cells that are no housing (barrier, crossing, point, outside)
    to the nearest housing cell, in place; return how many moved."""
    from scipy.ndimage import distance_transform_edt

    housing = land == HOUSING
    stray = (weights > 0) & ~housing
    moved = float(weights[stray].sum())
    if stray.any():
        _, (ir, ic) = distance_transform_edt(~housing, return_indices=True)
        np.add.at(weights, (ir[stray], ic[stray]), weights[stray])
        weights[stray] = 0.0
    return moved


def _cut_off_residents(weights: np.ndarray, land: np.ndarray,
                       placed: list[ServicePointPlacement]) -> float:
    """Residents on housing cells that no walk (8 neighbours, not through outside cells)
    connects with any service point."""
    from scipy.ndimage import label

    walk, _ = label(land != OUTSIDE, structure=np.ones((3, 3)))
    reached = np.isin(walk, [walk[p.row, p.col] for p in placed])
    return float(weights[(land == HOUSING) & ~reached].sum())


def _next_letter(letters: Any, points_path: Any) -> str:
    try:
        return next(letters)
    except StopIteration:
        raise GeoImportError(f"{points_path}: more than {len(POINT_LETTERS)} service points") from None
