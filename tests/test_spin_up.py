"""The spin-up and a stationary composition (ODD 5 "Initialization", 7.1): the horizon
starts from the status quo's steady state, with the same draws for every cooperation
model of a seed; newcomers keep the age and status composition unless a trend is
declared."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import HERTEN

import quartiersim as qs
from quartiersim.sim.model import QuarterModel
from quartiersim.sim.processes import demography

#: Herten without its population trend and without a consolidation regime, so that the
#: spin-up and a run from the initialised population see the same months.
STILL = {"population.population_change_per_year": 0.0, "municipality.consolidation_regime": False}


def _state(m: QuarterModel) -> dict[str, np.ndarray]:
    a = m.residents
    return {"alive": a.alive.copy(), "age": a.age.copy(), "need": a.need_hours.copy(),
            "cases": a.case_months_left.copy(), "transfer": a.transfer.copy(),
            "volunteer_hours": a.volunteer_hours.copy(), "aware": a.aware.copy()}


def test_a_spin_up_is_months_of_the_status_quo_from_the_initialised_population():
    sc = qs.load_scenario(HERTEN, STILL)
    spun = QuarterModel(sc, rng=4, years=1, spin_up_months=12)
    plain = QuarterModel(sc, rng=4, years=1, spin_up_months=0)
    plain.run_months(12)
    for key, value in _state(plain).items():
        assert np.array_equal(_state(spun)[key], value), key


def test_a_zero_month_spin_up_is_the_initialised_population():
    sc = qs.load_scenario(HERTEN)
    zero = QuarterModel(sc, rng=4, years=1, spin_up_months=0)
    key = QuarterModel(sc.with_overrides({"spin_up.months": 0}), rng=4, years=1)
    assert zero.steps == key.steps == 0
    for name, value in _state(zero).items():
        assert np.array_equal(_state(key)[name], value), name
    assert not zero.residents.case_months_left.any()  # no running case at the start
    zero.run_months(1)
    assert zero.datacollector.get_model_vars_dataframe()["active_mandatory_cases"].iloc[0] == 0


def test_after_the_spin_up_the_first_month_has_running_cases_and_the_horizon_starts_anew():
    res = qs.run(HERTEN, seed=2, years=1, keep_model=True, keep_bookings=True)
    first = res.series.iloc[0]
    assert first["month"] == 1 and first["year"] == 2020
    assert first["active_mandatory_cases"] > 20
    assert res.series["new_mandatory_cases"].iloc[:3].sum() > 0
    assert len(res.series) == 12
    m = res.model
    assert m.spin_up_months == 48
    # the ledger counts only the horizon: 12 months of bookings, year 0 only
    assert {e.month for e in m.ledger.entries} == set(range(1, 13))
    assert m.ledger.totals[1:].sum() == 0.0
    assert [y.year for y in m.municipality.history] == [2020]
    assert res.summary["municipal_cost_voluntary_eur"] == pytest.approx(450_000.0)


def test_every_cooperation_model_of_a_seed_starts_from_the_same_spin_up():
    sc = qs.load_scenario(HERTEN)
    states = [_state(QuarterModel(sc, cooperation=c, rng=7, years=1, spin_up_months=24))
              for c in ("municipal", "coproduction", "integration_centre")]
    for other in states[1:]:
        for key, value in states[0].items():
            assert np.array_equal(other[key], value), key


def test_the_spin_up_runs_under_the_named_status_quo(tiny_raw, write_scenario):
    tiny_raw["spin_up"] = {"months": 12, "cooperation": "nowhere"}
    with pytest.raises(qs.ScenarioError, match="nowhere"):
        qs.load_scenario(write_scenario(tiny_raw))
    tiny_raw["spin_up"] = {"months": -1}
    with pytest.raises(qs.ScenarioError, match=r"'spin_up\.months' = -1: must be >= 0"):
        qs.load_scenario(write_scenario(tiny_raw))


@pytest.mark.parametrize("seed", [1, 2])
def test_the_need_stock_and_running_cases_are_flat_after_the_spin_up(seed):
    res = qs.run(HERTEN, seed=seed, years=4)
    by_year = res.series.groupby("year")
    need = by_year["need_hours"].mean()
    cases = by_year["active_mandatory_cases"].mean()
    # was 7,254 -> ~5,140 h (-29 %) from the raw start; a single seed's yearly means now
    # vary by up to ~9 % (trust and staff add feedback), with a 96-month spin-up as much:
    # noise, not a trend (4 seeds: 4,259 -> 4,143 h after 48 months, 4,218 -> 4,144 after 96)
    assert need.max() / need.min() < 1.12
    assert cases.min() > 0.7 * cases.max()
    # without the spin-up: the first year's need stock is far above the later ones
    raw = qs.run(HERTEN, seed=seed, years=4, overrides={"spin_up.months": 0})
    raw_need = raw.series.groupby("year")["need_hours"].mean()
    assert raw_need.iloc[0] > 1.15 * raw_need.iloc[-1]


def _shares(m: QuarterModel) -> tuple[float, float, float]:
    a = m.residents
    alive = a.alive
    return (float((a.age[alive] >= 65).mean()), float(a.transfer[alive].mean()),
            float(a.migration[alive].mean()))


def test_the_composition_is_stationary_without_a_declared_trend():
    m = QuarterModel(qs.load_scenario(HERTEN), rng=3, years=10)
    start = _shares(m)
    for _ in range(10):
        m.run_months(12)
        now = _shares(m)
        assert now == pytest.approx(start, abs=0.015)  # was 0.229 -> ~0.33 (65+), 0.20 -> 0.27


def test_a_declared_ageing_trend_moves_the_65_plus_share():
    sc = qs.load_scenario(HERTEN, {"population.share_65_plus_change_per_year": 0.01})
    m = QuarterModel(sc, rng=3, years=10)
    start = _shares(m)[0]
    m.run_months(120)
    assert _shares(m)[0] == pytest.approx(start + 0.10, abs=0.015)
    assert demography.target_band_shares(m)[2] == pytest.approx(
        m.start_composition.band_share[2] + 0.10)


def test_newcomers_fill_the_age_band_that_is_short():
    m = QuarterModel(qs.load_scenario(HERTEN), rng=3, years=1, spin_up_months=0)
    a = m.residents
    old = np.flatnonzero(a.alive & (a.age >= 65))
    demography.remove_residents(m, old[:200])  # 200 of the 65+ leave
    ages = demography.stationary_ages(m, 200, births=0)
    assert (ages >= 65).mean() > 0.9
    assert set(np.round(ages[ages >= 65], 6)) <= set(np.round(m.start_composition.ages_by_band[2], 6))
