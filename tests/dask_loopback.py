"""A Dask cluster on this machine started from the command line, as the README shows it:
``dask scheduler`` and separate ``dask worker`` processes on 127.0.0.1 (used by
tests/test_batch.py and benchmarks/batch_bench.py).

The scheduler picks a free port (``--port 0``) and writes its address to a scheduler file;
everything waits for conditions (the file, the workers), never for a fixed time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: Seconds to wait for the scheduler and the workers (generous: the machine may be loaded).
START_DEADLINE_S = 180.0


def _dask() -> str:
    exe = Path(sys.executable).with_name("dask")
    return str(exe) if exe.exists() else "dask"


def _address(scheduler_file: Path) -> str | None:
    """The scheduler's address once its file is complete, else None."""
    try:
        return json.loads(scheduler_file.read_text())["address"]
    except (OSError, ValueError, KeyError):
        return None


def _stop(procs: list[subprocess.Popen], grace_s: float = 30.0) -> None:
    """SIGTERM each process group (a worker and what it started), SIGKILL what is left."""
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    end = time.monotonic() + grace_s
    for p in procs:
        try:
            p.wait(max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


@contextmanager
def dask_cluster(directory: Path, workers: int = 2, nanny: bool = True) -> Iterator[Any]:
    """``dask scheduler`` and ``workers`` x ``dask worker --nthreads 1`` on 127.0.0.1;
    yields a connected ``dask.distributed.Client`` once all workers joined. Logs go to
    ``directory``; every process is ended on exit. ``nanny``: each worker under a nanny
    process (restarts a worker that died; one more process per worker)."""
    from dask.distributed import Client

    directory.mkdir(parents=True, exist_ok=True)
    scheduler_file = directory / "scheduler.json"
    procs: list[subprocess.Popen] = []
    client = None

    def start(name: str, args: list[str]) -> None:
        log = open(directory / f"{name}.log", "w")  # noqa: SIM115 (the process owns it)
        procs.append(subprocess.Popen([_dask(), *args], stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True))
        log.close()

    try:
        start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", "0",
                            "--no-dashboard", "--scheduler-file", str(scheduler_file)])
        end = time.monotonic() + START_DEADLINE_S
        while _address(scheduler_file) is None:
            if procs[0].poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"the Dask scheduler did not start: "
                                   f"{(directory / 'scheduler.log').read_text()[-2000:]}")
            time.sleep(0.05)
        for i in range(workers):
            start(f"worker-{i}", ["worker", "--scheduler-file", str(scheduler_file),
                                  "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard",
                                  "--local-directory", str(directory / f"worker-{i}"),
                                  *([] if nanny else ["--no-nanny"])])
        client = Client(scheduler_file=str(scheduler_file), timeout=START_DEADLINE_S)
        client.wait_for_workers(workers, timeout=START_DEADLINE_S)
        yield client
    finally:
        if client is not None:
            client.close()
        _stop(procs[1:])  # the workers first: they leave the scheduler cleanly
        _stop(procs[:1])
