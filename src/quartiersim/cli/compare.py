"""``quartiersim compare``: the cooperation models side by side over seeds."""

from __future__ import annotations

import argparse
import json

from quartiersim.cli.common import model_names, table_rows, write_geo
from quartiersim.config.loading import load_scenario
from quartiersim.config.overrides import parse_pairs
from quartiersim.sim.registry import View
from quartiersim.studies.format import format_interval
from quartiersim.studies.runner import compare, compare_with_cells


def cmd_compare(args: argparse.Namespace) -> int:
    geo = getattr(args, "geo", None)
    kwargs = dict(models=model_names(args.models), financing=args.financing, seeds=args.seeds,
                  years=args.years, workers=args.workers, progress=not args.json)
    if geo:
        from quartiersim.studies.geoimport import check_geo_installed

        check_geo_installed(f"--geo {geo}")  # before the runs
        scenario = load_scenario(args.scenario, parse_pairs(args.set))
        table, cells = compare_with_cells(scenario, **kwargs)
        write_geo(geo, scenario, cells, str(table["financing"].iloc[0]), quiet=True)
    else:
        table = compare(args.scenario, overrides=parse_pairs(args.set), **kwargs)
    if args.json:
        print(json.dumps(table.to_dict(orient="records"), default=float))
        return 0
    models = list(table["model"])
    print(f"{args.scenario}: {args.seeds} seeds x {args.years} years, financing "
          f"{table['financing'].iloc[0]}; mean [95 % interval]")
    rows = table_rows(View.TABLE)
    width = max(len(label) for _, label in rows)
    shown = {}
    for o, _ in rows:
        key = o.name
        for _, row in table.iterrows():
            shown[key, row["model"]] = format_interval(row.get(f"{key}_mean"), row.get(f"{key}_ci_low"),
                                                       row.get(f"{key}_ci_high"), o.kind)
    colw = max(max(len(v) for v in shown.values()), *(len(m) for m in models))
    print(f"{'':<{width}}  " + "  ".join(f"{m:>{colw}}" for m in models))
    for o, label in rows:
        print(f"{label:<{width}}  " + "  ".join(f"{shown[o.name, m]:>{colw}}" for m in models))
    return 0
