"""Batch experiments that lose nothing: a process pool or a Dask cluster, a Parquet store.

:func:`run_batch` runs every :class:`~quartiersim.studies.experiment.RunSpec` of an experiment
that is not finished yet on an *engine* (``local``: a ``concurrent.futures`` process pool
over all cores, or in-process when ``workers=1``; ``dask``: an existing
``dask.distributed`` cluster) and writes each finished run at once to a
:class:`ResultStore`:

- ``runs/``: one row per run: run key, scenario, cooperation, financing, levers,
  uncertainties, design point, replication, seed, years, every outcome, ``error``
  (None when the run finished), ``worker``, ``duration_s``, ``finished_at``;
- ``series/``: the per-step (monthly) series of every finished run, keyed by run key and step;
- ``manifest.json``: the experiment, its design and the run keys of the last batch.

Re-running the same batch resumes: finished runs are skipped, failed ones are redone.
A run key covers the inputs, not the code: after a model change, use a new directory
(the batch warns when the directory's runs were made by other code).
A run that raises is recorded with its error and the batch goes on. The runs go through
:func:`quartiersim.studies.pool.run_jobs`: a worker process that dies costs nothing
finished; the runs it had in flight are run again in a fresh pool (one at a time), and a
run that kills its worker on every attempt is recorded as failed ("worker died: ...";
Dask reschedules, then reports ``KilledWorker``). Workers end with the batch's process
(SIGTERM, SIGKILL, Ctrl-C). ``mesa.batch_run`` and EMA's MultiprocessingEvaluator are not
used: both hang when a worker dies (measured when the batch engine was chosen).

The store (:mod:`quartiersim.studies.store`) survives damage and concurrency: parts are
written atomically; a part that cannot be read is quarantined and its runs are redone by
the next batch; one batch at a time writes to a directory (a second one refuses, or
waits with ``wait=True``). Reading the store keeps one row per run key (a finished
attempt wins over failed ones), so no run appears twice.
"""

from __future__ import annotations

import functools
import json
import math
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quartiersim.sim.outcomes import batch_extras
from quartiersim.studies.experiment import Experiment, RunSpec
from quartiersim.studies.pool import JobFailed, WarmPool, run_jobs
from quartiersim.studies.runner import run
from quartiersim.studies.store import (
    WRITE_OPTIONS,
    BatchError,
    ResultStore,
    StoreBusy,
    write_atomic,
)

__all__ = ["EXECUTION_COLUMNS", "BatchError", "BatchResult", "ResultStore", "StoreBusy",
           "code_digest", "execute", "results_table", "run_batch", "write_manifest"]

#: Keys of a run summary that are inputs, not outcomes (they come from the RunSpec).
_INPUT_KEYS = frozenset({"scenario", "cooperation", "financing", "seed", "years"})

#: Modules the forkserver of a local batch imports once (the runs' function and the model).
BATCH_PRELOAD: tuple[str, ...] = ("quartiersim.studies.batch",)

#: Columns that describe how and where a run was executed (differ between engines).
EXECUTION_COLUMNS: tuple[str, ...] = ("worker", "duration_s", "finished_at")


# ------------------------------------------------------------------------------ worker side
def execute(spec: RunSpec) -> tuple[dict[str, Any], pd.DataFrame]:
    """Run one experiment run (on a worker) and return its outcomes and series.

    Returns:
        ``(outcomes, series)``: the flat outcomes of
        :func:`quartiersim.sim.outcomes.summarize` (without the input keys) plus
        the batch extras of the outcome registry
        (:func:`quartiersim.sim.outcomes.batch_extras`: ``coverage_final_year``, served /
        needed hours of the last 12 months, and ``coverage_distance_<lo>_<hi>m``, last
        month's coverage by walking distance to the nearest service point,
        0-250-500-1000-inf m, NaN where nobody in the band had a need); ``series`` has one
        row per month
        (column ``step`` from 1) with the model's DataCollector variables.
    """
    res = run(spec.scenario, model=spec.cooperation, financing=spec.financing, seed=spec.seed,
              years=spec.years, overrides=spec.overrides or None, keep_model=True)
    out = {k: v for k, v in res.summary.items() if k not in _INPUT_KEYS}
    out.update(batch_extras(res.model))
    series = res.series.reset_index()
    return out, series


def _safe(run_fn: Callable[[RunSpec], tuple[dict[str, Any], pd.DataFrame]],
          spec: RunSpec) -> dict[str, Any]:
    """Call ``run_fn`` on a worker; an exception becomes an error record (batch goes on)."""
    t0 = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        outcomes, series = run_fn(spec)
    except Exception as exc:  # a model bug in one run must not stop the batch
        return {"row": {**spec.identifiers(), "error": f"{type(exc).__name__}: {exc}",
                        "worker": worker, "duration_s": time.perf_counter() - t0},
                "series": None}
    # an outcome that does not apply (None, e.g. coverage after a grant without one) is NaN
    outcomes = {k: math.nan if v is None else v for k, v in outcomes.items()}
    row = {**spec.identifiers(), **outcomes, "error": None, "worker": worker,
           "duration_s": time.perf_counter() - t0}
    return {"row": row, "series": series}


# ------------------------------------------------------------------------------ engines
def _dask_client(scheduler: str | None) -> Any:
    try:
        from dask.distributed import Client
    except ImportError:
        raise BatchError("--engine dask needs dask.distributed: pip install "
                         "'quartiersim[dask]'") from None
    if not scheduler:
        raise BatchError("--engine dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786) "
                         "or a scheduler JSON file of a running cluster")
    try:
        if Path(scheduler).is_file():
            return Client(scheduler_file=scheduler, timeout=30)
        return Client(scheduler, timeout=30)
    except (OSError, TimeoutError) as exc:
        raise BatchError(f"cannot connect to the Dask scheduler {scheduler!r}: {exc}") from None


@dataclass
class BatchResult:
    """Counts of one batch call; ``out_dir`` holds the store."""

    out_dir: Path
    total: int
    skipped: int
    finished: int
    failed: int
    seconds: float

    @property
    def runs_per_minute(self) -> float:
        ran = self.finished + self.failed
        return 60.0 * ran / self.seconds if self.seconds > 0 else float("nan")


def code_digest() -> str:
    """SHA-256 (first 16 hex digits) of the quartiersim package's Python sources: which
    code made a results directory."""
    import hashlib

    h = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for f in sorted(package.rglob("*.py")):
        h.update(str(f.relative_to(package)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def _warn_if_other_code(out_dir: Path) -> None:
    old = _read_manifest(out_dir).get("code_digest")
    if old and old != code_digest():
        print(f"warning: {out_dir} holds runs made by other quartiersim code ({old}, now "
              f"{code_digest()}); finished runs are kept, not recomputed: use a new --out "
              "to recompute them", file=sys.stderr)


def _read_manifest(out_dir: Path) -> dict[str, Any]:
    """``manifest.json`` of a results directory; {} (with a warning) when it is damaged."""
    path = out_dir / "manifest.json"
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise TypeError("not a JSON object")
        return manifest
    except (OSError, ValueError, TypeError) as exc:
        print(f"warning: {path} cannot be read ({type(exc).__name__}: {exc}); it is "
              "ignored", file=sys.stderr)
        return {}


def write_manifest(experiment: Experiment, specs: list[RunSpec], out_dir: Path) -> None:
    """``manifest.json`` (experiment spec, design, lever/uncertainty keys, run keys) and
    ``design.parquet`` (the raw design matrix, one row per design point)."""
    x, points = experiment.design()
    manifest = {
        "code_digest": code_digest(),
        "experiment": experiment.spec.model_dump(mode="json"),
        "experiment_file": experiment.path,
        "lever_keys": list(experiment.spec.levers.scenario),
        "uncertainty_keys": experiment.uncertainty_keys,
        "problem": experiment.problem(),
        "design_points": len(points),
        "run_keys": [s.run_key for s in specs],
    }
    text = (json.dumps(manifest, indent=1) + "\n").encode()
    design = pd.DataFrame(x, columns=[f"x:{k}" for k in experiment.uncertainty_keys])
    design.insert(0, "design_point", np.arange(len(x)))
    try:
        write_atomic(out_dir / "manifest.json", lambda h: h.write(text))
        write_atomic(out_dir / "design.parquet", lambda h: design.to_parquet(h, **WRITE_OPTIONS))
    except OSError as exc:
        raise BatchError(f"{out_dir}: cannot write the manifest: {exc.strerror or exc}") from None


def run_batch(experiment: Experiment, out_dir: str | Path, *, engine: str = "local",
              workers: int | None = None, scheduler: str | None = None, client: Any = None,
              progress: bool = True, wait: bool = False, retries: int = 2,
              run_fn: Callable[[RunSpec], tuple[dict[str, Any], pd.DataFrame]] = execute,
              pool: WarmPool | None = None) -> BatchResult:
    """Run every unfinished run of ``experiment`` and store it in ``out_dir``.

    Args:
        experiment: a validated experiment (:func:`~quartiersim.studies.experiment.load_experiment`).
        out_dir: results directory (created); an existing one is resumed.
        engine: ``"local"`` (process pool; in-process when ``workers`` is 1) or ``"dask"``.
        workers: local processes (default: all cores).
        scheduler: Dask scheduler address or scheduler JSON file (engine ``dask``).
        client: an existing ``dask.distributed.Client`` (engine ``dask``; overrides
            ``scheduler``; not closed here).
        progress: show a progress bar with ETA on stderr (on a terminal only).
        wait: when another batch writes to ``out_dir``, wait for it instead of refusing.
        retries: how often a run is run again after its worker process died (local).
        run_fn: the function run per :class:`RunSpec` (picklable, module level); tests
            swap it to inject failures.
        pool: a started :class:`~quartiersim.studies.pool.WarmPool` to run on (engine
            ``local``; then ``workers`` is the pool's).

    Returns:
        A :class:`BatchResult` with counts; read the table with ``ResultStore(out_dir).runs()``.

    Raises:
        BatchError: unknown engine, no Dask scheduler, unwritable ``out_dir``, a result part
            that cannot be written (the runs written before are kept).
        StoreBusy: another batch writes to ``out_dir`` and ``wait`` is False.
    """
    if engine not in ("local", "dask"):
        raise BatchError(f"engine {engine!r}: allowed: local, dask")
    if workers is not None and workers < 1:
        raise BatchError(f"workers = {workers}: must be >= 1")
    store = ResultStore(out_dir)
    store.create()
    specs = experiment.runs()
    with store.lock(wait=wait):
        store.remove_leftovers()
        _warn_if_other_code(store.root)
        write_manifest(experiment, specs, store.root)
        done = store.finished_keys()
        todo = [s for s in specs if s.run_key not in done]
        t0 = time.perf_counter()
        counts = {"finished": 0, "failed": 0}

        def on_result(_: int, record: dict[str, Any]) -> None:
            store.write(record)  # at once: a killed batch loses no finished run
            counts["finished" if record["row"]["error"] is None else "failed"] += 1

        def on_failure(failure: JobFailed) -> None:  # the worker died (every attempt)
            spec = todo[failure.index]
            store.write({"row": {**spec.identifiers(), "error": f"worker died: {failure.error}"},
                         "series": None})
            counts["failed"] += 1

        own_client = None
        options: dict[str, Any] = {}
        if engine == "dask":
            if client is None:
                client = own_client = _dask_client(scheduler)
            threads = sum(client.nthreads().values()) or 1
            options = {"executor_factory": lambda: client.get_executor(pure=False),
                       "window": 2 * threads, "workers": threads}
        elif pool is not None:
            options = {"pool": pool}
        else:
            options = {"workers": workers or os.cpu_count() or 1, "preload": BATCH_PRELOAD}
        desc = f"{experiment.name} ({len(specs) - len(todo)} of {len(specs)} done before)"
        try:
            if todo:
                run_jobs(functools.partial(_safe, run_fn), todo, progress=progress, desc=desc,
                         on_result=on_result, on_failure=on_failure, job_errors="fail",
                         retries=retries, describe=lambda spec: spec.run_key, **options)
        finally:
            if own_client is not None:
                own_client.close()
        store.compact()
    return BatchResult(store.root, len(specs), len(specs) - len(todo), counts["finished"],
                       counts["failed"], time.perf_counter() - t0)


def results_table(out_dir: str | Path, all_runs: bool = False) -> pd.DataFrame:
    """The runs table of a results directory: one row per run of the last batch's
    experiment (``all_runs``: every run key in the store).

    Raises:
        BatchError: no results there.
    """
    store = ResultStore(out_dir)
    if not store.runs_dir.is_dir():
        raise BatchError(f"{out_dir}: no batch results here (expected {store.runs_dir})")
    df = store.runs()
    keys = _read_manifest(Path(out_dir)).get("run_keys")
    if not all_runs and isinstance(keys, list):
        df = df[df["run_key"].isin(set(keys))].reset_index(drop=True)
    return df
