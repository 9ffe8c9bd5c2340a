"""The report's figures (matplotlib, PNG bytes)."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import pandas as pd

from quartiersim.config.domains import Payer
from quartiersim.studies.report.analysis import (
    ReportError,
    Results,
    _short,
    combination_label,
    coverage_map_columns,
    pareto_front,
)


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
