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

from quartiersim.studies.geoimport.common import (
    ACCEPTED_CRS,
    GEO_PACKAGES,
    GeoImportError,
    check_geo_installed,
)
from quartiersim.studies.geoimport.grid import ZensusGrid, read_grid
from quartiersim.studies.geoimport.layers import read_layer
from quartiersim.studies.geoimport.quarter import (
    CellGrid,
    ImportedQuarter,
    _rasterise_lines,
    build_quarter,
)
from quartiersim.studies.geoimport.writer import (
    DEFAULT_TEMPLATE,
    import_quarter,
    scenario_text,
)

__all__ = ["ACCEPTED_CRS", "DEFAULT_TEMPLATE", "GEO_PACKAGES", "CellGrid", "GeoImportError",
           "ImportedQuarter", "ZensusGrid", "_rasterise_lines", "build_quarter",
           "check_geo_installed", "import_quarter", "read_grid", "read_layer", "scenario_text"]
