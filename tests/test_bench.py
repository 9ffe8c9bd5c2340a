"""benchmarks/bench.py's floor figures (issue 15): the arithmetic and the override."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("quartiersim_bench", ROOT / "benchmarks" / "bench.py")
bench = importlib.util.module_from_spec(_spec)
sys.modules["quartiersim_bench"] = bench
_spec.loader.exec_module(bench)


def test_floor_figures_by_hand():
    full = [{"steps_cpu": 0.60, "bare_cpu": 0.50, "resident_months": 1_050_000.0},
            {"steps_cpu": 0.70, "bare_cpu": 0.55, "resident_months": 1_050_000.0},
            {"steps_cpu": 0.65, "bare_cpu": 0.60, "resident_months": 1_050_000.0}]
    floor = [{"steps_cpu": 0.20, "bare_cpu": 0.50, "resident_months": 50_000.0},
             {"steps_cpu": 0.30, "bare_cpu": 0.50, "resident_months": 50_000.0},
             {"steps_cpu": 0.25, "bare_cpu": 0.50, "resident_months": 50_000.0}]
    got = bench.floor_figures(full, floor)
    assert got["floor_ratio_vs_mesa_activation"] == 0.5  # median of 0.4, 0.6, 0.5
    assert got["floor_ratio_spread"] == [0.4, 0.6]
    # (0.60 - 0.20) / 1e6 resident-months = 0.4 us, 0.4 us, 0.4 us
    assert got["marginal_us_per_resident_month"] == pytest.approx(0.4)


def test_floor_figures_need_one_floor_run_per_full_run():
    with pytest.raises(ValueError):
        bench.floor_figures([{"steps_cpu": 1.0, "resident_months": 2.0}], [])


def test_the_floor_run_is_herten_with_100_residents():
    bare = bench.bare_model(50)
    rep = bench.one_repetition(bench.HERTEN, "coproduction", bare, years=1,
                               overrides=bench.FLOOR_OVERRIDES)
    assert rep["agents"] == 50  # the bare loop passed in is the one measured against
    assert 12 * 90 <= rep["resident_months"] <= 12 * 110
    assert rep["steps_cpu"] > 0 and rep["bare_cpu"] > 0
