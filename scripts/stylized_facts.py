"""The seeds' stylized facts on the real quarters, as yearly series (issue 10).

Runs Herten and Wetter-Grundschöttel (and Wuppertal with ``--all``) under the financing
models ``budget``, ``grant`` and ``grant_continued`` for the given cooperation model and
seeds (common random numbers: the same seeds for each financing model) and prints, per
calendar year, the mean over seeds of: employed staff (FTE), their productivity,
coverage, mandatory cases started, volunteers, open carriers, carriers' reserves (kEUR)
and the quarter's voluntary budget (kEUR). Then the fiscal stress test of each quarter
(unshocked vs shocked): voluntary budget and mandatory cases started by year.

Usage::

    python scripts/stylized_facts.py [--seeds 5] [--model coproduction] [--all] [--out FILE.md]

The figures in the README ("What changed in model v2") and in docs/ODD.md come from this
script; it writes Markdown tables to ``--out`` (default: print only).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from quartiersim.studies.pool import run_jobs  # noqa: E402

QUARTERS = {"Herten": "herten-innenstadt.toml", "Wetter": "wetter-grundschoettel.toml",
            "Wuppertal": "wuppertal-oberbarmen.toml"}
FINANCING = ("budget", "grant", "grant_continued")
COLUMNS = {"staff_fte": "staff FTE", "staff_productivity": "productivity", "coverage": "coverage",
           "new_mandatory_cases": "cases started", "volunteers": "volunteers",
           "carriers_open": "carriers open", "carrier_reserves_eur": "reserves kEUR",
           "voluntary_budget_eur": "budget kEUR"}


def yearly(job: tuple[str, str, str, int, int]) -> pd.DataFrame:
    """One run's yearly series: means of the month (sums for cases started), year-end
    values for stocks."""
    from quartiersim.studies.runner import run

    path, model, financing, seed, years = job
    s = run(path, model=model, financing=financing, seed=seed, years=years).series
    g = s.groupby("year")
    out = g[["staff_fte", "staff_productivity", "coverage", "volunteers", "carriers_open",
             "carrier_reserves_eur", "voluntary_budget_eur"]].mean()
    out["new_mandatory_cases"] = g["new_mandatory_cases"].sum()
    out["carriers_open"] = g["carriers_open"].last()
    out["carrier_reserves_eur"] = g["carrier_reserves_eur"].last() / 1e3
    out["voluntary_budget_eur"] = out["voluntary_budget_eur"] / 1e3
    return out


def stress(job: tuple[str, str, int, int]) -> dict:
    from quartiersim.studies.stress import stress_test

    path, model, seed, years = job
    return stress_test(path, model=model, seed=seed, years=years)


def number(v: object) -> str:
    """3 significant digits below 100, whole numbers with a thousands separator above."""
    if not isinstance(v, float):
        return str(v)
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def markdown(df: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (numbers by :func:`number`)."""
    head = [str(df.index.name or "")] + [str(c) for c in df.columns]
    rows = [[str(i)] + [number(v) for v in r]
            for i, r in zip(df.index, df.itertuples(index=False))]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows])


def table(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames).groupby(level=0).mean()[list(COLUMNS)].rename(columns=COLUMNS)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--model", default="coproduction")
    ap.add_argument("--all", action="store_true", help="Wuppertal too")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    quarters = list(QUARTERS) if args.all else ["Herten", "Wetter"]
    jobs = [(str(ROOT / "scenarios" / QUARTERS[q]), args.model, f, s, args.years)
            for q in quarters for f in FINANCING for s in range(args.seeds)]
    results = run_jobs(yearly, jobs, workers=args.workers, progress=True, desc="runs")
    lines = [f"# Stylized facts: {args.model}, {args.seeds} seeds x {args.years} years", "",
             "Made by `python scripts/stylized_facts.py "
             + " ".join(a for a in (argv if argv is not None else sys.argv[1:]) if a != "--out"
                        and not a.endswith(".md")) + "`. Means over seeds by calendar year "
             "(the same seeds for each financing model: common random numbers). Staff FTE, "
             "productivity, coverage and volunteers are means of the year's months; cases "
             "started the year's sum; carriers open and reserves at the year's end; budget "
             "the quarter's voluntary budget. `grant` ends mid-horizon (Herten: after 2024); "
             "`grant_continued` continues it in the regular budget. The first year of a "
             "cooperation model other than the status quo includes hiring its new posts "
             "(vacancies fill with a lag; new staff start at half productivity). "
             "How to read these against the seeds' claims: README, \"What changed in model "
             "v2 and why\"; docs/ODD.md, section 11.1.", ""]
    i = 0
    for q in quarters:
        for f in FINANCING:
            t = table(results[i:i + args.seeds])
            i += args.seeds
            lines += [f"## {q}, `{f}`", "", markdown(t), ""]
    stress_jobs = [(str(ROOT / "scenarios" / QUARTERS[q]), args.model, s, args.years)
                   for q in quarters for s in range(args.seeds)]
    st = run_jobs(stress, stress_jobs, workers=args.workers, progress=True, desc="stress")
    for k, q in enumerate(quarters):
        rows = st[k * args.seeds:(k + 1) * args.seeds]
        data = {}
        for run in ("unshocked", "shocked"):
            data[f"{run} budget kEUR"] = pd.DataFrame(
                [r[run]["voluntary_budget_eur_by_year"] for r in rows]).mean() / 1e3
            data[f"{run} cases started"] = pd.DataFrame(
                [r[run]["mandatory_cases_by_year"] for r in rows]).mean()
        lines += [f"## {q}, stress test (`quartiersim stress`)", "",
                  markdown(pd.DataFrame(data).rename_axis("year")), ""]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
