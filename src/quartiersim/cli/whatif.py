"""``quartiersim whatif``: a variant's levers against the scenario's baseline, paired by seed."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from quartiersim.cli.common import COOPERATION_NAMES
from quartiersim.config.loading import load_scenario
from quartiersim.config.overrides import parse_pairs
from quartiersim.studies.format import format_interval, format_value
from quartiersim.studies.runner import progress_bar
from quartiersim.studies.whatif import (
    COLUMNS,
    WhatIfSession,
    headline,
    validate_variant,
)


def cmd_whatif(args: argparse.Namespace) -> int:
    session = WhatIfSession(scenario=args.scenario, levers=parse_pairs(args.set), model=args.model,
                            financing=args.financing, seeds=args.seeds, years=args.years)
    validate_variant(load_scenario(args.scenario), session.levers, args.model, args.financing)
    bar = progress_bar(2 * args.seeds, "what-if", enabled=not args.json)

    def progress(done: int, total: int) -> None:
        bar.n = done
        bar.refresh()

    with bar:
        table = session.run(workers=args.workers, on_progress=progress)
    if args.save:
        session.save(args.save)
    if args.json:
        records = [{"outcome": name, **{c: None if math.isnan(row[c]) else float(row[c])
                                        for c in COLUMNS}} for name, row in table.iterrows()]
        print(json.dumps({**{k: v for k, v in table.attrs.items()}, "outcomes": records},
                         default=float))
        return 0
    a = table.attrs
    changed = ", ".join(f"{k}={v}" for k, v in session.levers.items()) or "no lever changed"
    print(f"{args.scenario}: baseline {a['baseline_model']}/{a['baseline_financing']} vs variant "
          f"{a['model']}/{a['financing']} ({changed}); {args.seeds} seeds x {args.years} years, "
          "paired by seed; change = variant - baseline [95 % interval]")
    rows = headline(table)
    width = max(len(r["row_label"]) for r in rows)
    print(f"{'':<{width}}  {'baseline':>14}  {'variant':>14}  {'change [95 % interval]':>40}")
    for r in rows:
        k = r["kind"]
        change = format_interval(r["change"], r["change_low"], r["change_high"], k, signed=True)
        print(f"{r['row_label']:<{width}}  {format_value(r['baseline'], k):>14}  "
              f"{format_value(r['variant'], k):>14}  {change:>40}")
    if args.save:
        print(f"session saved: {args.save}")
    return 0


def register_whatif(sub: Any) -> None:
    """Add ``quartiersim whatif`` to the CLI's subparsers."""
    w = sub.add_parser("whatif", help="a variant's levers against the scenario's baseline, paired by seed")
    w.add_argument("scenario", help="scenario TOML file, e.g. scenarios/herten-innenstadt.toml")
    w.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                   help="a lever or any dotted scenario key the variant changes (repeatable)")
    w.add_argument("--model", default=None,
                   help=f"the variant's cooperation model: {', '.join(COOPERATION_NAMES)}")
    w.add_argument("--financing", default=None, help="the variant's financing model")
    w.add_argument("--seeds", type=int, default=10, help="paired replications (default 10)")
    w.add_argument("--years", type=int, default=10, help="horizon in years (default 10)")
    w.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    w.add_argument("--save", default=None, metavar="SESSION.toml",
                   help="save the session (levers and results) to a TOML file")
    w.add_argument("--json", action="store_true", help="print JSON instead of a table")
    w.set_defaults(func=cmd_whatif)
