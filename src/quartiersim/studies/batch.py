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

The store survives damage and concurrency: every part is written to a temporary name,
flushed to disk (fsync) and renamed, with page checksums; a part that cannot be read
(damaged, zero bytes, truncated) is moved to ``quarantine/`` with a warning on stderr and
its runs count as not done (a finished run needs its row *and* its series), so the next
batch redoes them and a report uses what is readable. One batch at a time writes to a
directory (a lock file, ``.lock``, via filelock): a second one refuses, or waits with
``wait=True``. Reading the store keeps one row per run key (a finished attempt wins over
failed ones), so no run appears twice.
"""

from __future__ import annotations

import errno
import functools
import json
import math
import os
import shutil
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from quartiersim.errors import QuartiersimError
from quartiersim.sim.outcomes import batch_extras
from quartiersim.studies.experiment import Experiment, RunSpec
from quartiersim.studies.pool import JobFailed, run_jobs
from quartiersim.studies.runner import run

#: Keys of a run summary that are inputs, not outcomes (they come from the RunSpec).
_INPUT_KEYS = frozenset({"scenario", "cooperation", "financing", "seed", "years"})

#: Columns that describe how and where a run was executed (differ between engines).
EXECUTION_COLUMNS: tuple[str, ...] = ("worker", "duration_s", "finished_at")


class BatchError(QuartiersimError):
    """The batch cannot start or go on (engine, scheduler or output directory problem)."""


class StoreBusy(BatchError):
    """Another batch holds the results directory's lock."""


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
#: Keyword arguments of every Parquet write and read: page checksums find flipped bytes.
_WRITE_OPTIONS: dict[str, Any] = {"index": False, "write_page_checksum": True}
_READ_OPTIONS: dict[str, Any] = {"page_checksum_verification": True}

#: Columns a part of each table must have to be usable.
_REQUIRED = {"runs": ("run_key", "error"), "series": ("run_key", "step")}


def write_atomic(path: Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Write a file all or nothing: ``write(handle)`` into ``.<name>.tmp`` beside ``path``,
    flush and fsync it, rename it to ``path`` and fsync the directory. On any error
    (ENOSPC...) the temporary file is removed and the error raised; ``path`` is then
    untouched."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class ResultStore:
    """A directory of Parquet parts: ``runs/`` (a row per run attempt) and ``series/``.

    Every finished run is written at once as its own part (atomically: see
    :func:`write_atomic`); :meth:`compact` merges parts. Readers keep one row per run key.
    A part that cannot be read is moved to ``quarantine/<table>/`` and reported on
    stderr; the runs it held are then not done (:meth:`finished_keys`).
    """

    def __init__(self, out_dir: str | Path) -> None:
        self.root = Path(out_dir)
        self.runs_dir = self.root / "runs"
        self.series_dir = self.root / "series"
        self.quarantine_dir = self.root / "quarantine"
        self.lock_path = self.root / ".lock"
        self.owner_path = self.root / ".lock.owner"

    def create(self) -> None:
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            self.series_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BatchError(f"{self.root}: cannot create the results directory: {exc}") from None

    # -- one writer at a time
    @contextmanager
    def lock(self, wait: bool = False) -> Iterator[None]:
        """Hold the directory's lock (``.lock``) for one batch; the operating system
        releases it when the process ends, however it ends.

        Raises:
            StoreBusy: another process holds it and ``wait`` is False (with ``wait``: a
                line on stderr, then block until it is free).
        """
        from filelock import FileLock, Timeout

        lock = FileLock(self.lock_path, thread_local=False)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            owner = self._owner()
            if not wait:
                raise StoreBusy(f"{self.root}: another batch is writing to this results "
                                f"directory{owner}; wait for it to finish, run again with "
                                "--wait to start when it has, or use another --out") from None
            print(f"waiting for the other batch writing to {self.root}{owner} to finish ...",
                  file=sys.stderr, flush=True)
            lock.acquire()
        try:
            try:
                info = {"pid": os.getpid(), "host": socket.gethostname(),
                        "since": datetime.now(UTC).isoformat(timespec="seconds")}
                write_atomic(self.owner_path, lambda h: h.write(json.dumps(info).encode()))
            except OSError:
                pass  # only used in the message above
            yield
        finally:
            self.owner_path.unlink(missing_ok=True)
            lock.release()

    def remove_leftovers(self) -> list[Path]:
        """Remove the temporary files of writes that never finished (a batch killed while
        writing); call while holding :meth:`lock`. Returns the removed paths."""
        found = [p for d in (self.root, self.runs_dir, self.series_dir)
                 for p in d.glob(".*.tmp")]
        for p in found:
            p.unlink(missing_ok=True)
        return found

    def _owner(self) -> str:
        try:
            info = json.loads(self.owner_path.read_text())
            return f" (pid {info['pid']} on {info['host']}, since {info['since']})"
        except (OSError, ValueError, KeyError, TypeError):
            return ""

    # -- writing
    def _write(self, df: pd.DataFrame, directory: Path) -> None:
        name = f"part-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"
        try:
            write_atomic(directory / name, lambda h: df.to_parquet(h, **_WRITE_OPTIONS))
        except OSError as exc:
            full = " (disk full)" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else ""
            raise BatchError(f"{directory}: cannot write a result part{full}: "
                             f"{exc.strerror or exc}; the runs written before are kept: fix "
                             "this and run the same command again to resume") from None

    def write(self, record: dict[str, Any]) -> None:
        """Append one run attempt (``{"row": dict, "series": DataFrame | None}``).

        Raises:
            BatchError: the part cannot be written (disk full, permissions); no temporary
                file is left behind.
        """
        row = {**record["row"], "finished_at": datetime.now(UTC).isoformat()}
        if record["series"] is not None:
            series = record["series"].copy()
            series.insert(0, "run_key", row["run_key"])
            self._write(series, self.series_dir)  # series first: a run row implies its series
        self._write(pd.DataFrame([row]), self.runs_dir)

    # -- reading
    def _quarantine(self, path: Path, exc: BaseException) -> None:
        """Move an unreadable part to ``quarantine/<table>/`` and say so on stderr."""
        target_dir = self.quarantine_dir / path.parent.name
        reason = f"{type(exc).__name__}: {exc}".strip()
        try:
            target_dir.mkdir(parents=True, exist_ok=True)
            target = target_dir / path.name
            while target.exists():
                target = target.with_name(f"{target.stem}-{uuid.uuid4().hex[:4]}{target.suffix}")
            shutil.move(path, target)
        except FileNotFoundError:
            return  # someone else moved it already
        except OSError as move_exc:
            print(f"warning: {path} cannot be read ({reason}) and cannot be moved aside "
                  f"({move_exc}); it is skipped", file=sys.stderr)
            return
        print(f"warning: {path} cannot be read ({reason}); moved to {target}; its runs "
              "count as not done and the next batch redoes them", file=sys.stderr)

    def _read_part(self, path: Path, table: str) -> pd.DataFrame | None:
        """One part, or None when it is damaged (quarantined). FileNotFoundError passes."""
        try:
            df = pd.read_parquet(path, **_READ_OPTIONS)
            missing = [c for c in _REQUIRED[table] if c not in df.columns]
            if missing:
                raise ValueError(f"no column {', '.join(missing)}")
        except FileNotFoundError:
            raise
        except (OSError, ValueError, pa.ArrowException) as exc:  # damaged, zero bytes, truncated
            self._quarantine(path, exc)
            return None
        return df

    def _frames(self, directory: Path) -> list[pd.DataFrame]:
        """The readable non-empty parts of a table, read per file (parts may differ in
        dtypes). A part that vanishes meanwhile (compacted by the batch writing here) makes
        the read start again, so readers see one consistent set of parts."""
        for _ in range(20):
            frames, vanished = [], False
            for f in sorted(directory.glob("part-*.parquet")):
                try:
                    df = self._read_part(f, directory.name)
                except FileNotFoundError:
                    vanished = True
                    break
                if df is not None and len(df):
                    frames.append(df)
            if not vanished:
                return frames
        raise BatchError(f"{directory}: parts keep disappearing while they are read "
                         "(another process compacting?); try again")

    @classmethod
    def _concat(cls, frames: list[pd.DataFrame]) -> pd.DataFrame:
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def attempts(self) -> pd.DataFrame:
        """Every recorded run attempt, in write order (a run key may appear several times)."""
        return self._concat(self._frames(self.runs_dir))

    def runs(self) -> pd.DataFrame:
        """One row per run key: its finished attempt if any, else its latest failed one.

        Columns keep the dtypes of finished runs (an integer outcome stays integer once the
        failed attempts that had no value are superseded)."""
        frames = self._frames(self.runs_dir)
        df = self._concat(frames)
        if df.empty:
            return pd.DataFrame(columns=["run_key", "error"])
        df = df.assign(_ok=df["error"].isna(), _order=np.arange(len(df)))
        df = df.sort_values(["_ok", "_order"]).drop_duplicates("run_key", keep="last")
        df = df.sort_values("_order").drop(columns=["_ok", "_order"]).reset_index(drop=True)
        ok_frames = [f[f["error"].isna()] for f in frames]
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
        """Run keys with a finished (error-free) attempt whose series is readable too."""
        df = self.attempts()
        if df.empty:
            return set()
        series = self._concat(self._frames(self.series_dir))
        with_series = set(series["run_key"]) if len(series) else set()
        return set(df.loc[df["error"].isna(), "run_key"]) & with_series

    def series(self, run_keys: set[str] | None = None) -> pd.DataFrame:
        """Per-step series of finished runs (``run_key``, ``step``, variables), one row per
        run key and step."""
        df = self._concat(self._frames(self.series_dir))
        if df.empty:
            return df
        attempts = self.attempts()
        ok = set(attempts.loc[attempts["error"].isna(), "run_key"]) if len(attempts) else set()
        keep = ok if run_keys is None else run_keys & ok
        df = df[df["run_key"].isin(keep)]
        return df.drop_duplicates(["run_key", "step"], keep="last").reset_index(drop=True)

    def compact(self) -> None:
        """Merge the parts of each table into one file (finished and failed run attempts
        apart, so finished runs keep their dtypes); readers see the same tables. Damaged
        parts are quarantined; a part removed meanwhile by another process is skipped."""
        for directory in (self.runs_dir, self.series_dir):
            files = sorted(directory.glob("part-*.parquet"))
            if len(files) <= 1:
                continue
            frames, merged = [], []
            for f in files:
                try:
                    df = self._read_part(f, directory.name)
                except FileNotFoundError:
                    continue  # removed meanwhile (quarantined by a reader): not ours to merge
                if df is not None:
                    merged.append(f)
                    if len(df):
                        frames.append(df)
            if directory == self.runs_dir:
                parts = [[f[f["error"].isna()] for f in frames],
                         [f[f["error"].notna()] for f in frames]]
            else:
                parts = [frames]
            for group in parts:  # new names sort after the old parts: write order is kept
                group = [f for f in group if len(f)]
                if group:
                    self._write(pd.concat(group, ignore_index=True), directory)
            for f in merged:
                f.unlink(missing_ok=True)


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
        write_atomic(out_dir / "design.parquet", lambda h: design.to_parquet(h, **_WRITE_OPTIONS))
    except OSError as exc:
        raise BatchError(f"{out_dir}: cannot write the manifest: {exc.strerror or exc}") from None


def run_batch(experiment: Experiment, out_dir: str | Path, *, engine: str = "local",
              workers: int | None = None, scheduler: str | None = None, client: Any = None,
              progress: bool = True, wait: bool = False, retries: int = 2,
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
        progress: show a progress bar with ETA on stderr (on a terminal only).
        wait: when another batch writes to ``out_dir``, wait for it instead of refusing.
        retries: how often a run is run again after its worker process died (local).
        run_fn: the function run per :class:`RunSpec` (picklable, module level); tests
            swap it to inject failures.

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
        else:
            options = {"workers": workers or os.cpu_count() or 1,
                       "preload": ("quartiersim.studies.batch",)}
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
