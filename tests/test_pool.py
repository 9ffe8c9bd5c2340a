"""The pool helper: results in order, a dying worker costs nothing, cancel, Ctrl-C,
workers end with their parent; compare and what-if survive a killed worker.

The job functions are module level so that pool workers can import them (pytest puts
tests/ on sys.path and the start methods pass sys.path to the workers).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from proctree import (
    ROOT,
    alive,
    descendants,
    kill_all,
    needs_proc,
    pool_workers,
    start_cli,
    wait_for,
)

from quartiersim.cli import main
from quartiersim.errors import QuartiersimError
from quartiersim.studies.pool import (
    Cancelled,
    JobFailed,
    JobsFailed,
    WarmPool,
    describe_exit,
    progress_bar,
    run_jobs,
    start_context,
)
from quartiersim.studies.runner import compare
from quartiersim.studies.whatif import whatif

HERTEN = ROOT / "scenarios" / "herten-innenstadt.toml"
SMALL = {"population.residents": 400}  # a small Herten: fast runs


def square(job):
    return job * job


def square_with_pid(job):
    return job * job, os.getpid()


def die_once(job):
    """``(x, marker)``: kill the worker the first time (the marker file exists), else x*x."""
    x, marker = job
    if marker is not None and Path(marker).exists():
        Path(marker).unlink()
        os._exit(3)
    return x * x


def die_always(job):
    x, deadly = job
    if deadly:
        os._exit(3)
    return x * x


def raise_on_three(job):
    if job == 3:
        raise ValueError("model bug at 3")
    return job * job


def block_until(job):
    """Wait for the file ``job`` to exist (the test never makes it)."""
    while not Path(job).exists():
        time.sleep(0.05)
    return job


def own_workers(other: list | None = None) -> list:
    """Pool workers of this process, but ``other`` (workers of pools that were there
    before, such as the app's warm pool)."""
    known = {(p.pid, p.start) for p in other or []}
    return [p for p in pool_workers(os.getpid()) if (p.pid, p.start) not in known]


# ------------------------------------------------------------------------------ basics
def test_results_in_job_order_serial_and_pooled():
    jobs = list(range(7))
    assert run_jobs(square, jobs, workers=1) == [0, 1, 4, 9, 16, 25, 36]
    pooled = run_jobs(square_with_pid, jobs, workers=2)
    assert [r[0] for r in pooled] == [0, 1, 4, 9, 16, 25, 36]
    assert os.getpid() not in {r[1] for r in pooled}  # ran in worker processes


def test_progress_callback_and_on_result_in_this_process():
    seen, results = [], []
    run_jobs(square, [1, 2, 3], workers=1, on_progress=lambda d, t: seen.append((d, t)),
             on_result=lambda i, r: results.append((i, r)))
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert results == [(0, 1), (1, 4), (2, 9)]


def test_progress_bar_is_quiet_without_a_terminal(capsys):
    with progress_bar(3, "runs") as bar:  # pytest's stderr is no terminal
        bar.update(3)
    assert capsys.readouterr().err == ""
    assert progress_bar(3, "runs").disable and progress_bar(3, "runs", enabled=False).disable


def test_start_method_is_forkserver_where_available_else_spawn():
    import multiprocessing

    ctx = start_context()
    if "forkserver" in multiprocessing.get_all_start_methods():
        assert ctx.get_start_method() == "forkserver"
    else:
        assert ctx.get_start_method() == "spawn"


def test_importing_the_pool_sets_no_global_start_method():
    import subprocess
    import sys

    code = ("import multiprocessing, quartiersim.studies.pool, quartiersim.studies.batch, "
            "quartiersim.studies.runner; print(multiprocessing.get_start_method(allow_none=True))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "None"


def test_bad_arguments():
    with pytest.raises(QuartiersimError, match=r"workers = 0: must be >= 1"):
        run_jobs(square, [1], workers=0)
    with pytest.raises(ValueError, match=r"job_errors = 'skip': allowed: raise, fail"):
        run_jobs(square, [1], job_errors="skip")
    with pytest.raises(ValueError, match=r"retries = -1: must be >= 0"):
        run_jobs(square, [1], retries=-1)


def test_describe_exit():
    assert describe_exit(3) == "exit code 3"
    assert describe_exit(-9) == "exit code -9, SIGKILL (out of memory?)"
    assert describe_exit(-15) == "exit code -15, SIGTERM"
    assert describe_exit(None) == "exit code unknown"


# ------------------------------------------------------------------------------ dying workers
def test_a_worker_that_dies_once_costs_nothing(tmp_path):
    marker = tmp_path / "die"
    marker.touch()
    jobs = [(x, str(marker) if x == 4 else None) for x in range(8)]
    failures = []
    out = run_jobs(die_once, jobs, workers=2, on_failure=failures.append)
    assert out == [x * x for x in range(8)] and failures == []
    assert not marker.exists()  # job 4 really killed its worker once


def test_a_job_that_kills_its_worker_every_time_is_reported_the_rest_finishes():
    jobs = [(x, x == 3) for x in range(6)]
    with pytest.raises(JobsFailed) as info:
        run_jobs(die_always, jobs, workers=2, retries=2, describe=lambda j: f"x={j[0]}")
    exc = info.value
    assert str(exc) == ("1 of 6 runs failed (5 finished):\n  job 3 (x=3): BrokenProcessPool: "
                        "its worker process died on each of 3 attempts (last: exit code 3)")
    # 3 deaths while running alone; one more start if it first died beside another job
    [failed] = exc.failures
    assert (failed.index, failed.error) == (3, "BrokenProcessPool: its worker process died on "
                                               "each of 3 attempts (last: exit code 3)")
    assert failed.attempts in (3, 4)
    assert [r for i, r in enumerate(exc.results) if i != 3] == [0, 1, 4, 16, 25]


def test_on_failure_takes_the_failed_job_and_retries_zero():
    failures, results = [], {}
    out = run_jobs(die_always, [(x, x == 1) for x in range(4)], workers=2, retries=0,
                   on_failure=failures.append, on_result=results.__setitem__)
    # the jobs in flight beside the dying one are not failed: they run again, alone
    assert [f.index for f in failures] == [1] and failures[0].attempts in (1, 2)
    assert out[1] is failures[0] and results == {0: 0, 2: 4, 3: 9}


def test_a_raising_job_stops_the_pool_or_becomes_a_failure():
    with pytest.raises(ValueError, match="model bug at 3"):
        run_jobs(raise_on_three, list(range(6)), workers=2)
    failures = []
    out = run_jobs(raise_on_three, list(range(6)), workers=2, job_errors="fail",
                   on_failure=failures.append)
    assert failures == [JobFailed(3, 1, "ValueError: model bug at 3")]
    assert [r for i, r in enumerate(out) if i != 3] == [0, 1, 4, 16, 25]
    with pytest.raises(ValueError, match="model bug at 3"):  # in this process too
        run_jobs(raise_on_three, list(range(6)), workers=1)


# ------------------------------------------------------------------------------ cancel
def test_cancel_before_the_first_job():
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled, match=r"cancelled after 0 of 3 runs"):
        run_jobs(square, [1, 2, 3], workers=1, cancel=ev)
    with pytest.raises(Cancelled, match=r"cancelled after 0 of 3 runs"):
        run_jobs(square, [1, 2, 3], workers=2, cancel=lambda: True)


@needs_proc
def test_cancel_ends_running_workers_instead_of_waiting(tmp_path):
    never = str(tmp_path / "never")  # block_until waits for this file: forever
    ev = threading.Event()
    seen: list[list] = []

    other = own_workers()  # e.g. the app's warm pool, started by an earlier test

    def cancel_once_both_run():
        seen.append(wait_for(lambda: len(own_workers(other)) >= 2 and own_workers(other),
                             "two busy workers"))
        ev.set()

    t = threading.Thread(target=cancel_once_both_run)
    t.start()
    with pytest.raises(Cancelled, match=r"cancelled after 0 of 4 runs"):
        run_jobs(block_until, [never] * 4, workers=2, cancel=ev)
    t.join()
    wait_for(lambda: not any(alive(p) for p in seen[0]), "the cancelled workers to end")


# ------------------------------------------------------------------------------ compare, what-if
def _kill_one_worker_when_busy(killed: list) -> threading.Thread:
    """A thread that SIGKILLs the first pool worker of this process it sees."""

    other = own_workers()  # e.g. the app's warm pool, started by an earlier test

    def kill() -> None:
        worker = wait_for(lambda: own_workers(other), "a pool worker")[0]
        os.kill(worker.pid, signal.SIGKILL)
        killed.append(worker)

    t = threading.Thread(target=kill, daemon=True)
    t.start()
    return t


@needs_proc
def test_killing_a_worker_during_compare_gives_the_full_table(capsys):
    kw = {"models": ["municipal", "coproduction"], "seeds": 3, "years": 1, "overrides": SMALL,
              "progress": False}
    serial = compare(HERTEN, workers=1, **kw)
    killed: list = []
    t = _kill_one_worker_when_busy(killed)
    pooled = compare(HERTEN, workers=2, **kw)
    t.join()
    assert len(killed) == 1
    pd.testing.assert_frame_equal(pooled, serial)


@needs_proc
def test_killing_a_worker_during_cli_compare_prints_the_table(capsys):
    killed: list = []
    t = _kill_one_worker_when_busy(killed)
    code = main(["compare", str(HERTEN), "--models", "municipal,coproduction", "--seeds", "3",
                 "--years", "1", "--workers", "2", "--set", "population.residents=400"])
    t.join()
    out = capsys.readouterr()
    assert code == 0 and len(killed) == 1
    assert "3 seeds x 1 years" in out.out
    assert [line.split()[0] for line in out.out.splitlines()
            if line.startswith(("municipal ", "coproduction "))] == ["municipal", "coproduction"]
    assert "Traceback" not in out.err and "BrokenProcessPool" not in out.err


@needs_proc
def test_killing_a_worker_during_whatif_gives_the_full_table():
    kw = {"overrides": {"volunteering.rate": 0.08}, "seeds": 3, "years": 1}
    from quartiersim.config.loading import load_scenario

    small = load_scenario(HERTEN, SMALL)
    serial = whatif(small, workers=1, **kw)
    killed: list = []
    t = _kill_one_worker_when_busy(killed)
    done = []
    pooled = whatif(small, workers=2, on_progress=lambda d, n: done.append(d), **kw)
    t.join()
    assert len(killed) == 1 and done[-1] == 6
    pd.testing.assert_frame_equal(pooled, serial)


# ------------------------------------------------------------------------------ parent death
def _compare_in_subprocess(output: int | None) -> tuple:
    """Start a compare of 2 workers in a subprocess; return it and its processes once both
    workers run."""
    proc = start_cli("compare", str(HERTEN), "--models", "municipal,coproduction", "--seeds",
                     "20", "--years", "10", "--workers", "2", output=output)
    wait_for(lambda: len(pool_workers(proc.pid)) >= 2 or proc.poll() is not None,
             "two pool workers of the compare")
    assert proc.poll() is None, "the compare ended early"
    return proc, descendants(proc.pid)


@needs_proc
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killing_compares_main_process_leaves_no_worker(sig):
    proc, below = _compare_in_subprocess(subprocess.DEVNULL)
    try:
        assert len([p for p in below if "forkserver" in p.cmdline]) >= 3  # server, 2 workers
        os.kill(proc.pid, sig)
        assert proc.wait(timeout=120) == -sig
        wait_for(lambda: not any(alive(p) for p in below), "no process of the compare left")
    finally:
        kill_all(below)


@needs_proc
def test_ctrl_c_during_compare_leaves_no_worker_and_no_traceback():
    proc, below = _compare_in_subprocess(subprocess.PIPE)
    try:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: SIGINT to the whole process group
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 130 and err.strip().endswith("interrupted")
        assert "Traceback" not in err
        wait_for(lambda: not any(alive(p) for p in below), "no process of the compare left")
    finally:
        kill_all(below)


# ------------------------------------------------------------------------------ warm pool
def test_a_warm_pool_keeps_its_workers_between_calls():
    with WarmPool(2).start() as pool:
        assert pool.wait_ready(timeout=120)
        first = run_jobs(square_with_pid, list(range(6)), pool=pool)
        executor = pool.executor()
        second = run_jobs(square_with_pid, list(range(6)), pool=pool)
        assert [r[0] for r in first] == [r[0] for r in second] == [x * x for x in range(6)]
        assert pool.executor() is executor  # the same processes: no second start-up
        assert {pid for _, pid in second} <= set(executor._processes)
        assert os.getpid() not in {pid for _, pid in first + second}


def test_a_warm_pool_replaces_workers_that_died_or_were_cancelled(tmp_path):
    marker = tmp_path / "die"
    marker.write_text("")
    with WarmPool(2).start() as pool:
        got = run_jobs(die_once, [(1, None), (2, str(marker)), (3, None)], pool=pool)
        assert got == [1, 4, 9] and not marker.exists()
        with pytest.raises(Cancelled):
            run_jobs(square, [1, 2, 3], pool=pool, cancel=lambda: True)
        assert run_jobs(square, [4, 5], pool=pool) == [16, 25]  # new workers, same pool


def test_warm_pool_bad_size():
    with pytest.raises(QuartiersimError, match="workers = 0: must be >= 1"):
        WarmPool(0)


def test_whatif_on_the_apps_warm_pool_equals_serial_and_keeps_it():
    from quartiersim.config.loading import load_scenario
    from quartiersim.studies.whatif import app_pool

    small = load_scenario(HERTEN, SMALL)
    kw = {"overrides": {"volunteering.rate": 0.08}, "seeds": 2, "years": 1}
    serial = whatif(small, workers=1, **kw)
    pool = app_pool()
    assert app_pool() is pool
    pd.testing.assert_frame_equal(whatif(small, pool=pool, **kw), serial)
    executor = pool.executor()
    pd.testing.assert_frame_equal(whatif(small, pool=pool, **kw), serial)
    assert pool.executor() is executor and pool.nice


_ORDER_SCRIPT = """
import json, os, sys
sys.path.insert(0, {tests!r})
from proctree import descendants
seen = {{}}

def hook(event, args):
    if event == "import" and args[0] in ("mesa", "pandas") and "heavy" not in seen:
        seen["heavy"] = [p.cmdline for p in descendants(os.getpid())]

sys.addaudithook(hook)
from quartiersim.cli import main
code = main({argv!r})
print(json.dumps({{"code": code, "at_heavy_import": seen.get("heavy")}}))
"""


@needs_proc
@pytest.mark.parametrize("command", [
    ["compare", "--models", "municipal,coproduction", "--seeds", "1"],
    ["whatif", "--seeds", "1", "--set", "volunteering.rate=0.08"],
])
def test_the_cli_starts_its_workers_before_it_imports_the_model(command):
    """The forkserver (which imports the model for the workers) runs before this process
    imports pandas or Mesa (it needs pandas to aggregate and never imports Mesa with
    workers: tests/test_cli_errors.py), so the imports overlap instead of following each
    other."""
    argv = [command[0], str(HERTEN), *command[1:], "--years", "1", "--workers", "2",
            "--set", "population.residents=400", "--json"]
    script = _ORDER_SCRIPT.format(tests=str(ROOT / "tests"), argv=argv)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=600, cwd=ROOT)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, out.stderr
    assert any("multiprocessing.forkserver" in c for c in result["at_heavy_import"])
