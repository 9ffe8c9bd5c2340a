"""Performance benchmarks of quartiersim (issue #6). Not a test: prints measurements.

    python benchmarks/bench.py            # readable table
    python benchmarks/bench.py --json     # one JSON object
    python benchmarks/bench.py --json --city   # plus the 600k-resident city run
    python benchmarks/bench.py --json --pool   # plus the process-pool speed-up

Measured (one process, numeric libraries pinned to one thread):

- ``herten_seconds``: one 10-year Herten run (scenarios/herten-innenstadt.toml) under
  each cooperation model in ``COOPERATION_MODELS``: model start-up + 120 monthly steps,
  best of ``--repeat`` (wall clock); per model in ``herten_models``.
- ``herten_ratio_vs_mesa_activation``: CPU time of the model's 120 steps / CPU time of
  Mesa's bare activation loop over the same steps (a Mesa Model with N trivial agents,
  ``agents.shuffle_do("step")`` once per step, N = the Herten model's agent count),
  measured alternately in this process, best of ``--repeat`` each; the worst model
  counts. ``herten_ratio_incl_startup`` counts the model's start-up too.
- ``us_per_resident_month``: step CPU time / resident-months simulated.
- ``startup_seconds``: scenario load, grid, distances, population and network.
- ``peak_gib``: peak resident memory of this process (Herten runs only).
- with ``--city``: ``city_seconds`` (wall, start-up included) and ``city_peak_gib`` of one
  10-year run of scenarios/city-600k.toml in a fresh process.
- ``load_average``: the machine's 1-minute load average before and after (2 cores: above
  2, other processes compete and wall-clock figures, the pool speed-up most, suffer).
- with ``--pool``: ``pool_speedup`` = serial / 2-worker wall time of
  ``runner.run_many`` for a reduced DeWaK comparison (both DeWaK scenarios x available
  models x 4 seeds x ``--pool-years`` years).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core: no BLAS threads (before numpy loads)

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import mesa  # noqa: E402

from quartiersim.sim.cooperation import COOPERATION_MODELS  # noqa: E402
from quartiersim.sim.model import QuarterModel  # noqa: E402
from quartiersim.config.loading import load_scenario  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HERTEN = ROOT / "scenarios" / "herten-innenstadt.toml"
WETTER = ROOT / "scenarios" / "wetter-grundschoettel.toml"
CITY = ROOT / "scenarios" / "city-600k.toml"
YEARS = 10
STEPS = 12 * YEARS


def peak_gib() -> float:
    """Peak resident set size of this process so far, GiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


class _Idle(mesa.Agent):
    def step(self) -> None:
        pass


def bare_activation(n_agents: int, steps: int = STEPS, seed: int = 0) -> tuple[float, float]:
    """(CPU s, wall s) of ``steps`` x ``agents.shuffle_do("step")`` over ``n_agents`` idle agents."""
    m = mesa.Model(rng=seed)
    for _ in range(n_agents):
        _Idle(m)
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(steps):
        m.agents.shuffle_do("step")
    return time.process_time() - c0, time.perf_counter() - w0


def model_run(scenario: Path, cooperation: str, seed: int = 0, years: int = YEARS) -> dict:
    """Start-up and steps of one run, timed separately (CPU and wall seconds)."""
    c0, w0 = time.process_time(), time.perf_counter()
    sc = load_scenario(scenario)
    m = QuarterModel(sc, cooperation=cooperation, rng=seed, years=years)
    c1, w1 = time.process_time(), time.perf_counter()
    agents = len(m.agents)
    resident_months = 0
    for _ in range(12 * years):
        m.step()
        resident_months += int(m.month_stats["residents"])
    c2, w2 = time.process_time(), time.perf_counter()
    return {"startup_cpu": c1 - c0, "startup_wall": w1 - w0, "steps_cpu": c2 - c1,
            "steps_wall": w2 - w1, "wall": w2 - w0, "agents": agents,
            "resident_months": resident_months}


def herten(repeat: int) -> dict:
    models = list(COOPERATION_MODELS)
    best: dict[str, dict] = {}
    bare_cpu = bare_wall = float("inf")
    n_agents = model_run(HERTEN, models[0], years=1)["agents"]  # warm-up; agent count
    for _ in range(repeat):  # alternate so that machine load hits both alike
        c, w = bare_activation(n_agents)
        bare_cpu, bare_wall = min(bare_cpu, c), min(bare_wall, w)
        for name in models:
            r = model_run(HERTEN, name)
            if name not in best or r["steps_cpu"] < best[name]["steps_cpu"]:
                best[name] = r
    per_model = {}
    for name, r in best.items():
        per_model[name] = {
            "seconds": round(r["wall"], 3),
            "startup_seconds": round(r["startup_wall"], 3),
            "steps_cpu_seconds": round(r["steps_cpu"], 3),
            "ratio_vs_mesa_activation": round(r["steps_cpu"] / bare_cpu, 3),
            "ratio_incl_startup": round((r["steps_cpu"] + r["startup_cpu"]) / bare_cpu, 3),
            "us_per_resident_month": round(r["steps_cpu"] / r["resident_months"] * 1e6, 3),
        }
    worst = max(per_model.values(), key=lambda v: v["ratio_vs_mesa_activation"])
    return {
        "herten_seconds": max(v["seconds"] for v in per_model.values()),
        "herten_ratio_vs_mesa_activation": worst["ratio_vs_mesa_activation"],
        "herten_ratio_incl_startup": max(v["ratio_incl_startup"] for v in per_model.values()),
        "us_per_resident_month": max(v["us_per_resident_month"] for v in per_model.values()),
        "startup_seconds": max(v["startup_seconds"] for v in per_model.values()),
        "startup_share_of_run": round(max(v["startup_seconds"] / v["seconds"]
                                          for v in per_model.values()), 3),
        "mesa_activation_cpu_seconds": round(bare_cpu, 3),
        "mesa_activation_agents": n_agents,
        "herten_models": per_model,
        "peak_gib": round(peak_gib(), 3),
    }


def city_worker(path: Path, years: int) -> None:
    """Run in a fresh process: print the run's wall seconds and peak memory as JSON."""
    from quartiersim.studies.runner import run

    w0 = time.perf_counter()
    run(path, seed=0, years=years)
    print(json.dumps({"city_seconds": round(time.perf_counter() - w0, 1),
                      "city_peak_gib": round(peak_gib(), 3)}))


def city(path: Path = CITY, years: int = YEARS) -> dict:
    out = subprocess.run([sys.executable, __file__, "--city-worker", str(path), "--years", str(years)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def pool(years: int, workers: int = 2) -> dict:
    """Serial vs process-pool time of runner.run_many on a reduced DeWaK comparison."""
    from quartiersim.studies.runner import run_many

    scenarios = [load_scenario(HERTEN), load_scenario(WETTER)]
    jobs = [(sc, name, None, seed, years) for sc in scenarios for name in COOPERATION_MODELS
            for seed in range(4)]
    w0 = time.perf_counter()
    serial = run_many(jobs, workers=1, progress=False)
    w1 = time.perf_counter()
    parallel = run_many(jobs, workers=workers, progress=False)
    w2 = time.perf_counter()
    if serial != parallel:
        raise RuntimeError("pool results differ from serial results")
    return {"pool_jobs": len(jobs), "pool_years": years, "pool_serial_seconds": round(w1 - w0, 2),
            "pool_seconds": round(w2 - w1, 2), "pool_speedup": round((w1 - w0) / (w2 - w1), 2)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--city", action="store_true", help="also run the 600k-resident city")
    p.add_argument("--pool", action="store_true", help="also measure the process-pool speed-up")
    p.add_argument("--pool-years", type=int, default=10)
    p.add_argument("--repeat", type=int, default=3, help="repetitions (best counts)")
    p.add_argument("--city-worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--years", type=int, default=YEARS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.city_worker:
        city_worker(Path(args.city_worker), args.years)
        return 0
    load_before = os.getloadavg()[0]
    res = herten(args.repeat)
    if args.city:
        res.update(city())
    if args.pool:
        res.update(pool(args.pool_years))
    # machine load (1-minute average, both cores): wall-clock figures depend on it
    res["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            if isinstance(v, dict):
                for name, sub in v.items():
                    print(f"  {name}: {sub}")
            else:
                print(f"{k:34s} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
