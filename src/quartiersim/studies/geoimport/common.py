"""Constants, the error and the extra check shared by the import modules."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from quartiersim.config.domains import PointKind
from quartiersim.errors import QuartiersimError

if TYPE_CHECKING:
    pass

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
