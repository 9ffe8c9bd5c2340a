"""Performance benchmarks of quartiersim (issues #6, #15). Not a test: prints measurements.

    python benchmarks/bench.py            # readable table
    python benchmarks/bench.py --json     # one JSON object
    python benchmarks/bench.py --json --city   # plus the 600k-resident city
    python benchmarks/bench.py --json --pool   # plus the pool, compare and what-if

The method (issue #15: the best-of-3 of whole runs did not reproduce, 0.56 to 1.33):
**one month of the model and one step of Mesa's bare activation loop alternate**, in
one process, measured in **CPU time** of this process (``time.process_time``: what the
other processes on the machine take is not counted, and both sides see the same cache
and clock conditions month by month). The bare loop is a ``mesa.Model`` with as many
idle agents as the model has at its start, calling ``agents.shuffle_do("step")`` once per
step. The ratio of one repetition is the model's CPU time over its 120 months divided by
the bare loop's over its 120 steps; a repetition is a fresh model (same seed) and the
figure is the **median over ``--repeat`` (>= 5) repetitions**, with the spread
(``*_spread``: min and max over the repetitions; ``*_repetitions``: all of them).

Measured (numeric libraries pinned to one thread):

- ``herten_ratio_vs_mesa_activation``: the ratio above for scenarios/herten-innenstadt.toml
  under each cooperation model in ``COOPERATION_MODELS`` (``herten_models``); the worst
  model's median counts, ``herten_ratio_spread`` is that model's min and max.
  ``herten_ratio_incl_startup`` counts the model's start-up (scenario, grid, population,
  network, spin-up) too.
- ``herten_seconds``: wall time of one 10-year run (start-up + the model's months), median
  over the repetitions, the slowest model.
- ``us_per_resident_month``: the months' CPU time / resident-months simulated (median).
- the **floor**: each repetition also runs Herten with 100 residents (same places,
  carriers, staff, money; ``FLOOR_OVERRIDES``) against the same bare loop.
  ``herten_floor_ratio_vs_mesa_activation`` (least and greatest over the models; per
  model ``floor_ratio_vs_mesa_activation`` and its spread) is what a month costs
  whatever the population, in units of the bare loop over Herten's agents: the ratio
  cannot fall below it without fewer or cheaper operations per month.
  ``herten_marginal_us_per_resident_month`` (least, greatest): what each resident adds
  to a month, against ``mesa_activation_us_per_agent_step``, the bare loop per agent.
- ``startup_seconds``, ``startup_share_of_run``: the start-up's wall time and its share.
- ``mesa_activation_cpu_seconds``, ``mesa_activation_agents``: the bare loop's CPU time
  for 120 steps (median) and its agent count.
- ``peak_gib``: peak resident memory of this process (Herten runs only).
- with ``--city``: ``city_seconds``, ``city_cpu_seconds`` and ``city_peak_gib``, one 10-year run of
  scenarios/city-600k.toml (wall, start-up included) in a fresh process;
  ``city_1500k_seconds``, ``city_1500k_cpu_seconds``, ``city_1500k_peak_gib``, the same of a
  synthetic city of 1.5 million residents (issue 15: < 3 minutes, < 4 GiB; with
  ``city_1500k_load``, the load when it ended); and
  ``city_ratio_vs_mesa_activation`` by the same alternation in another fresh process,
  the median over ``--repeat`` blocks of consecutive months of one 10-year run (a whole
  city run takes a minute; ``city_ratio_spread``, ``city_ratio_blocks``).
- with ``--pool``: ``pool_speedup`` = serial / 2-worker wall time of ``runner.run_many``
  on a reduced DeWaK comparison (both DeWaK scenarios x the models x 4 seeds x
  ``--pool-years`` years); and ``compare_seconds`` (``quartiersim compare`` of the Herten
  scenario, 6 models x 10 seeds = 60 runs) and ``whatif_seconds`` (``quartiersim whatif``,
  10 seeds x baseline and variant = 20 runs), each a cold command in a fresh process, run
  3 times (the median by wall time counts; ``*_vs_ideal_spread``: least and greatest)
  (imports and pool start-up included), against their ideal, runs x single-run CPU /
  workers (``*_ideal_seconds``, ``*_vs_ideal``; each of the command's runs, same model and
  seed, measured once in this process as ``runner.run`` does it: the sum of their CPU over
  the workers; ``single_run_cpu_seconds`` the mean per model, ``single_run_cpu_spread``
  the cheapest and dearest seed), with the CPU time the command, its forkserver and its
  workers used (``*_cpu_seconds``; ``*_cpu_vs_runs``: that over the runs' CPU, the work the
  command adds) and the cores it kept busy on average (``*_cores_used``: 2 on two free
  cores; less when other processes take the machine, which then also lengthens the wall
  time). ``--commands-only`` measures just these.
- ``load_average``: the machine's 1-minute load average before and after (2 cores: above
  2, other processes compete; wall-clock figures, the pool's most, suffer; the CPU-time
  ratios much less).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core: no BLAS threads (before numpy loads)

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import mesa  # noqa: E402

from quartiersim.config.loading import load_scenario  # noqa: E402
from quartiersim.sim.cooperation import COOPERATION_MODELS  # noqa: E402
from quartiersim.sim.model import QuarterModel  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HERTEN = ROOT / "scenarios" / "herten-innenstadt.toml"
WETTER = ROOT / "scenarios" / "wetter-grundschoettel.toml"
CITY = ROOT / "scenarios" / "city-600k.toml"
YEARS = 10
STEPS = 12 * YEARS
MIN_REPEAT = 5
cpu = time.process_time


def peak_gib() -> float:
    """Peak resident set size of this process so far, GiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class _Idle(mesa.Agent):
    def step(self) -> None:
        pass


def bare_model(n_agents: int, seed: int = 0) -> mesa.Model:
    """A Mesa model with ``n_agents`` idle agents: the bare activation loop's."""
    m = mesa.Model(rng=seed)
    _Idle.create_agents(m, n_agents)
    return m


def spread(values: list[float], digits: int = 3) -> list[float]:
    return [round(min(values), digits), round(max(values), digits)]


def alternate(m: QuarterModel, bare: mesa.Model, months: int) -> dict[str, list[float]]:
    """Run ``months`` months of ``m``, each beside one step of the bare loop (which goes
    first alternates month by month); per month the CPU and wall seconds of both and the
    residents."""
    out: dict[str, list[float]] = {"model": [], "bare": [], "wall": [], "residents": []}
    step_bare = bare.agents.shuffle_do
    for k in range(months):
        if k % 2:
            c0 = cpu()
            step_bare("step")
            c1, w1 = cpu(), time.perf_counter()
            m.step()
            c2, w2 = cpu(), time.perf_counter()
            out["bare"].append(c1 - c0)
            out["model"].append(c2 - c1)
        else:
            c0, w1 = cpu(), time.perf_counter()
            m.step()
            c1, w2 = cpu(), time.perf_counter()
            step_bare("step")
            c2 = cpu()
            out["model"].append(c1 - c0)
            out["bare"].append(c2 - c1)
        out["wall"].append(w2 - w1)
        out["residents"].append(float(m.month_stats["residents"]))
    return out


def one_repetition(scenario: Path, cooperation: str, bare: mesa.Model | None,
                   seed: int = 0, years: int = YEARS, overrides: dict | None = None) -> dict:
    """A fresh model (start-up timed) and its months alternated with the bare loop;
    ``overrides``: dotted scenario keys (``load_scenario``)."""
    c0, w0 = cpu(), time.perf_counter()
    m = QuarterModel(load_scenario(scenario, overrides), cooperation=cooperation, rng=seed,
                     years=years)
    startup_cpu, startup_wall = cpu() - c0, time.perf_counter() - w0
    if bare is None:
        bare = bare_model(len(m.agents))
    t = alternate(m, bare, 12 * years)
    model_cpu, bare_cpu = sum(t["model"]), sum(t["bare"])
    return {"agents": len(bare.agents), "startup_cpu": startup_cpu, "startup_wall": startup_wall,
            "steps_cpu": model_cpu, "bare_cpu": bare_cpu, "wall": startup_wall + sum(t["wall"]),
            "ratio": model_cpu / bare_cpu, "ratio_incl_startup": (model_cpu + startup_cpu) / bare_cpu,
            "us_per_resident_month": model_cpu / sum(t["residents"]) * 1e6,
            "resident_months": sum(t["residents"])}


#: The floor: Herten with 100 residents (same places, carriers, staff, money and months).
FLOOR_OVERRIDES = {"population.residents": 100}


def floor_figures(full: list[dict], floor: list[dict]) -> dict:
    """What a month costs whatever the population, and what each resident adds: the
    floor runs (:data:`FLOOR_OVERRIDES`) against the same bare loop (Herten's agents),
    medians over the repetitions. ``floor_ratio_vs_mesa_activation``: the floor's months
    over the bare loop's steps (the ratio the model cannot go below while each month
    costs what it costs at 100 residents); ``marginal_us_per_resident_month``: (months'
    CPU at full size - at the floor) / (their resident-months' difference), microseconds."""
    ratio = [f["steps_cpu"] / f["bare_cpu"] for f in floor]
    marginal = [(a["steps_cpu"] - f["steps_cpu"]) / (a["resident_months"] - f["resident_months"])
                * 1e6 for a, f in zip(full, floor, strict=True)]
    return {"floor_ratio_vs_mesa_activation": round(statistics.median(ratio), 3),
            "floor_ratio_spread": spread(ratio),
            "marginal_us_per_resident_month": round(statistics.median(marginal), 3)}


def herten(repeat: int) -> dict:
    models = list(COOPERATION_MODELS)
    n_agents = len(QuarterModel(load_scenario(HERTEN), cooperation=models[0], rng=0,
                                years=YEARS).agents)  # warm-up; agent count at the start
    bare = bare_model(n_agents)
    reps: dict[str, list[dict]] = {name: [] for name in models}
    floor: dict[str, list[dict]] = {name: [] for name in models}
    for r in range(repeat):
        order = models[r % len(models):] + models[:r % len(models)]  # no model always first
        for name in order:
            reps[name].append(one_repetition(HERTEN, name, bare))
            floor[name].append(one_repetition(HERTEN, name, bare, overrides=FLOOR_OVERRIDES))
    per_model = {}
    for name, rs in reps.items():
        med = {k: statistics.median(x[k] for x in rs)
               for k in ("wall", "startup_wall", "startup_cpu", "steps_cpu", "bare_cpu", "ratio",
                         "ratio_incl_startup", "us_per_resident_month")}
        per_model[name] = {
            "seconds": round(med["wall"], 3),
            "startup_seconds": round(med["startup_wall"], 3),
            "startup_cpu_seconds": round(med["startup_cpu"], 3),
            "steps_cpu_seconds": round(med["steps_cpu"], 3),
            "run_cpu_seconds": round(med["startup_cpu"] + med["steps_cpu"], 3),
            "ratio_vs_mesa_activation": round(med["ratio"], 3),
            "ratio_spread": spread([x["ratio"] for x in rs]),
            "ratio_repetitions": [round(x["ratio"], 3) for x in rs],
            "ratio_incl_startup": round(med["ratio_incl_startup"], 3),
            "us_per_resident_month": round(med["us_per_resident_month"], 3),
            **floor_figures(rs, floor[name]),
        }
    worst = max(per_model, key=lambda k: per_model[k]["ratio_vs_mesa_activation"])
    bare_cpu = statistics.median(x["bare_cpu"] for rs in reps.values() for x in rs)
    return {
        "herten_seconds": max(v["seconds"] for v in per_model.values()),
        "herten_ratio_vs_mesa_activation": per_model[worst]["ratio_vs_mesa_activation"],
        "herten_ratio_spread": per_model[worst]["ratio_spread"],
        "herten_ratio_worst_model": worst,
        "herten_ratio_incl_startup": max(v["ratio_incl_startup"] for v in per_model.values()),
        "us_per_resident_month": max(v["us_per_resident_month"] for v in per_model.values()),
        "startup_seconds": max(v["startup_seconds"] for v in per_model.values()),
        "startup_share_of_run": round(max(v["startup_seconds"] / v["seconds"]
                                          for v in per_model.values()), 3),
        "mesa_activation_cpu_seconds": round(bare_cpu, 3),
        "mesa_activation_agents": n_agents,
        "mesa_activation_us_per_agent_step": round(bare_cpu / STEPS / n_agents * 1e6, 4),
        "herten_floor_ratio_vs_mesa_activation": spread(
            [v["floor_ratio_vs_mesa_activation"] for v in per_model.values()]),
        "herten_marginal_us_per_resident_month": spread(
            [v["marginal_us_per_resident_month"] for v in per_model.values()]),
        "repetitions": repeat,
        "clock": "CPU time of this process (time.process_time)",
        "herten_models": per_model,
        "peak_gib": round(peak_gib(), 3),
    }


# ------------------------------------------------------------------------------ the city
def city_worker(path: Path, years: int) -> None:
    """Run in a fresh process: print the run's wall and CPU seconds and peak memory as JSON."""
    from quartiersim.studies.runner import run

    w0, c0 = time.perf_counter(), time.process_time()
    run(path, seed=0, years=years)
    print(json.dumps({"city_seconds": round(time.perf_counter() - w0, 1),
                      "city_cpu_seconds": round(time.process_time() - c0, 1),
                      "city_peak_gib": round(peak_gib(), 3)}), flush=True)


def city_ratio_worker(path: Path, years: int, blocks: int) -> None:
    """Run in a fresh process: the city's months alternated with the bare loop over as
    many agents; the ratio per block of consecutive months, as JSON."""
    sc = load_scenario(path)
    m = QuarterModel(sc, rng=0, years=years)
    bare = bare_model(len(m.agents))
    t = alternate(m, bare, 12 * years)
    size = len(t["model"]) // blocks
    ratios = [sum(t["model"][b * size:(b + 1) * size]) / sum(t["bare"][b * size:(b + 1) * size])
              for b in range(blocks)]
    print(json.dumps({"city_ratio_vs_mesa_activation": round(statistics.median(ratios), 3),
                      "city_ratio_spread": spread(ratios),
                      "city_ratio_blocks": [round(r, 3) for r in ratios],
                      "city_months_per_block": size,
                      "city_agents": len(bare.agents),
                      "city_steps_cpu_seconds": round(sum(t["model"]), 1),
                      "city_mesa_activation_cpu_seconds": round(sum(t["bare"]), 1)}), flush=True)


def _worker_json(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def city(repeat: int, path: Path = CITY, years: int = YEARS) -> dict:
    res = _worker_json("--city-worker", str(path), "--years", str(years))
    res.update(_worker_json("--city-ratio-worker", str(path), "--years", str(years),
                            "--repeat", str(repeat)))
    res.update(large_city(years=years))
    return res


LARGE_CITY = 1_500_000  # residents (issue 15, item 4: < 3 minutes and < 4 GiB on one core)


def large_city(residents: int = LARGE_CITY, years: int = YEARS) -> dict:
    """One ``years`` run of a synthetic city of ``residents`` (``quartiersim synth``, one
    quarter per ~9,700 residents as scenarios/city-600k.toml) in a fresh process:
    ``city_1500k_seconds`` (wall), ``city_1500k_cpu_seconds``, ``city_1500k_peak_gib``,
    and the machine's load when it ended (``city_1500k_load``)."""
    import math
    import tempfile

    from quartiersim.studies.synth import synthesize

    key = f"city_{residents // 1000}k"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "city.toml"
        path.write_text(synthesize(residents, math.ceil(residents / (600_000 / 62))),
                        encoding="utf-8")
        r = _worker_json("--city-worker", str(path), "--years", str(years))
    return {f"{key}_seconds": r["city_seconds"], f"{key}_cpu_seconds": r["city_cpu_seconds"],
            f"{key}_peak_gib": r["city_peak_gib"], f"{key}_load": round(os.getloadavg()[0], 2)}


# ------------------------------------------------------------------------------ pools
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


WHATIF_ARGS = ("--model", "coproduction", "--set", "municipality.voluntary_budget_eur_per_year=550000")


SEEDS = 10  # seeds per model in the measured compare and what-if


def run_cpu(cooperation: str | None, overrides: dict | None = None,
            seeds: int = SEEDS) -> list[float]:
    """CPU seconds of each 10-year Herten run the commands make, seeds ``0..seeds-1``, in
    this (warm) process: the runs' own cost, as ``runner.run`` spends it. (Seed 0 alone,
    as measured before, was 10-15 % cheaper than the mean over seeds 0-9.)"""
    from quartiersim.studies.runner import run

    times = []
    for seed in range(seeds):
        c0 = cpu()
        run(HERTEN, model=cooperation, seed=seed, years=YEARS, overrides=overrides)
        times.append(cpu() - c0)
    return times


def _children() -> set[int]:
    """Pids of this process's live children (Linux /proc)."""
    me, out = str(os.getpid()), set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[1] == me:
                out.add(int(entry))
    return out


def _adopt_orphans() -> None:
    """Make this process the reaper of its orphaned descendants (Linux
    PR_SET_CHILD_SUBREAPER): the command's forkserver outlives the command by a moment,
    and its CPU time (with its workers') is counted once it is reaped here."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)


COMMAND_REPEAT = 3  # cold commands per measurement; the median counts


def cli_command(args: list[str], ideal: float, name: str, repeat: int = COMMAND_REPEAT) -> dict:
    """``repeat`` cold runs of a ``quartiersim`` command (a fresh process each): the median
    run by wall time, its CPU time with every process it started (its forkserver and
    workers), and ``*_vs_ideal_spread``, the least and greatest wall / ideal."""
    runs = [_cli_command_once(args, ideal, name) for _ in range(repeat)]
    runs.sort(key=lambda r: r[f"{name}_seconds"])
    res = runs[len(runs) // 2]
    res[f"{name}_vs_ideal_spread"] = [runs[0][f"{name}_vs_ideal"], runs[-1][f"{name}_vs_ideal"]]
    return res


def _cli_command_once(args: list[str], ideal: float, name: str) -> dict:
    exe = Path(sys.executable).with_name("quartiersim")
    _adopt_orphans()
    before = _children()
    c0, w0 = children_cpu(), time.perf_counter()
    subprocess.run([str(exe), *args, "--json"], check=True, capture_output=True)
    wall = time.perf_counter() - w0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # reap the orphans (they end at their parent's end)
        left = _children() - before
        for pid in left:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        if not _children() - before:
            break
        time.sleep(0.05)
    used = children_cpu() - c0
    return {f"{name}_seconds": round(wall, 2), f"{name}_ideal_seconds": round(ideal, 2),
            f"{name}_vs_ideal": round(wall / ideal, 3), f"{name}_cpu_seconds": round(used, 2),
            # the work the command adds to its runs (imports, pool, aggregation), and how
            # many cores it kept busy on average (2 on two free cores)
            f"{name}_cpu_vs_runs": round(used / (ideal * IDEAL_WORKERS), 3),
            f"{name}_cores_used": round(used / wall, 2)}


IDEAL_WORKERS = 2


def ideal_commands(workers: int = IDEAL_WORKERS) -> dict:
    """``quartiersim compare`` (60 runs) and ``quartiersim whatif`` (20 runs) of Herten,
    cold, against runs x single-run CPU / workers (each single run measured here, in a
    warm process, as ``runner.run`` does it: start-up, spin-up, months, summary)."""
    run_cpu(None, seeds=1)  # warm-up: first-call costs are not a run's
    run_cpu_of = {name: run_cpu(name) for name in COOPERATION_MODELS}
    compare_ideal = sum(sum(c) for c in run_cpu_of.values()) / workers
    variant = run_cpu("coproduction", {"municipality.voluntary_budget_eur_per_year": 550000})
    baseline = run_cpu_of[load_scenario(HERTEN).default_cooperation]  # the same runs
    whatif_ideal = (sum(baseline) + sum(variant)) / workers
    res = cli_command(["compare", str(HERTEN), "--workers", str(workers)], compare_ideal, "compare")
    res.update(cli_command(["whatif", str(HERTEN), *WHATIF_ARGS, "--seeds", "10", "--workers",
                            str(workers)], whatif_ideal, "whatif"))
    res["ideal_workers"] = workers
    # mean over the seeds; ``*_spread``: the cheapest and the dearest seed
    res["single_run_cpu_seconds"] = {**{k: round(statistics.mean(v), 3)
                                        for k, v in run_cpu_of.items()},
                                     "whatif_baseline": round(statistics.mean(baseline), 3),
                                     "whatif_variant": round(statistics.mean(variant), 3)}
    res["single_run_cpu_spread"] = {k: spread(v) for k, v in
                                    {**run_cpu_of, "whatif_variant": variant}.items()}
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--city", action="store_true", help="also run the 600k- and the 1.5-million-resident city")
    p.add_argument("--pool", action="store_true",
                   help="also measure the process pool, compare and what-if")
    p.add_argument("--pool-years", type=int, default=10)
    p.add_argument("--commands-only", action="store_true",
                   help="only compare and what-if against their ideal (what --pool adds)")
    p.add_argument("--repeat", type=int, default=MIN_REPEAT,
                   help=f"repetitions, >= {MIN_REPEAT} (the median counts)")
    p.add_argument("--city-worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--city-ratio-worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--years", type=int, default=YEARS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.city_worker:
        city_worker(Path(args.city_worker), args.years)
        return 0
    if args.city_ratio_worker:
        city_ratio_worker(Path(args.city_ratio_worker), args.years, args.repeat)
        return 0
    if args.repeat < MIN_REPEAT:
        p.error(f"--repeat {args.repeat}: must be >= {MIN_REPEAT} (a median of fewer does not hold)")
    load_before = os.getloadavg()
    if args.commands_only:
        res = ideal_commands()
        res["load_average"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
        print(json.dumps(res, indent=1))
        return 0
    res = herten(args.repeat)
    if args.city:
        res.update(city(args.repeat))
    if args.pool:
        res.update(pool(args.pool_years))
        res.update(ideal_commands())
    # machine load (1-, 5-, 15-minute averages, both cores): wall-clock figures depend on it
    res["load_average"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    res["load_average_before"] = [round(x, 2) for x in load_before]
    if args.json:
        print(json.dumps(res, indent=1))
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
