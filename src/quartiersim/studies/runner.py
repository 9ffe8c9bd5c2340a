"""The whole simulation as plain functions: :func:`run` one model, :func:`compare` several.

The CLI, batch runs, the app and the tests all call these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from quartiersim.config.financing import check_model_names
from quartiersim.config.loading import load_scenario
from quartiersim.config.schema import Scenario
from quartiersim.errors import QuartiersimError
from quartiersim.sim.cooperation import COOPERATION_MODELS
from quartiersim.sim.outcomes import CellOutcomes, cell_outcomes, summarize
from quartiersim.studies.pool import WarmPool, progress_bar, run_jobs

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel

__all__ = ["RunResult", "compare", "compare_with_cells", "mean_ci", "progress_bar", "run",
           "run_many", "with_cases_avoided"]


@dataclass
class RunResult:
    """Result of one run.

    Attributes:
        summary: flat dict of end-of-run outcomes (see :func:`quartiersim.sim.outcomes.summarize`)
            plus ``scenario``, ``cooperation``, ``financing``, ``seed``, ``years``.
        series: one row per month (DataCollector model variables), index ``step``.
        model: the finished model when ``keep_model=True``, else None.
        cells: per-cell outcomes when ``cells=True`` (:func:`~quartiersim.sim.outcomes.cell_outcomes`).
    """

    summary: dict[str, Any]
    series: pd.DataFrame
    model: QuarterModel | None = field(default=None, repr=False)
    cells: CellOutcomes | None = field(default=None, repr=False)

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``summary.json`` (strict JSON: an undefined outcome is null) and
        ``series.parquet`` into ``out_dir`` (created), each atomically (a temporary file
        in ``out_dir``, then renamed): a failed write leaves no partial file."""
        from quartiersim.config.fileio import (
            atomic_write,
            atomic_write_text,
            strict_json,
        )

        out = Path(out_dir)
        p1 = atomic_write_text(out / "summary.json", strict_json(self.summary, indent=2) + "\n")
        p2 = atomic_write(out / "series.parquet", self.series.to_parquet)
        return [p1, p2]


def _resolve(scenario: Scenario | str | Path, overrides: dict[str, Any] | None) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario.with_overrides(overrides) if overrides else scenario
    return load_scenario(scenario, overrides)


def run(scenario: Scenario | str | Path, model: str | None = None, financing: str | None = None,
        seed: int = 0, years: int = 10, overrides: dict[str, Any] | None = None,
        keep_model: bool = False, keep_bookings: bool = False, cells: bool = False) -> RunResult:
    """Simulate one quarter under one cooperation and financing model.

    Args:
        scenario: a :class:`Scenario` or the path of a scenario TOML file.
        model: cooperation model name (default: the scenario's ``default_cooperation``).
        financing: financing model name (default: the scenario's ``default_financing``).
        seed: random seed; the same seed gives the same result, in any process.
        years: horizon in years (12 monthly steps each), >= 1.
        overrides: dotted scenario keys to set, validated like the file.
        keep_model: keep the finished model on the result (memory!).
        keep_bookings: keep every ledger booking (for audits and tests).
        cells: keep need and served hours per cell (``RunResult.cells``, e.g. for a
            GeoPackage); costs two bincounts a month.

    Raises:
        ScenarioError: invalid scenario, override, model or financing name.
        QuartiersimError: ``years`` < 1 or ``seed`` < 0.
    """
    if not isinstance(years, int) or years < 1:
        raise QuartiersimError(f"years = {years!r}: must be a whole number >= 1")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise QuartiersimError(f"seed = {seed!r}: must be a whole number >= 0")
    # imported here: a process that only hands runs to workers (compare, what-if with a
    # pool) never imports Mesa and the model (issue 15: the command's own start-up)
    from quartiersim.sim.model import QuarterModel

    sc = _resolve(scenario, overrides)
    m = QuarterModel(sc, cooperation=model, financing=financing, rng=seed, years=years,
                     keep_bookings=keep_bookings, track_cells=cells)
    m.run_months(12 * years)
    summary = {"scenario": sc.meta.name, "cooperation": m.cooperation.name,
               "financing": m.financing.name, "seed": seed, "years": years,
               "start_year": sc.meta.start_year, **summarize(m)}
    series = m.datacollector.get_model_vars_dataframe()
    series.index = pd.RangeIndex(1, len(series) + 1, name="step")
    return RunResult(summary, series, m if keep_model else None,
                     cell_outcomes(m) if cells else None)


def _run_summary(args: tuple) -> dict[str, Any]:
    scenario, model, financing, seed, years = args
    return run(scenario, model=model, financing=financing, seed=seed, years=years).summary


def _run_summary_and_cells(args: tuple) -> tuple[dict[str, Any], CellOutcomes]:
    scenario, model, financing, seed, years = args
    res = run(scenario, model=model, financing=financing, seed=seed, years=years, cells=True)
    return res.summary, res.cells  # type: ignore[return-value]


def _job_name(args: tuple) -> str:
    _, model, financing, seed, _ = args
    return " ".join(str(x) for x in (model or "default model", financing or "", f"seed {seed}")
                    if x)


def run_many(jobs: list[tuple], workers: int | None = None, progress: bool = True,
             desc: str = "runs", **pool_options: Any) -> list[dict[str, Any]]:
    """Run ``(scenario, model, financing, seed, years)`` jobs, in a process pool when
    ``workers`` > 1 (:func:`quartiersim.studies.pool.run_jobs`: a run whose worker process
    died is run again, finished runs are kept), and return their summaries in job order.

    ``pool_options`` go to :func:`~quartiersim.studies.pool.run_jobs` (``cancel``,
    ``on_progress``, ``nice``, ``retries``, ``pool``: a started warm pool).

    Raises:
        JobsFailed: a run's worker process died on every attempt (the message names the
            runs; ``.results`` holds the finished summaries).
        Cancelled: ``cancel`` was set.
    """
    return run_jobs(_run_summary, jobs, workers=workers, progress=progress, desc=desc,
                    describe=_job_name, **pool_options)


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided t interval of the mean over replications (seeds)."""
    # the t quantile from scipy.special (what scipy.stats.t.ppf calls; scipy.stats itself
    # takes ~0.4 s to import), imported here: keeps process-pool workers' start-up short
    from scipy.special import stdtrit

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return (math.nan, math.nan, math.nan)
    m = float(v.mean())
    if len(v) < 2:
        return (m, m, m)
    half = float(stdtrit(len(v) - 1, 0.5 + level / 2) * v.std(ddof=1) / math.sqrt(len(v)))
    return (m, m - half, m + half)


def compare(scenario: Scenario | str | Path, models: list[str] | None = None,
            financing: str | None = None, seeds: int = 10, years: int = 10,
            overrides: dict[str, Any] | None = None, workers: int | None = None,
            progress: bool = True, pool: WarmPool | None = None) -> pd.DataFrame:
    """Run every cooperation model over seeds 0..seeds-1 and aggregate.

    The runs go through :func:`quartiersim.studies.pool.run_jobs`: a run whose worker
    process died (killed, out of memory) is run again in a fresh pool; the finished runs
    are kept. ``pool``: a started :class:`~quartiersim.studies.pool.WarmPool` to run on
    (then ``workers`` is the pool's).

    Returns:
        One row per model: ``model``, ``financing``, ``seeds`` and, for each numeric
        outcome, ``<outcome>_mean``, ``<outcome>_ci_low``, ``<outcome>_ci_high`` (95 %
        t interval of the mean over seeds), among them ``mandatory_cases_avoided``
        against the scenario's reference model (``default_cooperation``, run with the
        same seeds even when it is not among ``models``; ``attrs["reference_model"]``).

    Raises:
        ScenarioError: invalid scenario, override or model name (before any run starts).
        QuartiersimError: ``seeds``, ``years`` or ``workers`` < 1 (before any run starts).
        JobsFailed: a run's worker process died on each of its attempts (the message
            names the run; the other runs finished).
    """
    return _compare(scenario, models, financing, seeds, years, overrides, workers, progress,
                    cells=False, pool=pool)[0]


def compare_with_cells(scenario: Scenario | str | Path, models: list[str] | None = None,
                       financing: str | None = None, seeds: int = 10, years: int = 10,
                       overrides: dict[str, Any] | None = None, workers: int | None = None,
                       progress: bool = True, pool: WarmPool | None = None
                       ) -> tuple[pd.DataFrame, dict[str, CellOutcomes]]:
    """:func:`compare`, and per model the per-cell outcomes averaged over the seeds
    (:meth:`CellOutcomes.mean`: their need and served hours sum to the table's
    ``need_hours_mean`` and ``served_hours_mean``)."""
    return _compare(scenario, models, financing, seeds, years, overrides, workers, progress,
                    cells=True, pool=pool)


def _compare(scenario: Scenario | str | Path, models: list[str] | None, financing: str | None,
             seeds: int, years: int, overrides: dict[str, Any] | None, workers: int | None,
             progress: bool, cells: bool, pool: WarmPool | None = None
             ) -> tuple[pd.DataFrame, dict[str, CellOutcomes]]:
    if not isinstance(seeds, int) or seeds < 1:
        raise QuartiersimError(f"seeds = {seeds!r}: must be >= 1")
    if not isinstance(years, int) or years < 1:
        raise QuartiersimError(f"years = {years!r}: must be a whole number >= 1")
    sc = _resolve(scenario, overrides)
    models = models or list(COOPERATION_MODELS)
    for name in models:  # fail before any run starts
        sc.cooperation_params(name)
        check_model_names(sc, name, financing)
    reference = sc.default_cooperation  # mandatory cases avoided are counted against it
    run_models = models if reference in models else [*models, reference]
    jobs = [(sc, mdl, financing, seed, years) for mdl in run_models for seed in range(seeds)]
    by_cell: dict[str, CellOutcomes] = {}
    if cells:
        results = run_jobs(_run_summary_and_cells, jobs, workers=workers, progress=progress,
                           desc="compare", describe=_job_name, pool=pool)
        summaries = [r[0] for r in results]
        for mdl in models:
            by_cell[mdl] = CellOutcomes.mean([c for (s, c) in results if s["cooperation"] == mdl])
    else:
        summaries = run_many(jobs, workers=workers, progress=progress, desc="compare", pool=pool)
    df = with_cases_avoided(pd.DataFrame(summaries), reference)
    rows = []
    numeric = [c for c in df.columns if c not in ("seed", "years", "start_year")
               and pd.api.types.is_numeric_dtype(df[c])]
    for mdl in models:
        sub = df[df["cooperation"] == mdl]
        row: dict[str, Any] = {"model": mdl, "financing": sub["financing"].iloc[0],
                               "seeds": len(sub)}
        for col in numeric:
            m, lo, hi = mean_ci(sub[col].to_numpy())
            row[f"{col}_mean"], row[f"{col}_ci_low"], row[f"{col}_ci_high"] = m, lo, hi
        rows.append(row)
    table = pd.DataFrame(rows)
    table.attrs["reference_model"] = reference
    return table, by_cell


def with_cases_avoided(runs: pd.DataFrame, reference: str) -> pd.DataFrame:
    """``runs`` (one row per run: ``cooperation``, ``seed``, ``mandatory_cases``, and any
    further key columns such as ``draw``) with ``mandatory_cases_avoided``: the reference
    model's mandatory cases of the same seed (and draw) minus the run's (common random
    numbers: the same seed is the same world)."""
    keys = ["seed", *(["draw"] if "draw" in runs.columns else [])]
    ref = runs[runs["cooperation"] == reference].set_index(keys)["mandatory_cases"]
    out = runs.copy()
    index = pd.MultiIndex.from_frame(out[keys]) if len(keys) > 1 else pd.Index(out["seed"])
    out["mandatory_cases_avoided"] = (ref.reindex(index).to_numpy(dtype=float)
                                      - out["mandatory_cases"].to_numpy(dtype=float))
    return out
