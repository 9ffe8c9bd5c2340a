"""Rankings as probabilities: the cooperation models compared over drawn parameter sets.

A ranking at one set of assumed parameters says little when the assumptions are
uncertain. Here the parameters are *drawn* -- from the scenario's calibrated posterior
(``[uncertainty] posterior``, written by ``quartiersim calibrate``) or uniformly from its
declared ranges (``[uncertainty.ranges]``, a Latin hypercube) -- and every cooperation
model is run in each drawn world with common random numbers (the same seeds per draw), so
the models of a draw differ only by the model. For each model and headline outcome this
module reports (exploratory modelling's terms, Kwakkel 2017; regret as in Rhodium):

- ``p_best``: the share of draws in which the model is best (ties share the draw);
- ``mean``, ``low``, ``high``: the mean over draws and the 5-95 % range across draws (it
  includes parameter uncertainty and seed noise);
- ``regret_mean``, ``regret_p90``: how far the model is below the best model of the
  same draw (in the outcome's unit, >= 0), averaged and at the 90th percentile;

and PRIM scenario discovery (EMA Workbench) on the draws: *under which assumptions does
the leading model lose its lead?* (:func:`lead_discovery`).

The command line (``compare --uncertainty``), the batch report and the app's what-if call
:func:`compare_uncertain`, :func:`rankings` and :func:`pairwise`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quartiersim.config.financing import check_model_names
from quartiersim.config.loading import load_scenario
from quartiersim.config.schema import Scenario
from quartiersim.config.uncertainty import (
    WEIGHT_COLUMN,
    fixed,
    is_integer_key,
    read_posterior,
)
from quartiersim.errors import QuartiersimError, ScenarioError
from quartiersim.sim.cooperation import COOPERATION_MODELS
from quartiersim.sim.outcomes import REGISTRY
from quartiersim.sim.registry import Better, Outcome, Scope, View
from quartiersim.studies.discovery import Box, prim_box
from quartiersim.studies.runner import run_many, with_cases_avoided

#: Where parameter sets are drawn from (``compare --uncertainty``).
SOURCES: tuple[str, ...] = ("posterior", "ranges")

#: Most draws of one comparison (a guard against a typo costing days).
MAX_DRAWS = 10_000

#: Percentiles of the range across draws (``low``, ``high``) and of the regret.
RANGE_PERCENTILES = (5.0, 95.0)
REGRET_PERCENTILE = 90.0

#: Columns of :func:`rankings`.
RANKING_COLUMNS: tuple[str, ...] = ("model", "outcome", "draws", "mean", "low", "high", "p_best",
                                    "regret_mean", "regret_p90")


def ranking_outcomes(among: Sequence[str] | None = None) -> list[Outcome]:
    """The outcomes models are ranked on: the registry's headline outcomes that have a
    direction (``better``), optionally only those ``among`` the given names."""
    chosen = [o for o in REGISTRY.select(view=View.HEADLINE) if o.better is not None]
    return chosen if among is None else [o for o in chosen if o.name in set(among)]


def directional_outcomes(among: Sequence[str]) -> list[Outcome]:
    """Every outcome with a direction (``better``) among the given names (summary and
    comparison outcomes, e.g. a run table's columns), headline outcomes first."""
    names = set(among)
    found = REGISTRY.select(scope=(Scope.SUMMARY, Scope.COMPARISON), among=list(names))
    chosen = [o for o in found if o.better is not None and o.name in names]
    head = [o.name for o in ranking_outcomes()]
    return sorted(chosen, key=lambda o: head.index(o.name) if o.name in head else len(head))


# --------------------------------------------------------------------------- draws
def check_draws(draws: Any) -> int:
    """``draws`` as a whole number in 1..MAX_DRAWS.

    Raises:
        QuartiersimError: anything else (``--draws 0``).
    """
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or not \
            1 <= int(draws) <= MAX_DRAWS:
        raise QuartiersimError(f"draws = {draws!r}: must be a whole number from 1 to "
                               f"{MAX_DRAWS:,} (parameter sets to draw)")
    return int(draws)


def draw_parameters(scenario: Scenario, source: str, draws: int, seed: int = 0) -> pd.DataFrame:
    """``draws`` parameter sets of the scenario, one row each (index ``draw``), one
    column per parameter (dotted scenario key).

    Args:
        source: ``"posterior"``: rows of the calibrated posterior, drawn with replacement
            by their weights, and the declared ranges of the uncertain parameters the
            posterior lacks (a Latin hypercube); ``"ranges"``: a Latin hypercube over the
            declared ranges (scipy.stats.qmc), uniform in each; whole numbers for integer
            keys.
        seed: seed of the draws (the same seed, the same parameter sets).

    Raises:
        QuartiersimError: an unknown source or ``draws`` out of range.
        ScenarioError: the scenario declares no posterior (no ranges), or the posterior
            file is missing or invalid (:func:`~quartiersim.config.uncertainty.read_posterior`).
    """
    n = check_draws(draws)
    rng = np.random.default_rng(seed)
    if source == "posterior":
        post = read_posterior(scenario)
        params = [c for c in post.columns if c != WEIGHT_COLUMN]
        idx = rng.choice(len(post), size=n, replace=True, p=post[WEIGHT_COLUMN].to_numpy())
        table = post.iloc[idx][params].reset_index(drop=True)
        rest = {k: r for k, r in scenario.uncertainty.ranges.items() if k not in params}
        if rest:  # uncertain parameters the calibration did not fit: their declared ranges
            table = pd.concat([table, _latin_hypercube(rest, n, rng)], axis=1)
    elif source == "ranges":
        ranges = scenario.uncertainty.ranges
        if not ranges:
            raise ScenarioError(f"{scenario.path}: no uncertain parameters: declare them as "
                                "[uncertainty.ranges] \"<key>\" = { low = .., high = .. } "
                                "(or use --uncertainty posterior)")
        table = _latin_hypercube(ranges, n, rng)
    else:
        raise QuartiersimError(f"uncertainty source {source!r}: allowed: {', '.join(SOURCES)}")
    for key in table.columns:
        if is_integer_key(scenario, key):
            table[key] = table[key].round().astype(int)
    table.index.name = "draw"
    return table


def _latin_hypercube(ranges: dict[str, Any], n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` draws uniform in each range, a Latin hypercube (scipy.stats.qmc)."""
    from scipy.stats import qmc

    u = qmc.LatinHypercube(d=len(ranges), seed=rng).random(n)
    lo = np.array([r.low for r in ranges.values()], dtype=float)
    hi = np.array([r.high for r in ranges.values()], dtype=float)
    return pd.DataFrame(lo + u * (hi - lo), columns=list(ranges))


def _values(row: pd.Series) -> dict[str, Any]:
    return {k: (int(v) if isinstance(v, (int, np.integer)) else float(v)) for k, v in row.items()}


def worlds(scenario: Scenario, draws: pd.DataFrame) -> list[Scenario]:
    """One certain scenario per drawn parameter set (:func:`~quartiersim.config.uncertainty.fixed`).

    Raises:
        ScenarioError: a drawn set the scenario rejects (e.g. a rule between keys), naming
            the draw.
    """
    out = []
    for d, row in draws.iterrows():
        try:
            out.append(fixed(scenario, _values(row)))
        except ScenarioError as exc:
            raise ScenarioError(f"draw {d}: {exc}") from None
    return out


# --------------------------------------------------------------------------- runs
def run_draws(scenario: Scenario, draws: pd.DataFrame, models: Sequence[str] | None = None,
              financing: str | None = None, seeds: int = 1, years: int = 10,
              workers: int | None = None, progress: bool = True,
              on_progress: Callable[[int, int], None] | None = None,
              cancel: threading.Event | None = None, nice: bool = False,
              variants: dict[str, tuple[dict[str, Any], str | None, str | None]] | None = None,
              ) -> pd.DataFrame:
    """Run every model in every drawn world with common random numbers.

    Run ``s`` of draw ``d`` uses seed ``d * seeds + s`` for every model, so within a draw
    the models differ only by the model. The scenario's reference model
    (``default_cooperation``) is run too (for ``mandatory_cases_avoided``) and kept.

    Args:
        draws: :func:`draw_parameters`.
        models: cooperation models (default: all registered).
        variants: instead of ``models``, named variants ``name -> (overrides, cooperation,
            financing)`` (a what-if: ``{"baseline": ({}, None, None), "variant": (...)}``);
            the first is the reference.

    Returns:
        One row per run: ``draw``, ``model`` (the model or variant name), ``seed`` and the
        summary's outcomes, the drawn parameters, ``mandatory_cases_avoided``.

    Raises:
        ScenarioError: an invalid model or drawn parameter set (before any run).
        QuartiersimError: ``seeds`` or ``years`` < 1.
    """
    for what, v in (("seeds", seeds), ("years", years)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise QuartiersimError(f"{what} = {v!r}: must be a whole number >= 1")
    ws = worlds(scenario, draws)
    if variants is None:
        names = list(models or COOPERATION_MODELS)
        reference = scenario.default_cooperation
        run_names = names if reference in names else [*names, reference]
        specs = {m: ({}, m, financing) for m in run_names}
    else:
        specs = dict(variants)
        reference = next(iter(specs))
    prepared: dict[tuple[int, str], Scenario] = {}
    for d, world in enumerate(ws):
        for name, (overrides, model, fin) in specs.items():
            sc = world.with_overrides(overrides) if overrides else world
            check_model_names(sc, model, fin)  # fail before any run starts
            prepared[d, name] = sc
    jobs, keys = [], []
    for d in range(len(ws)):
        for name, (_, model, fin) in specs.items():
            for s in range(seeds):
                jobs.append((prepared[d, name], model, fin, d * seeds + s, years))
                keys.append((d, name))
    summaries = run_many(jobs, workers=workers, progress=progress, desc="draws",
                         on_progress=on_progress, cancel=cancel, nice=nice)
    df = pd.DataFrame(summaries)
    df.insert(0, "draw", [k[0] for k in keys])
    df.insert(1, "model", [k[1] for k in keys])
    df = df.join(draws, on="draw")
    ref_col = df["cooperation"].copy()
    df["cooperation"] = df["model"]  # with_cases_avoided pairs by this name
    df = with_cases_avoided(df, reference)
    df["cooperation"] = ref_col
    df.attrs["reference"] = reference
    return df


# --------------------------------------------------------------------------- analysis
def _by_draw(runs: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Draws x models: the outcome's mean over the seeds of a draw (draws where a model has
    no finite value are left out)."""
    values = pd.to_numeric(runs[outcome], errors="coerce")
    table = values.groupby([runs["draw"], runs["model"]], sort=False).mean().unstack("model")
    return table.replace([np.inf, -np.inf], np.nan).dropna(axis=0, how="any")


def rankings(runs: pd.DataFrame, outcomes: Sequence[Outcome] | None = None) -> pd.DataFrame:
    """P(best), mean and range across draws, and regret of each model on each outcome.

    Args:
        runs: :func:`run_draws` (columns ``draw``, ``model`` and the outcomes).
        outcomes: outcomes with a direction (default: :func:`ranking_outcomes` present in
            ``runs``).

    Returns:
        :data:`RANKING_COLUMNS`, one row per model and outcome: ``draws`` used; ``mean``,
        ``low``, ``high`` (5th and 95th percentile across draws of the model's value);
        ``p_best`` (share of draws where it is best; a tie shares the draw equally);
        ``regret_mean`` and ``regret_p90`` (best value of the draw minus the model's for
        "higher is better", the model's minus the best for "lower is better"; >= 0, in the
        outcome's unit).
    """
    chosen = list(outcomes) if outcomes is not None else \
        ranking_outcomes([c for c in runs.columns])
    rows = []
    for o in chosen:
        if o.name not in runs.columns or o.better is None:
            continue
        table = _by_draw(runs, o.name)
        if table.empty:
            continue
        v = table.to_numpy(dtype=float)
        best = v.max(axis=1) if o.better is Better.HIGHER else v.min(axis=1)
        tol = 1e-12 * np.maximum(1.0, np.abs(best))
        winners = np.abs(v - best[:, None]) <= tol[:, None]
        share = winners / winners.sum(axis=1, keepdims=True)
        regret = (best[:, None] - v) if o.better is Better.HIGHER else (v - best[:, None])
        regret = np.maximum(regret, 0.0)
        for j, model in enumerate(table.columns):
            col = v[:, j]
            rows.append({"model": model, "outcome": o.name, "draws": len(col),
                         "mean": float(col.mean()),
                         "low": float(np.percentile(col, RANGE_PERCENTILES[0])),
                         "high": float(np.percentile(col, RANGE_PERCENTILES[1])),
                         "p_best": float(share[:, j].mean()),
                         "regret_mean": float(regret[:, j].mean()),
                         "regret_p90": float(np.percentile(regret[:, j], REGRET_PERCENTILE))})
    return pd.DataFrame(rows, columns=list(RANKING_COLUMNS))


def leader(ranks: pd.DataFrame, outcome: str) -> tuple[str, float] | None:
    """The model with the highest P(best) on ``outcome`` and that probability."""
    sub = ranks[ranks["outcome"] == outcome]
    if sub.empty:
        return None
    top = sub.sort_values(["p_best", "regret_mean"], ascending=[False, True]).iloc[0]
    return str(top["model"]), float(top["p_best"])


def lead_discovery(runs: pd.DataFrame, outcome: Outcome, model: str,
                   parameters: Sequence[str]) -> Box:
    """Under which assumptions does ``model`` lose its lead on ``outcome``? PRIM on the
    draws (``parameters``: the drawn columns) for the draws where another model is
    better (:func:`prim_box`)."""
    table = _by_draw(runs, outcome.name)
    question = f"Under which assumptions does {model} lose its lead on {outcome.name}?"
    if table.empty or model not in table.columns:
        return Box(question, 0, 0, note="no draws with a value")
    v = table.to_numpy(dtype=float)
    mine = table[model].to_numpy(dtype=float)
    others = np.delete(v, list(table.columns).index(model), axis=1)
    if others.size == 0:
        return Box(question, len(mine), 0, note="only one model")
    lost = others.max(axis=1) > mine if outcome.better is Better.HIGHER else \
        others.min(axis=1) < mine
    x = runs.drop_duplicates("draw").set_index("draw").loc[table.index, list(parameters)]
    return prim_box(x, lost, question)


# --------------------------------------------------------------------------- whole studies
@dataclass
class UncertainComparison:
    """The result of :func:`compare_uncertain`.

    Attributes:
        runs: :func:`run_draws` (one row per run).
        draws: the parameter sets (:func:`draw_parameters`).
        rankings: :func:`rankings`.
        discoveries: per ranked outcome, the PRIM box of its leading model (:func:`lead_discovery`).
        source: ``"posterior"`` or ``"ranges"``; reference: the reference model;
        seeds: seeds per draw; years: horizon.
    """

    runs: pd.DataFrame
    draws: pd.DataFrame
    rankings: pd.DataFrame
    discoveries: dict[str, Box]
    source: str
    reference: str
    seeds: int
    years: int

    def robustness(self) -> list[str]:
        """One sentence per ranked outcome: how robust its ranking is."""
        out = []
        for o in ranking_outcomes(list(self.rankings["outcome"].unique())):
            top = leader(self.rankings, o.name)
            if top is None:
                continue
            model, p = top
            sub = self.rankings[(self.rankings["outcome"] == o.name)
                                & (self.rankings["model"] == model)].iloc[0]
            word = "robust" if p >= 0.9 else "fairly robust" if p >= 0.7 else "not robust"
            out.append(f"{o.header}: {model} is best in {p:.0%} of {int(sub['draws'])} draws "
                       f"({word}); its regret is {sub['regret_mean']:.3g} on average and "
                       f"{sub['regret_p90']:.3g} at the 90th percentile.")
        return out


def compare_uncertain(scenario: Scenario | str | Path, source: str, draws: int = 20,
                      models: Sequence[str] | None = None, financing: str | None = None,
                      seeds: int = 1, years: int = 10, overrides: dict[str, Any] | None = None,
                      workers: int | None = None, progress: bool = True, seed: int = 0,
                      discover: bool = True) -> UncertainComparison:
    """Draw parameter sets, run every model in each with common random numbers, rank.

    Args:
        scenario: a :class:`Scenario` or the path of a scenario file.
        source: ``"posterior"`` or ``"ranges"`` (:func:`draw_parameters`).
        draws: parameter sets (1..MAX_DRAWS); seeds: runs per draw and model.
        seed: seed of the draws.
        discover: run PRIM for each ranked outcome's leading model.

    Raises:
        QuartiersimError, ScenarioError: invalid input, before any run.
    """
    check_draws(draws)
    if source not in SOURCES:
        raise QuartiersimError(f"--uncertainty {source!r}: allowed: {', '.join(SOURCES)}")
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if overrides:
        sc = sc.with_overrides(overrides)
    table = draw_parameters(sc, source, draws, seed=seed)
    runs = run_draws(sc, table, models=models, financing=financing, seeds=seeds, years=years,
                     workers=workers, progress=progress)
    shown = list(models or COOPERATION_MODELS)
    ranks = rankings(runs[runs["model"].isin(shown)], directional_outcomes(runs.columns))
    boxes = {}
    if discover:
        for o in ranking_outcomes(list(ranks["outcome"].unique())):
            top = leader(ranks, o.name)
            if top is not None:
                boxes[o.name] = lead_discovery(runs[runs["model"].isin(shown)], o, top[0],
                                               list(table.columns))
    return UncertainComparison(runs, table, ranks, boxes, source, runs.attrs["reference"],
                               seeds, years)


def pairwise(runs: pd.DataFrame, baseline: str = "baseline", variant: str = "variant",
             outcomes: Sequence[Outcome] | None = None) -> pd.DataFrame:
    """A variant against a baseline over paired draws (the app's what-if under uncertainty).

    Args:
        runs: :func:`run_draws` with ``variants={"baseline": ..., "variant": ...}`` (or any
            table with ``draw``, ``model`` and the outcomes).

    Returns:
        One row per outcome with a direction: ``outcome``, ``draws``, ``p_variant_better``
        (share of draws where the variant is strictly better; ties count half),
        ``difference_mean`` (variant - baseline), ``difference_low``, ``difference_high``
        (5-95 % across draws), and the regret of each (``regret_variant_mean``,
        ``regret_variant_p90``, ``regret_baseline_mean``, ``regret_baseline_p90``: how far
        below the better of the two, >= 0).
    """
    chosen = list(outcomes) if outcomes is not None else \
        [o for o in REGISTRY.select(view=View.WHATIF) if o.better is not None]
    sub = runs[runs["model"].isin([baseline, variant])]
    rows = []
    for o in chosen:
        if o.name not in sub.columns:
            continue
        table = _by_draw(sub, o.name)
        if table.empty or not {baseline, variant} <= set(table.columns):
            continue
        b, v = table[baseline].to_numpy(float), table[variant].to_numpy(float)
        sign = 1.0 if o.better is Better.HIGHER else -1.0
        gain = sign * (v - b)  # > 0: the variant is better
        tie = np.abs(v - b) <= 1e-12 * np.maximum(1.0, np.abs(b))
        diff = v - b
        rows.append({"outcome": o.name, "draws": len(b),
                     "p_variant_better": float(np.where(tie, 0.5, gain > 0).mean()),
                     "difference_mean": float(diff.mean()),
                     "difference_low": float(np.percentile(diff, RANGE_PERCENTILES[0])),
                     "difference_high": float(np.percentile(diff, RANGE_PERCENTILES[1])),
                     "regret_variant_mean": float(np.maximum(-gain, 0).mean()),
                     "regret_variant_p90": float(np.percentile(np.maximum(-gain, 0),
                                                               REGRET_PERCENTILE)),
                     "regret_baseline_mean": float(np.maximum(gain, 0).mean()),
                     "regret_baseline_p90": float(np.percentile(np.maximum(gain, 0),
                                                                REGRET_PERCENTILE))})
    return pd.DataFrame(rows)


def whatif_uncertain(scenario: Scenario | str | Path, overrides: dict[str, Any] | None = None,
                     source: str = "ranges", draws: int = 20, seeds: int = 1, years: int = 10,
                     model: str | None = None, financing: str | None = None, *,
                     workers: int | None = None,
                     on_progress: Callable[[int, int], None] | None = None,
                     cancel: threading.Event | None = None, nice: bool = False,
                     seed: int = 0) -> pd.DataFrame:
    """The what-if (baseline = the scenario as written under its default models; variant =
    ``overrides`` and optionally another ``model`` / ``financing``) over drawn parameter
    sets, paired by draw and seed: :func:`pairwise`. For the app's what-if panel
    (``on_progress``, ``cancel`` and ``nice`` as in :func:`quartiersim.studies.whatif.whatif`).

    Raises:
        QuartiersimError, ScenarioError: invalid input, before any run.
    """
    check_draws(draws)
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    table = draw_parameters(sc, source, draws, seed=seed)
    variants = {"baseline": ({}, None, None), "variant": (dict(overrides or {}), model, financing)}
    runs = run_draws(sc, table, seeds=seeds, years=years, workers=workers, progress=False,
                     on_progress=on_progress, cancel=cancel, nice=nice, variants=variants)
    return pairwise(runs)


__all__ = ["MAX_DRAWS", "RANKING_COLUMNS", "SOURCES", "Box", "UncertainComparison",
           "check_draws", "compare_uncertain", "directional_outcomes", "draw_parameters",
           "lead_discovery", "leader",
           "pairwise", "prim_box", "rankings", "ranking_outcomes", "run_draws",
           "whatif_uncertain", "worlds"]
