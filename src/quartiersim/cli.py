"""Command line: ``quartiersim run|compare|whatif|app|stress|synth|batch|report``.

Errors in the input print one message naming the file, key and what is allowed, and
exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from quartiersim.batch import register_batch
from quartiersim.cooperation import COOPERATION_MODELS
from quartiersim.errors import QuartiersimError
from quartiersim.report import register_report
from quartiersim.scenario import parse_value
from quartiersim.whatif import register_whatif
from quartiersim.app_cli import register_app
from quartiersim.stress import register_stress
from quartiersim.synth import register_synth

#: Outcomes shown in the readable tables, with labels (all are in --json).
TABLE_ROWS: tuple[tuple[str, str, str], ...] = (
    ("coverage", "Demand coverage (served / needed hours)", "share"),
    ("coverage_elderly_support", "  elderly support", "share"),
    ("coverage_youth_education", "  youth education", "share"),
    ("coverage_integration", "  integration", "share"),
    ("coverage_health_prevention", "  health prevention", "share"),
    ("coverage_social_participation", "  social participation", "share"),
    ("coverage_counselling", "  counselling", "share"),
    ("coverage_65plus", "  residents 65+", "share"),
    ("coverage_transfer_recipients", "  transfer recipients", "share"),
    ("coverage_migration_background", "  migration background", "share"),
    ("coverage_mobility_limited", "  mobility-limited", "share"),
    ("unmet_need_hours", "Unmet need (h over the run)", "h"),
    ("mandatory_cases", "Mandatory cases started", "n"),
    ("mandatory_cases_per_1000_residents_year", "  per 1,000 residents and year", "n"),
    ("municipal_cost_eur", "Municipal cost (EUR over the run)", "eur"),
    ("municipal_cost_voluntary_eur", "  voluntary", "eur"),
    ("municipal_cost_mandatory_eur", "  mandatory", "eur"),
    ("municipal_cost_per_resident_year_eur", "Municipal cost per resident-year (EUR)", "eur"),
    ("cost_per_covered_hour_eur", "Voluntary cost per covered hour (EUR)", "eur"),
    ("total_cost_eur", "Total cost, all payers (EUR)", "eur"),
    ("cost_municipality_eur", "  municipality", "eur"),
    ("cost_state_federal_eur", "  state / federal", "eur"),
    ("cost_insurers_eur", "  health insurers", "eur"),
    ("cost_housing_company_eur", "  housing company", "eur"),
    ("cost_donors_eur", "  donors", "eur"),
    ("cost_residents_eur", "  residents", "eur"),
    ("npv_municipal_cost_eur", "Municipal cost, present value at 3 % (EUR)", "eur"),
    ("coverage_after_grant", "Coverage after the grant ends", "share"),
    ("volunteer_hours", "Volunteer hours delivered", "h"),
    ("volunteers_at_end", "Volunteers at end", "n"),
    ("volunteer_attrition", "Volunteer attrition (share per year)", "share"),
    ("carriers_surviving", "Carriers open at end", "n"),
    ("budget_balance_min_eur", "Worst municipal budget balance (EUR)", "eur"),
    ("consolidation_cut_years", "Years with consolidation cuts", "n"),
)


def _fmt(v: Any, kind: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if kind == "share":
        return f"{v:.3f}"
    if kind == "eur":
        return f"{v:,.0f}"
    if kind == "h":
        return f"{v:,.0f}"
    return f"{v:,.1f}" if isinstance(v, float) and not float(v).is_integer() else f"{v:,.0f}"


def _overrides(pairs: list[str]) -> dict[str, Any]:
    out = {}
    for item in pairs or []:
        if "=" not in item:
            raise QuartiersimError(f"--set {item!r}: expected KEY=VALUE, e.g. "
                                   "--set municipality.voluntary_budget_eur_per_year=300000")
        key, value = item.split("=", 1)
        out[key.strip()] = parse_value(value.strip())
    return out


def _models(text: str | None) -> list[str] | None:
    if not text:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    for n in names:
        if n not in COOPERATION_MODELS:
            raise QuartiersimError(f"--models: unknown cooperation model {n!r}; allowed: "
                                   f"{', '.join(sorted(COOPERATION_MODELS))}")
    return names


def cmd_run(args: argparse.Namespace) -> int:
    from quartiersim.runner import run

    res = run(args.scenario, model=args.model, financing=args.financing, seed=args.seed,
              years=args.years, overrides=_overrides(args.set))
    if args.out:
        res.write(args.out)
    if args.json:
        print(json.dumps(res.summary, default=float))
        return 0
    s = res.summary
    print(f"{s['scenario']} | cooperation: {s['cooperation']} | financing: {s['financing']} | "
          f"seed {s['seed']} | {s['years']} years from {s['start_year']}")
    width = max(len(label) for _, label, _ in TABLE_ROWS)
    for key, label, kind in TABLE_ROWS:
        print(f"{label:<{width}}  {_fmt(s.get(key), kind):>16}")
    years = sorted(k for k in s if k.startswith("budget_balance_") and k[15:19].isdigit())
    if years:
        print("Municipal budget balance by year (EUR):")
        print("  " + "  ".join(f"{k[15:19]}: {s[k]:,.0f}" for k in years))
    if args.out:
        print(f"written: {args.out}/summary.json, {args.out}/series.parquet")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from quartiersim.runner import compare

    table = compare(args.scenario, models=_models(args.models), financing=args.financing,
                    seeds=args.seeds, years=args.years, overrides=_overrides(args.set),
                    workers=args.workers, progress=not args.json)
    if args.json:
        print(json.dumps(table.to_dict(orient="records"), default=float))
        return 0
    models = list(table["model"])
    print(f"{args.scenario}: {args.seeds} seeds x {args.years} years, financing "
          f"{table['financing'].iloc[0]}; mean [95 % interval]")
    width = max(len(label) for _, label, _ in TABLE_ROWS)
    cells = {}
    for key, _, kind in TABLE_ROWS:
        for _, row in table.iterrows():
            m, lo, hi = row.get(f"{key}_mean"), row.get(f"{key}_ci_low"), row.get(f"{key}_ci_high")
            cells[key, row["model"]] = f"{_fmt(m, kind)} [{_fmt(lo, kind)}, {_fmt(hi, kind)}]"
    colw = max(max(len(v) for v in cells.values()), *(len(m) for m in models))
    print(f"{'':<{width}}  " + "  ".join(f"{m:>{colw}}" for m in models))
    for key, label, _ in TABLE_ROWS:
        print(f"{label:<{width}}  " + "  ".join(f"{cells[key, m]:>{colw}}" for m in models))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="quartiersim", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("scenario", help="scenario TOML file, e.g. scenarios/herten-innenstadt.toml")
        sp.add_argument("--financing", default=None, help="financing model name (default: the scenario's)")
        sp.add_argument("--years", type=int, default=10, help="horizon in years (default 10)")
        sp.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                        help="override a scenario key by its dotted path (repeatable)")
        sp.add_argument("--json", action="store_true", help="print JSON instead of a table")

    r = sub.add_parser("run", help="one run: a readable summary or --json")
    common(r)
    r.add_argument("--model", default=None,
                   help=f"cooperation model: {', '.join(COOPERATION_MODELS)} (default: the scenario's)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--out", default=None, help="directory for summary.json and series.parquet")
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("compare", help="cooperation models side by side over seeds")
    common(c)
    c.add_argument("--models", default=None, help="comma-separated names (default: all)")
    c.add_argument("--seeds", type=int, default=10, help="replications per model (default 10)")
    c.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    c.set_defaults(func=cmd_compare)
    register_whatif(sub)
    register_app(sub)
    register_stress(sub)
    register_synth(sub)
    register_batch(sub)
    register_report(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except QuartiersimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
