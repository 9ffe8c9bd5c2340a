"""Writing the report: sections, Markdown and HTML with the figures embedded."""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from quartiersim.sim.outcomes import REGISTRY
from quartiersim.studies.format import format_interval, format_value
from quartiersim.studies.report.analysis import (
    Results,
    comparison_table,
    discover,
    discovery_questions,
    load_results,
    rankings_over_design,
    sensitivity,
    sensitivity_table,
    table_outcomes,
)
from quartiersim.studies.report.figures import (
    figure_costs,
    figure_groups,
    figure_pareto,
    figure_sensitivity,
    figure_series,
)


# ------------------------------------------------------------------------------ writing
def _display_table(table: pd.DataFrame, group_keys: list[str]) -> pd.DataFrame:
    """The comparison table as strings: ``mean [low, high]`` per outcome."""
    out = table[group_keys + ["runs"]].copy()
    for o in table_outcomes():
        key = o.name
        if f"{key}_mean" in table:
            out[o.label] = [format_interval(m, lo, hi, o.kind)
                            for m, lo, hi in zip(table[f"{key}_mean"], table[f"{key}_ci_low"],
                                                 table[f"{key}_ci_high"])]
    return out


def markdown_table(df: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """A pipe table (GitHub Markdown) of a DataFrame."""
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return "n/a" if not math.isfinite(v) else format(v, floatfmt)
        return str(v).replace("|", "\\|")

    head = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


@dataclass
class _Section:
    title: str
    text: str = ""
    table: pd.DataFrame | None = None
    figure: tuple[str, bytes] | None = None


def build_sections(results: Results) -> list[_Section]:
    """Every report section: text, an optional table and an optional figure."""
    spec, runs = results.spec, results.runs
    gk = results.group_keys
    table = comparison_table(runs, gk)
    sections = []
    design = spec.get("design", {})
    n_failed = len(results.failed)
    intro = (f"Experiment **{spec.get('name', '?')}**: {len(runs)} finished runs"
             f"{f', {n_failed} failed (see runs table, column error)' if n_failed else ''}; "
             f"{spec.get('years', '?')} years; {spec.get('replications', '?')} replications "
             f"per design point; {results.manifest.get('design_points', 1)} design points "
             f"({design.get('sampler', 'full_factorial')}) over "
             f"{len(results.uncertainty_keys)} uncertainties"
             f"{': ' + ', '.join(results.uncertainty_keys) if results.uncertainty_keys else ''}."
             f" {spec.get('description', '')}")
    sections.append(_Section("Experiment", intro))
    sections.append(_Section(
        "Comparison by scenario and levers",
        "Mean and 95 % t interval of the mean over runs (seeds and design points) of each "
        "outcome per scenario x lever combination. Costs are EUR over the whole horizon; "
        "coverage is served / needed need-hours; sustainability: coverage in the final "
        "year (and after a grant ends, where the outcome exists) and carriers still open "
        "at the end.",
        _display_table(table, gk)))
    sections.append(_Section(
        "Cost and coverage: Pareto front",
        "Each point is one combination (mean, with 95 % intervals); the dashed line joins "
        "the combinations that no other beats on both municipal cost and coverage.",
        figure=("pareto.png", figure_pareto(table, results.lever_keys))))
    sections.append(_Section("Cost by payer", "Mean cost over the run by payer.",
                             figure=("costs.png", figure_costs(table, results.lever_keys))))
    if not results.series.empty:
        sections.append(_Section(
            "Coverage over time", "Monthly coverage: mean over runs and the 5-95 % band.",
            figure=("series_coverage.png",
                    figure_series(results, "coverage", "monthly coverage"))))
        sections.append(_Section(
            "Municipal cost over time", "Cumulative municipal cost: mean and 5-95 % band.",
            figure=("series_cost.png", figure_series(results, "municipal_cost_eur",
                                                     "cumulative municipal cost (EUR)",
                                                     cumulative=True))))
    sections.append(_Section(
        "Coverage by group and distance",
        "Mean coverage over the run by resident group, and last month's coverage by walking "
        "distance from home to the nearest service point (blank where nobody in a band had "
        "a need).", figure=("groups.png", figure_groups(runs, results))))
    sens = sensitivity(results, list(spec.get("outcomes", ["coverage"])))
    if not sens.empty:
        kind = "Morris elementary effects (mu*, sigma)" if "mu_star" in sens else \
            "Sobol indices (S1 first order, ST total)"
        sections.append(_Section(
            "Sensitivity", f"{kind} from SALib per combination and outcome; the outcome of "
            "a design point is its mean over replications. Parameters are sorted by their "
            "largest index; values are index (confidence half-width)."))
        for outcome in dict.fromkeys(sens["outcome"]):
            sections.append(_Section(f"Sensitivity of {outcome}",
                                     table=sensitivity_table(sens, outcome, gk),
                                     figure=(f"sensitivity_{outcome}.png",
                                             figure_sensitivity(sens, outcome, gk))))
    elif results.uncertainty_keys:
        sections.append(_Section("Sensitivity", "No indices: the design is "
                                 f"{design.get('sampler')}, not Sobol or Morris."))
    sections += ranking_sections(results)
    for question in discovery_questions(results):
        disc = discover(results, question)
        if disc is None:
            continue
        text = (f"{disc.question} Yes in {disc.cases} of {disc.pairs} paired runs "
                f"(base rate {disc.cases / disc.pairs:.2f}). ")
        if disc.note:
            text += disc.note[0].upper() + disc.note[1:] + "."
        else:
            t = disc.target
            text += (f"PRIM (EMA Workbench) box for the {'rarer ' if t == 'no' else ''}"
                     f"'{t}' cases: coverage {disc.coverage:.2f} (share of all '{t}' cases "
                     f"inside), density {disc.density:.2f} (share of '{t}' inside), mass "
                     f"{disc.mass:.2f} (share of runs inside). "
                     + ("Restricted uncertainties:" if len(disc.limits) else
                        "No uncertainty is restricted."))
        sections.append(_Section("Scenario discovery (PRIM)", text,
                                 disc.limits if len(disc.limits) else None))
    return sections


def ranking_sections(results: Results) -> list[_Section]:
    """"Rankings over the uncertainties": P(best), range and regret per model and headline
    outcome over the design points, and where the leader loses its lead (PRIM)."""
    out = []
    for r in rankings_over_design(results):
        rows = []
        for t in r.table.itertuples():
            o = REGISTRY.lookup(t.outcome)
            rows.append({"outcome": o.label, "model": t.model,
                         "mean": format_value(t.mean, o.kind),
                         "5-95 % over design points": f"{format_value(t.low, o.kind)} to "
                                                      f"{format_value(t.high, o.kind)}",
                         "P(best)": f"{t.p_best:.0%}",
                         "regret, mean": format_value(t.regret_mean, o.kind),
                         "regret, 90th percentile": format_value(t.regret_p90, o.kind)})
        text = ("P(best): share of the design points (parameter sets) in which the model is "
                "best on the outcome, its value being the mean over replications; regret: how "
                "far below the best model of the same design point (mean and 90th "
                "percentile). ")
        for box in r.boxes.values():
            text += f"{box.question} It loses it in {box.hits} of {box.cases} design points; "
            if box.limits.empty:
                text += f"PRIM: {box.note or 'no restriction found'}. "
            else:
                where = "; ".join(f"{x.uncertainty} {x.values or f'{x.low:.4g} to {x.high:.4g}'}"
                                  for x in box.limits.itertuples())
                how = "lost" if box.target == "yes" else "kept"
                text += (f"PRIM box (coverage {box.coverage:.2f}, density {box.density:.2f}): "
                         f"the lead is mostly {how} where {where}. ")
        out.append(_Section(f"Rankings over the uncertainties: {r.label}", text.strip(),
                            pd.DataFrame(rows)))
    return out


def write_report(results_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """Write ``report.html`` (figures embedded) and ``report.md`` (+ ``figures/*.png``).

    Args:
        results_dir: a directory written by ``quartiersim batch``.
        out_dir: where to write (default ``<results_dir>/report``).

    Returns:
        The paths written.

    Raises:
        ReportError: no results, or the ``analysis`` extra is missing.
    """
    results = load_results(results_dir)
    out = Path(out_dir) if out_dir else Path(results_dir) / "report"
    figdir = out / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    sections = build_sections(results)
    title = f"quartiersim report: {results.spec.get('name', Path(results_dir).name)}"
    md = [f"# {title}", ""]
    body = [f"<h1>{html.escape(title)}</h1>"]
    written = []
    for s in sections:
        md += [f"## {s.title}", ""]
        body.append(f"<h2>{html.escape(s.title)}</h2>")
        if s.text:
            md += [s.text, ""]
            body.append(f"<p>{_md_inline(s.text)}</p>")
        if s.table is not None:
            md += [markdown_table(s.table), ""]
            body.append(s.table.to_html(index=False, na_rep="n/a", float_format="{:.4g}".format,
                                        classes="t", border=0))
        if s.figure is not None:
            name, png = s.figure
            (figdir / name).write_bytes(png)
            written.append(figdir / name)
            md += [f"![{s.title}](figures/{name})", ""]
            b64 = base64.b64encode(png).decode()
            body.append(f'<img alt="{html.escape(s.title)}" src="data:image/png;base64,{b64}">')
    (out / "report.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            "</title><style>body{font-family:sans-serif;max-width:1400px;margin:2em auto;"
            "padding:0 1em}table.t{border-collapse:collapse;font-size:12px;margin:1em 0}"
            "table.t td,table.t th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
            "img{max-width:100%}</style></head><body>" + "\n".join(body) + "</body></html>")
    (out / "report.html").write_text(page, encoding="utf-8")
    return [out / "report.html", out / "report.md", *written]


def _md_inline(text: str) -> str:
    parts = html.escape(text).split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))
