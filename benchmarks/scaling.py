"""Scaling of one 10-year run with city size: seconds and peak GiB (issues #6, #15).

    python benchmarks/scaling.py [--sizes 1000 10000 100000 600000 1200000 1500000] [--years 10]
        [--out docs/scaling.png] [--json benchmarks/scaling.json]

Each size is a synthetic city (:mod:`quartiersim.studies.synth`, one quarter per about 9,700
residents, as in scenarios/city-600k.toml) run once under the default cooperation model
in a fresh process (``bench.py --city-worker``), so every peak memory is its own: its wall and CPU seconds (the run, without
imports and process exit), peak GiB and the machine's load average (1 minute) when it
ended. Writes the figure with matplotlib and the measurements as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from quartiersim.studies.synth import synthesize

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).with_name("bench.py")
RESIDENTS_PER_QUARTER = 600_000 / 62  # as scenarios/city-600k.toml


def measure(residents: int, years: int) -> dict:
    quarters = max(1, math.ceil(residents / RESIDENTS_PER_QUARTER))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "city.toml"
        path.write_text(synthesize(residents, quarters), encoding="utf-8")
        out = subprocess.run([sys.executable, str(BENCH), "--city-worker", str(path),
                              "--years", str(years)], check=True, capture_output=True, text=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return {"residents": residents, "quarters": quarters, "seconds": r["city_seconds"],
            "cpu_seconds": r.get("city_cpu_seconds"), "peak_gib": r["city_peak_gib"],
            "load": round(os.getloadavg()[0], 2)}


def plot(rows: list[dict], out: Path, years: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [r["residents"] for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    ax.loglog(n, [r["seconds"] for r in rows], "o-", color="tab:blue", label="run time (s, wall)")
    if all(r.get("cpu_seconds") for r in rows):
        ax.loglog(n, [r["cpu_seconds"] for r in rows], ".:", color="tab:blue", alpha=0.6,
                  label="CPU time (s)")
    ax.axhline(180, color="tab:blue", ls=":", lw=1, label="target 3 min")
    ax.set_xlabel("residents")
    ax.set_ylabel(f"seconds for a {years}-year run", color="tab:blue")
    ax2 = ax.twinx()
    ax2.loglog(n, [r["peak_gib"] for r in rows], "s--", color="tab:red", label="peak memory (GiB)")
    ax2.axhline(4, color="tab:red", ls=":", lw=1, label="target 4 GiB")
    ax2.set_ylabel("peak memory (GiB)", color="tab:red")
    ax.set_ylim(0.1, 1000)  # the 3-minute and 4-GiB lines at different heights
    ax2.set_ylim(0.1, 40)
    for r in rows:
        ax.annotate(f"{r['seconds']:.0f} s" if r["seconds"] >= 10 else f"{r['seconds']:.1f} s",
                    (r["residents"], r["seconds"]), textcoords="offset points", xytext=(-10, 8),
                    fontsize=8, color="tab:blue")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="upper left", fontsize=8)
    ax.set_title("quartiersim: one run on one core, synthetic cities")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000, 600_000, 1_200_000, 1_500_000])
    p.add_argument("--years", type=int, default=10)
    p.add_argument("--out", default=str(ROOT / "docs" / "scaling.png"))
    p.add_argument("--json", default=str(ROOT / "benchmarks" / "scaling.json"))
    p.add_argument("--replot", action="store_true", help="only redraw from the JSON file")
    args = p.parse_args(argv)
    if args.replot:
        plot(json.loads(Path(args.json).read_text()), Path(args.out), args.years)
        return 0
    rows = []
    for n in args.sizes:
        rows.append(measure(n, args.years))
        print(json.dumps(rows[-1]), flush=True)
    Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    plot(rows, Path(args.out), args.years)
    print(f"written: {args.out}, {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
