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
under a consolidation regime cuts the city's voluntary line (and the quarter's budget,
part of it) in proportion to the gap and leaves no room for co-financing or
continuation, a later surplus restores it (:class:`~quartiersim.sim.agents.Municipality`);
more transfer recipients raise needs and mandatory cases. The two parts of a shock can
be run apart (``shock="revenue"`` or ``"transfers"``). Ordinary runs apply no shocks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quartiersim.errors import QuartiersimError

if TYPE_CHECKING:
    from quartiersim.config.schema import Scenario, Shock

#: Outcomes of the stress test (names are API).
STRESS_OUTCOMES: tuple[str, ...] = ("stress_max_deficit_eur", "stress_years_to_recover",
                                    "stress_coverage_drop")
#: Tolerance of "recovered", share of the year's revenue.
RECOVERY_TOLERANCE = 0.001


def _run(sc: Scenario, model: str | None, financing: str | None, seed: int, years: int,
         shocks: Sequence[Shock]) -> tuple[dict[str, Any], Any]:
    from quartiersim.sim.model import QuarterModel
    from quartiersim.sim.outcomes import summarize

    m = QuarterModel(sc, cooperation=model, financing=financing, rng=seed, years=years,
                     shocks=shocks)
    m.run_months(12 * years)
    series = m.datacollector.get_model_vars_dataframe()
    summary = summarize(m)
    summary["voluntary_budget_eur_by_year"] = {y.year: y.voluntary_budget_eur
                                               for y in m.municipality.history}
    cases = series.groupby("year")["new_mandatory_cases"].sum()
    summary["mandatory_cases_by_year"] = {int(y): int(n) for y, n in cases.items()}
    return summary, series


#: What ``shock`` keeps of each declared shock: its revenue change, its change of the
#: transfer recipients, or both.
SHOCK_PARTS: tuple[str, ...] = ("all", "revenue", "transfers")


def separate(shocks: Sequence[Shock], part: str) -> list[Shock]:
    """The shocks with only their revenue change (``"revenue"``), only their change of
    transfer recipients (``"transfers"``) or both (``"all"``).

    Raises:
        QuartiersimError: ``part`` is none of ``SHOCK_PARTS``.
    """
    if part not in SHOCK_PARTS:
        raise QuartiersimError(f"shock = {part!r}: allowed: {', '.join(SHOCK_PARTS)}")
    if part == "revenue":
        return [s.model_copy(update={"transfer_recipient_change": 0.0}) for s in shocks]
    if part == "transfers":
        return [s.model_copy(update={"tax_revenue_change": 0.0}) for s in shocks]
    return list(shocks)


def _coverage_from(series: Any, year: int) -> float:
    rows = series[series["year"] >= year]
    need = float(rows["need_hours"].sum())
    return float(rows["served_hours"].sum()) / need if need > 0 else 1.0


def stress_test(scenario: Scenario | str | Path, model: str | None = None,
                financing: str | None = None, seed: int = 0, years: int = 10,
                overrides: dict[str, Any] | None = None, shock: str = "all") -> dict[str, Any]:
    """Run without and with the scenario's shocks (``shock``: all of each shock, only its
    revenue change or only its change of transfer recipients, :func:`separate`).

    Returns:
        ``{"unshocked": summary, "shocked": summary, "shocks": [...], "shock": shock,
        <STRESS_OUTCOMES>}``; summaries as :func:`quartiersim.sim.outcomes.summarize`
        plus ``voluntary_budget_eur_by_year`` ({calendar year: the quarter's voluntary
        budget in force, EUR}) and ``mandatory_cases_by_year`` ({calendar year:
        mandatory cases started}).

    Raises:
        QuartiersimError: the scenario declares no shocks, or none within the horizon;
            an unknown ``shock``.
        ScenarioError: invalid scenario, override, model or financing name.
    """
    from quartiersim.studies.runner import _resolve

    if not isinstance(years, int) or years < 1:
        raise QuartiersimError(f"years = {years!r}: must be a whole number >= 1")
    sc = _resolve(scenario, overrides)
    start, end = sc.meta.start_year, sc.meta.start_year + years - 1
    shocks = separate([s for s in sc.shocks if start <= s.year <= end], shock)
    if not shocks:
        raise QuartiersimError(f"{sc.path}: no shocks within {start}-{end}; declare them as "
                               "[[shocks]] with year, tax_revenue_change, transfer_recipient_change")
    base, base_series = _run(sc, model, financing, seed, years, ())
    hit, hit_series = _run(sc, model, financing, seed, years, shocks)
    first = min(s.year for s in shocks)
    out: dict[str, Any] = {"unshocked": base, "shocked": hit,
                           "shocks": [s.model_dump() for s in shocks], "shock": shock}
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
