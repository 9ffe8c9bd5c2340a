"""``quartiersim run``: one run, a readable summary or ``--json``."""

from __future__ import annotations

import argparse

from quartiersim.cli.common import table_rows, write_geo
from quartiersim.config.fileio import check_output_dir, check_output_file, strict_json
from quartiersim.config.overrides import parse_pairs
from quartiersim.sim.registry import Kind, View
from quartiersim.studies.format import format_value


def cmd_run(args: argparse.Namespace) -> int:
    from quartiersim.config.loading import load_scenario
    from quartiersim.studies.runner import run

    geo = getattr(args, "geo", None)
    if geo:  # fail before the run when the geo extra is missing
        from quartiersim.studies.geoimport import check_geo_installed

        check_geo_installed(f"--geo {geo}")
        check_output_file(geo, "GeoPackage (--geo)")
    if args.out:  # before the run: a result is never computed only to be lost
        check_output_dir(args.out, "output directory (--out)")
    scenario = load_scenario(args.scenario, parse_pairs(args.set))
    res = run(scenario, model=args.model, financing=args.financing, seed=args.seed,
              years=args.years, cells=bool(geo))
    if args.out:
        res.write(args.out)
    if geo:
        write_geo(geo, scenario, {res.summary["cooperation"]: res.cells},
                  res.summary["financing"], quiet=True)
    if args.json:
        print(strict_json(res.summary))
        return 0
    s = res.summary
    print(f"{s['scenario']} | cooperation: {s['cooperation']} | financing: {s['financing']} | "
          f"seed {s['seed']} | {s['years']} years from {s['start_year']}")
    rows = table_rows(View.TABLE)
    width = max(len(label) for _, label in rows)
    for o, label in rows:
        print(f"{label:<{width}}  {format_value(s.get(o.name), o.kind):>16}")
    years = sorted(k for k in s if k.startswith("budget_balance_") and k[15:19].isdigit())
    if years:
        print("Municipal budget balance by year (EUR):")
        print("  " + "  ".join(f"{k[15:19]}: {format_value(s[k], Kind.EUR)}" for k in years))
    if args.out:
        print(f"written: {args.out}/summary.json, {args.out}/series.parquet")
    return 0
