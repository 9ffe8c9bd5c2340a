"""The app's charts as Vega-Lite specs: the monthly series of the model on screen, the
what-if's baseline and variant over time, and the what-if's changes with their intervals.

Every chart has a title, an axis title with its unit, calendar months on the x axis (month
and year in the tooltip, in the UI language) and a legend in words (the registry's series
labels). A chart without data is not drawn at all (the page says why): Vega-Lite draws an
empty chart with "Infinite extent" warnings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from quartiersim.app.i18n import TEXTS, UI
from quartiersim.sim.outcomes import REGISTRY
from quartiersim.sim.registry import Kind

VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
BASELINE_COLOUR, VARIANT_COLOUR = "#8c8c8c", "#1f4e9c"
CHART_W, CHART_H = 360, 170


@dataclass(frozen=True)
class ChartDef:
    """One time-series chart: title and y-axis text ids, the series (DataCollector
    variables) with their colours, and whether values are shares (shown in %)."""

    key: str
    title: str
    y_title: str
    series: tuple[tuple[str, str], ...]
    share: bool = False


#: The charts of the page, in page order.
CHARTS: tuple[ChartDef, ...] = (
    ChartDef("coverage", "chart.coverage", "chart.coverage.y", (("coverage", "#2a9d4b"),), True),
    ChartDef("cases", "chart.cases", "chart.cases.y",
             (("active_mandatory_cases", "#c0392b"), ("new_mandatory_cases", "#e67e22"))),
    ChartDef("budget", "chart.budget", "chart.budget.y", (("voluntary_budget_eur", "#1f4e9c"),)),
)


def series_label(name: str, ui: UI) -> str:
    """A series' label: the registry's outcome that carries it (``series=name``), else the
    catalogue's ``series.<name>``, else the name."""
    if f"series.{name}" in TEXTS:
        return ui.t(f"series.{name}")
    for o in REGISTRY.select(display=False):
        if o.series == name:
            return ui.outcome(o)
    return name.replace("_", " ")


def short_label(name: str, ui: UI) -> str:
    """A series' short name in a legend beside others (``series.short.<name>``, else its
    label)."""
    key = f"series.short.{name}"
    return ui.t(key) if key in TEXTS else series_label(name, ui)


def month_of_year(step: Any) -> int:
    """The calendar month (1-12) of a series row: the DataCollector's ``month`` counts the
    run's months (1, 2, ... 120); ``year`` is the calendar year."""
    return (int(step) - 1) % 12 + 1


def _date(year: Any, step: Any) -> str:
    return f"{int(year):04d}-{month_of_year(step):02d}-01"


def _x(ui: UI, months: int) -> dict[str, Any]:
    """Calendar months: every month up to a year, every quarter up to three years (as
    ``03/2020``), else years."""
    if months <= 12:
        fmt, ticks = "%m/%Y", {"interval": "month", "step": 1}
    elif months <= 36:
        fmt, ticks = "%m/%Y", {"interval": "month", "step": 3}
    else:
        fmt, ticks = "%Y", {"interval": "year", "step": 1}
    return {"field": "date", "type": "temporal", "title": ui.t("chart.month"),
            "axis": {"format": fmt, "labelOverlap": True, "labelFlush": True, "grid": False,
                     "tickCount": ticks}}


def _y(chart: ChartDef, ui: UI) -> dict[str, Any]:
    """The y axis: shares 0-100 %, else from zero to a round value above the data (a
    constant line, e.g. the budget, stays clear of the top)."""
    y: dict[str, Any] = {"field": "value", "type": "quantitative", "title": ui.t(chart.y_title),
                         "axis": {"format": ",.0f" if not chart.share else ".0f"}}
    y["scale"] = {"domain": [0, 100]} if chart.share else {"zero": True, "nice": True,
                                                           "padding": 12}
    return y


def _line_spec(chart: ChartDef, ui: UI, rows: list[dict[str, Any]], colours: dict[str, str],
               months: int, dashed: dict[str, bool] | None = None) -> dict[str, Any]:
    domain = list(colours)
    enc: dict[str, Any] = {
        "x": _x(ui, months), "y": _y(chart, ui),
        "color": {"field": "series", "type": "nominal", "title": None,
                  "scale": {"domain": domain, "range": [colours[d] for d in domain]},
                  "legend": {"orient": "bottom", "direction": "vertical", "labelLimit": 320}},
        "tooltip": [{"field": "when", "type": "nominal", "title": ui.t("tip.month")},
                    {"field": "series", "type": "nominal", "title": ui.t("tip.series")},
                    {"field": "shown", "type": "nominal", "title": ui.t("tip.value")}]}
    if dashed:  # the same legend as the colour (one legend with coloured dashes)
        enc["strokeDash"] = {"field": "series", "type": "nominal", "title": None,
                             "legend": {"orient": "bottom", "direction": "vertical", "labelLimit": 320},
                             "scale": {"domain": domain,
                                       "range": [[5, 3] if dashed.get(d) else [1, 0] for d in domain]}}
    # the months' values are the dataset "series": after a step the browser updates the
    # drawn chart's data (the rest of the spec changes only at 12 and 36 months)
    return {"$schema": VEGA_LITE_SCHEMA, "data": {"name": "series"}, "datasets": {"series": rows},
            "title": {"text": ui.t(chart.title), "anchor": "start", "fontSize": 13},
            "width": CHART_W, "height": CHART_H,
            "mark": {"type": "line", "point": months <= 12, "strokeWidth": 2},
            "encoding": enc,
            "config": {"axis": {"labelFontSize": 11, "titleFontSize": 11},
                       "legend": {"labelFontSize": 11}}}


def _shown(value: float, chart: ChartDef, ui: UI) -> str:
    if chart.share:
        return ui.number(value, 1) + ("\u00a0%" if ui.lang == "de" else "%")
    if chart.key == "budget":
        return ui.eur(value)
    return ui.number(value, 0 if float(value).is_integer() else 1)


def series_spec(chart: ChartDef, df: pd.DataFrame, ui: UI) -> dict[str, Any] | None:
    """A chart of the model's monthly series (one row per month, with ``year`` and
    ``month``), or None without any month."""
    present = [(s, c) for s, c in chart.series if s in df.columns]
    if df.empty or not present:
        return None
    scale = 100.0 if chart.share else 1.0
    rows = []
    labels = {s: series_label(s, ui) for s, _ in present}
    for i, (y, m) in enumerate(zip(df["year"], df["month"])):
        when = f"{ui.month_name(y, month_of_year(m))} ({ui.t('chart.month')} {i + 1})"
        for s, _ in present:
            v = float(df[s].iloc[i]) * scale
            rows.append({"date": _date(y, m), "when": when, "series": labels[s], "value": v,
                         "shown": _shown(v, chart, ui)})
    return _line_spec(chart, ui, rows, {labels[s]: c for s, c in present}, len(df))


def whatif_series_spec(chart: ChartDef, series: pd.DataFrame, ui: UI) -> dict[str, Any] | None:
    """Baseline and variant of a what-if (:func:`quartiersim.studies.whatif.mean_series`)
    as lines in one chart, per series of the chart (baseline dashed grey); None without
    those columns."""
    present = [s for s, _ in chart.series if f"baseline_{s}" in series and f"variant_{s}" in series]
    if series is None or series.empty or not present:
        return None
    scale = 100.0 if chart.share else 1.0
    rows, colours, dashed = [], {}, {}
    for s in present:
        lab = short_label(s, ui) if len(present) > 1 else ""
        for side, colour in (("baseline", BASELINE_COLOUR), ("variant", VARIANT_COLOUR)):
            name = ui.t(f"col.{side}") + (f": {lab}" if lab else "")
            colours[name] = colour if s == present[0] else ("#bdbdbd" if side == "baseline" else "#6f9bd8")
            dashed[name] = side == "baseline"
            for i, (y, m) in enumerate(zip(series["year"], series["month"])):
                v = float(series[f"{side}_{s}"].iloc[i]) * scale
                rows.append({"date": _date(y, m), "series": name, "value": v,
                             "when": f"{ui.month_name(y, month_of_year(m))} "
                                     f"({ui.t('chart.month')} {i + 1})",
                             "shown": _shown(v, chart, ui)})
    return _line_spec(chart, ui, rows, colours, len(series), dashed)


def changes_spec(rows: list[Any], kind: Kind, ui: UI) -> dict[str, Any] | None:
    """The changes (variant − baseline) of the planner rows of one kind with their 95 %
    intervals, one line per outcome; shares in percentage points. None without rows."""
    sel = [r for r in rows if r.outcome.kind is kind]
    if not sel:
        return None
    scale = 100.0 if kind is Kind.SHARE else 1.0
    data = [{"outcome": r.label, "change": r.values["difference_mean"] * scale,
             "low": r.values["difference_ci_low"] * scale,
             "high": r.values["difference_ci_high"] * scale, "shown": f"{r.change} {r.interval}",
             "verdict": r.verdict or "none"} for r in sel]
    title = ui.t(f"kind.{kind.value}.change") if f"kind.{kind.value}.change" in TEXTS else kind.value
    y = {"field": "outcome", "type": "nominal", "sort": None, "title": None,
         "axis": {"labelLimit": 190, "labelFontSize": 11}}
    x_title = ui.t("change.pp") if kind is Kind.SHARE else (
        "€" if kind is Kind.EUR else ui.t("col.change"))
    fmt = ",.1f" if kind is Kind.SHARE else ",.0f"
    colour = {"field": "verdict", "type": "nominal", "legend": None,
              "scale": {"domain": ["better", "worse", "unclear", "none"],
                        "range": ["#2a7d3b", "#b03a2e", "#7f7f7f", "#1f4e9c"]}}
    return {"$schema": VEGA_LITE_SCHEMA, "data": {"values": data},
            "title": {"text": title, "anchor": "start", "fontSize": 13},
            "width": 170, "height": {"step": 22},
            "layer": [
                {"mark": {"type": "rule", "color": "#999999"},
                 "encoding": {"x": {"datum": 0, "type": "quantitative"}}},
                {"mark": {"type": "rule", "strokeWidth": 2},
                 "encoding": {"y": y, "x": {"field": "low", "type": "quantitative", "title": x_title,
                                            "axis": {"format": fmt, "tickCount": 4}},
                              "x2": {"field": "high"}, "color": colour}},
                {"mark": {"type": "point", "filled": True, "size": 60},
                 "encoding": {"y": y, "x": {"field": "change", "type": "quantitative"},
                              "color": colour,
                              "tooltip": [{"field": "outcome", "type": "nominal",
                                           "title": ui.t("col.outcome")},
                                          {"field": "shown", "type": "nominal",
                                           "title": ui.t("col.change")}]}}],
            "config": {"axis": {"labelFontSize": 11, "titleFontSize": 11}}}
