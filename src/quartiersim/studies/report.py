"""Reports on batch results: comparison table, Pareto front, series bands, coverage by group
and distance, sensitivity indices (SALib) and scenario discovery (PRIM, EMA Workbench).

:func:`write_report` reads a results directory written by :func:`quartiersim.studies.batch.run_batch`
and writes ``report.html`` (self-contained: figures embedded as PNG) and ``report.md``
(figures as PNG files under ``figures/``). The analysis functions are pure functions of
the runs table (one row per run) and may be used on their own.

Needs the optional extra ``analysis`` (matplotlib, SALib, ema_workbench).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quartiersim.config.domains import Payer
from quartiersim.errors import QuartiersimError
from quartiersim.sim.outcomes import REGISTRY
from quartiersim.sim.registry import Outcome, View
from quartiersim.studies.format import format_interval
from quartiersim.studies.runner import mean_ci


def table_outcomes() -> list[Outcome]:
    """Outcomes of the comparison table: the registry's :attr:`View.REPORT`, table order."""
    return REGISTRY.select(view=View.REPORT)


def coverage_map_columns() -> list[str]:
    """Coverage columns of the group/distance heat map: the registry's
    :attr:`View.COVERAGE_MAP` (overall, by resident group, by walking distance)."""
    return REGISTRY.names(view=View.COVERAGE_MAP)


#: Fewest cases of the rarer answer PRIM is run on (fewer give anecdotal boxes).
MIN_PRIM_CASES = 10


class ReportError(QuartiersimError):
    """The results directory cannot be reported on (missing, empty, no analysis extra)."""


# ------------------------------------------------------------------------------ loading
@dataclass
class Results:
    """A results directory in memory.

    Attributes:
        runs: finished runs of the last batch's experiment (one row per run key).
        failed: runs whose last attempt failed (``error`` set).
        series: monthly series of the finished runs (``run_key``, ``step``, variables).
        manifest: ``manifest.json`` (experiment spec, lever and uncertainty keys, problem).
        design: ``design.parquet`` (raw design matrix by design point).
    """

    runs: pd.DataFrame
    failed: pd.DataFrame
    series: pd.DataFrame
    manifest: dict[str, Any]
    design: pd.DataFrame
    root: Path = field(default=Path("."))

    @property
    def lever_keys(self) -> list[str]:
        return list(self.manifest.get("lever_keys", []))

    @property
    def uncertainty_keys(self) -> list[str]:
        return list(self.manifest.get("uncertainty_keys", []))

    @property
    def group_keys(self) -> list[str]:
        """Columns that identify a scenario x lever combination."""
        return ["scenario", "cooperation", "financing", *self.lever_keys]

    @property
    def spec(self) -> dict[str, Any]:
        return self.manifest.get("experiment", {})


def load_results(results_dir: str | Path) -> Results:
    """Read a results directory (runs, series, manifest, design).

    Raises:
        ReportError: not a results directory, or no finished run in it.
    """
    from quartiersim.studies.batch import BatchError, ResultStore, results_table

    root = Path(results_dir)
    try:
        table = results_table(root)
    except BatchError as exc:
        raise ReportError(str(exc)) from None
    manifest_path = root / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    ok = table[table["error"].isna()].reset_index(drop=True)
    if ok.empty:
        raise ReportError(f"{root}: no finished run to report on "
                          f"({len(table)} runs, all failed)")
    series = ResultStore(root).series(set(ok["run_key"]))
    design_path = root / "design.parquet"
    design = pd.read_parquet(design_path) if design_path.is_file() else pd.DataFrame()
    return Results(ok, table[table["error"].notna()].reset_index(drop=True), series, manifest,
                   design, root)


# ------------------------------------------------------------------------------ analysis
def combination_label(row: pd.Series | dict[str, Any], lever_keys: list[str]) -> str:
    """``coproduction / budget`` plus any scenario-key levers (last dotted part = value)."""
    parts = [str(row["cooperation"]), str(row["financing"])]
    parts += [f"{k.rsplit('.', 1)[-1]}={_short(row[k])}" for k in lever_keys]
    return " / ".join(parts)


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"
    return str(v)


def comparison_table(runs: pd.DataFrame, group_keys: list[str],
                     outcomes: list[str] | None = None) -> pd.DataFrame:
    """Mean and 95 % t interval over runs of each outcome per scenario x lever combination.

    Returns:
        One row per combination: the group keys, ``runs`` and ``<outcome>_mean``,
        ``<outcome>_ci_low``, ``<outcome>_ci_high``.
    """
    outcomes = outcomes or [o.name for o in table_outcomes()]
    outcomes = [o for o in outcomes if o in runs.columns]
    rows = []
    for key, sub in runs.groupby(group_keys, sort=False, dropna=False):
        row = dict(zip(group_keys, key if isinstance(key, tuple) else (key,)))
        row["runs"] = len(sub)
        for o in outcomes:
            m, lo, hi = mean_ci(sub[o].to_numpy(dtype=float))
            row[f"{o}_mean"], row[f"{o}_ci_low"], row[f"{o}_ci_high"] = m, lo, hi
        rows.append(row)
    return pd.DataFrame(rows)


def pareto_front(cost: np.ndarray, benefit: np.ndarray) -> np.ndarray:
    """Boolean mask of the points no other point dominates (cost no higher and benefit no
    lower, one of them strictly better). Shapes: (n,) -> (n,)."""
    c, b = np.asarray(cost, float), np.asarray(benefit, float)
    n = len(c)
    front = np.ones(n, dtype=bool)
    for i in range(n):
        dominated = (c <= c[i]) & (b >= b[i]) & ((c < c[i]) | (b > b[i]))
        front[i] = not dominated.any()
    return front


def sensitivity(results: Results, outcomes: list[str]) -> pd.DataFrame:
    """Sobol or Morris indices (SALib) per scenario x lever combination and outcome.

    The outcome of a design point is its mean over replications. Combinations that miss a
    design point are skipped (an incomplete design has no valid indices).

    Returns:
        Tidy rows: group keys, ``outcome``, ``parameter`` and, for Morris, ``mu_star``,
        ``mu_star_conf``, ``sigma``; for Sobol, ``S1``, ``S1_conf``, ``ST``, ``ST_conf``.
        Empty when the design is neither Sobol nor Morris.
    """
    design = results.spec.get("design", {})
    sampler = design.get("sampler")
    if sampler not in ("sobol", "morris") or results.design.empty:
        return pd.DataFrame()
    problem = results.manifest["problem"]
    x = results.design.sort_values("design_point")[[f"x:{k}" for k in problem["names"]]]
    x = x.to_numpy(dtype=float)
    n_points = len(x)
    seed = int(results.spec.get("seed", 0)) % (2**32)
    rows = []
    runs = results.runs
    for key, sub in runs.groupby(results.group_keys, sort=False, dropna=False):
        ident = dict(zip(results.group_keys, key if isinstance(key, tuple) else (key,)))
        for outcome in outcomes:
            if outcome not in sub.columns:
                continue
            y = sub.groupby("design_point")[outcome].mean().reindex(range(n_points))
            if y.isna().any():
                continue
            yv = y.to_numpy(dtype=float)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if sampler == "morris":
                    from SALib.analyze import morris

                    si = morris.analyze(problem, x, yv, num_levels=int(design.get("levels", 4)),
                                        seed=seed)
                    for i, name in enumerate(problem["names"]):
                        rows.append({**ident, "outcome": outcome, "parameter": name,
                                     "mu_star": float(si["mu_star"][i]),
                                     "mu_star_conf": float(si["mu_star_conf"][i]),
                                     "sigma": float(si["sigma"][i])})
                else:
                    from SALib.analyze import sobol

                    si = sobol.analyze(problem, yv,
                                       calc_second_order=bool(design.get("second_order")),
                                       seed=seed)
                    for i, name in enumerate(problem["names"]):
                        rows.append({**ident, "outcome": outcome, "parameter": name,
                                     "S1": float(si["S1"][i]), "S1_conf": float(si["S1_conf"][i]),
                                     "ST": float(si["ST"][i]), "ST_conf": float(si["ST_conf"][i])})
    return pd.DataFrame(rows)


def sensitivity_table(sens: pd.DataFrame, outcome: str, group_keys: list[str]) -> pd.DataFrame:
    """One outcome's indices: a row per parameter, a column per combination; the cells
    are ``mu* (conf)`` (Morris) or ``ST (conf)`` (Sobol), sorted by the largest index."""
    metric, conf = ("mu_star", "mu_star_conf") if "mu_star" in sens else ("ST", "ST_conf")
    s = sens[sens["outcome"] == outcome].copy()
    s["combination"] = [" / ".join(_short(r[k]) for k in group_keys) for _, r in s.iterrows()]
    value = s.pivot(index="parameter", columns="combination", values=metric)
    half = s.pivot(index="parameter", columns="combination", values=conf)
    order = value.max(axis=1).sort_values(ascending=False).index
    cols = list(dict.fromkeys(s["combination"]))
    out = pd.DataFrame({"parameter": order})
    for c in cols:
        out[f"{metric} {c}"] = [f"{value.loc[p, c]:.4g} ({half.loc[p, c]:.2g})" for p in order]
    return out


@dataclass
class Discovery:
    """The result of one PRIM scenario discovery.

    Attributes:
        question: the question in words.
        pairs: paired runs compared; cases: pairs where the answer is yes.
        target: the answer PRIM describes: "yes", or "no" when "yes" is the majority
            (scenario discovery looks for the rarer outcome).
        limits: one row per restricted uncertainty: ``uncertainty``, ``low``, ``high``
            (or ``values`` for a categorical one).
        coverage, density, mass: of the chosen box (PRIM's terms; shares).
        note: why there is no box, when there is none.
    """

    question: str
    pairs: int
    cases: int
    limits: pd.DataFrame
    coverage: float = math.nan
    density: float = math.nan
    mass: float = math.nan
    note: str = ""
    target: str = "yes"


def discovery_questions(results: Results) -> list[dict[str, Any]]:
    """The experiment's ``[[discovery]]`` questions (one default question if none)."""
    q = results.spec.get("discovery", [{}])
    return [q] if isinstance(q, dict) else list(q) or [{}]


def discover(results: Results, question: dict[str, Any] | None = None) -> Discovery | None:
    """PRIM (``ema_workbench.analysis.prim``): under which uncertainties does the
    experiment's discovery candidate cost the municipality less than the reference at no
    lower coverage?

    Pairs runs of candidate and reference with equal scenario, financing, scenario levers,
    design point and replication (with common random numbers they share the seed). The
    box chosen is the one on PRIM's peeling trajectory with the highest coverage x density
    (the trade-off an analyst reads off the trajectory: most of the cases, few others).

    Returns:
        None when the experiment has no uncertainty or lacks candidate or reference runs.
    """
    disc = question if question is not None else discovery_questions(results)[0]
    cand, ref = disc.get("candidate", "coproduction"), disc.get("reference", "municipal")
    cost, benefit = disc.get("cost", "municipal_cost_eur"), disc.get("benefit", "coverage")
    unc = results.uncertainty_keys
    runs = results.runs
    if not unc or not {cand, ref} <= set(runs["cooperation"]):
        return None
    on = ["scenario", "financing", *results.lever_keys, "design_point", "replication"]
    a = runs[runs["cooperation"] == cand][[*on, *unc, cost, benefit]]
    b = runs[runs["cooperation"] == ref][[*on, cost, benefit]]
    pairs = a.merge(b, on=on, suffixes=("", "_ref"))
    wording = (f"Under which uncertainties does {cand} cost the municipality less "
               f"({cost}) than {ref} at no lower {benefit}?")
    if pairs.empty:
        return None
    y = ((pairs[cost] < pairs[f"{cost}_ref"]) & (pairs[benefit] >= pairs[f"{benefit}_ref"]))
    y = y.to_numpy()
    x = pairs[unc].copy()
    names = {"scenario": "quarter", "financing": "financing model"}  # PRIM drops "scenario"
    for col in ("scenario", "financing", *results.lever_keys):
        if pairs[col].nunique() > 1:
            x[names.get(col, f"{col} (lever)")] = pairs[col].astype(str)
    empty = pd.DataFrame(columns=["uncertainty", "low", "high", "values"])
    if y.all() or not y.any():
        return Discovery(wording, len(y), int(y.sum()), empty,
                         note="the answer is the same in every paired run: nothing to discover")
    target = "yes" if y.mean() <= 0.5 else "no"
    rare = int(min(y.sum(), (~y).sum()))
    if rare < MIN_PRIM_CASES:
        return Discovery(wording, len(y), int(y.sum()), empty, target=target,
                         note=f"only {rare} '{target}' cases: too few for PRIM (it needs "
                              f"{MIN_PRIM_CASES}; run more seeds or design points)")
    from ema_workbench.analysis import prim

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = prim.Prim(x, y if target == "yes" else ~y, mass_min=0.05)
        box = p.find_box()
    if box is None:
        return Discovery(wording, len(y), int(y.sum()), empty, note="PRIM found no box")
    traj = box.peeling_trajectory
    i = int((traj["coverage"] * traj["density"]).astype(float).idxmax())
    box.select(i)
    lim, init = box.box_lim, p.box_init
    rows = []
    for col in lim.columns:
        lo, hi = lim[col].iloc[0], lim[col].iloc[1]
        if isinstance(lo, set):
            if lo != init[col].iloc[0]:
                rows.append({"uncertainty": col, "low": math.nan, "high": math.nan,
                             "values": ", ".join(sorted(map(str, lo)))})
        elif lo != init[col].iloc[0] or hi != init[col].iloc[1]:
            rows.append({"uncertainty": col, "low": float(lo), "high": float(hi), "values": ""})
    limits = pd.DataFrame(rows, columns=["uncertainty", "low", "high", "values"])
    return Discovery(wording, len(y), int(y.sum()), limits, float(box.coverage),
                     float(box.density), float(box.mass), target=target)


# ------------------------------------------------------------------------------ figures
def _plt() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ReportError("reports need matplotlib: pip install 'quartiersim[analysis]'") from None
    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def figure_pareto(table: pd.DataFrame, lever_keys: list[str]) -> bytes:
    """Municipal cost vs coverage per combination (means, 95 % intervals), one panel per
    scenario, Pareto front (lower cost, higher coverage) as a line."""
    plt = _plt()
    scenarios = list(dict.fromkeys(table["scenario"]))
    fig, axes = plt.subplots(1, len(scenarios), figsize=(6.5 * len(scenarios), 5), squeeze=False)
    coops = list(dict.fromkeys(table["cooperation"]))
    fins = list(dict.fromkeys(table["financing"]))
    colors = plt.get_cmap("tab10")
    markers = "os^DvP*X"
    for ax, sc in zip(axes[0], scenarios):
        t = table[table["scenario"] == sc]
        x, y = t["municipal_cost_eur_mean"].to_numpy(), t["coverage_mean"].to_numpy()
        for _, r in t.iterrows():
            c = colors(coops.index(r["cooperation"]) % 10)
            ax.errorbar(r["municipal_cost_eur_mean"], r["coverage_mean"],
                        xerr=[[r["municipal_cost_eur_mean"] - r["municipal_cost_eur_ci_low"]],
                              [r["municipal_cost_eur_ci_high"] - r["municipal_cost_eur_mean"]]],
                        yerr=[[r["coverage_mean"] - r["coverage_ci_low"]],
                              [r["coverage_ci_high"] - r["coverage_mean"]]],
                        fmt=markers[fins.index(r["financing"]) % len(markers)], color=c,
                        alpha=0.85, capsize=2)
        front = pareto_front(x, y)
        order = np.argsort(x[front])
        ax.plot(x[front][order], y[front][order], "k--", lw=1, label="Pareto front")
        ax.scatter(x[front], y[front], s=160, facecolors="none", edgecolors="k", lw=1)
        for _, r in t[front].iterrows():
            ax.annotate(combination_label(r, lever_keys), (r["municipal_cost_eur_mean"],
                        r["coverage_mean"]), fontsize=7, xytext=(4, 4),
                        textcoords="offset points")
        ax.set_title(sc)
        ax.xaxis.set_major_formatter(lambda v, _pos: f"{v / 1e6:,.2f}")
        ax.set_xlabel("municipal cost over the run (million EUR)")
        ax.set_ylabel("demand coverage (served / needed hours)")
        ax.grid(alpha=0.3)
    handles = [plt.Line2D([], [], color=colors(i % 10), marker="o", ls="", label=c)
               for i, c in enumerate(coops)]
    handles += [plt.Line2D([], [], color="grey", marker=markers[i % len(markers)], ls="",
                           label=f) for i, f in enumerate(fins)]
    handles.append(plt.Line2D([], [], color="k", ls="--", label="Pareto front"))
    axes[0][-1].legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
    return _png(fig)


def figure_series(results: Results, variable: str, label: str, cumulative: bool = False) -> bytes:
    """Monthly ``variable``: mean line and 5-95 % band over runs per cooperation model;
    a panel per scenario (rows) and financing model (columns)."""
    plt = _plt()
    runs, s = results.runs, results.series
    meta_cols = ["run_key", "scenario", "cooperation", "financing", *results.lever_keys]
    df = s[["run_key", "step", variable]].merge(runs[meta_cols], on="run_key")
    if cumulative:
        df[variable] = df.groupby("run_key")[variable].cumsum()
    df["line"] = [" / ".join([str(r["cooperation"]),
                              *(f"{k.rsplit('.', 1)[-1]}={_short(r[k])}" for k in results.lever_keys)])
                  for r in df[["cooperation", *results.lever_keys]].to_dict("records")]
    scenarios = list(dict.fromkeys(runs["scenario"]))
    fins = list(dict.fromkeys(runs["financing"]))
    fig, axes = plt.subplots(len(scenarios), len(fins), squeeze=False, sharex=True,
                             figsize=(4.5 * len(fins), 3.3 * len(scenarios)))
    colors = plt.get_cmap("tab10")
    lines = list(dict.fromkeys(df["line"]))
    for i, sc in enumerate(scenarios):
        for j, fin in enumerate(fins):
            ax = axes[i][j]
            sub = df[(df["scenario"] == sc) & (df["financing"] == fin)]
            for k, line in enumerate(lines):
                g = sub[sub["line"] == line].groupby("step")[variable]
                if not len(sub[sub["line"] == line]):
                    continue
                q = g.quantile([0.05, 0.95]).unstack()
                m = g.mean()
                ax.fill_between(q.index, q[0.05], q[0.95], color=colors(k % 10), alpha=0.15)
                ax.plot(m.index, m.to_numpy(), color=colors(k % 10), lw=1.2, label=line)
            ax.set_title(f"{sc}\n{fin}", fontsize=9)
            ax.grid(alpha=0.3)
            if i == len(scenarios) - 1:
                ax.set_xlabel("month")
            if j == 0:
                ax.set_ylabel(label)
    axes[0][-1].legend(fontsize=7, loc="best")
    return _png(fig)


def figure_groups(table_runs: pd.DataFrame, results: Results) -> bytes:
    """Heat map of mean coverage per combination (rows) by group and walking-distance
    band (columns), one panel per scenario."""
    plt = _plt()
    cols = [c for c in coverage_map_columns() if c in table_runs.columns]
    scenarios = list(dict.fromkeys(table_runs["scenario"]))
    keys = ["cooperation", "financing", *results.lever_keys]
    n_rows = table_runs.groupby(keys).ngroups
    fig, axes = plt.subplots(len(scenarios), 1, squeeze=False,
                             figsize=(8.5, (1.6 + 0.3 * n_rows) * len(scenarios)))
    means = table_runs.groupby(["scenario", *keys], sort=False)[cols].mean().to_numpy()
    vmax = float(np.nanmax(means)) if np.isfinite(means).any() else 1.0
    for ax, sc in zip(axes[:, 0], scenarios):
        t = table_runs[table_runs["scenario"] == sc].groupby(keys, sort=False)[cols].mean()
        im = ax.imshow(t.to_numpy(), vmin=0, vmax=vmax, cmap="viridis", aspect="auto")
        ax.set_yticks(range(len(t)))
        ax.set_yticklabels([" / ".join(map(_short, k if isinstance(k, tuple) else (k,)))
                            for k in t.index], fontsize=7)
        ax.set_xticks(range(len(cols)))
        ax.set_xticklabels([c.removeprefix("coverage_").replace("distance_", "dist ")
                            or "all" for c in cols], rotation=45, ha="right", fontsize=8)
        for (r, c), v in np.ndenumerate(t.to_numpy()):
            if not math.isfinite(v):
                continue
            ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if v < 0.6 * vmax else "black")
        ax.set_title(sc)
    fig.colorbar(im, ax=axes[:, 0].tolist(), shrink=0.6, label="coverage")
    return _png(fig)


def figure_costs(table: pd.DataFrame, lever_keys: list[str]) -> bytes:
    """Stacked bars: mean cost over the run by payer per combination, a panel per scenario."""
    plt = _plt()
    scenarios = list(dict.fromkeys(table["scenario"]))
    fig, axes = plt.subplots(1, len(scenarios), squeeze=False,
                             figsize=(7 * len(scenarios), 1.2 + 0.3 * len(table) / len(scenarios)))
    colors = plt.get_cmap("Set2")
    for ax, sc in zip(axes[0], scenarios):
        t = table[table["scenario"] == sc].reset_index(drop=True)
        left = np.zeros(len(t))
        for k, p in enumerate(Payer):
            col = f"cost_{p.value}_eur_mean"
            if col not in t:
                continue
            v = t[col].fillna(0).to_numpy()
            ax.barh(range(len(t)), v, left=left, color=colors(k), label=p.value)
            left += v
        ax.set_yticks(range(len(t)))
        ax.set_yticklabels([combination_label(r, lever_keys) for _, r in t.iterrows()],
                           fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("cost over the run (EUR, mean over runs)")
        ax.set_title(sc)
    axes[0][-1].legend(fontsize=7, loc="lower right")
    return _png(fig)


def figure_sensitivity(sens: pd.DataFrame, outcome: str, group_keys: list[str]) -> bytes:
    """Bars of mu* (Morris) or ST (Sobol) per parameter, one bar group per combination."""
    plt = _plt()
    metric, conf = ("mu_star", "mu_star_conf") if "mu_star" in sens else ("ST", "ST_conf")
    s = sens[sens["outcome"] == outcome]
    params = list(dict.fromkeys(s["parameter"]))
    groups = list(s.groupby(group_keys, sort=False))
    fig, ax = plt.subplots(figsize=(9, 0.9 + 0.28 * len(params) * max(1, len(groups)) ** 0.5))
    h = 0.8 / max(1, len(groups))
    colors = plt.get_cmap("tab10")
    for g, (key, sub) in enumerate(groups):
        sub = sub.set_index("parameter").reindex(params)
        ax.barh(np.arange(len(params)) + g * h, sub[metric], h, xerr=sub[conf],
                color=colors(g % 10), label=" / ".join(map(_short, key)), capsize=2)
    ax.set_yticks(np.arange(len(params)) + 0.4 - h / 2)
    ax.set_yticklabels(params, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"{'Morris mu*' if metric == 'mu_star' else 'Sobol total index ST'} "
                  f"of {outcome}")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, axis="x")
    return _png(fig)


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
