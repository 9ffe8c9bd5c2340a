"""``quartiersim compare``: the cooperation models side by side over seeds."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from quartiersim.cli import args as types
from quartiersim.cli.common import model_names, start_pool, write_geo
from quartiersim.config.fileio import check_output_file, strict_json
from quartiersim.config.overrides import parse_pairs
from quartiersim.errors import QuartiersimError
from quartiersim.sim.registry import Outcome, Scope, View

if TYPE_CHECKING:
    import pandas as pd

    from quartiersim.cli import tables


def compare_results(table: pd.DataFrame) -> tuple[tables.Results, list[Outcome]]:
    """The :func:`~quartiersim.studies.runner.compare` table as results (model -> outcome
    -> mean and 95 % interval) and the registry's outcomes it holds, in table order."""
    from quartiersim.cli import tables
    from quartiersim.sim.outcomes import REGISTRY

    names = [c.removesuffix("_mean") for c in table.columns if c.endswith("_mean")]
    found = REGISTRY.select(scope=(Scope.SUMMARY, Scope.BATCH, Scope.COMPARISON), among=names)
    outcomes = [o for o in found if o.name in set(names)]
    records: list[dict[str, Any]] = table.to_dict(orient="records")
    return {r["model"]: tables.estimates(r, [o.name for o in outcomes]) for r in records}, outcomes


def cmd_compare(args: argparse.Namespace) -> int:
    if args.uncertainty is not None:
        from quartiersim.cli.uncertain import cmd_compare_uncertain

        return cmd_compare_uncertain(args)
    if args.draws is not None:
        raise QuartiersimError(f"--draws {args.draws}: draws are parameter sets of "
                               "--uncertainty posterior|ranges; give --uncertainty too")
    args.seeds = 10 if args.seeds is None else args.seeds
    from quartiersim.cli import tables
    from quartiersim.config.cooperation import COOPERATION_PARAMS

    tables.check_out(args.out)
    geo = getattr(args, "geo", None)
    models = model_names(args.models)
    if geo:
        from quartiersim.studies.geoimport import check_geo_installed

        check_geo_installed(f"--geo {geo}")  # before the runs
        check_output_file(geo, "GeoPackage (--geo)")
    from quartiersim.config.loading import load_scenario

    scenario = load_scenario(args.scenario, parse_pairs(args.set))
    with start_pool(args.workers, len(models or COOPERATION_PARAMS) * args.seeds) as pool:
        # the workers start; meanwhile this process checks the names (without the model),
        # and imports what aggregates the results (not after the runs)
        from scipy import special  # noqa: F401 (the t intervals)

        from quartiersim.studies.runner import compare, compare_with_cells

        kwargs = {"models": models, "financing": args.financing, "seeds": args.seeds,
                  "years": args.years, "workers": args.workers, "progress": not args.json,
                  "pool": pool}
        if geo:
            table, cells = compare_with_cells(scenario, **kwargs)
            write_geo(geo, scenario, cells, str(table["financing"].iloc[0]), quiet=True)
        else:
            table = compare(scenario, **kwargs)
    from quartiersim.sim.outcomes import REGISTRY

    results, outcomes = compare_results(table)
    if args.out:
        extra = {r["model"]: {"financing": r["financing"], "seeds": r["seeds"]}
                 for r in table.to_dict(orient="records")}
        tables.write_table(tables.tidy(results, outcomes, "model", extra), args.out)
    if args.json:
        print(strict_json(table.to_dict(orient="records")))
        return 0
    con = tables.console()
    con.print(f"{args.scenario}: {args.seeds} seeds x {args.years} years, financing "
              f"{table['financing'].iloc[0]}")
    con.print("Means over seeds (± half the 95 % interval below).")
    if args.all:
        tables.print_groups(con, results, outcomes)
    else:
        tables.print_headline(con, results, REGISTRY.select(view=View.HEADLINE))
        con.print(tables.MORE)
    if args.out:
        con.print(f"written: {args.out}")
    return 0


def register_compare(sub: Any, common: Any) -> None:
    """Add ``quartiersim compare`` to the CLI's subparsers (``common``: the shared options)."""
    c = sub.add_parser("compare", help="cooperation models side by side over seeds")
    common(c)
    c.add_argument("--models", default=None, help="comma-separated names (default: all)")
    c.add_argument("--seeds", type=types.seeds, default=None,
                   help=f"replications per model (per draw with --uncertainty), "
                        f"1-{types.MAX_SEEDS} (default 10; 1 with --uncertainty)")
    c.add_argument("--uncertainty", choices=("posterior", "ranges"), default=None,
                   help="draw parameter sets from the scenario's calibrated posterior or its "
                        "[uncertainty.ranges], run every model in each (common random "
                        "numbers) and report P(best), intervals and regret per model")
    c.add_argument("--draws", type=types.draws, default=None,
                   help=f"parameter sets to draw with --uncertainty, 1-{types.MAX_DRAWS} "
                        "(default 20)")
    c.add_argument("--workers", type=types.workers, default=None,
                   help="processes, >= 1 (default: all cores)")
    c.add_argument("--geo", default=None, metavar="OUT.gpkg",
                   help="write per-cell outcomes (mean over seeds, one row per cell and model) and "
                        "the service points as a GeoPackage (geo extra)")
    types.table_options(c)
    c.set_defaults(func=cmd_compare)
