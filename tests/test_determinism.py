"""Same seed, same result (also in another process); different seeds differ."""

from __future__ import annotations

import json
import subprocess
import sys

import quartiersim as qs

from conftest import HERTEN, ROOT


def test_same_seed_identical_summary_and_series():
    a = qs.run(HERTEN, model="coproduction", seed=7, years=2)
    b = qs.run(HERTEN, model="coproduction", seed=7, years=2)
    assert a.summary == b.summary
    assert a.series.equals(b.series)


def test_different_seeds_differ():
    a = qs.run(HERTEN, model="municipal", seed=1, years=2).summary
    b = qs.run(HERTEN, model="municipal", seed=2, years=2).summary
    assert a["served_hours"] != b["served_hours"]
    assert a["need_hours"] != b["need_hours"]


def test_same_seed_in_a_separate_process():
    here = qs.run(HERTEN, model="municipal", seed=11, years=1).summary
    r = subprocess.run([sys.executable, "-m", "quartiersim.cli", "run", str(HERTEN), "--model",
                        "municipal", "--seed", "11", "--years", "1", "--json"],
                       capture_output=True, text=True, cwd=ROOT, timeout=120, check=True)
    there = json.loads(r.stdout)
    assert there == json.loads(json.dumps(here, default=float))


def test_process_pool_equals_serial():
    jobs = [(qs.load_scenario(HERTEN), "municipal", None, s, 1) for s in (1, 2)]
    from quartiersim.studies.runner import run_many

    pooled = run_many(jobs, workers=2, progress=False)
    serial = run_many(jobs, workers=1, progress=False)
    assert pooled == serial
