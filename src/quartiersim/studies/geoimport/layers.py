"""Reading the vector layers (boundary, points, barriers) and checking their CRS."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from quartiersim.studies.geoimport.common import (
    ACCEPTED_CRS,
    GERMANY_LONLAT,
    GRID_CRS,
    GeoImportError,
)

if TYPE_CHECKING:
    import geopandas as gpd


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
