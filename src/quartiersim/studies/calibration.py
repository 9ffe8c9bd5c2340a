"""Calibration of a scenario's assumption parameters to sourced figures by approximate
Bayesian computation (ABC-SMC, pyabc; Toni et al. 2009, Klinger et al. 2018).

``quartiersim calibrate SCENARIO [--targets FILE] [--out DIR]`` reads a targets file
(:mod:`quartiersim.studies.calibration_spec`: targets with value or band and source, the
summary statistic of each, the parameters with priors), runs ABC-SMC -- each simulation
one run of the scenario's status quo with drawn parameters and a fresh seed, the distance
the root of the summed squared misses of the fitted targets in standard units -- and
writes into DIR:

- ``posterior.parquet``: the last generation's particles, one column per parameter
  (dotted scenario key) and ``weight``; a scenario references it as
  ``[uncertainty] posterior = "..."`` (relative to the scenario file) and ``compare
  --uncertainty posterior``, ``batch`` and the app draw parameter sets from it;
- ``parameters.csv`` / ``.md``: prior and posterior of each parameter (mean, sd, 5/50/95 %
  quantiles, the posterior sd as a share of the prior's, the shift of the mean in prior sds);
- ``fit.csv`` / ``.md``: each target (fitted and held back) against the scenario as written
  and against posterior draws run again with new seeds (mean, 5-95 %, share of hits);
- ``figures/<parameter>.png``: the posterior of each parameter over its prior range;
- ``generations.csv``, ``calibration.json`` (settings, timings) and ``abc.db`` (pyabc's
  history, for pyabc's own plots);
- ``calibration.md``: all of it in one page.

Simulations run in worker processes (pyabc's multicore sampler) or, with a scheduler
address, on a Dask cluster (pyabc's ``DaskDistributedSampler``). Needs the ``calibration``
extra (pyabc, matplotlib).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quartiersim.config.fileio import check_output_dir
from quartiersim.config.loading import load_scenario
from quartiersim.config.schema import Scenario
from quartiersim.config.uncertainty import WEIGHT_COLUMN, fixed
from quartiersim.errors import QuartiersimError
from quartiersim.studies.calibration_spec import (
    Abc,
    CalibrationError,
    Prior,
    TargetsFile,
    default_targets_path,
    load_targets,
    parameter_values,
)
from quartiersim.studies.pool import progress_bar
from quartiersim.studies.runner import run, run_many

#: Distance given to a simulation whose run failed or whose outcome is undefined.
FAILED_DISTANCE = 1e6


def check_installed() -> None:
    """Raise a clear error when pyabc or matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
        import pyabc  # noqa: F401
    except ImportError as exc:
        raise CalibrationError(f"quartiersim calibrate needs pyabc and matplotlib ({exc.name} "
                               "is missing): pip install -e '.[calibration]'") from None


# --------------------------------------------------------------------------- simulation
@dataclass(frozen=True)
class Simulator:
    """One ABC simulation: the scenario's status quo with drawn parameters, a fresh seed
    from numpy's global generator (pyabc seeds it in each worker), the targets' outcomes
    as the summary statistics. Picklable, for worker processes and Dask.

    After ``deadline`` a simulation returns missing values at once: it is rejected, the
    generation under way reaches pyabc's evaluation limit (population size / minimum
    acceptance rate) within seconds and is dropped, and the last complete generation is
    the posterior. So the wall-clock budget holds even when a generation would take long."""

    scenario: Scenario
    spec: TargetsFile
    deadline: float = math.inf  # time.time() after which a simulation is not run

    def __call__(self, params: dict[str, Any]) -> dict[str, float]:
        if time.time() > self.deadline:  # out of time: rejected at once, the generation
            return {t.name: math.nan for t in self.spec.targets}  # ends unfinished
        values = parameter_values(self.spec, self.scenario, params)
        seed = int(np.random.randint(0, 2**31 - 1))
        try:
            s = run(fixed(self.scenario, values), model=self.spec.model,
                    financing=self.spec.financing, seed=seed, years=self.spec.years).summary
        except QuartiersimError:
            return {t.name: math.nan for t in self.spec.targets}
        return {t.name: _number(s.get(t.outcome)) for t in self.spec.targets}


def _number(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


@dataclass(frozen=True)
class Distance:
    """sqrt(sum of squared misses) of the fitted targets, in standard units
    (:meth:`~quartiersim.studies.calibration_spec.Target.distance`)."""

    spec: TargetsFile

    def __call__(self, x: dict[str, float], x0: dict[str, float] | None = None) -> float:
        total = 0.0
        for t in self.spec.fitted:
            d = t.distance(x.get(t.name, math.nan))
            if not math.isfinite(d):
                return FAILED_DISTANCE
            total += d * d
        return math.sqrt(total)


def _prior(spec: TargetsFile) -> Any:
    import pyabc

    rvs = {}
    for key, p in spec.parameters.items():
        if p.prior is Prior.LOGUNIFORM:
            rvs[key] = pyabc.RV("loguniform", float(p.low), float(p.high))
        else:
            rvs[key] = pyabc.RV("uniform", float(p.low), float(p.high) - float(p.low))
    return pyabc.Distribution(**rvs)


def prior_moments(spec: TargetsFile) -> pd.DataFrame:
    """Mean and sd of each parameter's prior (index: parameter)."""
    rows = {}
    for key, p in spec.parameters.items():
        lo, hi = float(p.low), float(p.high)
        if p.prior is Prior.LOGUNIFORM:
            from scipy.stats import loguniform

            mean, var = loguniform.stats(lo, hi, moments="mv")
            rows[key] = (float(mean), math.sqrt(float(var)))
        else:
            rows[key] = ((lo + hi) / 2, (hi - lo) / math.sqrt(12))
    return pd.DataFrame.from_dict(rows, orient="index", columns=["prior_mean", "prior_sd"])


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """The ``q`` quantile (0..1) of ``x`` with weights ``w`` (inverse of the weighted CDF)."""
    order = np.argsort(x)
    cdf = np.cumsum(w[order]) / w.sum()
    return float(x[order][min(np.searchsorted(cdf, q), len(x) - 1)])


# --------------------------------------------------------------------------- the run
@dataclass
class CalibrationResult:
    """What :func:`calibrate` found.

    Attributes:
        posterior: one row per particle: the parameters and ``weight`` (sum 1).
        parameters: per parameter: prior (low, high, mean, sd), posterior (mean, sd,
            q05, q50, q95), ``sd_ratio`` (posterior sd / prior sd) and ``shift``
            ((posterior mean - prior mean) / prior sd).
        fit: per target: its figure, source, fitted or held back, and the outcome's mean
            and 5-95 % over runs of the scenario as written (``before_*``) and of posterior
            draws (``after_*``), with the share of hits (in the band, or within 2 sd).
        generations: per generation: ``t``, ``epsilon``, ``samples``, ``particles``,
            ``acceptance``.
        simulations, seconds: model runs and wall-clock time of ABC-SMC.
        files: the files written (when an output directory was given).
        note: how ABC-SMC ended when it was not by its stopping rules.
    """

    posterior: pd.DataFrame
    parameters: pd.DataFrame
    fit: pd.DataFrame
    generations: pd.DataFrame
    simulations: int
    seconds: float
    spec: TargetsFile
    files: list[Path] = field(default_factory=list)
    note: str = ""


def _sampler(workers: int, scheduler: str | None) -> Any:
    import pyabc

    if scheduler:
        try:
            from dask.distributed import Client
        except ImportError:
            raise CalibrationError("--scheduler needs dask.distributed: pip install -e "
                                   "'.[dask]'") from None
        return pyabc.sampler.DaskDistributedSampler(dask_client=Client(scheduler))
    if workers <= 1:
        return pyabc.sampler.SingleCoreSampler(check_max_eval=True)
    return pyabc.sampler.MulticoreEvalParallelSampler(n_procs=workers, check_max_eval=True)


def _quiet_pyabc() -> None:
    for name in ("ABC", "ABC.Sampler", "ABC.History", "ABC.Distance", "ABC.Epsilon",
                 "ABC.Acceptor", "ABC.Population", "ABC.Transition", "ABC.Predictor"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _watch(db: str, total: int, enabled: bool, stop: threading.Event) -> None:
    """Show the generations done (and the threshold) while ABC-SMC runs: pyabc writes each
    finished generation to its database, which this thread reads every 2 s."""
    import pyabc

    with progress_bar(total, "calibrate: generations", enabled) as bar:
        done = 0
        while not stop.wait(2.0):
            try:
                pops = pyabc.History(db, create=False).get_all_populations()
            except Exception:  # noqa: BLE001 (the database is being written; try again)
                continue
            pops = pops[pops["t"] >= 0]
            if len(pops) > done:
                bar.update(len(pops) - done)
                done = len(pops)
                bar.set_postfix(epsilon=f"{pops['epsilon'].iloc[-1]:.3g}",
                                runs=int(pops["samples"].sum()))


def calibrate(scenario: Scenario | str | Path, targets: str | Path | None = None,
              out_dir: str | Path | None = None, *, workers: int | None = None,
              scheduler: str | None = None, progress: bool = True,
              overrides: dict[str, Any] | None = None,
              abc_settings: dict[str, Any] | None = None) -> CalibrationResult:
    """Fit the targets file's parameters to its targets by ABC-SMC and check the fit.

    Args:
        scenario: a :class:`Scenario` or the path of a scenario file.
        targets: the targets file (default: :func:`default_targets_path` of the scenario).
        out_dir: where to write the outputs (module docstring); None: write nothing.
        workers: processes (default: all cores); 1: in this process (reproducible).
        scheduler: a Dask scheduler address: simulate on that cluster.
        progress: a progress bar on stderr (generations, threshold, runs).
        overrides: dotted scenario keys to set first (``--set``).
        abc_settings: settings that replace the targets file's ``[abc]`` ones, e.g.
            ``{"generations": 2}`` (``--generations``, ``--population``, ``--minutes``).

    Raises:
        CalibrationError: pyabc missing, an invalid targets file (before any run).
        QuartiersimError: an output directory that cannot be written (before any run).
    """
    check_installed()
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if overrides:
        sc = sc.with_overrides(overrides)
    tpath = Path(targets) if targets is not None else default_targets_path(sc.path)
    if targets is None and not tpath.is_file():
        raise CalibrationError(f"{sc.path}: no targets file given and none at {tpath}; "
                               "give --targets FILE")
    spec = load_targets(tpath, sc)
    if abc_settings:
        spec = spec.model_copy(update={"abc": Abc.model_validate(
            {**spec.abc.model_dump(), **abc_settings})})
    out = check_output_dir(out_dir, "calibration output directory") if out_dir else None
    workers = workers or max(1, os.cpu_count() or 1)
    import pyabc

    _quiet_pyabc()
    np.random.seed(spec.seed)
    out_path = Path(out) if out else None
    if out_path is not None:
        out_path.mkdir(parents=True, exist_ok=True)
        db_file = out_path / "abc.db"
        db_file.unlink(missing_ok=True)
    else:
        import tempfile

        db_file = Path(tempfile.mkdtemp(prefix="quartiersim-abc-")) / "abc.db"
    db = f"sqlite:///{db_file}"
    # the first generation accepts every prior draw whose run did not fail: no separate
    # calibration sample of the threshold (it would cost a generation's runs)
    eps = pyabc.QuantileEpsilon(initial_epsilon=FAILED_DISTANCE / 2, alpha=0.5)
    deadline = time.time() + 60.0 * spec.abc.max_minutes
    abc = pyabc.ABCSMC(Simulator(sc, spec, deadline), _prior(spec), Distance(spec),
                       population_size=spec.abc.population_size, eps=eps,
                       sampler=_sampler(workers, scheduler))
    abc.new(db, {t.name: _observed(t) for t in spec.targets})
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(db, spec.abc.generations, progress, stop),
                               daemon=True)
    watcher.start()
    t0 = time.monotonic()
    note = ""
    try:
        history = abc.run(minimum_epsilon=spec.abc.minimum_epsilon,
                          max_nr_populations=spec.abc.generations,
                          min_acceptance_rate=spec.abc.min_acceptance_rate,
                          max_walltime=timedelta(minutes=spec.abc.max_minutes),
                          max_total_nr_simulations=spec.abc.max_simulations)
    except AssertionError as exc:  # pyabc: a generation's weights did not normalise
        history = abc.history
        note = (f"generation {history.max_t + 1} was dropped ({exc}); the posterior is "
                f"generation {history.max_t}")
        if history.max_t < 0:
            raise CalibrationError(f"ABC-SMC failed in its first generation: {exc}") from None
    finally:
        stop.set()
        watcher.join()
    seconds = time.monotonic() - t0
    df, w = history.get_distribution(m=0, t=history.max_t)
    posterior = df[list(spec.parameters)].reset_index(drop=True)
    posterior[WEIGHT_COLUMN] = np.asarray(w, dtype=float) / float(np.sum(w))
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0][["t", "epsilon", "samples", "particles"]].reset_index(drop=True)
    pops["acceptance"] = pops["particles"] / pops["samples"]
    result = CalibrationResult(posterior, parameter_table(spec, posterior),
                               check_fit(sc, spec, posterior, workers=workers,
                                         progress=progress),
                               pops, int(history.total_nr_simulations), seconds, spec,
                               note=note)
    if out_path is not None:
        from quartiersim.studies.calibration_report import write_outputs

        result.files = write_outputs(result, sc, tpath, out_path, db_file)
    return result


def _observed(t: Any) -> float:
    """The observed value pyabc stores for a target (the band's centre for a band)."""
    return float(t.value) if t.band is None else (float(t.band[0]) + float(t.band[1])) / 2


def parameter_table(spec: TargetsFile, posterior: pd.DataFrame) -> pd.DataFrame:
    """Prior against posterior, one row per parameter (:class:`CalibrationResult`)."""
    w = posterior[WEIGHT_COLUMN].to_numpy(dtype=float)
    moments = prior_moments(spec)
    rows = []
    for key, p in spec.parameters.items():
        x = posterior[key].to_numpy(dtype=float)
        mean = float(np.sum(w * x))
        sd = float(math.sqrt(max(np.sum(w * (x - mean) ** 2), 0.0)))
        pm, psd = moments.loc[key, "prior_mean"], moments.loc[key, "prior_sd"]
        rows.append({"parameter": key, "prior": p.prior.value, "low": float(p.low),
                     "high": float(p.high), "prior_mean": pm, "prior_sd": psd,
                     "mean": mean, "sd": sd, "q05": weighted_quantile(x, w, 0.05),
                     "q50": weighted_quantile(x, w, 0.5), "q95": weighted_quantile(x, w, 0.95),
                     "sd_ratio": sd / psd if psd > 0 else math.nan,
                     "shift": (mean - pm) / psd if psd > 0 else math.nan})
    return pd.DataFrame(rows)


def check_fit(scenario: Scenario, spec: TargetsFile, posterior: pd.DataFrame, *,
              workers: int | None = None, progress: bool = False) -> pd.DataFrame:
    """Each target against runs of the scenario as written and of ``spec.abc.check_draws``
    posterior draws (by weight), both with the seeds 1,000,000 + i (new to the fit).

    Returns:
        One row per target (:class:`CalibrationResult` ``fit``).
    """
    n = spec.abc.check_draws
    rng = np.random.default_rng(spec.seed + 1)
    idx = rng.choice(len(posterior), size=n, p=posterior[WEIGHT_COLUMN].to_numpy(dtype=float))
    seeds = [1_000_000 + i for i in range(n)]
    jobs = [(scenario, spec.model, spec.financing, s, spec.years) for s in seeds]
    for i, s in zip(idx, seeds):
        values = parameter_values(spec, scenario, posterior.iloc[int(i)].to_dict())
        jobs.append((fixed(scenario, values), spec.model, spec.financing, s, spec.years))
    summaries = run_many(jobs, workers=workers, progress=progress, desc="calibrate: check")
    before, after = summaries[:n], summaries[n:]
    rows = []
    for t in spec.targets:
        b = np.array([_number(s.get(t.outcome)) for s in before])
        a = np.array([_number(s.get(t.outcome)) for s in after])
        rows.append({"target": t.name, "outcome": t.outcome, "figure": t.describe(),
                     "fitted": t.fit, "source": t.source,
                     **_stats("before", b, t), **_stats("after", a, t)})
    return pd.DataFrame(rows)


def _stats(prefix: str, x: np.ndarray, t: Any) -> dict[str, float]:
    ok = x[np.isfinite(x)]
    if not len(ok):
        return {f"{prefix}_{k}": math.nan for k in ("mean", "q05", "q95", "hits")}
    hits = np.mean([t.distance(v) <= (0.0 if t.band is not None else 2.0) for v in ok])
    return {f"{prefix}_mean": float(ok.mean()), f"{prefix}_q05": float(np.percentile(ok, 5)),
            f"{prefix}_q95": float(np.percentile(ok, 95)), f"{prefix}_hits": float(hits)}


__all__ = ["CalibrationResult", "Distance", "Simulator", "calibrate", "check_fit",
           "check_installed", "parameter_table", "prior_moments", "weighted_quantile"]
