"""``quartiersim stress``: the fiscal stress test, unshocked vs shocked side by side."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from quartiersim.cli.common import COOPERATION_NAMES, table_rows
from quartiersim.config.overrides import parse_pairs
from quartiersim.sim.registry import Kind, View
from quartiersim.studies.format import format_value
from quartiersim.studies.stress import stress_test


def cmd_stress(args: argparse.Namespace) -> int:
    res = stress_test(args.scenario, model=args.model, financing=args.financing,
                      seed=args.seed, years=args.years, overrides=parse_pairs(args.set))
    if args.json:  # strict JSON: a NaN outcome (not recovered) becomes null
        print(json.dumps({k: (None if isinstance(v, float) and math.isnan(v) else v)
                          for k, v in res.items()}, default=float))
        return 0
    b, h = res["unshocked"], res["shocked"]
    shocks = "; ".join(f"{s['year']}: revenue {s['tax_revenue_change']:+.1%} for "
                       f"{s['duration_years']} y, transfer recipients "
                       f"{s['transfer_recipient_change']:+.1%}" for s in res["shocks"])
    print(f"{args.scenario} | fiscal stress test | seed {args.seed} | {args.years} years")
    print(f"shocks: {shocks}")
    rows = table_rows(View.STRESS)
    width = max(len(label) for _, label in rows) + 2
    print(f"{'':<{width}}{'unshocked':>16}{'shocked':>16}")
    for o, label in rows:
        print(f"{label:<{width}}{format_value(b.get(o.name), o.kind):>16}"
              f"{format_value(h.get(o.name), o.kind):>16}")
    print("Budget balance by year (EUR):")
    for y in sorted(int(k[15:19]) for k in b if k.startswith("budget_balance_") and k[15:19].isdigit()):
        print(f"  {y}{format_value(b[f'budget_balance_{y}_eur'], Kind.EUR):>16}"
              f"{format_value(h[f'budget_balance_{y}_eur'], Kind.EUR):>16}")
    ytr = res["stress_years_to_recover"]
    print(f"stress_max_deficit_eur   {res['stress_max_deficit_eur']:,.0f}")
    print(f"stress_years_to_recover  {'not within horizon' if math.isnan(ytr) else f'{ytr:.0f}'}")
    print(f"stress_coverage_drop     {res['stress_coverage_drop']:.4f}")
    return 0


def register_stress(sub: Any) -> None:
    """Add ``quartiersim stress SCENARIO [--model] [--financing] [--seed] [--json]``."""
    s = sub.add_parser("stress", help="fiscal stress test: the scenario's shocks vs no shocks")
    s.add_argument("scenario", help="scenario TOML file with [[shocks]]")
    s.add_argument("--model", default=None,
                   help=f"cooperation model: {', '.join(COOPERATION_NAMES)} (default: the scenario's)")
    s.add_argument("--financing", default=None, help="financing model name (default: the scenario's)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--years", type=int, default=10, help="horizon in years (default 10)")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                   help="override a scenario key by its dotted path (repeatable)")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(func=cmd_stress)
