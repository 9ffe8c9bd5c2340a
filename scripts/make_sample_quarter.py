"""Write the synthetic sample quarter in tests/data/sample-quarter/ (remake it with this script).

    .venv/bin/python scripts/make_sample_quarter.py [OUT_DIR]

The files imitate what a planner downloads and draws, in exactly those formats:

- three Zensus 2022 100 m grid tables (semicolon-separated, keyed by ``GITTER_ID_100m``
  = ``CRS3035RES100mN<north>E<east>`` of the cell's lower-left corner in EPSG:3035;
  cells without residents omitted; small values masked by "–"; decimal comma):
  population (``Einwohner``), age in 5 classes and mean household size;
- ``boundary.geojson``: the quarter's boundary (EPSG:4326, as RFC 7946 requires);
- ``points.geojson``: service points (``kind`` = a service point kind, ``name``) and two
  signalled crossings (``kind = "crossing"``);
- ``barriers.geojson``: a railway, a main road and a stream (barriers) and a footpath that
  passes under the railway.

Every number is invented (seeded random numbers around a plausible inner-city density);
the quarter lies near real coordinates only so that a GIS shows it in Germany.
Needs the geo extra (``pip install -e '.[geo]'``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "sample-quarter"
SEED = 2022
#: Lower-left corner (EPSG:3035, m) and size (100 m cells) of the grid extract; the
#: extract reaches 300 m beyond the quarter, as a real download clipped to a box would.
E0, N0, COLS, ROWS = 4_142_800, 3_157_300, 24, 20
MASK = "–"  # Destatis' mark for a value kept secret

README = """\
# Sample quarter (synthetic)

SYNTHETIC DATA: an invented quarter, not a real place or real Zensus figures. Made by
`scripts/make_sample_quarter.py` (seeded; run it again to remake these files).

Formats as published and drawn: Zensus 2022 100 m grid tables
(`Zensus2022_*_100m-Gitter.csv`: `;`-separated, `GITTER_ID_100m`, EPSG:3035, masked
values "–", decimal comma), the quarter's boundary, service points (`kind`, `name`;
`kind = "crossing"` for signalled crossings) and barrier lines (`kind`: rail, road, river;
`footpath` for paths that cross them) as GeoJSON (EPSG:4326).

    quartiersim import --grid Zensus2022_Bevoelkerungszahl_100m-Gitter.csv \\
        --grid Zensus2022_Alter_in_5_Altersklassen_100m-Gitter.csv \\
        --grid Zensus2022_Durchschn_Haushaltsgroesse_100m-Gitter.csv \\
        --boundary boundary.geojson --points points.geojson --barriers barriers.geojson \\
        --out sample-quarter.toml
"""


def _quarter_outline() -> list[tuple[float, float]]:
    """The boundary in EPSG:3035 metres: an irregular heptagon of about 2.3 km2 with a
    notch in the north-east."""
    e, n = E0 + 300, N0 + 300
    return [(e + 60, n + 120), (e + 1120, n + 10), (e + 1790, n + 380), (e + 1730, n + 1060),
            (e + 1290, n + 1030), (e + 1180, n + 1390), (e + 280, n + 1350), (e + 10, n + 760),
            (e + 60, n + 120)]


def _fmt_decimal(x: float) -> str:
    return f"{x:.2f}".replace(".", ",")


def make(out: Path = OUT) -> list[Path]:
    import geopandas as gpd
    from shapely import LineString, Point, Polygon, contains_xy

    rng = np.random.default_rng(SEED)
    out.mkdir(parents=True, exist_ok=True)
    outline = Polygon(_quarter_outline())
    # cell centres, rows from the south
    cols, rows = np.meshgrid(np.arange(COLS), np.arange(ROWS))
    east, north = E0 + 100 * cols.ravel(), N0 + 100 * rows.ravel()
    cx, cy = east + 50.0, north + 50.0
    # density: highest around the centre of the quarter, lower to the edges (inhabitants
    # per 100 m cell; inner-city blocks reach 100-200)
    mx, my = E0 + 1200, N0 + 1000
    dist = np.hypot(cx - mx, cy - my)
    mean = 10.0 + 65.0 * np.exp(-((dist / 700.0) ** 2))
    residents = rng.poisson(mean * rng.lognormal(0.0, 0.5, len(mean)))
    # nobody lives in the park, on the railway strip and in the business park: such cells
    # are omitted from the Zensus tables
    park = np.hypot(cx - (E0 + 700), cy - (N0 + 1300)) < 190
    rail = np.abs((cy - N0) - (1750 - 0.75 * (cx - E0))) < 45  # along the railway
    business = (cx > E0 + 1650) & (cy < N0 + 800)
    residents[park | rail | business] = 0
    residents[rng.random(len(residents)) < 0.06] = 0  # scattered non-residential cells
    small = (residents > 0) & (rng.random(len(residents)) < 0.05)
    residents[small] = rng.integers(1, 4, small.sum())  # a few very small cells
    keep = residents > 0
    ids = [f"CRS3035RES100mN{n}E{e}" for n, e in zip(north[keep], east[keep])]
    inh = residents[keep]
    x_mp, y_mp = (east[keep] + 50).tolist(), (north[keep] + 50).tolist()

    # population: the count of a cell with fewer than 3 inhabitants is masked
    lines = ["GITTER_ID_100m;x_mp_100m;y_mp_100m;Einwohner"]
    for i, gid in enumerate(ids):
        lines.append(f"{gid};{x_mp[i]};{y_mp[i]};{MASK if inh[i] < 3 else inh[i]}")
    paths = [_write(out / "Zensus2022_Bevoelkerungszahl_100m-Gitter.csv", lines)]

    # age in 5 classes: the share of under-18s falls, of 65+ rises towards the centre
    # (older inner city); a class with fewer than 3 persons is masked
    centre = np.exp(-((dist[keep] / 700.0) ** 2))
    p65 = 0.16 + 0.12 * centre
    p18 = 0.19 - 0.05 * centre
    lines = ["GITTER_ID_100m;x_mp_100m;y_mp_100m;Insgesamt_Bevoelkerung;Unter18;a18bis29;"
             "a30bis49;a50bis64;a65undaelter"]
    for i, gid in enumerate(ids):
        rest = 1.0 - p18[i] - p65[i]
        p = [p18[i], 0.25 * rest, 0.40 * rest, 0.35 * rest, p65[i]]
        counts = rng.multinomial(inh[i], p)
        cells = [MASK if v < 3 else str(v) for v in (inh[i], *counts)]
        lines.append(f"{gid};{x_mp[i]};{y_mp[i]};" + ";".join(cells))
    paths.append(_write(out / "Zensus2022_Alter_in_5_Altersklassen_100m-Gitter.csv", lines))

    # mean household size: smaller in the centre; masked below 3 inhabitants, marked
    # KLAMMERN (low reliability) below 10
    lines = ["GITTER_ID_100m;x_mp_100m;y_mp_100m;DurchschnHHGroesse;werterlaeuternde_Zeichen"]
    for i, gid in enumerate(ids):
        size = np.clip(2.3 - 0.5 * centre[i] + rng.normal(0.0, 0.2), 1.0, 4.5)
        value = MASK if inh[i] < 3 else _fmt_decimal(size)
        note = "KLAMMERN" if 3 <= inh[i] < 10 else ""
        lines.append(f"{gid};{x_mp[i]};{y_mp[i]};{value};{note}")
    paths.append(_write(out / "Zensus2022_Durchschn_Haushaltsgroesse_100m-Gitter.csv", lines))

    def to_file(rows: list[dict], name: str) -> Path:
        gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:3035").to_crs("EPSG:4326")
        p = out / name
        p.unlink(missing_ok=True)
        gdf.to_file(p, driver="GeoJSON", engine="pyogrio", layer_options={"COORDINATE_PRECISION": 7})
        return p

    paths.append(to_file([{"name": "Musterquartier (synthetic)", "geometry": outline}],
                         "boundary.geojson"))
    e, n = E0, N0
    rail_line = LineString([(e + 0, n + 1750), (e + 2400, n - 50)])
    road = LineString([(e + 1380, n + 150), (e + 1400, n + 900), (e + 1360, n + 1800)])
    stream = LineString([(e + 250, n + 600), (e + 700, n + 520), (e + 1000, n + 300),
                         (e + 1200, n + 200)])
    footpath = LineString([(e + 760, n + 1020), (e + 1000, n + 1300)])  # under the railway
    barriers = [
        {"kind": "rail", "name": "Railway (synthetic)", "geometry": rail_line},
        {"kind": "road", "name": "Main road (synthetic)", "geometry": road},
        {"kind": "river", "name": "Stream (synthetic)", "geometry": stream},
        {"kind": "footpath", "name": "Underpass path (synthetic)", "geometry": footpath},
    ]
    paths.append(to_file(barriers, "barriers.geojson"))
    points = [
        ("municipal_office", "Town hall (synthetic)", 1250, 1180),
        ("municipal_office", "Social services office (synthetic)", 620, 760),
        ("carrier_premises", "Welfare association A (synthetic)", 1150, 950),
        ("carrier_premises", "Youth welfare carrier B (synthetic)", 1600, 1150),
        ("carrier_premises", "Migrant organisation C (synthetic)", 900, 600),
        ("centre_site", "Site for a socio-cultural centre (synthetic)", 1210, 1040),
        ("meeting_point_site", "Housing-company rooms (synthetic)", 1540, 700),
        ("crossing", "Signalled crossing north (synthetic)", 1390, 1250),
        ("crossing", "Signalled crossing south (synthetic)", 1395, 600),
    ]
    rows = [{"kind": k, "name": nm, "geometry": Point(e + x, n + y)} for k, nm, x, y in points]
    for r in rows:
        assert contains_xy(outline, r["geometry"].x, r["geometry"].y), r["name"]
    paths.append(to_file(rows, "points.geojson"))
    paths.append(_write(out / "README.md", README.splitlines()))
    inside = contains_xy(outline, cx[keep], cy[keep])
    print(f"{len(ids)} populated cells ({int(inside.sum())} inside the boundary), "
          f"{int(inh.sum())} inhabitants ({int(inh[inside].sum())} inside)", file=sys.stderr)
    return paths


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    for p in make(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        print(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p)
