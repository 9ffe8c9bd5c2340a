"""Batch runs lose nothing: same table serial, in a pool and on Dask; resume; failures.

The run functions below are module level so that spawned pool workers can import them
(pytest puts tests/ on sys.path and spawn passes sys.path to the children).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from proctree import (
    alive,
    descendants,
    kill_all,
    needs_proc,
    pool_workers,
    start_cli,
    wait_for,
)

from quartiersim.cli import main
from quartiersim.studies.batch import (
    EXECUTION_COLUMNS,
    BatchError,
    ResultStore,
    execute,
    results_table,
    run_batch,
)
from quartiersim.studies.experiment import load_experiment

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny-experiment.toml"


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    """The runs table without how/where columns, sorted by run key."""
    return (df.drop(columns=[c for c in EXECUTION_COLUMNS if c in df])
            .sort_values("run_key").reset_index(drop=True))


def raise_on_coproduction_budget_low(spec):
    if spec.cooperation == "coproduction" and spec.levers[
            "municipality.voluntary_budget_eur_per_year"] == 20_000.0 and spec.replication == 1:
        raise ValueError("model bug in this corner")
    return execute(spec)


class DieOnMarkedRun:
    """Kills the worker process on the run whose key is written in the file ``marker``
    (read at each run, so that the test can disarm running workers). An argument, not an
    environment variable: forkserver workers have the server's environment."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __call__(self, spec):
        if self.marker.is_file() and self.marker.read_text() == spec.run_key:
            os._exit(1)
        return execute(spec)


class Interrupt:
    """Raises KeyboardInterrupt (like Ctrl-C) on the n-th run, in-process."""

    def __init__(self, n: int) -> None:
        self.n, self.calls = n, 0

    def __call__(self, spec):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt
        return execute(spec)


@pytest.fixture(scope="module")
def experiment():
    return load_experiment(TINY)


@pytest.fixture(scope="module")
def serial_table(experiment, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    res = run_batch(experiment, out, workers=1, progress=False)
    assert (res.total, res.skipped, res.finished, res.failed) == (16, 0, 16, 0)
    return out, results_table(out)


def test_serial_table_has_one_row_per_run_and_its_series(serial_table, experiment):
    out, df = serial_table
    assert sorted(df["run_key"]) == sorted(r.run_key for r in experiment.runs())
    assert df["error"].isna().all()
    spec = experiment.runs()[3]
    row = df.set_index("run_key").loc[spec.run_key]
    assert (row["cooperation"], row["seed"], row["access.decay_length_m"]) == (
        spec.cooperation, spec.seed, spec.uncertainties["access.decay_length_m"])
    for col in ("coverage", "cost_municipality_eur", "mandatory_cases", "coverage_final_year",
                "coverage_65plus", "coverage_distance_0_250m"):
        assert col in df.columns
    series = ResultStore(out).series()
    assert len(series) == 16 * 12
    assert series.groupby("run_key")["step"].apply(list).map(lambda s: s == list(range(1, 13))).all()
    # the store holds one file per table after compaction
    assert len(list((out / "runs").glob("part-*.parquet"))) == 1


def test_run_equals_runner_run(serial_table, experiment):
    from quartiersim.studies.runner import run

    _, df = serial_table
    spec = experiment.runs()[5]
    res = run(spec.scenario, model=spec.cooperation, financing=spec.financing, seed=spec.seed,
              years=1, overrides=spec.overrides)
    row = df.set_index("run_key").loc[spec.run_key]
    assert row["coverage"] == res.summary["coverage"]
    assert row["municipal_cost_eur"] == res.summary["municipal_cost_eur"]


def test_process_pool_gives_the_serial_table(serial_table, experiment, tmp_path):
    run_batch(experiment, tmp_path, workers=2, progress=False)
    df = results_table(tmp_path)
    pd.testing.assert_frame_equal(comparable(df), comparable(serial_table[1]))
    assert df["worker"].nunique() == 2  # both processes worked


def test_loopback_dask_cluster_gives_the_serial_table(serial_table, experiment, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  local_directory=str(tmp_path / "dask")) as cluster:
        # connect by address, as `quartiersim batch --engine dask --scheduler ADDRESS` does
        res = run_batch(experiment, tmp_path / "out", engine="dask",
                        scheduler=cluster.scheduler_address, progress=False)
    assert (res.finished, res.failed) == (16, 0)
    df = results_table(tmp_path / "out")
    pd.testing.assert_frame_equal(comparable(df), comparable(serial_table[1]))


@needs_proc
def test_a_dask_cluster_started_from_the_command_line_gives_the_serial_table(
        serial_table, experiment, tmp_path):
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1 (free port), as the
    README shows; the batch connects by the scheduler file, both workers run."""
    pytest.importorskip("dask.distributed")
    from dask_loopback import dask_cluster

    with dask_cluster(tmp_path / "dask", workers=2) as client:
        workers = set(client.scheduler_info()["workers"])
        assert len(workers) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in workers)
        code = main(["batch", str(TINY), "--engine", "dask", "--scheduler",
                     str(tmp_path / "dask" / "scheduler.json"), "--out", str(tmp_path / "out"),
                     "--no-progress"])
        pids = set(client.run(os.getpid).values())
    assert code == 0
    df = results_table(tmp_path / "out")
    pd.testing.assert_frame_equal(comparable(df), comparable(serial_table[1]))
    assert {int(w.rsplit(":", 1)[1]) for w in df["worker"]} == pids  # both workers ran runs
    wait_for(lambda: not [p for p in descendants(os.getpid())
                          if "dask scheduler" in p.cmdline or "dask worker" in p.cmdline],
             "the cluster's processes to end")


def test_rerun_skips_finished_runs_and_removes_leftover_tmp_files(serial_table, experiment):
    out, before = serial_table
    leftover = out / "runs" / ".part-00000000000000000001-deadbeef.parquet.tmp"
    leftover.write_bytes(b"PAR1 half a part of a batch killed while writing")
    res = run_batch(experiment, out, workers=1, progress=False)
    assert (res.skipped, res.finished, res.failed) == (16, 0, 0)
    pd.testing.assert_frame_equal(results_table(out), before)
    assert not leftover.exists()


def test_resume_after_interruption_runs_every_run_exactly_once(serial_table, experiment,
                                                                tmp_path):
    with pytest.raises(KeyboardInterrupt):
        run_batch(experiment, tmp_path, workers=1, progress=False, run_fn=Interrupt(6))
    assert len(ResultStore(tmp_path).attempts()) == 5  # the 5 finished runs were written
    res = run_batch(experiment, tmp_path, workers=1, progress=False)
    assert (res.skipped, res.finished, res.failed) == (5, 11, 0)
    attempts = ResultStore(tmp_path).attempts()
    assert len(attempts) == 16 and attempts["run_key"].is_unique
    pd.testing.assert_frame_equal(comparable(results_table(tmp_path)),
                                  comparable(serial_table[1]))
    assert len(ResultStore(tmp_path).series()) == 16 * 12


def test_a_raising_run_is_recorded_and_the_rest_completes(serial_table, experiment, tmp_path):
    res = run_batch(experiment, tmp_path, workers=1, progress=False,
                    run_fn=raise_on_coproduction_budget_low)
    assert (res.finished, res.failed) == (14, 2)
    df = results_table(tmp_path)
    failed = df[df["error"].notna()]
    assert len(df) == 16 and len(failed) == 2
    assert set(failed["error"]) == {"ValueError: model bug in this corner"}
    assert set(failed["cooperation"]) == {"coproduction"} and set(failed["replication"]) == {1}
    assert failed["coverage"].isna().all()
    # the same command again redoes only the failed runs; the latest attempt wins
    res = run_batch(experiment, tmp_path, workers=1, progress=False)
    assert (res.skipped, res.finished, res.failed) == (14, 2, 0)
    pd.testing.assert_frame_equal(comparable(results_table(tmp_path)),
                                  comparable(serial_table[1]))
    assert len(ResultStore(tmp_path).attempts()) == 18


def test_a_dying_worker_costs_only_the_run_that_kills_it_and_it_is_redone(
        serial_table, experiment, tmp_path):
    victim = experiment.runs()[7].run_key
    marker = tmp_path / "die"
    marker.write_text(victim)
    die = DieOnMarkedRun(marker)
    res = run_batch(experiment, tmp_path / "out", workers=2, progress=False, run_fn=die)
    df = results_table(tmp_path / "out")
    assert len(df) == 16
    # the run in flight beside the victim is run again and finishes; the victim, which
    # kills its worker on each of its 3 attempts (1 + 2 retries), is recorded as failed
    assert df.loc[df["error"].notna(), "run_key"].tolist() == [victim]
    assert df.set_index("run_key").loc[victim, "error"] == (
        "worker died: BrokenProcessPool: its worker process died on each of 3 attempts "
        "(last: exit code 1)")
    assert (res.finished, res.failed) == (15, 1)
    marker.unlink()
    res = run_batch(experiment, tmp_path / "out", workers=2, progress=False, run_fn=die)
    assert (res.skipped, res.finished, res.failed) == (15, 1, 0)
    pd.testing.assert_frame_equal(comparable(results_table(tmp_path / "out")),
                                  comparable(serial_table[1]))


def test_a_dying_dask_worker_is_recorded_and_redone(serial_table, experiment, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    import dask

    victim = experiment.runs()[2].run_key
    marker = tmp_path / "die"
    marker.write_text(victim)
    die = DieOnMarkedRun(marker)
    # the scheduler gives up on a task after the first worker it kills (default: 3)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     host="127.0.0.1", dashboard_address=None,
                                     local_directory=str(tmp_path / "dask")) as cluster, \
            distributed.Client(cluster) as client:
        res = run_batch(experiment, tmp_path / "out", engine="dask", client=client,
                        progress=False, run_fn=die)
        failed = results_table(tmp_path / "out").query("error.notna()")
        # only the dead worker's runs fail: the victim, and at most one run queued on it
        assert victim in set(failed["run_key"]) and 1 <= len(failed) <= 2
        assert failed["error"].str.startswith("worker died: KilledWorker").all()
        assert (res.finished, res.failed) == (16 - len(failed), len(failed))
        marker.unlink()
        res = run_batch(experiment, tmp_path / "out", engine="dask", client=client,
                        progress=False, run_fn=die)
    assert (res.skipped, res.finished, res.failed) == (16 - len(failed), len(failed), 0)
    pd.testing.assert_frame_equal(comparable(results_table(tmp_path / "out")),
                                  comparable(serial_table[1]))


def test_engine_errors(experiment, tmp_path):
    with pytest.raises(BatchError, match=r"engine 'spark': allowed: local, dask"):
        run_batch(experiment, tmp_path, engine="spark")
    with pytest.raises(BatchError, match=r"--engine dask needs --scheduler ADDRESS"):
        run_batch(experiment, tmp_path, engine="dask")
    with pytest.raises(BatchError, match=r"workers = 0: must be >= 1"):
        run_batch(experiment, tmp_path, workers=0)
    with pytest.raises(BatchError, match=r"no batch results here"):
        results_table(tmp_path / "nothing")


def test_cli_batch_then_resume(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["batch", str(TINY), "--out", str(out), "--workers", "1", "--no-progress",
                 "--replications", "1"]) == 0
    text = capsys.readouterr().out
    assert "tiny: 8 runs, 0 done before, 8 finished, 0 failed" in text
    assert main(["batch", str(TINY), "--out", str(out), "--workers", "1", "--no-progress",
                 "--replications", "1"]) == 0
    assert "tiny: 8 runs, 8 done before, 0 finished, 0 failed" in capsys.readouterr().out


def test_resuming_runs_of_other_code_warns(serial_table, experiment, tmp_path, capsys):
    import json
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(serial_table[0], out)
    manifest = json.loads((out / "manifest.json").read_text())
    run_batch(experiment, out, workers=1, progress=False)
    assert "warning" not in capsys.readouterr().err
    (out / "manifest.json").write_text(json.dumps({**manifest, "code_digest": "0" * 16}))
    res = run_batch(experiment, out, workers=1, progress=False)
    assert res.skipped == 16
    assert (f"warning: {out} holds runs made by other quartiersim code (0000000000000000"
            in capsys.readouterr().err)


# ------------------------------------------------------------------------------ damage
def _flip_footer(path: Path) -> None:
    """Flipped bytes at the end: the footer's length and magic bytes ("PAR1")."""
    data = bytearray(path.read_bytes())
    for i in range(1, 9):
        data[-i] ^= 0xFF
    path.write_bytes(bytes(data))


def _flip_page(path: Path) -> None:
    """Flipped bytes at the end of the first column's data (found by the page checksums;
    the footer stays valid)."""
    import pyarrow.parquet as pq

    chunk = pq.ParquetFile(path).metadata.row_group(0).column(0)
    end = chunk.data_page_offset + chunk.total_compressed_size
    data = bytearray(path.read_bytes())
    for i in range(end - 4, end):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE = {
    "flipped footer": _flip_footer,
    "flipped page": _flip_page,
    "zero bytes": lambda p: p.write_bytes(b""),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
}


@pytest.fixture
def five_parts(experiment, tmp_path):
    """A store of 5 finished runs, one part each (interrupted before compaction)."""
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_batch(experiment, out, workers=1, progress=False, run_fn=Interrupt(6))
    assert len(list((out / "runs").glob("part-*.parquet"))) == 5
    return out


@pytest.mark.parametrize("table", ["runs", "series"])
@pytest.mark.parametrize("how", list(DAMAGE))
def test_a_damaged_part_is_quarantined_and_its_run_redone(serial_table, experiment, five_parts,
                                                           capsys, table, how):
    out = five_parts
    part = sorted((out / table).glob("part-*.parquet"))[2]
    DAMAGE[how](part)
    from quartiersim.studies.report import load_results

    capsys.readouterr()
    results = load_results(out)  # a report is made from what is readable
    assert len(results.runs) == 4 if table == "runs" else len(results.runs) == 5
    err = capsys.readouterr().err
    assert f"warning: {part} cannot be read (" in err
    assert f"moved to {out / 'quarantine' / table / part.name}; its runs count as not done" in err
    assert [p.name for p in (out / "quarantine" / table).iterdir()] == [part.name]
    res = run_batch(experiment, out, workers=1, progress=False)
    assert (res.skipped, res.finished, res.failed) == (4, 12, 0)  # the damaged run is redone
    pd.testing.assert_frame_equal(comparable(results_table(out)), comparable(serial_table[1]))
    assert len(ResultStore(out).series()) == 16 * 12
    assert not list(out.rglob("*.tmp"))


def test_cli_batch_and_report_survive_damaged_parts(tmp_path, capsys):
    """The issue's commands (one year instead of ten, to be quick)."""
    out = tmp_path / "RESULTS"
    batch = ["batch", str(ROOT / "experiments" / "dewak-comparison.toml"), "--out", str(out),
             "--cooperation", "municipal,coproduction", "--financing", "budget", "--samples",
             "4", "--years", "1", "--workers", "2", "--no-progress"]
    assert main(batch) == 0
    assert "16 runs, 0 done before, 16 finished, 0 failed" in capsys.readouterr().out
    # a truncated series part: the report uses the runs, the batch redoes the 16 runs
    series_part, = (out / "series").glob("part-*.parquet")
    DAMAGE["truncated"](series_part)
    assert main(["report", str(out), "--out", str(tmp_path / "report")]) == 0
    err = capsys.readouterr().err
    assert f"warning: {series_part} cannot be read (" in err and "Traceback" not in err
    assert main(batch) == 0
    assert "16 runs, 0 done before, 16 finished, 0 failed" in capsys.readouterr().out
    # flipped bytes in the runs part: the report says there is nothing finished, the batch
    # redoes the runs
    runs_part, = (out / "runs").glob("part-*.parquet")
    DAMAGE["flipped footer"](runs_part)
    assert main(["report", str(out), "--out", str(tmp_path / "report")]) == 2
    err = capsys.readouterr().err
    assert "Parquet magic bytes not found" in err and "Traceback" not in err
    assert f"error: {out}: no finished run to report on" in err
    assert main(batch) == 0
    assert "16 runs, 0 done before, 16 finished, 0 failed" in capsys.readouterr().out
    assert sorted(p.name for p in (out / "quarantine").rglob("*.parquet")) == sorted(
        [series_part.name, runs_part.name])


def test_disk_full_stops_the_batch_with_a_message_and_leaves_no_tmp(
        serial_table, tmp_path, capsys, monkeypatch):
    import errno

    real = pd.DataFrame.to_parquet
    writes = {"parts": 0}

    def full_after_three_runs(self, path, *args, **kwargs):
        name = getattr(path, "name", str(path))
        if "part-" in name:
            writes["parts"] += 1
            if writes["parts"] > 6:  # 3 runs of 2 parts (series, row) each
                if hasattr(path, "write"):
                    path.write(b"PAR1 half a part")
                else:
                    Path(path).write_bytes(b"PAR1 half a part")
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full_after_three_runs)
    out = tmp_path / "out"
    args = ["batch", str(TINY), "--out", str(out), "--workers", "1", "--no-progress"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err == (f"error: {out / 'series'}: cannot write a result part (disk full): No space "
                   "left on device; the runs written before are kept: fix this and run the "
                   "same command again to resume\n")
    assert not list(out.rglob("*.tmp")) and not list(out.rglob(".*.tmp"))
    assert len(ResultStore(out).finished_keys()) == 3
    monkeypatch.undo()
    assert main(args) == 0
    assert "tiny: 16 runs, 3 done before, 13 finished, 0 failed" in capsys.readouterr().out
    pd.testing.assert_frame_equal(comparable(results_table(out)), comparable(serial_table[1]))


def test_compact_skips_a_part_removed_meanwhile(five_parts, monkeypatch):
    store = ResultStore(five_parts)
    parts = sorted(store.runs_dir.glob("part-*.parquet"))
    keys = [pd.read_parquet(p)["run_key"].item() for p in parts]
    real = pd.read_parquet

    def read_while_another_process_removes(path, *args, **kwargs):
        if Path(path) == parts[0] and parts[1].exists():
            parts[1].rename(five_parts / "taken-away.parquet")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(pd, "read_parquet", read_while_another_process_removes)
    store.compact()
    monkeypatch.undo()
    assert len(list(store.runs_dir.glob("part-*.parquet"))) == 1
    assert sorted(store.attempts()["run_key"]) == sorted(keys[:1] + keys[2:])


def test_a_reader_sees_one_consistent_set_of_parts_while_compaction_runs(five_parts,
                                                                         monkeypatch):
    store = ResultStore(five_parts)
    parts = sorted(store.runs_dir.glob("part-*.parquet"))
    real = pd.read_parquet
    compacted = []

    def compact_meanwhile(path, *args, **kwargs):
        if Path(path) == parts[2] and not compacted:
            compacted.append(True)
            monkeypatch.setattr(pd, "read_parquet", real)
            ResultStore(five_parts).compact()  # another process merges the parts
        return real(path, *args, **kwargs)

    monkeypatch.setattr(pd, "read_parquet", compact_meanwhile)
    attempts = store.attempts()
    assert compacted and len(attempts) == 5 and attempts["run_key"].is_unique


# ------------------------------------------------------------------------------ one batch at a time
def test_a_second_batch_on_the_same_out_refuses_or_waits(serial_table, tmp_path, capsys):
    import re
    import socket
    import threading

    from filelock import FileLock

    out = tmp_path / "out"
    ResultStore(out).create()
    holder = ResultStore(out)
    with holder.lock():  # the first batch
        assert main(["batch", str(TINY), "--out", str(out), "--workers", "1",
                     "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert re.fullmatch(
            rf"error: {re.escape(str(out))}: another batch is writing to this results "
            rf"directory \(pid {os.getpid()} on {re.escape(socket.gethostname())}, since "
            r"[0-9T:+-]+\); wait for it to finish, run again with --wait to start when it "
            r"has, or use another --out\n", err), err
        assert not list((out / "runs").glob("part-*"))  # nothing computed twice
        # --wait: a second batch in another process waits for the lock, then resumes
        proc = start_cli("batch", str(TINY), "--out", str(out), "--workers", "1", "--wait",
                         "--no-progress")
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
        reader.start()
        wait_for(lambda: any("waiting for the other batch writing to" in x for x in lines)
                 or proc.poll() is not None, "the second batch to wait")
        assert proc.poll() is None and not list((out / "runs").glob("part-*"))
    out_text = proc.stdout.read()
    assert proc.wait() == 0, lines
    assert "tiny: 16 runs, 0 done before, 16 finished, 0 failed" in out_text
    assert FileLock(out / ".lock").acquire(timeout=0)  # released at the end
    pd.testing.assert_frame_equal(comparable(results_table(out)), comparable(serial_table[1]))


# ------------------------------------------------------------------------------ parent death
@needs_proc
def test_kill_9_of_the_batch_leaves_no_worker_and_frees_the_lock(tmp_path, capsys):
    """The issue's batch (ten years: slow enough to be killed while it runs)."""
    import signal
    import subprocess

    from filelock import FileLock

    out = tmp_path / "RESULTS"
    args = ["batch", str(ROOT / "experiments" / "dewak-comparison.toml"), "--out", str(out),
            "--cooperation", "municipal,coproduction", "--financing", "budget", "--samples",
            "4", "--workers", "2"]
    proc = start_cli(*args, output=subprocess.DEVNULL)
    below: list = []
    try:
        wait_for(lambda: len(pool_workers(proc.pid)) >= 2 or proc.poll() is not None,
                 "two workers of the batch")
        assert proc.poll() is None, "the batch ended early"
        below = descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=120) == -signal.SIGKILL
        wait_for(lambda: not any(alive(p) for p in below), "no process of the batch left")
    finally:
        kill_all(below)
    assert FileLock(out / ".lock").acquire(timeout=0)  # the kernel released the lock


@needs_proc
def test_a_second_batch_refuses_while_another_process_runs_one(tmp_path, capsys):
    import signal
    import subprocess

    out = tmp_path / "RESULTS"
    args = ["batch", str(ROOT / "experiments" / "dewak-comparison.toml"), "--out", str(out),
            "--cooperation", "municipal,coproduction", "--financing", "budget", "--samples",
            "4", "--workers", "1"]
    proc = start_cli(*args, output=subprocess.DEVNULL)
    try:
        wait_for(lambda: (out / ".lock.owner").is_file() or proc.poll() is not None,
                 "the first batch to hold the lock")
        assert proc.poll() is None, "the batch ended early"
        assert main([*args, "--no-progress"]) == 2
        assert f"another batch is writing to this results directory (pid {proc.pid} on" in \
            capsys.readouterr().err
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=120)
