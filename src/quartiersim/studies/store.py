"""The results store of batch runs: a directory of Parquet parts that loses nothing.

``runs/`` holds a row per run attempt, ``series/`` the monthly series of finished runs;
:class:`ResultStore` writes each finished run at once as its own part and reads the
tables back with one row per run key.

- Every part is written atomically (:func:`write_atomic`: a temporary name, fsync,
  rename, fsync of the directory) with Parquet page checksums; a write that fails (disk
  full) leaves no temporary file and raises :class:`BatchError`.
- A part that cannot be read (flipped bytes, zero bytes, truncated, no key columns) is
  moved to ``quarantine/<table>/`` with a warning on stderr; its runs then count as not
  done (a finished run needs its row *and* its series), so the next batch redoes them and
  a report is made from what is readable.
- One batch at a time: :meth:`ResultStore.lock` (``.lock``, a filelock held for the whole
  batch and released by the operating system however the process ends); a second batch
  refuses (:class:`StoreBusy`) or waits. Readers take no lock: a part that vanishes while
  they read (compacted meanwhile) makes them read again, and :meth:`ResultStore.compact`
  skips a part another process removed.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from quartiersim.errors import QuartiersimError


class BatchError(QuartiersimError):
    """A batch cannot start or go on: engine, scheduler, or its results directory."""


class StoreBusy(BatchError):
    """Another batch holds the results directory's lock."""


#: Keyword arguments of every Parquet write and read: page checksums find flipped bytes.
WRITE_OPTIONS: dict[str, Any] = {"index": False, "write_page_checksum": True}
READ_OPTIONS: dict[str, Any] = {"page_checksum_verification": True}

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
            write_atomic(directory / name, lambda h: df.to_parquet(h, **WRITE_OPTIONS))
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
            df = pd.read_parquet(path, **READ_OPTIONS)
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


__all__ = ["READ_OPTIONS", "WRITE_OPTIONS", "BatchError", "ResultStore", "StoreBusy", "write_atomic"]
