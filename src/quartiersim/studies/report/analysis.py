"""Loading a results store and the analyses of a report: comparison table, Pareto front, sensitivity, scenario discovery (PRIM)."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quartiersim.errors import QuartiersimError
from quartiersim.sim.outcomes import REGISTRY
from quartiersim.sim.registry import Outcome, View
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
    with warnings.catch_warnings():  # "ipyparallel not installed": not used here
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

        p = prim.Prim(x, y if target == "yes" else ~y, mass_min=0.05)
        box = p.find_box()
    if box is None:
        return Discovery(wording, len(y), int(y.sum()), empty, note="PRIM found no box")
    from quartiersim.studies.discovery import box_restrictions

    rows = box_restrictions(box, p.box_init)
    limits = pd.DataFrame(rows, columns=["uncertainty", "low", "high", "values"])
    return Discovery(wording, len(y), int(y.sum()), limits, float(box.coverage),
                     float(box.density), float(box.mass), target=target)


# ------------------------------------------------------------------------------ rankings
@dataclass
class Ranking:
    """P(best) and regret of the cooperation models over the design points of one scenario
    x financing x lever combination (:func:`quartiersim.studies.uncertainty.rankings`), and
    per headline outcome the PRIM box of where its leading model loses the lead."""

    label: str
    table: pd.DataFrame
    boxes: dict[str, Any]


def rankings_over_design(results: Results) -> list[Ranking]:
    """Rankings as probabilities over the experiment's design points (the draws), for
    each scenario x financing x scenario-key lever combination with at least two
    cooperation models and two design points. A design point's value is its mean over
    replications; runs of a design point share seeds across models (common random
    numbers, the experiment's default)."""
    from quartiersim.studies.uncertainty import (
        lead_discovery,
        leader,
        ranking_outcomes,
        rankings,
    )

    runs = results.runs
    if runs["cooperation"].nunique() < 2 or runs["design_point"].nunique() < 2:
        return []
    keys = ["scenario", "financing", *results.lever_keys]
    out = []
    for key, sub in runs.groupby(keys, sort=False, dropna=False):
        ident = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        draws = sub.rename(columns={"design_point": "draw", "cooperation": "model"})
        outcomes = ranking_outcomes([c for c in draws.columns])
        table = rankings(draws, outcomes)
        if table.empty:
            continue
        boxes = {}
        for o in outcomes:
            top = leader(table, o.name)
            if top is not None and results.uncertainty_keys:
                boxes[o.name] = lead_discovery(draws, o, top[0], results.uncertainty_keys)
        label = " / ".join(_short(v) for v in ident.values())
        out.append(Ranking(label, table, boxes))
    return out
