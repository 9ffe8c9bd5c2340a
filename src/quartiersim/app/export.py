"""What the app hands to the planner's browser as downloads: the what-if table and the
monthly series as CSV and Excel (openpyxl), and a printable one-page summary (HTML with a
print stylesheet: scenario, levers, table and charts). Nothing is written on the server.

CSV follows the language: German with ``;`` between fields and a decimal comma (what a
German spreadsheet expects), English with ``,`` and a decimal point; both UTF-8 with a
byte-order mark, so spreadsheets read the umlauts.
"""

from __future__ import annotations

import datetime as dt
import html
import io
from dataclasses import dataclass
from typing import Any

import pandas as pd

from quartiersim.app.charts import series_label
from quartiersim.app.i18n import UI
from quartiersim.app.params import LeverControl
from quartiersim.app.results import PlannerRow, planner_rows
from quartiersim.sim.registry import Kind


@dataclass(frozen=True)
class Context:
    """What a summary names: the scenario, the models, the horizon and the levers.

    Attributes:
        scenario_name: the scenario's ``meta.name``.
        scenario_file: its file name.
        baseline: "cooperation / financing" of the baseline, in words.
        variant: "cooperation / financing" of the variant, in words.
        levers: (label, scenario's value, variant's value) of each changed lever, formatted.
        seeds, years, start_year: replications and horizon.
    """

    scenario_name: str
    scenario_file: str
    baseline: str
    variant: str
    levers: tuple[tuple[str, str, str], ...]
    seeds: int
    years: int
    start_year: int


def changed_levers(levers: dict[str, Any], controls: dict[str, LeverControl],
                   ui: UI) -> tuple[tuple[str, str, str], ...]:
    """(label, scenario's value, variant's value) of the changed levers, formatted; a key
    that is no lever control (e.g. a financing table) shows as written."""
    out = []
    for key, value in levers.items():
        c = controls.get(key)
        if c is None:
            out.append((key, "", str(value)))
        else:
            out.append((c.label(ui), c.format(c.lever.value, ui), c.format(value, ui)))
    return tuple(out)


def whatif_frame(table: pd.DataFrame, ui: UI, start_year: int, years: int) -> pd.DataFrame:
    """Every outcome of a what-if table as spreadsheet rows: label, unit, baseline, variant
    and change (mean and 95 % interval; shares in %, their changes in percentage points),
    the relative change and the assessment."""
    rows, _ = planner_rows(table, ui, start_year, years, every_outcome=True)
    return pd.DataFrame([_record(r, ui) for r in rows])


def _record(r: PlannerRow, ui: UI) -> dict[str, Any]:
    scale = 100.0 if r.outcome.kind is Kind.SHARE else 1.0
    v = r.values
    base = v["baseline_mean"]
    rel = v["difference_mean"] / abs(base) * 100 if base else float("nan")
    unit = f"% ({ui.t('col.change')}: {ui.t('change.pp')})" if r.outcome.kind is Kind.SHARE else r.unit
    low, high = ui.t("col.low"), ui.t("col.high")
    out: dict[str, Any] = {"outcome": r.outcome.name, ui.t("col.outcome"): r.label,
                           ui.t("col.unit"): unit}
    for side, col in (("baseline", "col.baseline"), ("variant", "col.variant"),
                      ("difference", "col.change")):
        name = ui.t(col)
        out[name] = v[f"{side}_mean"] * scale
        out[f"{name}, {low}"] = v[f"{side}_ci_low"] * scale
        out[f"{name}, {high}"] = v[f"{side}_ci_high"] * scale
    out[f"{ui.t('col.change')} (%)"] = rel
    out = {k: round(x, 6) if isinstance(x, float) else x for k, x in out.items()}
    out[ui.t("col.assessment")] = r.assessment
    return out


def to_csv(df: pd.DataFrame, ui: UI) -> bytes:
    """A table as CSV bytes in the language's convention (see the module docstring)."""
    sep, dec = (";", ",") if ui.lang == "de" else (",", ".")
    return df.to_csv(index=False, sep=sep, decimal=dec).encode("utf-8-sig")


def to_excel(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An Excel workbook (openpyxl) with one sheet per table, columns fitted to their text."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        for name, df in sheets.items():
            df.to_excel(writer, sheet_name=name[:31], index=False)
            ws = writer.sheets[name[:31]]
            for col in ws.columns:
                width = max(len(str(c.value)) if c.value is not None else 0 for c in col)
                ws.column_dimensions[col[0].column_letter].width = min(60, max(9, width + 2))
            ws.freeze_panes = "B2" if ws.max_column > 1 else None
    return buf.getvalue()


def levers_frame(context: Context, ui: UI) -> pd.DataFrame:
    """The changed levers as a sheet."""
    return pd.DataFrame([{ui.t("sheet.levers"): a, ui.t("col.scenario_value"): b,
                          ui.t("col.variant"): c} for a, b, c in context.levers],
                        columns=[ui.t("sheet.levers"), ui.t("col.scenario_value"), ui.t("col.variant")])


# --------------------------------------------------------------------------- the summary
PRINT_CSS = """
@page { size: A4 portrait; margin: 11mm; }
* { box-sizing: border-box; }
body { font-family: "Liberation Sans", Arial, sans-serif; font-size: 8.5pt; color: #111; margin: 0; }
h1 { font-size: 14pt; margin: 0 0 2mm; }
h2 { font-size: 10pt; margin: 2.5mm 0 1.2mm; }
p { margin: 0 0 1.5mm; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 0.3pt solid #bbb; padding: 0.5mm 1.2mm; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.indent { padding-left: 5mm; }
tr.better td.verdict { color: #1d6b2d; } tr.worse td.verdict { color: #9b2c20; }
.charts { display: flex; gap: 4mm; margin-top: 2mm; break-inside: avoid; }
.charts figure { margin: 0; flex: 1; }
.charts svg { width: 100%; height: auto; }
.small { color: #555; font-size: 7.5pt; }
@media screen { body { max-width: 190mm; margin: 8mm auto; } }
"""


def _svg_lines(series: pd.DataFrame, column: str, title: str, ylabel: str, scale: float,
               ui: UI) -> str:
    """A small line chart of baseline and variant (matplotlib, inline SVG)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3.5, 1.6))
    ax = fig.subplots()
    x = pd.to_datetime(dict(year=series["year"], month=(series["month"] - 1) % 12 + 1, day=1))
    ax.plot(x, series[f"baseline_{column}"] * scale, color="#8c8c8c", ls="--", lw=1.2,
            label=ui.t("col.baseline"))
    ax.plot(x, series[f"variant_{column}"] * scale, color="#1f4e9c", lw=1.5, label=ui.t("col.variant"))
    ax.set_title(title, fontsize=8.5, loc="left")
    ax.set_ylabel(ylabel, fontsize=7.5)
    ax.tick_params(labelsize=7)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout(pad=0.4)
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    text = buf.getvalue()
    return text[text.index("<svg"):]


def summary_html(context: Context, table: pd.DataFrame, series: pd.DataFrame | None,
                 ui: UI) -> str:
    """A self-contained printable page (one A4 page): scenario, baseline and variant,
    changed levers, the what-if rows and baseline vs variant over time."""
    rows, left_out = planner_rows(table, ui, context.start_year, context.years)
    span = ui.span(context.start_year, context.years)
    e = html.escape
    lever_rows = "".join(f"<tr><td>{e(a)}</td><td class='num'>{e(b)}</td><td class='num'>{e(c)}</td></tr>"
                         for a, b, c in context.levers) or \
        f"<tr><td colspan='3'>{e(ui.t('no_changed_levers'))}</td></tr>"
    result_rows = "".join(
        f"<tr class='{r.verdict}'><td{' class=indent' if r.indent else ''}>{e(r.label)}</td>"
        f"<td class='num'>{e(r.baseline)}</td>"
        f"<td class='num'>{e(r.variant)}</td><td class='num'>{e(r.change)}</td>"
        f"<td class='num'>{e(r.interval)}</td><td class='verdict'>{e(r.assessment)}</td></tr>"
        for r in rows)
    charts = ""
    if series is not None and {"baseline_coverage", "variant_coverage"} <= set(series.columns):
        figs = [_svg_lines(series, "coverage", ui.t("chart.coverage"), "%", 100.0, ui)]
        if {"baseline_active_mandatory_cases", "variant_active_mandatory_cases"} <= set(series.columns):
            figs.append(_svg_lines(series, "active_mandatory_cases",
                                   series_label("active_mandatory_cases", ui),
                                   ui.t("chart.cases.y"), 1.0, ui))
        charts = (f"<h2>{e(ui.t('whatif.over_time'))}</h2><div class='charts'>"
                  + "".join(f"<figure>{f}</figure>" for f in figs) + "</div>")
    note = f"<p class='small'>{e(ui.t('whatif.left_out', what=', '.join(left_out)))}</p>" \
        if left_out else ""
    made = ui.t("summary.made", date=dt.date.today().isoformat())
    head = (f"<th>{e(ui.t('col.outcome'))}</th><th class='num'>{e(ui.t('col.baseline'))}</th>"
            f"<th class='num'>{e(ui.t('col.variant'))}</th><th class='num'>{e(ui.t('col.change'))}</th>"
            f"<th class='num'>{e(ui.t('col.interval'))}</th><th>{e(ui.t('col.assessment'))}</th>")
    return f"""<!DOCTYPE html>
<html lang="{ui.lang}"><head><meta charset="utf-8">
<title>{e(ui.t('summary.title'))}: {e(context.scenario_name)}</title>
<style>{PRINT_CSS}</style></head>
<body>
<h1>{e(ui.t('summary.title'))}: {e(context.scenario_name)}</h1>
<p>{e(ui.t('scenario'))}: {e(context.scenario_file)} · {e(ui.t('col.baseline'))}:
 {e(context.baseline)} · {e(ui.t('col.variant'))}: {e(context.variant)} ·
 {context.seeds} × {e(ui.years(context.years))} ({span})</p>
<h2>{e(ui.t('changed_levers'))}</h2>
<table><tr><th>{e(ui.t('sheet.levers'))}</th><th class='num'>{e(ui.t('col.scenario_value'))}</th>
<th class='num'>{e(ui.t('col.variant'))}</th></tr>{lever_rows}</table>
<h2>{e(ui.t('whatif.changes'))}</h2>
<table><tr>{head}</tr>{result_rows}</table>
{note}
{charts}
<p class="small">{e(made)}</p>
</body></html>
"""
