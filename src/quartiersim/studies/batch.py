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
A run that raises is recorded with its error and the batch goes on. A worker process
that dies costs only the runs in flight: the pool keeps at most ``workers`` runs
submitted, so a broken pool fails exactly those; they are recorded with the error and a
fresh pool carries on (Dask reschedules, then reports ``KilledWorker``). Reading the store
keeps one row per run key (a finished attempt wins over failed ones), so no run appears
twice. ``mesa.batch_run`` and EMA's MultiprocessingEvaluator are not used: both hang
when a worker dies (measured when the batch engine was chosen).
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import multiprocessing
import os
import socket
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quartiersim.errors import QuartiersimError
from quartiersim.sim.outcomes import batch_extras
from quartiersim.studies.experiment import Experiment, RunSpec
from quartiersim.studies.runner import progress_bar, run

#: Keys of a run summary that are inputs, not outcomes (they come from the RunSpec).
_INPUT_KEYS = frozenset({"scenario", "cooperation", "financing", "seed", "years"})

#: Columns that describe how and where a run was executed (differ between engines).
EXECUTION_COLUMNS: tuple[str, ...] = ("worker", "duration_s", "finished_at")


class BatchError(QuartiersimError):
    """The batch cannot start (engine, scheduler or output directory problem)."""


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


# ------------------------------------------------------------------------------ the store
class ResultStore:
    """A directory of Parquet parts: ``runs/`` (a row per run attempt) and ``series/``.

    Every finished run is written at once as its own part (written to a temporary name,
    then renamed, so a killed batch leaves no half-written file); :meth:`compact` merges
    parts. Readers keep one row per run key.
    """

    def __init__(self, out_dir: str | Path) -> None:
        self.root = Path(out_dir)
        self.runs_dir = self.root / "runs"
        self.series_dir = self.root / "series"

    def create(self) -> None:
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            self.series_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BatchError(f"{self.root}: cannot create the results directory: {exc}") from None

    @staticmethod
    def _write(df: pd.DataFrame, directory: Path) -> None:
        name = f"part-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = directory / f".{name}.tmp"
        df.to_parquet(tmp, index=False)
        os.replace(tmp, directory / name)

    def write(self, record: dict[str, Any]) -> None:
        """Append one run attempt (``{"row": dict, "series": DataFrame | None}``)."""
        row = {**record["row"], "finished_at": datetime.now(UTC).isoformat()}
        if record["series"] is not None:
            series = record["series"].copy()
            series.insert(0, "run_key", row["run_key"])
            self._write(series, self.series_dir)  # series first: a run row implies its series
        self._write(pd.DataFrame([row]), self.runs_dir)

    @staticmethod
    def _frames(directory: Path) -> list[pd.DataFrame]:
        files = sorted(directory.glob("part-*.parquet"))
        frames = [pd.read_parquet(f) for f in files]  # per file: parts may differ in dtypes
        return [f for f in frames if len(f)]

    @classmethod
    def _read_parts(cls, directory: Path) -> pd.DataFrame:
        frames = cls._frames(directory)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def attempts(self) -> pd.DataFrame:
        """Every recorded run attempt, in write order (a run key may appear several times)."""
        return self._read_parts(self.runs_dir)

    def runs(self) -> pd.DataFrame:
        """One row per run key: its finished attempt if any, else its latest failed one.

        Columns keep the dtypes of finished runs (an integer outcome stays integer once the
        failed attempts that had no value are superseded)."""
        df = self.attempts()
        if df.empty:
            return pd.DataFrame(columns=["run_key", "error"])
        df = df.assign(_ok=df["error"].isna(), _order=np.arange(len(df)))
        df = df.sort_values(["_ok", "_order"]).drop_duplicates("run_key", keep="last")
        df = df.sort_values("_order").drop(columns=["_ok", "_order"]).reset_index(drop=True)
        ok_frames = [f[f["error"].isna()] for f in self._frames(self.runs_dir)]
        ok_frames = [f for f in ok_frames if len(f)]
        if ok_frames:
            reference = pd.concat(ok_frames, ignore_index=True).dtypes
            for col, dtype in reference.items():
                if (col in df and df[col].dtype != dtype and df[col].notna().all()
                        and (pd.api.types.is_integer_dtype(dtype)
                             or pd.api.types.is_bool_dtype(dtype))):
                    df[col] = df[col].astype(dtype)
        return df

    def finished_keys(self) -> set[str]:
        """Run keys with a finished (error-free) attempt."""
        df = self.attempts()
        if df.empty:
            return set()
        return set(df.loc[df["error"].isna(), "run_key"])

    def series(self, run_keys: set[str] | None = None) -> pd.DataFrame:
        """Per-step series of finished runs (``run_key``, ``step``, variables), one row per
        run key and step."""
        df = self._read_parts(self.series_dir)
        if df.empty:
            return df
        keep = self.finished_keys() if run_keys is None else run_keys & self.finished_keys()
        df = df[df["run_key"].isin(keep)]
        return df.drop_duplicates(["run_key", "step"], keep="last").reset_index(drop=True)

    def compact(self) -> None:
        """Merge the parts of each table into one file (finished and failed run attempts
        apart, so finished runs keep their dtypes); readers see the same tables."""
        for directory in (self.runs_dir, self.series_dir):
            files = sorted(directory.glob("part-*.parquet"))
            if len(files) <= 1:
                continue
            frames = self._frames(directory)
            if directory == self.runs_dir:
                parts = [[f[f["error"].isna()] for f in frames],
                         [f[f["error"].notna()] for f in frames]]
            else:
                parts = [frames]
            for group in parts:  # new names sort after the old parts: write order is kept
                group = [f for f in group if len(f)]
                if group:
                    self._write(pd.concat(group, ignore_index=True), directory)
            for f in files:
                f.unlink()


# ------------------------------------------------------------------------------ engines
class SerialExecutor(cf.Executor):
    """Runs each task in this process when submitted (``--workers 1``, tests, debugging)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        fut: cf.Future = cf.Future()
        fut.set_result(fn(*args, **kwargs))
        return fut


def _process_pool(workers: int) -> cf.Executor:
    return cf.ProcessPoolExecutor(max_workers=workers,
                                  mp_context=multiprocessing.get_context("spawn"))


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


def _shutdown(executor: cf.Executor) -> None:
    if isinstance(executor, cf.ProcessPoolExecutor):
        executor.shutdown(wait=True, cancel_futures=True)
    else:
        executor.shutdown(wait=True)


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
    manifest = out_dir / "manifest.json"
    if not manifest.is_file():
        return
    old = json.loads(manifest.read_text()).get("code_digest")
    if old and old != code_digest():
        print(f"warning: {out_dir} holds runs made by other quartiersim code ({old}, now "
              f"{code_digest()}); finished runs are kept, not recomputed: use a new --out "
              "to recompute them", file=sys.stderr)


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
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    design = pd.DataFrame(x, columns=[f"x:{k}" for k in experiment.uncertainty_keys])
    design.insert(0, "design_point", np.arange(len(x)))
    design.to_parquet(out_dir / "design.parquet", index=False)


def run_batch(experiment: Experiment, out_dir: str | Path, *, engine: str = "local",
              workers: int | None = None, scheduler: str | None = None, client: Any = None,
              progress: bool = True,
              run_fn: Callable[[RunSpec], tuple[dict[str, Any], pd.DataFrame]] = execute,
              ) -> BatchResult:
    """Run every unfinished run of ``experiment`` and store it in ``out_dir``.

    Args:
        experiment: a validated experiment (:func:`~quartiersim.studies.experiment.load_experiment`).
        out_dir: results directory (created); an existing one is resumed.
        engine: ``"local"`` (process pool; in-process when ``workers`` is 1) or ``"dask"``.
        workers: local processes (default: all cores).
        scheduler: Dask scheduler address or scheduler JSON file (engine ``dask``).
        client: an existing ``dask.distributed.Client`` (engine ``dask``; overrides
            ``scheduler``; not closed here).
        progress: show a progress bar with ETA on stderr (every 30 s without a terminal).
        run_fn: the function run per :class:`RunSpec` (picklable, module level); tests
            swap it to inject failures.

    Returns:
        A :class:`BatchResult` with counts; read the table with ``ResultStore(out_dir).runs()``.

    Raises:
        BatchError: unknown engine, no Dask scheduler, unwritable ``out_dir``.
    """
    if engine not in ("local", "dask"):
        raise BatchError(f"engine {engine!r}: allowed: local, dask")
    if workers is not None and workers < 1:
        raise BatchError(f"workers = {workers}: must be >= 1")
    store = ResultStore(out_dir)
    store.create()
    specs = experiment.runs()
    _warn_if_other_code(store.root)
    write_manifest(experiment, specs, store.root)
    done = store.finished_keys()
    todo = [s for s in specs if s.run_key not in done]
    t0 = time.perf_counter()

    own_client = None
    if engine == "dask":
        if client is None:
            client = own_client = _dask_client(scheduler)
        threads = sum(client.nthreads().values()) or 1
        window = 2 * threads
        make_executor: Callable[[], cf.Executor] = lambda: client.get_executor(pure=False)
    else:
        workers = workers or os.cpu_count() or 1
        window = workers
        make_executor = SerialExecutor if workers == 1 else (lambda: _process_pool(workers))

    desc = f"{experiment.name} ({len(specs) - len(todo)} of {len(specs)} done before)"
    pending = deque(todo)
    executor = make_executor() if todo else None
    counts = {"finished": 0, "failed": 0}
    try:
        with progress_bar(len(todo), desc, progress) as bar:
            inflight: dict[cf.Future, RunSpec] = {}

            def collect(fut: cf.Future, spec: RunSpec) -> bool:
                """Write the run's record at once; True when its worker died with the pool."""
                broke = False
                try:
                    record = fut.result()
                except Exception as exc:  # worker died: BrokenProcessPool, KilledWorker
                    broke = isinstance(exc, cf.BrokenExecutor)
                    record = {"row": {**spec.identifiers(),
                                      "error": f"worker died: {type(exc).__name__}: {exc}"},
                              "series": None}
                store.write(record)
                counts["finished" if record["row"]["error"] is None else "failed"] += 1
                bar.update()
                return broke

            # workers run asynchronously: refill them before writing the finished runs
            # (unless one shows the pool is broken); in-process runs: write first
            refill_first = not isinstance(executor, SerialExecutor)
            ready: list[tuple[cf.Future, RunSpec]] = []
            while pending or inflight or ready:
                broken = any(isinstance(f.exception(), cf.BrokenExecutor) for f, _ in ready)
                if not refill_first:
                    for fut, spec in ready:
                        collect(fut, spec)
                    ready = []
                while pending and len(inflight) < window and not broken:
                    spec = pending.popleft()
                    try:
                        inflight[executor.submit(_safe, run_fn, spec)] = spec
                    except cf.BrokenExecutor:
                        pending.appendleft(spec)
                        broken = True
                for fut, spec in ready:
                    broken = collect(fut, spec) or broken
                ready = []
                if inflight and not broken:
                    done, _ = cf.wait(inflight, return_when=cf.FIRST_COMPLETED)
                    ready = [(f, inflight.pop(f)) for f in done]
                if broken:
                    # the pool is gone and its other runs in flight fail too: record them
                    # (they are redone on resume), then go on with a fresh pool
                    for fut, spec in list(inflight.items()):
                        collect(fut, spec)
                    inflight.clear()
                    _shutdown(executor)
                    executor = make_executor()
    finally:
        if executor is not None:
            _shutdown(executor)
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
    manifest = Path(out_dir) / "manifest.json"
    if not all_runs and manifest.is_file():
        keys = set(json.loads(manifest.read_text())["run_keys"])
        df = df[df["run_key"].isin(keys)].reset_index(drop=True)
    return df
