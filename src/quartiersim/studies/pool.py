"""One way to run many model runs in worker processes: :func:`run_jobs`.

``compare``, ``whatif`` and ``batch`` all run their jobs through :func:`run_jobs`. It owns
what the three need alike:

- **start method**: ``forkserver`` with the model preloaded where the platform has it
  (workers are forked from a server that imported quartiersim once: no import per worker
  and no fork of a multi-threaded parent), else ``spawn`` (:func:`start_context`). Nothing
  happens at import time; the choice is made per call and never set globally.
- **progress**: a tqdm bar on stderr when it is a terminal, quiet otherwise or when
  disabled (:func:`progress_bar`), and/or an ``on_progress(done, total)`` callback.
- **cancel**: a :class:`threading.Event` (or a callable returning True) checked between
  jobs and every 0.2 s while waiting; raises :class:`Cancelled`, ends the workers.
- **a dying worker** (``BrokenProcessPool``: segfault, ``os._exit``, the out-of-memory
  killer): the finished results are kept, the pool is rebuilt and the unfinished jobs
  are run again, the suspects one at a time so the job that killed its worker is known.
  A job whose worker died more than ``retries`` times is reported as failed
  (:class:`JobFailed`, :class:`JobsFailed`) with its exit code; the others complete.
- **workers end with their parent**: each worker watches the process that started the
  pool (``pidfd_open`` on Linux, else a 0.5 s poll) and exits when it is gone, so
  SIGTERM or SIGKILL of the main process leaves no worker behind; workers ignore SIGINT
  and the main process ends them on Ctrl-C.

- **a warm pool** (:class:`WarmPool`): workers started ahead of the jobs and kept between
  calls. The command line starts one as its first act, so the forkserver imports the
  model (about 2 s) while the main process imports what it needs, not after it; the app
  keeps one for all its what-ifs, so only the first pays the start-up.

At most ``window`` jobs (default: one per worker and one waiting) are submitted at a time,
so a broken pool fails only those few, and they are run again. ``mesa.batch_run`` (multiprocessing.Pool)
is not used: it hangs when a worker dies. Jobs and ``fn`` must be picklable (``fn`` at
module level); a script that calls this needs the ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from quartiersim.errors import QuartiersimError

if TYPE_CHECKING:
    from tqdm import tqdm

#: Modules the forkserver imports once before forking workers (the model and its runner).
DEFAULT_PRELOAD: tuple[str, ...] = ("quartiersim.studies.runner", "quartiersim.sim.model")

#: Seconds between checks of ``cancel`` while waiting for a result.
CANCEL_POLL_S = 0.2


class Cancelled(QuartiersimError):
    """The jobs were cancelled (``cancel`` was set) before all of them finished."""


@dataclass(frozen=True)
class JobFailed:
    """A job that did not give a result although the pool ran it.

    Attributes:
        index: position of the job in the list passed to :func:`run_jobs`.
        attempts: how many times it was started.
        error: ``"<ExceptionType>: <what happened>"``, e.g. ``"BrokenProcessPool: its worker
            process died on each of 3 attempts (last exit code -9, SIGKILL)"``.
    """

    index: int
    attempts: int
    error: str


class JobsFailed(QuartiersimError):
    """Some jobs failed (see :class:`JobFailed`) after every other job finished.

    Attributes:
        failures: the failed jobs.
        results: every job's result in job order (a :class:`JobFailed` where it failed),
            so nothing that finished is lost.
    """

    def __init__(self, message: str, failures: list[JobFailed], results: list[Any]) -> None:
        super().__init__(message)
        self.failures = failures
        self.results = results


# ------------------------------------------------------------------------------ set-up
def start_context(preload: Sequence[str] = DEFAULT_PRELOAD) -> multiprocessing.context.BaseContext:
    """Start method for worker processes, never set globally.

    ``forkserver`` with ``preload`` imported in the server where the platform has it (Linux,
    macOS), else ``spawn`` (Windows). The forkserver is one per process: the preload of
    the first call that starts it counts. Both methods re-import the calling script in
    the workers (the ``__main__`` guard)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(list(preload))
        return ctx
    return multiprocessing.get_context("spawn")


def progress_bar(total: int, desc: str, enabled: bool = True) -> tqdm:
    """A tqdm bar on stderr: shown when stderr is a terminal and ``enabled``, else quiet
    (no lines in logs or CI output). ``total`` in jobs."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled or not _isatty(sys.stderr),
                mininterval=0.5, file=sys.stderr)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def worker_init(parent_pid: int, nice: bool = False) -> None:
    """Initializer of every worker process (runs in the worker).

    Ignores SIGINT (Ctrl-C reaches the whole process group; the parent decides and ends
    the workers), lowers the priority when ``nice``, and starts a daemon thread that ends
    this worker (``os._exit(1)``) as soon as the process ``parent_pid`` (the one that
    started the pool; with forkserver not the direct parent) has ended. Linux:
    ``os.pidfd_open`` (no polling, no pid reuse); elsewhere: a check every 0.5 s."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice:
        try:
            os.nice(10)
        except (AttributeError, OSError):  # no os.nice on Windows
            pass
    try:
        pidfd = os.pidfd_open(parent_pid)  # type: ignore[attr-defined]
    except ProcessLookupError:
        os._exit(1)  # the parent is already gone
    except (AttributeError, OSError):
        pidfd = None
    threading.Thread(target=_watch_parent, args=(parent_pid, pidfd), daemon=True,
                     name="quartiersim-parent-watch").start()


def _watch_parent(parent_pid: int, pidfd: int | None) -> None:
    if pidfd is not None:
        import select

        select.select([pidfd], [], [])  # readable once the process has exited
        os._exit(1)
    ppid = os.getppid()
    while True:
        time.sleep(0.5)
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass
        if os.getppid() != ppid:  # our own parent (the forkserver) is gone
            os._exit(1)


def process_pool(workers: int, *, nice: bool = False,
                 preload: Sequence[str] = DEFAULT_PRELOAD) -> cf.ProcessPoolExecutor:
    """A ``ProcessPoolExecutor`` with :func:`start_context` and :func:`worker_init`."""
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=start_context(preload),
                                  initializer=worker_init, initargs=(os.getpid(), nice))


def _ready() -> int:
    """A job that does nothing: run once per worker, it makes a warm pool start them."""
    return os.getpid()


class WarmPool:
    """A process pool started ahead of its jobs and kept between :func:`run_jobs` calls.

    :meth:`start` makes the pool (:func:`process_pool`) and, in a background thread,
    one job per worker that does nothing, so that the forkserver starts and imports
    ``preload`` and the workers are forked while the caller goes on (e.g. imports
    pandas and loads the scenario). Pass it to :func:`run_jobs` (``pool=``), or to
    ``compare``, ``whatif`` and ``run_batch``, as often as needed: a pool that broke
    (a worker died) or was ended (cancel, Ctrl-C) is replaced by a new one on next use,
    forked from the same forkserver (no new import). :meth:`shutdown` ends it; so does
    the end of the process that made it (its workers watch it, :func:`worker_init`).

    Args:
        workers: worker processes, >= 1.
        nice: lower the workers' priority (the app keeps its server responsive).
        preload: modules the forkserver imports once (:func:`start_context`; the first
            pool of a process decides).
    """

    def __init__(self, workers: int, *, nice: bool = False,
                 preload: Sequence[str] = DEFAULT_PRELOAD) -> None:
        if workers < 1:
            raise QuartiersimError(f"workers = {workers}: must be >= 1")
        self.workers, self.nice, self.preload = workers, nice, tuple(preload)
        self._executor: cf.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._warming: threading.Thread | None = None

    def start(self) -> WarmPool:
        """Start the workers; returns the pool at once. The forkserver process is started
        here (it imports ``preload`` on its own), the workers are forked from it in the
        background as soon as it has."""
        with self._lock:
            ex = self._live()
            if start_context(self.preload).get_start_method() == "forkserver":
                from multiprocessing import forkserver

                forkserver.ensure_running()  # spawns the server; does not wait for its imports
            self._warming = threading.Thread(target=self._warm, args=(ex,), daemon=True,
                                             name="quartiersim-warm-pool")
            self._warming.start()
        return self

    def _warm(self, ex: cf.ProcessPoolExecutor) -> None:
        if self.nice and sys.platform.startswith("linux"):
            try:  # per thread on Linux: the forkserver this thread starts inherits it
                os.nice(10)
            except OSError:
                pass
        try:  # each submit forks a worker; the first waits for the forkserver's imports
            for f in [ex.submit(_ready) for _ in range(self.workers)]:
                f.result()
        except Exception:  # noqa: BLE001 (a broken or ended pool is replaced on next use)
            pass

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the workers of :meth:`start` run (True) or ``timeout`` s passed."""
        t = self._warming
        if t is not None:
            t.join(timeout)
            return not t.is_alive()
        return True

    def _live(self) -> cf.ProcessPoolExecutor:
        ex = self._executor
        if ex is None or getattr(ex, "_broken", False) or getattr(ex, "_shutdown_thread", False):
            ex = self._executor = process_pool(self.workers, nice=self.nice, preload=self.preload)
        return ex

    def executor(self) -> cf.ProcessPoolExecutor:
        """The pool's executor: the running one, or a new one if it broke or was ended."""
        with self._lock:
            return self._live()

    def discard(self, executor: cf.Executor | None = None) -> None:
        """End the workers now (:func:`end_workers`) and forget them; the next use starts
        new ones. With ``executor``: only if it is still this pool's."""
        with self._lock:
            ex = self._executor
            if ex is None or (executor is not None and executor is not ex):
                return
            self._executor = None
        end_workers(ex)

    def shutdown(self, wait: bool = True) -> None:
        """End the pool: wait for its jobs to finish (``wait``) or end the workers now."""
        with self._lock:
            ex, self._executor = self._executor, None
        if ex is not None:
            if wait:
                ex.shutdown(wait=True)
            else:
                end_workers(ex)

    def __enter__(self) -> WarmPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(wait=exc[0] is None)


def end_workers(executor: cf.Executor) -> None:
    """Stop ``executor`` now: cancel what has not started and, for a process pool, end
    its worker processes (SIGTERM, then SIGKILL after 5 s) instead of waiting for them."""
    procs = list((getattr(executor, "_processes", None) or {}).values())
    try:
        executor.shutdown(wait=False, cancel_futures=True)
    except TypeError:  # an executor without cancel_futures (e.g. dask's)
        executor.shutdown(wait=False)
    for p in procs:
        if p.exitcode is None:
            p.terminate()
    deadline = time.monotonic() + 5.0
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.exitcode is None:
            p.kill()
            p.join(1.0)


def describe_exit(code: int | None) -> str:
    """``exit code 1`` / ``exit code -9, SIGKILL (out of memory?)`` for a process exit code."""
    if code is None:
        return "exit code unknown"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (out of memory?)" if -code == getattr(signal, "SIGKILL", 9) else ""
        return f"exit code {code}, {name}{hint}"
    return f"exit code {code}"


# ------------------------------------------------------------------------------ the runner
def run_jobs(fn: Callable[[Any], Any], jobs: Sequence[Any], *, workers: int | None = None,
             progress: bool = False, desc: str = "runs",
             on_progress: Callable[[int, int], None] | None = None,
             on_result: Callable[[int, Any], None] | None = None,
             on_failure: Callable[[JobFailed], None] | None = None,
             cancel: threading.Event | Callable[[], bool] | None = None,
             retries: int = 2, job_errors: str = "raise", nice: bool = False,
             preload: Sequence[str] = DEFAULT_PRELOAD,
             executor_factory: Callable[[], cf.Executor] | None = None,
             window: int | None = None, describe: Callable[[Any], str] | None = None,
             pool: WarmPool | None = None) -> list[Any]:
    """Run ``fn(job)`` for every job, in worker processes when ``workers`` > 1.

    Args:
        fn: a picklable module-level function of one job.
        jobs: the jobs (picklable).
        workers: processes (default: one per core, at most one per job); 1 runs every
            job in this process, in order (a job that kills its process kills the caller).
        progress: a tqdm bar on stderr (only on a terminal), titled ``desc``.
        on_progress: called as ``on_progress(done, total)`` at the start and after each
            finished or failed job.
        on_result: called as ``on_result(index, result)`` as soon as a job finished (in
            this process; before the next result is taken).
        on_failure: called with each :class:`JobFailed`; without it the failures are
            raised together as :class:`JobsFailed` once the other jobs are done.
        cancel: an event (or callable) that stops the jobs: raises :class:`Cancelled`.
        retries: how often a job is run again after its worker process died (>= 0).
        job_errors: ``"raise"``: an exception of ``fn`` stops everything and is raised
            (the workers are ended); ``"fail"``: it becomes that job's :class:`JobFailed`
            (for engines whose own errors, e.g. Dask's ``KilledWorker``, come this way).
        nice: lower the worker processes' priority (the app stays responsive).
        preload: modules the forkserver imports once (see :func:`start_context`).
        executor_factory: makes the executor (default: :func:`process_pool`); e.g. a Dask
            ``client.get_executor``. Called again after the pool broke.
        pool: a :class:`WarmPool` to run on (its ``workers`` count; ``nice`` and
            ``preload`` are the pool's): it is not ended when the jobs are done; on cancel,
            Ctrl-C or an exception its workers are ended and it starts new ones on next
            use. Ignored with ``executor_factory``.
        window: jobs submitted at a time (default: ``workers + 1``: one waits in the
            queue, so a worker that finishes starts the next job at once).
        describe: a job's name in failure messages (default ``job <index>``).

    Returns:
        The results in job order (a :class:`JobFailed` for a failed job, when
        ``on_failure`` took it).

    Raises:
        Cancelled: ``cancel`` was set; the message says how many jobs had finished.
        JobsFailed: jobs failed and no ``on_failure`` was given.
        Exception: the first exception of ``fn`` when ``job_errors="raise"``.
    """
    if job_errors not in ("raise", "fail"):
        raise ValueError(f"job_errors = {job_errors!r}: allowed: raise, fail")
    if retries < 0:
        raise ValueError(f"retries = {retries}: must be >= 0")
    n = len(jobs)
    if pool is not None and executor_factory is None:
        workers = pool.workers
    if workers is None:
        workers = max(1, min(n, os.cpu_count() or 1))
    if workers < 1:
        raise QuartiersimError(f"workers = {workers}: must be >= 1")
    runner = _Runner(fn, jobs, workers, on_progress, on_result, on_failure, cancel, retries,
                     job_errors, describe or (lambda job: ""))
    with progress_bar(n, desc, progress) as bar:
        runner.bar = bar
        runner.tick()
        if executor_factory is None and pool is None and workers <= 1:
            runner.run_here()
        elif executor_factory is None and pool is not None:
            runner.run_pool(pool.executor, window or workers + 1, keep=pool)
        else:
            factory = executor_factory or (lambda: process_pool(workers, nice=nice,
                                                                preload=preload))
            runner.run_pool(factory, window or workers + 1)
    return runner.finish()


_MISSING = object()


class _Runner:
    """The state of one :func:`run_jobs` call."""

    def __init__(self, fn: Callable[[Any], Any], jobs: Sequence[Any], workers: int,
                 on_progress: Callable[[int, int], None] | None,
                 on_result: Callable[[int, Any], None] | None,
                 on_failure: Callable[[JobFailed], None] | None,
                 cancel: threading.Event | Callable[[], bool] | None, retries: int,
                 job_errors: str, describe: Callable[[Any], str]) -> None:
        self.fn, self.jobs, self.workers = fn, jobs, workers
        self.on_progress, self.on_result, self.on_failure = on_progress, on_result, on_failure
        self.cancel, self.retries, self.job_errors, self.describe = (cancel, retries,
                                                                     job_errors, describe)
        self.results: list[Any] = [_MISSING] * len(jobs)
        self.failures: list[JobFailed] = []
        self.attempts = [0] * len(jobs)
        self.deaths = [0] * len(jobs)
        self.alone: set[int] = set()  # suspects submitted to run alone
        self.done = 0
        self.bar: tqdm | None = None

    # -- bookkeeping
    def tick(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.done, len(self.jobs))

    def cancelled(self) -> bool:
        c = self.cancel
        if c is None:
            return False
        return c.is_set() if isinstance(c, threading.Event) else bool(c())

    def check_cancel(self) -> None:
        if self.cancelled():
            raise Cancelled(f"cancelled after {self.done} of {len(self.jobs)} runs")

    def name(self, i: int) -> str:
        text = self.describe(self.jobs[i])
        return f"job {i}" + (f" ({text})" if text else "")

    def deliver(self, i: int, value: Any) -> None:
        self.results[i] = value
        if self.on_result is not None:
            self.on_result(i, value)
        self._count()

    def fail(self, i: int, error: str) -> None:
        failure = JobFailed(i, self.attempts[i], error)
        self.results[i] = failure
        if self.on_failure is not None:
            self.on_failure(failure)
        else:
            self.failures.append(failure)
        self._count()

    def _count(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update()
        self.tick()

    def finish(self) -> list[Any]:
        if self.failures:
            lines = [f"{self.name(f.index)}: {f.error}" for f in self.failures]
            ok = sum(not isinstance(r, JobFailed) for r in self.results)
            raise JobsFailed(f"{len(self.failures)} of {len(self.jobs)} runs failed ({ok} "
                             "finished):\n  " + "\n  ".join(lines), self.failures,
                             list(self.results))
        return list(self.results)

    # -- in this process
    def run_here(self) -> None:
        for i, job in enumerate(self.jobs):
            self.check_cancel()
            self.attempts[i] += 1
            try:
                value = self.fn(job)
            except Exception as exc:
                if self.job_errors == "raise":
                    raise
                self.fail(i, f"{type(exc).__name__}: {exc}")
                continue
            self.deliver(i, value)

    # -- in a pool
    def run_pool(self, factory: Callable[[], cf.Executor], window: int,
                 keep: WarmPool | None = None) -> None:
        """Run the jobs on executors from ``factory``; ``keep``: the warm pool they come
        from (a clean end leaves it running; otherwise its workers are ended)."""
        pending: deque[int] = deque(range(len(self.jobs)))
        suspects: deque[int] = deque()  # in flight when a pool broke: rerun one at a time
        inflight: dict[cf.Future, int] = {}
        executor: cf.Executor | None = None
        timeout = CANCEL_POLL_S if self.cancel is not None else None
        clean = False
        try:
            while pending or suspects or inflight:
                self.check_cancel()
                if executor is None:
                    executor = factory()
                broken = not self._fill(executor, pending, suspects, inflight, window)
                ready: list[tuple[cf.Future, int]] = []
                if inflight and not broken:
                    done, _ = cf.wait(inflight, timeout=timeout, return_when=cf.FIRST_COMPLETED)
                    ready = [(f, inflight.pop(f)) for f in done]
                    broken = any(isinstance(f.exception(), cf.BrokenExecutor) for f, _ in ready)
                    if not broken:
                        # workers run on their own: refill them before handling results
                        broken = not self._fill(executor, pending, suspects, inflight, window)
                if broken:
                    # every job in flight fails with the pool: collect them all
                    alone = len(inflight) + len(ready) == 1
                    done, _ = cf.wait(inflight)
                    ready += [(f, inflight.pop(f)) for f in done]
                    self._handle(ready, suspects, alone, self._rebuild(executor))
                    if keep is not None:
                        keep.discard(executor)
                    executor = None
                else:
                    self._handle(ready, suspects, False, None)
            clean = True
        finally:
            if executor is not None:
                if clean:
                    if keep is None:
                        executor.shutdown(wait=True)
                else:  # cancelled, Ctrl-C, a job's exception: do not wait for the workers
                    for f in inflight:
                        f.cancel()
                    if keep is not None:
                        keep.discard(executor)
                    else:
                        end_workers(executor)

    def _fill(self, executor: cf.Executor, pending: deque[int], suspects: deque[int],
              inflight: dict[cf.Future, int], window: int) -> bool:
        """Submit jobs up to the window; a suspect runs alone (nothing else is submitted
        while one is in flight). False if the pool turned out broken."""
        while True:
            if any(i in self.alone for i in inflight.values()):
                return True
            if suspects:
                if inflight:
                    return True
                queue = suspects
            elif pending and len(inflight) < window:
                queue = pending
            else:
                return True
            i = queue.popleft()
            try:
                fut = executor.submit(self.fn, self.jobs[i])
            except cf.BrokenExecutor:
                queue.appendleft(i)
                return False
            self.attempts[i] += 1
            inflight[fut] = i
            if queue is suspects:
                self.alone.add(i)

    @staticmethod
    def _rebuild(executor: cf.Executor) -> dict[int, int | None]:
        """Shut a broken pool down; the exit codes of its worker processes by pid."""
        procs = list((getattr(executor, "_processes", None) or {}).values())
        executor.shutdown(wait=True)
        return {p.pid: p.exitcode for p in procs}

    def _handle(self, ready: list[tuple[cf.Future, int]], suspects: deque[int], alone: bool,
                exit_codes: dict[int, int | None] | None) -> None:
        for fut, i in ready:
            self.alone.discard(i)
            if fut.cancelled():
                continue
            exc = fut.exception()
            if exc is None:
                self.deliver(i, fut.result())
            elif isinstance(exc, cf.BrokenExecutor):
                if not alone:  # in flight beside others when the pool broke: not proven
                    suspects.append(i)  # the culprit; run it alone (not a retry)
                    continue
                self.deaths[i] += 1
                if self.deaths[i] > self.retries:
                    codes = [c for c in (exit_codes or {}).values() if c is not None]
                    how = describe_exit(codes[0]) if alone and len(codes) == 1 else \
                        "exit code unknown"
                    self.fail(i, f"{type(exc).__name__}: its worker process died on each of "
                                 f"{self.deaths[i]} attempts (last: {how})")
                else:
                    suspects.append(i)
            elif self.job_errors == "raise":
                raise exc
            else:
                self.fail(i, f"{type(exc).__name__}: {exc}")


__all__ = [
    "DEFAULT_PRELOAD",
    "Cancelled",
    "JobFailed",
    "JobsFailed",
    "WarmPool",
    "describe_exit",
    "end_workers",
    "process_pool",
    "progress_bar",
    "run_jobs",
    "start_context",
    "worker_init",
]
