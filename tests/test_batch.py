"""Batch runs lose nothing: same table serial, in a pool and on Dask; resume; failures.

The run functions below are module level so that spawned pool workers can import them
(pytest puts tests/ on sys.path and spawn passes sys.path to the children).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from quartiersim.studies.batch import (EXECUTION_COLUMNS, BatchError, ResultStore, execute,
                               results_table, run_batch)
from quartiersim.cli import main
from quartiersim.studies.experiment import load_experiment

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


def test_rerun_skips_finished_runs(serial_table, experiment):
    out, before = serial_table
    res = run_batch(experiment, out, workers=1, progress=False)
    assert (res.skipped, res.finished, res.failed) == (16, 0, 0)
    pd.testing.assert_frame_equal(results_table(out), before)


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
