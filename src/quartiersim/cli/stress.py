"""``quartiersim stress``: the fiscal stress test, unshocked vs shocked side by side."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from quartiersim.cli import args as types
from quartiersim.config.fileio import strict_json
from quartiersim.config.overrides import parse_pairs
from quartiersim.sim.registry import Kind, Outcome, Scope, View
from quartiersim.studies.format import format_value, is_missing
from quartiersim.studies.stress import SHOCK_PARTS, stress_test

if TYPE_CHECKING:
    from quartiersim.cli import tables

#: Rows of the stress tables: the runs without and with the scenario's shocks.
ROWS: tuple[str, ...] = ("unshocked", "shocked")


def stress_results(res: dict[str, Any]) -> tuple[tables.Results, list[Outcome]]:
    """The stress test's two summaries as results (run -> outcome -> value) and the
    registry's summary outcomes they hold (calendar years included), in table order."""
    from quartiersim.cli import tables
    from quartiersim.sim.outcomes import REGISTRY

    names = [k for k in res["unshocked"] if k in res["shocked"]]
    found = REGISTRY.select(scope=Scope.SUMMARY, among=names)
    outcomes = [o for o in found if o.name in set(names)]
    return {row: {o.name: tables.Estimate(res[row][o.name]) for o in outcomes}
            for row in ROWS}, outcomes


def stress_lines(res: dict[str, Any]) -> list[str]:
    """The stress outcomes, one ``label: value`` line each."""
    from quartiersim.sim.outcomes import REGISTRY

    out = []
    for o in REGISTRY.select(scope=Scope.STRESS):
        v = res[o.name]
        text = ("not within the horizon" if o.name == "stress_years_to_recover" and is_missing(v)
                else format_value(v, o.kind))
        out.append(f"{o.label}: {text}")
    return out


def by_year_lines(res: dict[str, Any]) -> list[str]:
    """The quarter's voluntary budget (EUR) and the mandatory cases started, by year,
    unshocked | shocked: where the cut falls and when the cases follow."""
    b, h = res["unshocked"], res["shocked"]
    out = ["", "The quarter's voluntary budget (EUR) and mandatory cases started, by year",
           f"{'':6}{'budget':>12}{'cases':>7}  |{'budget':>12}{'cases':>7}   (unshocked | shocked)"]
    for y in sorted(b["voluntary_budget_eur_by_year"]):
        cols = [f"{format_value(r['voluntary_budget_eur_by_year'][y], Kind.EUR):>12}"
                f"{r['mandatory_cases_by_year'].get(y, 0):>7}" for r in (b, h)]
        out.append(f"  {y}{cols[0]}  |{cols[1]}")
    return out


def cmd_stress(args: argparse.Namespace) -> int:
    from quartiersim.cli import tables
    from quartiersim.sim.outcomes import REGISTRY

    tables.check_out(args.out)
    res = stress_test(args.scenario, model=args.model, financing=args.financing,
                      seed=args.seed, years=args.years, overrides=parse_pairs(args.set),
                      shock=args.shock)
    results, outcomes = stress_results(res)
    if args.out:
        stress = [o for o in REGISTRY.select(scope=Scope.STRESS)]
        df = tables.tidy({**results, "stress test": {o.name: tables.Estimate(res[o.name])
                                                     for o in stress}},
                         [*outcomes, *stress], "run", interval=False)
        tables.write_table(df, args.out)
    if args.json:  # strict JSON: a NaN outcome (not recovered) becomes null
        print(strict_json(res))
        return 0
    shocks = "; ".join(f"{s['year']}: revenue {s['tax_revenue_change']:+.1%} for "
                       f"{s['duration_years']} y, transfer recipients "
                       f"{s['transfer_recipient_change']:+.1%}" for s in res["shocks"])
    con = tables.console()
    con.print(f"{args.scenario} | fiscal stress test ({args.shock}) | seed {args.seed} | "
              f"{args.years} years")
    con.print(f"shocks: {shocks}")
    kwargs: dict[str, Any] = {"noun": "run"}
    if args.all:
        tables.print_groups(con, results, outcomes, **kwargs)
    else:
        tables.print_headline(con, results, REGISTRY.select(view=View.STRESS), row_header="",
                              **kwargs)
        years = [o for o in outcomes if o.name.removeprefix("budget_balance_")[:4].isdigit()]
        tabs, notes = tables.outcome_tables(results, years, width=con.width, noun="run",
                                            labels={o.name: o.row_label for o in years})
        tables.print_titled(con, "Municipal budget balance by year (EUR)", tabs, notes)
        for line in by_year_lines(res):
            con.print(line)
    con.print()
    for line in stress_lines(res):
        con.print(line)
    if not args.all:
        con.print(tables.MORE)
    if args.out:
        con.print(f"written: {args.out}")
    return 0


def register_stress(sub: Any) -> None:
    """Add ``quartiersim stress SCENARIO [--model] [--financing] [--seed] [--shock] [--json]``."""
    s = sub.add_parser("stress", help="fiscal stress test: the scenario's shocks vs no shocks")
    s.add_argument("scenario", help="scenario TOML file with [[shocks]]")
    types.model_option(s, "cooperation model: %(models)s (default: the scenario's)")
    s.add_argument("--financing", type=types.name, default=None,
                   help="financing model name (default: the scenario's)")
    s.add_argument("--seed", type=types.seed, default=0, help="random seed, >= 0 (default 0)")
    s.add_argument("--years", type=types.years, default=10,
                   help=f"horizon in years, 1-{types.MAX_YEARS} (default 10)")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                   help="override a scenario key by its dotted path (repeatable)")
    s.add_argument("--shock", choices=SHOCK_PARTS, default="all",
                   help="which part of each shock to apply: the revenue change, the change of "
                        "transfer recipients, or all (default)")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    types.table_options(s)
    s.set_defaults(func=cmd_stress)
