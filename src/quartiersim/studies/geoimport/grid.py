"""Reading the Zensus 2022 grid tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from quartiersim.studies.geoimport.common import (
    ID_COLUMN,
    ID_PATTERN,
    MASKED_COUNT,
    MASKS,
    NON_VALUE_COLUMNS,
    ZENSUS_CELL_M,
    GeoImportError,
)

if TYPE_CHECKING:
    pass


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
