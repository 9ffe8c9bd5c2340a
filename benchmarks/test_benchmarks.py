"""pytest-benchmark timings (issue #6): ``pytest benchmarks/ --benchmark-only``.

Not part of the test suite (``testpaths = tests``); timings are reported, not asserted.
The headline figures (ratio to Mesa's activation loop, city run, pool speed-up) come from
``benchmarks/bench.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from quartiersim.sim.cooperation import COOPERATION_MODELS
from quartiersim.sim.model import QuarterModel
from quartiersim.studies.runner import run
from quartiersim.config.loading import load_scenario

pytest.importorskip("pytest_benchmark")

HERTEN = Path(__file__).resolve().parents[1] / "scenarios" / "herten-innenstadt.toml"


@pytest.mark.parametrize("model", list(COOPERATION_MODELS))
def test_herten_10_years(benchmark, model: str) -> None:
    sc = load_scenario(HERTEN)
    result = benchmark.pedantic(run, args=(sc,), kwargs={"model": model, "years": 10},
                                rounds=3, iterations=1)
    assert result.summary["years"] == 10


def test_herten_startup(benchmark) -> None:
    """Scenario load, grid, distances, population and network."""
    m = benchmark.pedantic(lambda: QuarterModel(load_scenario(HERTEN), rng=0), rounds=5)
    assert len(m.agents) > 8000


def test_herten_one_month(benchmark) -> None:
    m = QuarterModel(load_scenario(HERTEN), cooperation="coproduction", rng=0, years=30)
    benchmark.pedantic(m.step, rounds=100, iterations=1)
