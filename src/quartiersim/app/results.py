"""What-if rows as a planner reads them, from the outcome registry.

:func:`planner_rows` turns a what-if table (:func:`quartiersim.studies.whatif.whatif`) into
rows with the registry's label in the UI language, shares in per cent and their changes in
percentage points, money in euros, totals over the horizon with the calendar years named,
the change relative to the baseline, and an assessment in words from the outcome's
``better`` direction (mandatory cases: "209 avoided" = baseline − variant). Which outcomes
are rows comes from the registry (:data:`quartiersim.sim.outcomes.REGISTRY`): the
``View.WHATIF`` outcomes, or every outcome in the table; an outcome added to the registry
appears without a change here. Rows equal to an earlier row (e.g. the municipality's cost
as a payer and as the municipal cost) and rows that are zero in baseline and variant are
left out and named in a note.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from quartiersim.app.i18n import UI
from quartiersim.sim.outcomes import REGISTRY
from quartiersim.sim.registry import Better, Kind, Outcome, OutcomeGroup, View, tree_rows
from quartiersim.studies.whatif import COLUMNS

#: Relative tolerance under which two rows count as the same.
SAME_RTOL = 1e-9


@dataclass(frozen=True)
class PlannerRow:
    """One outcome of a what-if, formatted.

    Attributes:
        outcome: the registry entry.
        label: the registry's label in the UI language, with "total 2020–2029" for totals
            over the horizon.
        indent: the row details the row above it (its parent in the registry).
        unit: the unit in the UI language.
        values: the table's nine numbers (:data:`~quartiersim.studies.whatif.COLUMNS`).
        baseline, variant: formatted means.
        change: formatted mean difference variant − baseline (percentage points for shares)
            with the change relative to the baseline.
        interval: formatted 95 % interval of the difference.
        assessment: ``better``, ``worse``, ``no clear change`` (the interval includes 0),
            or, for mandatory cases, how many were avoided; empty where no direction is better.
        verdict: ``"better"``, ``"worse"``, ``"unclear"`` or ``""``.
    """

    outcome: Outcome
    label: str
    indent: bool
    unit: str
    values: dict[str, float]
    baseline: str
    variant: str
    change: str
    interval: str
    assessment: str
    verdict: str


def _is_total(outcome: Outcome) -> bool:
    return outcome.unit.endswith("over the run")


def _same(a: pd.Series, b: pd.Series) -> bool:
    x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
    both_nan = (~pd.notna(x)) & (~pd.notna(y))
    close = abs(x - y) <= SAME_RTOL * (abs(x) + abs(y) + 1e-12)
    return bool((both_nan | close).all())


def _zero(row: pd.Series) -> bool:
    vals = [row[c] for c in ("baseline_mean", "variant_mean", "baseline_ci_low",
                             "baseline_ci_high", "variant_ci_low", "variant_ci_high")]
    return all(v == 0 or (isinstance(v, float) and math.isnan(v)) for v in vals) and \
        any(v == 0 for v in vals)


def verdict(outcome: Outcome, change: float, low: float, high: float) -> str:
    """``better``/``worse`` when the 95 % interval excludes 0 (or, without an interval, by
    the sign), ``unclear`` when it includes 0, ``""`` when no direction is better."""
    if outcome.better is None or change is None or math.isnan(change) or change == 0:
        return "" if outcome.better is None else "unclear"
    if not (math.isnan(low) or math.isnan(high)) and low <= 0 <= high:
        return "unclear"
    up = change > 0
    return "better" if up == (outcome.better is Better.HIGHER) else "worse"


def assessment(outcome: Outcome, row: pd.Series, ui: UI) -> tuple[str, str]:
    """(verdict, text): mandatory cases say how many were avoided (baseline − variant)."""
    v = verdict(outcome, row["difference_mean"], row["difference_ci_low"],
                row["difference_ci_high"])
    if not v:
        return "", ""
    text = {"better": ui.t("verdict.better"), "worse": ui.t("verdict.worse"),
            "unclear": ui.t("verdict.unclear")}[v]
    if outcome.group is OutcomeGroup.CASES and outcome.kind is Kind.COUNT and v != "unclear":
        avoided = row["baseline_mean"] - row["variant_mean"]
        n = ui.value(abs(avoided), outcome.kind)
        text = ui.t("verdict.avoided", n=n) if avoided > 0 else ui.t("verdict.more", n=n)
    return v, text


def planner_rows(table: pd.DataFrame, ui: UI, start_year: int, years: int,
                 every_outcome: bool = False) -> tuple[list[PlannerRow], list[str]]:
    """The what-if table as planner rows, and the labels of the rows left out.

    Args:
        table: a what-if table (index: outcome names, :data:`COLUMNS`).
        ui: language and number formats.
        start_year, years: the horizon (its calendar years label the totals).
        every_outcome: every outcome of the table the registry knows (grouped as the
            registry orders them); else the ``View.WHATIF`` outcomes.

    Returns:
        ``(rows, left_out)``: rows in the registry's table order; ``left_out`` the labels
        of rows equal to an earlier row or zero in baseline and variant.
    """
    names = [str(n) for n in table.index]
    present = set(names)
    view = None if every_outcome else View.WHATIF
    chosen = [o for o in REGISTRY.select(view=view, among=names) if o.name in present]
    span = ui.span(start_year, years)
    rows: list[PlannerRow] = []
    left_out: list[str] = []
    kept: list[pd.Series] = []
    for o, tree_label in tree_rows(chosen):
        r = table.loc[o.name, list(COLUMNS)]
        label = ui.outcome(o)
        if _zero(r) or any(_same(r, k) for k in kept):
            left_out.append(label)
            continue
        kept.append(r)
        if _is_total(o):
            label = f"{label}, {ui.t('total.span', span=span)}"
        kind = o.kind
        change = ui.change(r["difference_mean"], kind)
        if kind is not Kind.SHARE:
            rel = ui.relative(r["difference_mean"], r["baseline_mean"])
            change = f"{change} {rel}".strip()
        interval = f"[{ui.change(r['difference_ci_low'], kind)}, " \
                   f"{ui.change(r['difference_ci_high'], kind)}]"
        v, text = assessment(o, r, ui)
        rows.append(PlannerRow(
            outcome=o, label=label, indent=tree_label.startswith("  "), unit=ui.unit(o.unit),
            values={c: float(r[c]) for c in COLUMNS},
            baseline=ui.value(r["baseline_mean"], kind), variant=ui.value(r["variant_mean"], kind),
            change=change, interval=interval, assessment=text, verdict=v))
    return rows, left_out
