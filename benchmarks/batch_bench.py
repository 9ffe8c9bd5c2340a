"""Batch throughput: runs per minute serial vs local process pool vs loopback Dask.

Runs the DeWaK comparison (experiments/dewak-comparison.toml) at reduced seeds, each
engine into a fresh results directory, and checks that all three give the same table.
Lever names the code does not have yet (issue #3 adds cooperation and financing models)
are left out, so the benchmark runs on whatever exists.

    .venv/bin/python benchmarks/batch_bench.py [--seeds 10] [--years 10] [--workers 2]

Target: the pool's speed-up over serial on 2 cores is at least 1.8x (wall time of the
whole batch, pool start-up included). Dask runs on a cluster started from the command line
as the README shows it (``dask scheduler`` and ``--workers`` x ``dask worker --nthreads 1``
on 127.0.0.1, under nannies unless ``--no-nanny``; tests/dask_loopback.py); the cluster's
start and its workers' first import of the model are not counted, its scheduler's and
workers' CPU time is (CPU s/run: this process, its children and the cluster). On a
shared machine the wall-time speed-up is bounded by the cores other processes leave
free, so the benchmark also reports the
engine's concurrency (sum of the runs' wall times in the workers / batch wall time: how
many runs were in progress on average) and CPU seconds per run (serial and pool), and
the load average before it starts.
"""

from __future__ import annotations

import argparse
import importlib
import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))  # dask_loopback: the cluster as the README starts it

from quartiersim.studies.batch import EXECUTION_COLUMNS, results_table, run_batch  # noqa: E402
from quartiersim.sim.cooperation import COOPERATION_MODELS  # noqa: E402
from quartiersim.studies.experiment import load_experiment  # noqa: E402
from quartiersim.config.financing import BUILTIN_FINANCING  # noqa: E402

EXPERIMENT = ROOT / "experiments" / "dewak-comparison.toml"


def available_levers() -> tuple[list[str], list[str]]:
    """The experiment file's cooperation and financing names that exist in the code and
    in every scenario."""
    import tomllib

    from quartiersim.config.loading import load_scenario

    raw = tomllib.loads(EXPERIMENT.read_text())
    scenarios = [load_scenario(EXPERIMENT.parent / s) for s in raw["scenarios"]]
    coop = [c for c in raw["levers"]["cooperation"] if c in COOPERATION_MODELS]
    fin = [f for f in raw["levers"]["financing"]
           if all(f in sc.financing or f in BUILTIN_FINANCING for sc in scenarios)]
    return coop, fin


def cluster_cpu(client) -> float:
    """CPU seconds used so far by the Dask scheduler, workers and their nannies (/proc)."""
    def stat(pid: int) -> list[str] | None:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None

    workers = list(client.run(os.getpid).values())
    pids = {*workers, client.run_on_scheduler(os.getpid)}
    for pid in workers:  # a nanny is its worker's parent
        fields = stat(pid)
        if fields is not None and b"dask" in Path(f"/proc/{fields[1]}/cmdline").read_bytes():
            pids.add(int(fields[1]))
    tick = os.sysconf("SC_CLK_TCK")
    return sum((int(f[11]) + int(f[12])) / tick for f in map(stat, pids) if f is not None)


def forkserver_cpu() -> float:
    """CPU seconds of this process's forkserver children and of the workers they reaped
    (Linux /proc: utime, stime, cutime, cstime)."""
    tick, me, total = os.sysconf("SC_CLK_TCK"), str(os.getpid()), 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[1] == me and b"multiprocessing.forkserver" in cmd:
            total += sum(int(f) for f in fields[11:15]) / tick
    return total


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    return (df.drop(columns=[c for c in EXECUTION_COLUMNS if c in df])
            .sort_values("run_key").reset_index(drop=True))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10, help="design points = seeds per combination")
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--no-nanny", action="store_true", help="Dask workers without nannies")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    coop, fin = available_levers()
    exp = load_experiment(EXPERIMENT, samples=args.seeds, years=args.years,
                          cooperation=coop, financing=fin)
    n = len(exp.runs())
    print(f"DeWaK comparison, reduced: {len(exp.scenarios)} scenarios x {len(coop)} cooperation "
          f"({', '.join(coop)}) x {len(fin)} financing ({', '.join(fin)}) x {args.seeds} seeds "
          f"= {n} runs of {args.years} years; {os.cpu_count()} cores")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows, tables = [], {}

    def own_cpu() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        return own.ru_utime + own.ru_stime

    def cpu_seconds() -> float:
        """This process, its reaped children and its forkservers with their reaped
        workers (pool workers are the forkserver's children, not this process's)."""
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime + forkserver_cpu()

    with tempfile.TemporaryDirectory() as tmp:
        engines = [("serial", dict(workers=1)), (f"pool ({args.workers} processes)",
                                                 dict(workers=args.workers))]
        for name, kw in engines:
            c0, t0 = cpu_seconds(), time.perf_counter()
            res = run_batch(exp, Path(tmp) / name, progress=False, **kw)
            wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
            tables[name] = results_table(Path(tmp) / name)
            rows.append((name, wall, res.failed, tables[name]["duration_s"].sum(), cpu))
        if not args.no_dask:
            from dask_loopback import dask_cluster

            t0 = time.perf_counter()
            with dask_cluster(Path(tmp) / "cluster", workers=args.workers,
                              nanny=not args.no_nanny) as client:
                # a cluster is a service started once: its start and the workers' first
                # import of the model are not counted (the pool's start is)
                client.run(importlib.import_module, "quartiersim.studies.batch")
                t1 = time.perf_counter()
                cpu0, own0 = cluster_cpu(client), own_cpu()
                res = run_batch(exp, Path(tmp) / "dask", engine="dask", client=client,
                                progress=False)
                wall = time.perf_counter() - t1
                used = cluster_cpu(client) - cpu0 + own_cpu() - own0
            tables["dask"] = results_table(Path(tmp) / "dask")
            nannies = ", no nannies" if args.no_nanny else ""
            rows.append((f"Dask, command line ({args.workers} workers{nannies}; "
                         f"start {t1 - t0:.1f} s not counted)", wall, res.failed,
                         tables["dask"]["duration_s"].sum(), used))
    base = rows[0][1]
    print(f"{'engine':<52} {'wall s':>7} {'runs/min':>9} {'speed-up':>9} {'concurrency':>12} "
          f"{'CPU s/run':>10}")
    for name, wall, failed, busy, cpu in rows:
        print(f"{name:<52} {wall:>7.1f} {60 * n / wall:>9.1f} {base / wall:>8.2f}x "
              f"{busy / wall:>12.2f} {cpu / n:>10.2f}"
              + (f"  ({failed} failed)" if failed else ""))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    tables = {k: comparable(t) for k, t in tables.items()}
    ref = tables["serial"]
    same = all(t.equals(ref) for t in tables.values())
    print(f"identical tables across engines: {same}")
    speedup = base / rows[1][1]
    print(f"pool speed-up {speedup:.2f}x (target >= 1.8x on 2 cores)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
