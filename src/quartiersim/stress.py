"""The fiscal stress test (DeWaK finance analysis, seed 002): how resilient is the
municipal budget, and the quarter's provision, to exogenous shocks?

A scenario lists shocks (``[[shocks]]``: year, relative change of the city's tax
revenue for ``duration_years``, relative change of the number of transfer recipients in
the quarter). :func:`stress_test` runs the same cooperation and financing model and seed
twice, without and with the shocks, and reports

- ``stress_max_deficit_eur``: the largest budget deficit of a year in the shocked run
  (0 when every year balances);
- ``stress_years_to_recover``: years from the first shock until the shocked balance is
  back to the unshocked balance of the same year (within 0.1 % of that year's revenue);
  0 = no year was worse; NaN = not back within the horizon;
- ``stress_coverage_drop``: coverage without minus coverage with the shocks, over the
  months from the first shock year on.

Shocks act through the model's own rules: less revenue deepens the deficit, a deficit
under a consolidation regime cuts the voluntary budget and leaves no room for
co-financing or continuation; more transfer recipients raise needs and mandatory cases.
Ordinary runs apply no shocks.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from quartiersim.errors import QuartiersimError

if TYPE_CHECKING:
    from quartiersim.model import QuarterModel
    from quartiersim.scenario import Scenario, Shock

#: Outcomes of the stress test (names are API).
STRESS_OUTCOMES: tuple[str, ...] = ("stress_max_deficit_eur", "stress_years_to_recover",
                                    "stress_coverage_drop")
#: Tolerance of "recovered", share of the year's revenue.
RECOVERY_TOLERANCE = 0.001


def revenue_factors(shocks: Sequence[Shock]) -> dict[int, float]:
    """Calendar year -> factor on the city's revenue (product over active shocks)."""
    out: dict[int, float] = {}
    for s in shocks:
        for y in range(s.year, s.year + s.duration_years):
            out[y] = out.get(y, 1.0) * (1.0 + s.tax_revenue_change)
    return out


def apply_transfer_shocks(model: QuarterModel, calendar_year: int) -> None:
    """At the start of ``calendar_year``: residents become (or stop being) transfer
    recipients by each shock's ``transfer_recipient_change`` (relative to the current
    number of recipients), chosen at random among the alive residents.

    The draws come from a child generator spawned once from ``model.rng`` (common random
    numbers: the model's own random stream stays the same as in the unshocked run)."""
    a = model.residents
    for s in model.shocks:
        if s.year != calendar_year or s.transfer_recipient_change == 0:
            continue
        if getattr(model, "_shock_rng", None) is None:
            model._shock_rng = model.rng.spawn(1)[0]
        rec = np.flatnonzero(a.alive & a.transfer)
        k = int(round(abs(s.transfer_recipient_change) * len(rec)))
        pool = np.flatnonzero(a.alive & ~a.transfer) if s.transfer_recipient_change > 0 else rec
        k = min(k, len(pool))
        if k:
            a.transfer[model._shock_rng.choice(pool, size=k, replace=False)] = s.transfer_recipient_change > 0


def _run(sc: Scenario, model: str | None, financing: str | None, seed: int, years: int,
         shocks: Sequence[Shock]) -> tuple[dict[str, Any], Any]:
    from quartiersim.model import QuarterModel
    from quartiersim.outcomes import summarize

    m = QuarterModel(sc, cooperation=model, financing=financing, rng=seed, years=years,
                     shocks=shocks)
    m.run_months(12 * years)
    return summarize(m), m.datacollector.get_model_vars_dataframe()


def _coverage_from(series: Any, year: int) -> float:
    rows = series[series["year"] >= year]
    need = float(rows["need_hours"].sum())
    return float(rows["served_hours"].sum()) / need if need > 0 else 1.0


def stress_test(scenario: Scenario | str | Path, model: str | None = None,
                financing: str | None = None, seed: int = 0, years: int = 10,
                overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run without and with the scenario's shocks.

    Returns:
        ``{"unshocked": summary, "shocked": summary, "shocks": [...], <STRESS_OUTCOMES>}``
        (summaries as :func:`quartiersim.outcomes.summarize`).

    Raises:
        QuartiersimError: the scenario declares no shocks, or none within the horizon.
        ScenarioError: invalid scenario, override, model or financing name.
    """
    from quartiersim.runner import _resolve

    if not isinstance(years, int) or years < 1:
        raise QuartiersimError(f"years = {years!r}: must be a whole number >= 1")
    sc = _resolve(scenario, overrides)
    start, end = sc.meta.start_year, sc.meta.start_year + years - 1
    shocks = [s for s in sc.shocks if start <= s.year <= end]
    if not shocks:
        raise QuartiersimError(f"{sc.path}: no shocks within {start}-{end}; declare them as "
                               "[[shocks]] with year, tax_revenue_change, transfer_recipient_change")
    base, base_series = _run(sc, model, financing, seed, years, ())
    hit, hit_series = _run(sc, model, financing, seed, years, shocks)
    first = min(s.year for s in shocks)
    out: dict[str, Any] = {"unshocked": base, "shocked": hit,
                           "shocks": [s.model_dump() for s in shocks]}
    balances = [hit[f"budget_balance_{y}_eur"] for y in range(start, end + 1)]
    out["stress_max_deficit_eur"] = float(max(0.0, -min(balances)))
    out["stress_years_to_recover"] = math.nan
    for y in range(first, end + 1):
        tol = RECOVERY_TOLERANCE * _revenue(sc, y, start)
        if hit[f"budget_balance_{y}_eur"] >= base[f"budget_balance_{y}_eur"] - tol:
            out["stress_years_to_recover"] = float(y - first)
            break
    out["stress_coverage_drop"] = _coverage_from(base_series, first) - _coverage_from(hit_series, first)
    return out


def _revenue(sc: Scenario, year: int, start: int) -> float:
    mun = sc.municipality
    return mun.revenue_eur_per_year * (1 + mun.revenue_growth_per_year) ** (year - start)


# --------------------------------------------------------------------------- command line
_ROWS: tuple[tuple[str, str, str], ...] = (
    ("coverage", "Demand coverage", "share"),
    ("mandatory_cases", "Mandatory cases started", "n"),
    ("municipal_cost_eur", "Municipal cost (EUR)", "eur"),
    ("municipal_cost_voluntary_eur", "  voluntary", "eur"),
    ("municipal_cost_mandatory_eur", "  mandatory", "eur"),
    ("total_cost_eur", "Total cost, all payers (EUR)", "eur"),
    ("budget_balance_min_eur", "Worst municipal budget balance (EUR)", "eur"),
    ("consolidation_cut_years", "Years with consolidation cuts", "n"),
    ("carriers_surviving", "Carriers open at end", "n"),
)


def cmd_stress(args: argparse.Namespace) -> int:
    from quartiersim.cli import _fmt, _overrides

    res = stress_test(args.scenario, model=args.model, financing=args.financing,
                      seed=args.seed, years=args.years, overrides=_overrides(args.set))
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
    width = max(len(label) for _, label, _ in _ROWS) + 2
    print(f"{'':<{width}}{'unshocked':>16}{'shocked':>16}")
    for key, label, kind in _ROWS:
        print(f"{label:<{width}}{_fmt(b.get(key), kind):>16}{_fmt(h.get(key), kind):>16}")
    print("Budget balance by year (EUR):")
    for y in sorted(int(k[15:19]) for k in b if k.startswith("budget_balance_") and k[15:19].isdigit()):
        print(f"  {y}{_fmt(b[f'budget_balance_{y}_eur'], 'eur'):>16}"
              f"{_fmt(h[f'budget_balance_{y}_eur'], 'eur'):>16}")
    ytr = res["stress_years_to_recover"]
    print(f"stress_max_deficit_eur   {res['stress_max_deficit_eur']:,.0f}")
    print(f"stress_years_to_recover  {'not within horizon' if math.isnan(ytr) else f'{ytr:.0f}'}")
    print(f"stress_coverage_drop     {res['stress_coverage_drop']:.4f}")
    return 0


def register_stress(sub: Any) -> None:
    """Add ``quartiersim stress SCENARIO [--model] [--financing] [--seed] [--json]``."""
    from quartiersim.cooperation import COOPERATION_MODELS

    s = sub.add_parser("stress", help="fiscal stress test: the scenario's shocks vs no shocks")
    s.add_argument("scenario", help="scenario TOML file with [[shocks]]")
    s.add_argument("--model", default=None,
                   help=f"cooperation model: {', '.join(COOPERATION_MODELS)} (default: the scenario's)")
    s.add_argument("--financing", default=None, help="financing model name (default: the scenario's)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--years", type=int, default=10, help="horizon in years (default 10)")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                   help="override a scenario key by its dotted path (repeatable)")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(func=cmd_stress)
