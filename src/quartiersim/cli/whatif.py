"""``quartiersim whatif``: a variant's levers against the scenario's baseline, paired by seed."""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Any

from quartiersim.cli import args as types
from quartiersim.cli.common import start_pool
from quartiersim.config.fileio import check_output_file, strict_json
from quartiersim.config.overrides import parse_pairs
from quartiersim.sim.registry import Outcome, Scope, View

if TYPE_CHECKING:
    import pandas as pd

    from quartiersim.cli import tables

#: Rows of the what-if tables and the columns of :func:`~quartiersim.studies.whatif.whatif`
#: they come from.
ROWS: tuple[tuple[str, str], ...] = (("baseline", "baseline"), ("variant", "variant"),
                                     ("change", "difference"))


def whatif_results(table: pd.DataFrame) -> tuple[tables.Results, list[Outcome]]:
    """The what-if table as results (baseline, variant, change -> outcome -> mean and 95 %
    interval) and the registry's outcomes it holds, in table order."""
    from quartiersim.cli import tables
    from quartiersim.sim.outcomes import REGISTRY

    names = [str(n) for n in table.index]
    found = REGISTRY.select(scope=(Scope.SUMMARY, Scope.BATCH, Scope.COMPARISON), among=names)
    outcomes = [o for o in found if o.name in set(names)]
    results = {row: {o.name: tables.Estimate(*(table.loc[o.name, f"{col}_{part}"]
                                               for part in ("mean", "ci_low", "ci_high")))
                     for o in outcomes} for row, col in ROWS}
    return results, outcomes


def cmd_whatif(args: argparse.Namespace) -> int:
    from quartiersim.cli import tables
    from quartiersim.config.loading import load_scenario

    tables.check_out(args.out)
    levers = parse_pairs(args.set)
    scenario = load_scenario(args.scenario)
    with start_pool(args.workers, 2 * args.seeds) as pool:
        # the workers start; meanwhile this process checks the variant (without the model),
        # and imports what aggregates the results (not after the runs)
        from scipy import special  # noqa: F401 (the t intervals)

        from quartiersim.studies.pool import progress_bar
        from quartiersim.studies.whatif import WhatIfSession, validate_variant

        session = WhatIfSession(scenario=args.scenario, levers=levers, model=args.model,
                                financing=args.financing, seeds=args.seeds, years=args.years)
        validate_variant(scenario, session.levers, args.model, args.financing)
        if args.save:  # before the runs: a result is never computed only to be lost
            check_output_file(args.save, "session file")
        bar = progress_bar(2 * args.seeds, "what-if", enabled=not args.json)

        def progress(done: int, total: int) -> None:
            bar.n = done
            bar.refresh()

        with bar:
            table = session.run(workers=args.workers, on_progress=progress, pool=pool)
    from quartiersim.sim.outcomes import REGISTRY
    from quartiersim.studies.whatif import COLUMNS
    if args.save:
        session.save(args.save)
    results, outcomes = whatif_results(table)
    if args.out:
        tables.write_table(tables.tidy(results, outcomes, "run"), args.out)
    if args.json:
        records = [{"outcome": name, **{c: None if math.isnan(row[c]) else float(row[c])
                                        for c in COLUMNS}} for name, row in table.iterrows()]
        print(strict_json({**dict(table.attrs), "outcomes": records}))
        return 0
    a = table.attrs
    changed = ", ".join(f"{k}={v}" for k, v in session.levers.items()) or "no lever changed"
    con = tables.console()
    con.print(f"{args.scenario}: baseline {a['baseline_model']}/{a['baseline_financing']} vs "
              f"variant {a['model']}/{a['financing']} ({changed}); {args.seeds} seeds x "
              f"{args.years} years, paired by seed")
    con.print("Means over seeds (± half the 95 % interval below); change = variant - baseline.")
    kwargs: dict[str, Any] = {"noun": "run", "signed_rows": ("change",)}
    if args.all:
        tables.print_groups(con, results, outcomes, **kwargs)
    else:
        tables.print_headline(con, results, REGISTRY.select(view=View.HEADLINE), row_header="",
                              **kwargs)
        con.print(tables.MORE)
    if args.out:
        con.print(f"written: {args.out}")
    if args.save:
        con.print(f"session saved: {args.save}")
    return 0


def register_whatif(sub: Any) -> None:
    """Add ``quartiersim whatif`` to the CLI's subparsers."""
    w = sub.add_parser("whatif", help="a variant's levers against the scenario's baseline, paired by seed")
    w.add_argument("scenario", help="scenario TOML file, e.g. scenarios/herten-innenstadt.toml")
    w.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                   help="a lever or any dotted scenario key the variant changes (repeatable)")
    types.model_option(w, "the variant's cooperation model: %(models)s")
    w.add_argument("--financing", type=types.name, default=None,
                   help="the variant's financing model")
    w.add_argument("--seeds", type=types.seeds, default=10,
                   help=f"paired replications, 1-{types.MAX_SEEDS} (default 10)")
    w.add_argument("--years", type=types.years, default=10,
                   help=f"horizon in years, 1-{types.MAX_YEARS} (default 10)")
    w.add_argument("--workers", type=types.workers, default=None,
                   help="processes, >= 1 (default: all cores)")
    w.add_argument("--save", default=None, metavar="SESSION.toml",
                   help="save the session (levers and results) to a TOML file")
    w.add_argument("--json", action="store_true", help="print JSON instead of a table")
    types.table_options(w)
    w.set_defaults(func=cmd_whatif)
