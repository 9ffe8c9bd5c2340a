"""``quartiersim import``: a scenario from the Zensus 2022 grid and the planner's GIS layers."""

from __future__ import annotations

import argparse
import sys

from quartiersim.studies.synth import DEFAULT_TEMPLATE


def cmd_import(args: argparse.Namespace) -> int:
    from quartiersim.studies.geoimport import import_quarter

    q = import_quarter(args.grid, args.boundary, args.out, points=args.points,
                       barriers=args.barriers, cell_size=args.cell_size, name=args.name,
                       municipality=args.municipality, city_residents=args.city_residents,
                       template=args.template)
    housing = sum(row.count(".") for row in q.layout)
    inside = sum(len(row) - row.count(" ") for row in q.layout)
    print(f"written: {args.out}", file=sys.stderr)
    print(f"{q.cells.width} x {q.cells.height} cells of {q.cells.size:g} m: {inside} in the quarter, "
          f"{housing} housing, {q.barrier_cells} barrier, {q.crossings} crossings; "
          f"{len(q.points)} service points")
    print(f"{q.residents:,} residents from {q.zensus_cells} of {q.zensus_cells_total} populated "
          f"Zensus cells ({q.masked_residents} masked counts taken as 1; "
          f"{q.moved_residents:.0f} residents moved off barrier, point or outside cells)")
    derived = ", ".join(f"{k} = {v:.3g}" for k, (v, _) in q.mix.items()) or "none (no age or household tables)"
    print(f"derived from the Zensus tables: {derived}; everything else is the template's (assumption)")
    for note in q.notes:
        print(f"note: {note}")
    return 0


def register_import(sub: argparse._SubParsersAction) -> None:
    """Add ``quartiersim import`` to the CLI's subcommands."""
    s = sub.add_parser("import", help="build a scenario from the Zensus 2022 grid and GIS layers (geo extra)",
                       description="Build a scenario from the Zensus 2022 100 m grid, the quarter's "
                                   "boundary and optional service points and barrier lines.")
    s.add_argument("--grid", action="append", required=True, metavar="ZENSUS.csv",
                   help="Zensus 2022 100 m grid table (';'-separated, GITTER_ID_100m); repeat to "
                        "join several tables (population, age, household size)")
    s.add_argument("--boundary", required=True, metavar="QUARTER.gpkg|geojson",
                   help="the quarter's boundary (polygons; EPSG:3035, 25832, 25833 or 4326)")
    s.add_argument("--points", default=None, metavar="POINTS.geojson",
                   help="service points with 'kind' (municipal_office, carrier_premises, centre_site, "
                        "meeting_point_site, or crossing) and 'name'")
    s.add_argument("--barriers", default=None, metavar="LINES.geojson",
                   help="barrier lines with 'kind' (road, rail, river, ...; 'footpath' crosses them)")
    s.add_argument("--cell-size", type=int, default=50, choices=(50, 100),
                   help="cell edge in metres (default 50: four cells per Zensus cell)")
    s.add_argument("--out", required=True, metavar="scenarios/NAME.toml", help="scenario file to write")
    s.add_argument("--name", default=None, help="meta.name (default: the boundary's name or the file name)")
    s.add_argument("--municipality", default=None, help="meta.municipality")
    s.add_argument("--city-residents", type=int, default=None,
                   help="residents of the whole municipality (scales its budget; default: the template's ratio)")
    s.add_argument("--template", default=str(DEFAULT_TEMPLATE),
                   help="scenario whose behaviour and model sections are copied (default: Herten inner city)")
    s.set_defaults(func=cmd_import)
