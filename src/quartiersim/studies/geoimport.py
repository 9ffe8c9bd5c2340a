"""Build a scenario from public geodata: ``quartiersim import``.

Inputs (read with geopandas/pyogrio; the ``geo`` extra):

- ``grid``: one or more Zensus 2022 100 m grid tables (semicolon-separated CSV keyed by
  ``GITTER_ID_100m`` = ``CRS3035RES100mN<north>E<east>``, the lower-left corner in
  EPSG:3035). One table must have ``Einwohner``; the others (age in 5 classes, shares
  under 18 / over 65, mean household size, households) are joined by the id. Cells
  without residents are omitted by Destatis; small values are masked ("–", "-", empty).
- ``boundary``: the quarter as polygon(s), GeoPackage or GeoJSON, in EPSG:3035, 25832,
  25833 or 4326.
- ``points`` (optional): service points with ``kind`` (a :class:`PointKind` value, or
  ``crossing`` for a signalled crossing of a barrier) and ``name``.
- ``barriers`` (optional): lines, optionally with ``kind``: roads, rail, rivers (any kind
  but a footpath; every line without ``kind``) become barrier cells; a ``footpath`` line
  crossing a barrier makes a crossing.

The quarter becomes a grid of 50 or 100 m cells aligned to the Zensus grid, covering the
boundary's extent. Symbols: ``' '`` outside the quarter (nobody lives or walks there),
``o`` inside without Zensus residents, ``.`` housing, ``#`` barrier, ``+`` crossing,
upper-case letters the service points. A Zensus cell belongs to the quarter when its
centre lies in the boundary; its residents are spread over its housing cells
(``space.residents_per_cell``); residents of cells that became barrier or service-point
cells move to the nearest housing cell. The written scenario keeps the grid's position
(``[space.georeference]``), so results map back (:mod:`quartiersim.studies.geoexport`).

Everything that is not derived from the inputs is the template scenario's value (the
Herten inner city, as ``quartiersim synth``), marked ``assumption``.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from quartiersim.config.domains import DOMAINS, PointKind
from quartiersim.errors import QuartiersimError
from quartiersim.studies.synth import (
    DEFAULT_TEMPLATE,
    POINT_LETTERS,
    SCALED_PER_RESIDENT,
    Template,
    load_template,
)

if TYPE_CHECKING:
    import geopandas as gpd

GEO_PACKAGES = ("geopandas", "pyogrio", "shapely", "pyproj")
GRID_CRS = "EPSG:3035"
#: CRSs accepted for boundary, points and barriers (transformed to the grid's EPSG:3035).
ACCEPTED_CRS = {3035: "EPSG:3035 (the Zensus grid)", 25832: "EPSG:25832 (UTM 32N, e.g. BKG VG250)",
                25833: "EPSG:25833 (UTM 33N)", 4326: "EPSG:4326 (lon/lat, GeoJSON)"}
#: Germany's extent in lon/lat, with a margin: input coordinates must lie in it.
GERMANY_LONLAT = (5.0, 46.5, 16.0, 55.5)
ZENSUS_CELL_M = 100
ID_COLUMN = "gitter_id_100m"
ID_PATTERN = r"^CRS3035RES100mN(\d+)E(\d+)$"
#: Marks of a masked (secret or small) value in Zensus tables.
MASKS = frozenset({"–", "-", "—", "−", "", "."})
#: Columns that are no attribute: cell centres and the explanatory marks (e.g. KLAMMERN).
NON_VALUE_COLUMNS = frozenset({"x_mp_100m", "y_mp_100m", "werterlaeuternde_zeichen"})
#: A masked count (residents, an age class) is taken as 1 person (assumption: counts
#: below 3 are masked; a listed cell has someone living in it).
MASKED_COUNT = 1.0
FOOTPATH_KINDS = frozenset({"footpath", "footway", "path", "pedestrian"})
CROSSING_KIND = "crossing"
POINT_KINDS = tuple(k.value for k in PointKind)
#: At most this many cells (the grid of the boundary's extent).
MAX_CELLS = 250_000
#: Calendar-year keys of the template, shifted with the start year (values from
#: :data:`YEAR_SENTINEL` on mean "never" and stay).
YEAR_KEYS = frozenset({"start_year", "end_year", "until_year", "year", "consolidation_aid_until_year"})
YEAR_SENTINEL = 2100
#: First simulated year of an imported quarter (assumption: the Zensus reference year).
START_YEAR = 2022
#: Layout symbols written by the import.
OUTSIDE, OPEN, HOUSING, BARRIER, CROSSING = " ", "o", ".", "#", "+"


class GeoImportError(QuartiersimError, ValueError):
    """An input file of ``quartiersim import`` is unusable; the message names the file."""


def check_geo_installed(command: str = "quartiersim import") -> None:
    """Raise QuartiersimError (one line, with the install command) without the geo extra."""
    missing = [m for m in GEO_PACKAGES if importlib.util.find_spec(m) is None]
    if missing:
        raise QuartiersimError(f"{command} needs the 'geo' extra ({', '.join(missing)} not "
                               "installed): pip install -e '.[geo]' (or `make test`, which installs it)")


# --------------------------------------------------------------------------- the grid
@dataclass
class ZensusGrid:
    """Populated 100 m cells of the grid tables (one entry per cell).

    Attributes:
        files: the tables read.
        east, north: lower-left corner of each cell, EPSG:3035 metres, shape (n,).
        residents: ``Einwohner``; masked values are :data:`MASKED_COUNT`.
        residents_masked: True where ``Einwohner`` was masked.
        values: other numeric columns by lower-case name, NaN where masked or absent.
        masked: per value column, True where the value was masked.
        names: original spelling of each column name.
    """

    files: list[Path]
    east: np.ndarray
    north: np.ndarray
    residents: np.ndarray
    residents_masked: np.ndarray
    values: dict[str, np.ndarray] = field(default_factory=dict)
    masked: dict[str, np.ndarray] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return ", ".join(str(p) for p in self.files)


def _read_table(path: Path) -> Any:
    """One grid table as a pandas DataFrame of strings (columns lower-cased)."""
    import pandas as pd

    if not path.is_file():
        raise GeoImportError(f"{path}: no such grid file")
    df = None
    for encoding in ("utf-8", "cp1252"):
        try:
            df = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, encoding=encoding)
            break
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "empty file"
            raise GeoImportError(f"{path}: not a Zensus grid table (';'-separated CSV): "
                                 f"{first}") from None
    if df is None:
        raise GeoImportError(f"{path}: neither UTF-8 nor Windows-1252 text")
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    lower = {c.lower(): c for c in df.columns}
    if ID_COLUMN not in lower:
        coarse = [c for c in df.columns if c.lower() in ("gitter_id_1km", "gitter_id_10km")]
        if coarse:
            raise GeoImportError(f"{path}: a {coarse[0][10:]} grid ({coarse[0]}); quartiersim "
                                 "needs the 100 m grid (column GITTER_ID_100m)")
        header = ";".join(df.columns)[:120]
        raise GeoImportError(f"{path}: no column GITTER_ID_100m (header: {header!r}); expected a "
                             "';'-separated Zensus 2022 100 m grid table")
    return df.rename(columns={v: k for k, v in lower.items()}), lower


def _parse_values(path: Path, column: str, raw: Any) -> tuple[np.ndarray, np.ndarray]:
    """Numbers of one column (decimal comma allowed) and the mask of masked entries."""
    import pandas as pd

    text = raw.str.strip()
    masked = text.isin(MASKS).to_numpy()
    numbers = pd.to_numeric(text.where(~masked).str.replace(",", ".", regex=False), errors="coerce")
    bad = np.flatnonzero(numbers.isna().to_numpy() & ~masked)
    if len(bad):
        i = int(bad[0])
        raise GeoImportError(f"{path}, line {i + 2}: {column} = {raw.iloc[i]!r} is no number "
                             f"(masked values are '–', '-' or empty)")
    return numbers.to_numpy(dtype=float), masked


def read_grid(paths: Sequence[str | Path]) -> ZensusGrid:
    """Read and join the Zensus grid tables ``paths`` (the cells are those of the tables
    with ``Einwohner``).

    Raises:
        GeoImportError: a file is missing, not a ';'-separated table, has no or malformed
            ``GITTER_ID_100m`` ids, duplicate cells, non-numeric values, or no table has
            ``Einwohner``.
    """
    files = [Path(p) for p in paths]
    if not files:
        raise GeoImportError("--grid: give at least one Zensus 2022 100 m grid table")
    tables = []
    for path in files:
        df, names = _read_table(path)
        parts = df[ID_COLUMN].str.strip().str.extract(ID_PATTERN)
        bad = np.flatnonzero(parts[0].isna().to_numpy())
        if len(bad):
            i = int(bad[0])
            raise GeoImportError(
                f"{path}, line {i + 2}: GITTER_ID_100m = {df[ID_COLUMN].iloc[i]!r} is no 100 m grid "
                f"id like 'CRS3035RES100mN2689100E4337000' ({len(bad)} malformed ids)")
        north, east = parts[0].astype(np.int64).to_numpy(), parts[1].astype(np.int64).to_numpy()
        off = np.flatnonzero((north % ZENSUS_CELL_M != 0) | (east % ZENSUS_CELL_M != 0))
        if len(off):
            i = int(off[0])
            raise GeoImportError(f"{path}, line {i + 2}: GITTER_ID_100m = {df[ID_COLUMN].iloc[i]!r}: "
                                 "corner coordinates must be multiples of 100 m")
        key = north * 10_000_000 + east
        dup = np.flatnonzero(df[ID_COLUMN].duplicated().to_numpy())
        if len(dup):
            i = int(dup[0])
            raise GeoImportError(f"{path}, line {i + 2}: cell {df[ID_COLUMN].iloc[i]} appears twice")
        values, masked = {}, {}
        for col in df.columns:
            if col == ID_COLUMN or col in NON_VALUE_COLUMNS:
                continue
            values[col], masked[col] = _parse_values(path, names[col], df[col])
        tables.append((path, key, north, east, values, masked, names))
    with_residents = [t for t in tables if "einwohner" in t[4]]
    if not with_residents:
        found = sorted({t[6][c] for t in tables for c in t[4]})
        raise GeoImportError(f"{', '.join(map(str, files))}: no table has the column Einwohner "
                             f"(found: {', '.join(found) or 'no value columns'}); add the Zensus "
                             "2022 table 'Bevölkerungszahl' (Zensus2022_Bevoelkerungszahl_100m-Gitter.csv)")
    path0, key, north, east, values0, masked0, names0 = with_residents[0]
    grid = ZensusGrid(files=files, east=east, north=north,
                      residents=np.where(masked0["einwohner"], MASKED_COUNT, values0["einwohner"]),
                      residents_masked=masked0["einwohner"])
    if np.any(grid.residents < 0):
        i = int(np.flatnonzero(grid.residents < 0)[0])
        raise GeoImportError(f"{path0}, line {i + 2}: Einwohner = {grid.residents[i]:g} is negative")
    for path, k, _, _, values, masked, names in tables:  # join the others by cell id
        srt = np.argsort(k)
        idx = srt[np.minimum(np.searchsorted(k, key, sorter=srt), len(k) - 1)]
        hit = k[idx] == key
        for col, v in values.items():
            if col == "einwohner" or col in grid.values:
                continue
            grid.values[col] = np.where(hit, v[idx], np.nan)
            grid.masked[col] = hit & masked[col][idx]
            grid.names[col] = names[col]
    return grid


# --------------------------------------------------------------------------- vector layers
def _crs_label(crs: Any) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg} ({crs.name})" if epsg else crs.name or crs.to_string()


def _accepted() -> str:
    return ", ".join(ACCEPTED_CRS.values())


def read_layer(path: str | Path, what: str, geometry: Sequence[str]) -> gpd.GeoDataFrame:
    """A vector file (GeoPackage, GeoJSON, anything GDAL reads) in EPSG:3035.

    Args:
        what: the option's role for messages, e.g. "boundary".
        geometry: accepted geometry types (e.g. ``("Polygon", "MultiPolygon")``).

    Raises:
        GeoImportError: missing or unreadable file, no features, no CRS, a CRS that is not
            accepted, coordinates that do not lie in Germany in the file's CRS, or no
            geometry of the accepted types.
    """
    import geopandas as gpd
    from pyproj import CRS

    p = Path(path)
    if not p.is_file():
        raise GeoImportError(f"{p}: no such {what} file")
    try:
        gdf = gpd.read_file(p, engine="pyogrio")
    except Exception as exc:  # GDAL's errors are many; the message says what it is
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GeoImportError(f"{p}: cannot read the {what} (GeoPackage or GeoJSON expected): "
                             f"{msg}") from None
    if gdf.empty or gdf.geometry.isna().all():
        raise GeoImportError(f"{p}: the {what} has no features")
    if gdf.crs is None:
        raise GeoImportError(f"{p}: the {what} has no CRS; accepted: {_accepted()} "
                             "(in QGIS: Layer > Set CRS, then save again)")
    epsg = next((e for e in ACCEPTED_CRS
                 if gdf.crs.equals(CRS.from_epsg(e), ignore_axis_order=True)), None)
    if epsg is None:
        raise GeoImportError(f"{p}: the {what} is in {_crs_label(gdf.crs)}; accepted: {_accepted()}")
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    bounds = gdf.total_bounds
    lon_lat = gdf.to_crs(4326).total_bounds if epsg != 4326 else bounds
    lo_x, lo_y, hi_x, hi_y = GERMANY_LONLAT
    if not (np.all(np.isfinite(lon_lat)) and lon_lat[0] >= lo_x and lon_lat[2] <= hi_x
            and lon_lat[1] >= lo_y and lon_lat[3] <= hi_y):
        raise GeoImportError(
            f"{p}: the {what}'s coordinates (x {bounds[0]:.6g} to {bounds[2]:.6g}, y {bounds[1]:.6g} "
            f"to {bounds[3]:.6g}) do not lie in Germany in its CRS {ACCEPTED_CRS[epsg]}: the CRS "
            f"found does not fit the coordinates; accepted: {_accepted()}")
    kinds = set(gdf.geometry.geom_type)
    if not kinds & set(geometry):
        raise GeoImportError(f"{p}: the {what} has {', '.join(sorted(kinds))} geometries; expected "
                             f"{' or '.join(geometry)}")
    gdf = gdf[gdf.geometry.geom_type.isin(geometry)]
    return gdf.to_crs(GRID_CRS) if epsg != 3035 else gdf


def _kind_column(gdf: gpd.GeoDataFrame, path: str | Path, what: str) -> Any:
    cols = {c.lower(): c for c in gdf.columns}
    if "kind" not in cols:
        raise GeoImportError(f"{path}: the {what} need an attribute 'kind' (found: "
                             f"{', '.join(c for c in gdf.columns if c != 'geometry') or 'none'})")
    return gdf[cols["kind"]].astype(str).str.strip().str.lower()


def _name_column(gdf: gpd.GeoDataFrame, default: str) -> list[str]:
    cols = {c.lower(): c for c in gdf.columns}
    for key in ("name", "bezeichnung", "gen"):
        if key in cols:
            names = gdf[cols[key]].astype(str).str.strip()
            return [n if n and n.lower() not in ("none", "nan") else f"{default} {i + 1}"
                    for i, n in enumerate(names)]
    return [f"{default} {i + 1}" for i in range(len(gdf))]


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


# --------------------------------------------------------------------------- the scenario text
def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}".rstrip("0").rstrip(".")


def _section(text: str, header: str) -> list[str]:
    """The ``key = value  # note`` lines of one table of the template (without header)."""
    lines = text.splitlines()
    try:
        start = lines.index(header) + 1
    except ValueError:
        return []
    out = []
    for line in lines[start:]:
        if line.startswith("["):
            break
        if " = " in line and not line.startswith("#"):
            out.append(line)
    return out


def _as_assumption(line: str, template: str, shift: int = 0) -> str:
    """A template line re-marked as an assumption for the imported quarter; calendar years
    (:data:`YEAR_KEYS`) moved by ``shift`` years with the start year."""
    value, _, note = line.partition("  # ")
    note = note.strip()
    key, _, number = value.partition(" = ")
    if shift and key.strip() in YEAR_KEYS and number.strip().isdigit() \
            and int(number) < YEAR_SENTINEL:
        value = f"{key} = {int(number) + shift}"
        moved = f"{template}'s {number.strip()} moved with the start year"
        rest = note.removeprefix("assumption").lstrip(": ")
        there = f" ({rest})" if note.startswith("assumption") and rest else \
            f" (there: {note})" if note and not note.startswith("assumption") else ""
        return f"{value}  # assumption: {moved}{there}"
    if note == "assumption" or not note:
        return f"{value}  # assumption: as {template}"
    if note.startswith("assumption"):
        return f"{value}  # assumption: as {template} ({note[len('assumption'):].lstrip(': ')})"
    return f"{value}  # assumption: as {template} (there: {note})"


def _split(line: str) -> tuple[str, str]:
    key, _, rest = line.partition(" = ")
    return key.strip(), rest.partition("  # ")[0].strip()


def scenario_text(q: ImportedQuarter, name: str, municipality: str, template: Template,
                  city_residents: int | None = None, command: str = "quartiersim import") -> str:
    """The TOML text of the imported quarter."""
    t = template
    tname = t.path.name
    text = t.path.read_text(encoding="utf-8")
    shift = START_YEAR - _template_start_year(t.path)
    size = q.cells.size
    n_housing = int(sum(row.count(HOUSING) for row in q.layout))
    n_inside = int(sum(len(row) - row.count(OUTSIDE) for row in q.layout))
    src = q.sources
    out = [
        f"# {name}: made by `{command}` from public geodata.",
        f"# Zensus 2022 100 m grid: {src['grid']}; boundary: {src['boundary']}"
        + (f"; points: {src['points']}" if src["points"] else "")
        + (f"; barriers: {src['barriers']}" if src["barriers"] else "") + ".",
        "# 'derived: Zensus 2022 ...' numbers are arithmetic on the grid tables; 'assumption'",
        f"# numbers are the template scenario's ({tname}): replace them with local figures.",
        "",
        'default_cooperation = "municipal"',
        'default_financing = "budget"',
        "",
        "[meta]",
        f"name = {_toml_str(name)}",
        f"municipality = {_toml_str(municipality)}",
        f"start_year = {START_YEAR}  # assumption: the Zensus reference year (census day 15 May 2022)",
        f'description = {_toml_str(f"Imported from the Zensus 2022 100 m grid ({q.zensus_cells} populated cells in the boundary {src["boundary"]}).")}',
        "",
        "[space]",
        f"cell_size_m = {size:.1f}  # assumption: --cell-size {int(size)} "
        + ("(the Zensus cell)" if size == ZENSUS_CELL_M else "(a quarter of a Zensus 100 m cell)"),
        f"# {q.cells.width} x {q.cells.height} cells of {int(size)} m, {n_inside} in the quarter, "
        f"{n_housing} housing. ' ' outside the quarter (nobody lives or walks there),",
        "# 'o' no Zensus residents, '.' housing, '#' barrier (from the barrier lines), '+' crossing,",
        "# upper-case letters the service points.",
        "layout = [",
        *(f'  "{row}",' for row in q.layout),
        "]",
        f"# derived: Zensus 2022 Einwohner of the {q.zensus_cells} cells whose centre lies in the "
        "boundary, spread over",
        "# each cell's housing cells; one entry per housing cell in layout order (row by row),",
        f"# {q.moved_residents:.0f} residents moved from barrier, service-point or outside cells to the "
        "nearest housing cell",
        "residents_per_cell = [",
    ]
    for r, row in enumerate(q.layout):
        cols = [c for c, ch in enumerate(row) if ch == HOUSING]
        if cols:
            out.append("  " + ", ".join(_num(round(q.weights[r, c], 2)) for c in cols) + f",  # row {r}")
    out += [
        "]",
        "",
        "[space.georeference]",
        'crs = "EPSG:3035"  # derived: Zensus 2022 grid\'s CRS (ETRS89-LAEA)',
        f"origin_x = {q.cells.origin_x:.1f}  # derived: Zensus 2022 grid line west of the boundary (m)",
        f"origin_y = {q.cells.origin_y:.1f}  # derived: Zensus 2022 grid line north of the boundary (m)",
        "",
        "[space.crossing_cost]",
    ]
    for line in _section(text, "[space.crossing_cost]"):
        key, value = _split(line)
        factor = float(value)
        if size != 50.0 and key in ("barrier", "crossing"):  # the same extra metres per cell
            scaled = 1.0 + (factor - 1.0) * 50.0 / size
            out.append(f"{key} = {scaled:.2f}  # assumption: {tname}'s {factor:g} at 50 m cells "
                       f"({(factor - 1) * 50:.0f} m extra per cell crossed) at {int(size)} m cells")
        else:
            out.append(_as_assumption(line, tname))
    out += ["", "[space.service_points]"]
    for p in q.points:
        out.append(f'"{p.letter}" = {{ kind = "{p.kind}", name = {_toml_str(p.name)} }}  # {p.note}')
    # population: derived shares, the rest as the template
    out += ["", "[population]",
            f"residents = {q.residents}  # derived: Zensus 2022 Einwohner of {q.zensus_cells} cells whose "
            f"centre lies in the boundary ({q.masked_residents} masked counts taken as {MASKED_COUNT:g})"]
    for line in _section(text, "[population]"):
        key, _ = _split(line)
        if key == "residents":
            continue
        if key in q.mix:
            value, note = q.mix[key]
            out.append(f"{key} = {value:.4f}  # {note}")
        else:
            out.append(_as_assumption(line, tname))
    if "household_size_mean" in q.mix:
        value, note = q.mix["household_size_mean"]
        out += ["", "[network]", f"household_size_mean = {value:.3f}  # {note}"]
    out += ["", "[volunteering]", *(_as_assumption(line, tname)
                                    for line in _section(text, "[volunteering]"))]
    # municipality: the template's per-resident budget
    tmpl = dict(_split(line) for line in _section(text, "[municipality]"))
    t_city = int(float(tmpl["residents_city"].replace("_", "")))
    t_quarter = t.residents
    if city_residents is None:
        city = int(round(q.residents * t_city / t_quarter))
        city_note = (f"assumption: the template's ratio of city to quarter residents "
                     f"({t_city:,} / {t_quarter:,}); give --city-residents")
    else:
        city = int(city_residents)
        city_note = "assumption: --city-residents"
    out += ["", "[municipality]", f"residents_city = {city}  # {city_note}"]
    per_city = ("revenue_eur_per_year", "other_expenses_eur_per_year", "consolidation_aid_eur_per_year")
    for line in _section(text, "[municipality]"):
        key, value = _split(line)
        if key == "residents_city":
            continue
        if key in per_city:
            amount = float(value.replace("_", "")) * city / t_city
            out.append(f"{key} = {amount:.1f}  # assumption: {tname}'s {value} per city resident x "
                       f"{city:,}")
        elif key == "voluntary_budget_eur_per_year":
            amount = float(value.replace("_", "")) * q.residents / t_quarter
            out.append(f"{key} = {amount:.1f}  # assumption: {tname}'s {value} per quarter resident x "
                       f"{q.residents:,}")
        else:
            out.append(_as_assumption(line, tname, shift))
    # carriers: one per carrier's premises, the template's staff per resident split evenly
    carriers = [p for p in q.points if p.kind == PointKind.CARRIER_PREMISES.value]
    scale = q.residents / t_quarter / len(carriers)
    fte = ", ".join(f"{d} = {v * scale:.3g}" for d, v in t.carrier_fte.items())
    why = (f"assumption: {tname} carriers' totals per resident x {q.residents:,} residents / "
           f"{len(carriers)} premises")
    out.append("")
    for p in carriers:
        out += ["[[carriers]]", f"name = {_toml_str(p.name)}", f'point = "{p.letter}"',
                f"staff_fte = {{ {fte} }}  # {why}",
                f"coordination_fte = {t.coordination_fte * scale:.3g}  # {why}",
                f"own_funds_eur_per_year = {t.own_funds_eur_per_year * scale:.1f}  # {why}",
                f"rent_eur_per_month = {t.rent_eur_per_month * scale:.1f}  # {why}", ""]
    offices = [p.letter for p in q.points if p.kind == PointKind.MUNICIPAL_OFFICE.value]
    office_of = ", ".join(f'{d.value} = "{offices[k % len(offices)]}"' for k, d in enumerate(DOMAINS))
    out += ["[cooperation.municipal]",
            f"offices = {{ {office_of} }}  # assumption: departments spread over the municipal offices"]
    out += [_as_assumption(line, tname) for line in _section(text, "[cooperation.municipal]")
            if _split(line)[0] != "offices"]
    out += ["", "[cooperation.coproduction]",
            *(_as_assumption(line, tname) for line in _section(text, "[cooperation.coproduction]")),
            "", f"# The other cooperation models, the named financing models and the stress-test "
            f"shock: {tname}'s,", "# with yearly amounts of money scaled to the quarter's residents.",
            ""]
    centre = next(p.letter for p in q.points if p.kind == PointKind.CENTRE_SITE.value)
    meeting = next(p.letter for p in q.points if p.kind == PointKind.MEETING_POINT_SITE.value)
    out.append(_model_sections(t, q.residents, centre, meeting, shift))
    return "\n".join(out)


def _template_start_year(path: Path) -> int:
    from quartiersim.config.loading import load_scenario

    return load_scenario(path).meta.start_year


def _model_sections(t: Template, residents: int, centre: str, meeting: str, shift: int) -> str:
    """The template's other cooperation models, financing models and shocks (as ``quartiersim
    synth`` copies them): sites moved to the quarter's centre and meeting point, yearly
    amounts of money scaled to its residents, every value marked as an assumption."""
    tname = t.path.name
    lines, section = [], ""
    for line in t.model_sections.splitlines():
        section = line if line.startswith("[") else section
        key, _, rest = line.partition(" = ")
        value, _, note = rest.partition("  # ")
        if line.startswith(("#", "[")) or not rest:
            lines.append(line)
        elif key == "site" and section in ("[cooperation.integration_centre]",
                                           "[cooperation.meeting_point]"):
            letter = centre if section == "[cooperation.integration_centre]" else meeting
            kind = "centre_site" if letter == centre else "meeting_point_site"
            lines.append(f'site = "{letter}"  # the quarter\'s {kind} point')
        elif key in SCALED_PER_RESIDENT:
            amount = float(value.replace("_", "")) * residents / t.residents
            there = f" (there: {note.strip()})" if note.strip() else ""
            lines.append(f"{key} = {amount:.1f}  # assumption: {tname}'s {value} per quarter "
                         f"resident x {residents:,}{there}")
        else:
            lines.append(_as_assumption(line, tname, shift))
    return "\n".join(lines) + "\n"


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def import_quarter(grid: Sequence[str | Path], boundary: str | Path, out: str | Path,
                   points: str | Path | None = None, barriers: str | Path | None = None,
                   cell_size: int = 50, name: str | None = None, municipality: str | None = None,
                   city_residents: int | None = None,
                   template: str | Path = DEFAULT_TEMPLATE) -> ImportedQuarter:
    """Read the inputs, write the scenario TOML to ``out`` and check that it loads.

    Returns the imported quarter (counts and notes for the command's report).

    Raises:
        QuartiersimError: the geo extra is missing.
        GeoImportError: an unusable input (the message names the file).
    """
    check_geo_installed()
    from quartiersim.config.loading import load_scenario

    t = load_template(template)
    g = read_grid(grid)
    q = build_quarter(g, boundary, points, barriers, cell_size)
    title = name or _boundary_name(boundary) or Path(out).stem
    text = scenario_text(q, title, municipality or "not given (set meta.municipality)", t,
                         city_residents=city_residents)
    p = Path(out)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    load_scenario(p)  # the file must validate like any scenario
    return q


def _boundary_name(path: str | Path) -> str | None:
    """The boundary's name attribute (``name``, ``bezeichnung`` or VG250's ``GEN``) if it has
    one feature."""
    import geopandas as gpd

    gdf = gpd.read_file(path, engine="pyogrio", ignore_geometry=True)
    cols = {c.lower(): c for c in gdf.columns}
    key = next((cols[k] for k in ("name", "bezeichnung", "gen") if k in cols), None)
    if key is None or len(gdf) != 1:
        return None
    value = str(gdf[key].iloc[0]).strip()
    return value if value and value.lower() not in ("none", "nan") else None
