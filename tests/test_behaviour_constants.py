"""The behavioural constants that moved into the schema ([demography], [carrier_behaviour],
volunteering.min_age, volunteering.resident_run_eur_per_hour, access.limited_from_age,
needs.unmet_below_served_share): each one changes what the model does in the expected
direction, in the tiny test quarter (tests/data/tiny-quarter.toml); and the named
processes around them (cross-referral, grant co-financing) in isolation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from quartiersim.config.domains import AccessClass, CofinancingRoute, Payer
from quartiersim.config.loading import load_scenario
from quartiersim.errors import ScenarioError
from quartiersim.sim.financing import GrantProgramme
from quartiersim.sim.model import QuarterModel
from quartiersim.sim.processes import demography, resolution
from quartiersim.sim.processes.matching import access_classes, cross_refer

TINY = Path(__file__).parent / "data" / "tiny-quarter.toml"

#: Nobody dies, moves, is born or arrives unless a test says so.
STILL = {"population.mortality_at_80_per_year": 0.0, "population.move_out_rate_per_year": 0.0,
         "population.births_per_1000_per_year": 0.0, "population.population_change_per_year": 0.0}


def _model(overrides: dict[str, Any] | None = None, seed: int = 1, **kw: Any) -> QuarterModel:
    return QuarterModel(load_scenario(TINY, overrides), rng=seed, **kw)


def _replaced(m: QuarterModel, months: int) -> np.ndarray:
    """Run demography alone for ``months``; the slots (of the residents at the start)
    whose resident left (died or moved out: another Resident agent lives there or none)."""
    before = dict(m.resident_of_slot)
    for _ in range(months):
        demography.demography(m)
    return np.array([s for s, r in before.items() if m.resident_of_slot.get(s) is not r], int)


def _set_ages(m: QuarterModel, ages: np.ndarray) -> None:
    alive = np.flatnonzero(m.residents.alive)
    m.residents.age[alive] = np.resize(ages, len(alive))


# --------------------------------------------------------------------------- [demography]
def _deaths_at_60(**demo: float) -> int:
    m = _model({**STILL, "population.residents": 2000, "population.mortality_at_80_per_year": 0.5,
                **{f"demography.{k}": v for k, v in demo.items()}})
    _set_ages(m, np.array([60.0]))
    return len(_replaced(m, 6))


def test_gompertz_doubling_time_and_reference_age_set_deaths():
    default = _deaths_at_60()
    # q(60) = 0.5 x 2^((60 - ref) / doubling): 0.075 a year by default, 0.25 with a
    # doubling time of 20 years, 0.011 with the reference age at 100
    assert _deaths_at_60(mortality_doubling_years=20.0) > 2.5 * default
    assert _deaths_at_60(mortality_reference_age=100.0) < 0.5 * default
    assert default > 20


BANDS = {"under_18": 10.0, "18_34": 25.0, "35_64": 50.0, "65_plus": 70.0}


@pytest.mark.parametrize("band", list(BANDS))
def test_move_out_factor_raises_the_band_share_of_movers(band):
    other = "35_64" if band != "35_64" else "18_34"
    ages = np.array([BANDS[band], BANDS[other]])  # half in the band, half in another

    def band_share(factor: float) -> float:
        m = _model({**STILL, "population.residents": 2000, "population.move_out_rate_per_year": 0.6,
                    f"demography.move_out_factor_{band}": factor,
                    f"demography.move_out_factor_{other}": 1.0})
        _set_ages(m, ages)
        start_age = m.residents.age.copy()
        moved = _replaced(m, 3)
        return float(np.mean(start_age[moved] == BANDS[band]))

    low, high = band_share(0.25), band_share(4.0)
    assert low < 0.3 < 0.7 < high  # 0.25 / 1.25 = 0.2 and 4 / 5 = 0.8 of the movers


def _newcomer_ages(**demo: float) -> np.ndarray:
    """Ages of the residents who arrive in two months of strong growth (no births,
    deaths or moves: every arrival is a newcomer with a drawn age)."""
    m = _model({**STILL, "population.residents": 3000, "population.population_change_per_year": 0.2,
                "population.composition": "newcomer_shares",
                **{f"demography.{k}": v for k, v in demo.items()}})
    before = dict(m.resident_of_slot)
    for _ in range(2):
        demography.demography(m)
    new = [s for s, r in m.resident_of_slot.items() if before.get(s) is not r]
    assert len(new) > 10
    return m.residents.age[new]


NEWCOMER_BANDS = {"under_18": (0, 18), "18_49": (18, 50), "50_64": (50, 65), "65_plus": (65, 90)}


@pytest.mark.parametrize("band", list(NEWCOMER_BANDS))
def test_newcomer_share_puts_newcomers_in_the_band(band):
    shares = {f"newcomer_share_{b}": float(b == band) for b in NEWCOMER_BANDS}
    lo, hi = NEWCOMER_BANDS[band]
    ages = _newcomer_ages(**shares)
    assert (ages >= lo).all() and (ages < hi + 2 / 12).all()  # aged at most two months
    default = _newcomer_ages()
    assert ((default >= lo) & (default < hi + 2 / 12)).mean() < 1.0


def test_newcomer_max_age_caps_the_oldest_newcomers():
    old = {f"newcomer_share_{b}": float(b == "65_plus") for b in NEWCOMER_BANDS}
    assert _newcomer_ages(**old).max() > 75.0
    assert _newcomer_ages(**old, newcomer_max_age=70.0).max() < 70.0 + 2 / 12


def test_newcomer_shares_must_sum_to_one():
    with pytest.raises(ScenarioError, match="the four shares must sum to 1"):
        load_scenario(TINY, {"demography.newcomer_share_under_18": 0.5})


def _initial_ages(**demo: float) -> np.ndarray:
    m = _model({"population.share_65_plus": 1.0, "population.share_under_18": 0.0,
                "population.residents": 2000, **{f"demography.{k}": v for k, v in demo.items()}})
    return m.residents.age[m.residents.alive]


def test_initial_ages_of_the_old_follow_mean_excess_and_cap():
    default = _initial_ages()
    assert default.mean() == pytest.approx(75.0, abs=1.0)  # 65 + 10 (the cap at 100 is far)
    assert _initial_ages(initial_65_plus_mean_excess_years=2.0).mean() == pytest.approx(67.0, abs=0.5)
    assert default.max() > 90.0
    assert _initial_ages(initial_max_age=80.0).max() == 80.0


@pytest.mark.parametrize("key,young", [("transfer_factor_under_18", True),
                                       ("transfer_factor_65_plus", False)])
def test_transfer_factor_raises_the_band_share_of_recipients(key, young):
    def band_share(factor: float) -> float:
        m = _model({"population.residents": 4000, "population.share_transfer_recipients": 0.2,
                    "population.share_under_18": 0.3, "population.share_65_plus": 0.3,
                    f"demography.{key}": factor})
        a = m.residents
        band = a.alive & ((a.age < 18) if young else (a.age >= 65))
        return float(a.transfer[band].mean())

    assert band_share(2.5) > band_share(0.5) + 0.2


# --------------------------------------------------------------------------- volunteering
def test_volunteering_min_age_sets_the_youngest_volunteers():
    def volunteer_ages(min_age: float) -> np.ndarray:
        m = _model({"population.residents": 2000, "volunteering.rate": 0.3,
                    "volunteering.activation_probability_per_month": 0.2,
                    "volunteering.min_age": min_age})
        m.run_months(2)  # set-up and activation
        return m.residents.age[m.residents.volunteer_hours > 0]

    assert volunteer_ages(14.0).min() < 20.0
    assert volunteer_ages(40.0).min() >= 40.0


def test_resident_run_price_sets_self_run_hours():
    fund = {"financing.fund.municipal_budget": {}, "financing.fund.neighbourhood_fund": {}}

    def self_run(price: float) -> float:
        m = _model({**fund, "volunteering.resident_run_eur_per_hour": price}, financing="fund")
        return float(m.cooperation.self_run_hours.sum())

    # 300 residents x 5 EUR a year / 12 months / price
    assert self_run(5.0) == pytest.approx(300 * 5.0 / 12 / 5.0)
    assert self_run(10.0) == pytest.approx(self_run(5.0) / 2)


# --------------------------------------------------------------------------- access, needs
def test_limited_from_age_sets_who_gets_the_short_decay_length():
    def served_at_80(limited_from_age: float) -> float:
        m = _model({"access.decay_length_limited_m": 1.0, "access.limited_from_age": limited_from_age,
                    "population.share_mobility_limited_65_plus": 0.0,
                    "population.share_mobility_limited_under_65": 0.0,
                    "access.initial_awareness": 1.0,
                    "municipality.voluntary_budget_eur_per_year": 1e7})
        _set_ages(m, np.array([80.0]))
        m.step()
        return float(m.residents.served_hours.sum())

    assert served_at_80(75.0) == 0.0  # limited: 1 m decay, nobody walks to an offer
    assert served_at_80(85.0) > 0.0


@pytest.mark.parametrize("threshold,served,counts", [(0.5, 4.0, True), (0.3, 4.0, False),
                                                     (0.9, 6.0, True), (0.5, 6.0, False)])
def test_unmet_threshold_decides_which_months_count_towards_escalation(threshold, served, counts):
    m = _model({"needs.counselling.resolve_probability_unserved": 0.0,
                "needs.counselling.resolve_probability_served": 0.0,
                "needs.unmet_below_served_share": threshold})
    a = m.residents
    alive = a.alive
    a.need_hours[:] = 0.0
    a.need_hours[alive, 5] = 10.0
    a.served_hours[:] = 0.0
    a.served_hours[alive, 5] = served  # 40 % or 60 % served
    a.unmet_months[:] = 2
    resolution.resolve_needs(m)
    # mostly unmet (served share below the threshold): one month more; else back to 0
    assert (a.unmet_months[alive, 5] == (3 if counts else 0)).all()


def test_access_classes_follow_the_enum():
    m = _model({"access.limited_from_age": 75.0})
    a = m.residents
    slots = np.flatnonzero(a.alive)[:4]
    a.age[slots] = [30.0, 30.0, 80.0, 80.0]
    a.language_barrier[slots] = [False, True, False, True]
    a.mobility_limited[slots] = False
    assert access_classes(a, m.config.access)[slots].tolist() == [
        AccessClass.PLAIN, AccessClass.LANGUAGE_BARRIER, AccessClass.LIMITED,
        AccessClass.LIMITED_LANGUAGE_BARRIER]
    assert [c.limited for c in AccessClass] == [False, False, True, True]
    assert [c.language_barrier for c in AccessClass] == [False, True, False, True]


# --------------------------------------------------------------------------- [carrier_behaviour]
def _carrier_in_deficit(months: int, **behaviour: float):
    m = _model({"carriers.0.reserve_eur": 0.0,
                **{f"carrier_behaviour.{k}": v for k, v in behaviour.items()}})
    m.run_months(months)
    return m.carriers_list[0]


def test_staff_cut_share_is_the_least_cut_in_deficit():
    """A carrier whose income pays its posts and rent but whose reserve is 1 EUR short
    needs to save next to nothing: the parameter's least cut applies."""
    for share in (0.1, 0.5):
        m = _model({"carrier_behaviour.staff_cut_share_per_deficit_month": share})
        c = m.carriers_list[0]
        c.reserve_eur = -1.0
        assert c.cut_share(c.monthly_cost_eur()) == pytest.approx(share)
    # a carrier that cannot pay its own posts from its income gives notice to all of them
    assert c.cut_share(0.0) == 1.0


def test_close_after_deficit_months_sets_when_a_carrier_closes():
    assert _carrier_in_deficit(3).is_open
    assert not _carrier_in_deficit(3, close_after_deficit_months=3).is_open
    assert _carrier_in_deficit(2, close_after_deficit_months=3).is_open


# --------------------------------------------------------------------------- named processes
def test_cross_referral_makes_aware_of_every_domain_offered_at_the_point():
    n = 3
    aware = np.zeros(6 * n, bool)
    cap = np.zeros((2, 6))
    cap[0, [1, 4]] = 10.0  # point 0 offers domains 1 and 4; point 1 nothing
    rng = np.random.default_rng(0)
    cross_refer(aware, np.array([0, 2]), np.array([0, 1]), cap, 1.0, rng)
    assert sorted(np.flatnonzero(aware).tolist()) == [1 * n + 0, 4 * n + 0]  # slot 0 only
    state = rng.bit_generator.state
    cross_refer(aware, np.array([1]), np.array([0]), cap, 0.0, rng)  # no referral: no draw
    assert rng.bit_generator.state == state and not aware[[1 * n + 1, 4 * n + 1]].any()
    # one probability per resident (matching: referral x the share of its request served)
    cross_refer(aware, np.array([1, 2]), np.array([0, 0]), cap, np.array([0.0, 1.0]), rng)
    assert sorted(np.flatnonzero(aware).tolist()) == [1 * n + 0, 1 * n + 2, 4 * n + 0, 4 * n + 2]


def _grant_model(**municipality: Any) -> QuarterModel:
    grant = {"financing.g.municipal_budget": {},
             "financing.g.grant_programme": {"project_eur_per_year": 30_000.0, "funding_rate": 0.8,
                                             "start_year": 2024, "end_year": 2025,
                                             "success_probability_max": 1.0,
                                             "application_staff_fte": 100.0,
                                             "half_saturation_fte": 1e-9}}
    return _model({**grant, **{f"municipality.{k}": v for k, v in municipality.items()}},
                  financing="g")


def test_grant_cofinancing_routes():
    m = _grant_model()  # no consolidation regime: the share is additional money
    grant = m.financing.instrument(GrantProgramme)
    assert m.municipality.cofinancing_route(6_000.0, 0, 2024) is CofinancingRoute.ADDITIONAL
    assert grant.award == pytest.approx({Payer.STATE_FEDERAL: 24_000.0, Payer.MUNICIPALITY: 6_000.0})
    assert m.financing.offset_from_budget_eur == 0.0
    assert m.financing.funds.free_eur == pytest.approx(40_000.0 + 30_000.0)
    # in deficit under a consolidation regime: offset in the quarter's budget (40,000)
    m = _grant_model(consolidation_regime=True, other_expenses_eur_per_year=31_000_000.0)
    assert m.municipality.cofinancing_route(6_000.0, 0, 2024) is CofinancingRoute.OFFSET
    assert m.financing.offset_from_budget_eur == pytest.approx(6_000.0)
    assert m.financing.funds.free_eur == pytest.approx(40_000.0 - 6_000.0 + 30_000.0)
    # and a budget below the share: unaffordable, the year is missed
    m = _grant_model(consolidation_regime=True, other_expenses_eur_per_year=31_000_000.0,
                     voluntary_budget_eur_per_year=5_000.0)
    grant = m.financing.instrument(GrantProgramme)
    assert m.municipality.cofinancing_route(6_000.0, 0, 2024) is CofinancingRoute.UNAFFORDABLE
    assert grant.award == {} and grant.missed_years == [2024]
    assert m.financing.funds.free_eur == pytest.approx(5_000.0)


def test_overhead_compensation_is_decided_with_the_grant():
    from quartiersim.sim.financing import OverheadCompensation

    m = _model({"financing.g.grant_programme": {"project_eur_per_year": 30_000.0, "funding_rate": 0.8,
                                                "start_year": 2024, "end_year": 2025,
                                                "success_probability_max": 1.0,
                                                "application_staff_fte": 100.0,
                                                "half_saturation_fte": 1e-9},
                "financing.g.municipal_budget": {}, "financing.g.overhead_compensation": {}},
               financing="g")
    comp = m.financing.instrument(OverheadCompensation)
    assert comp.award == pytest.approx({Payer.STATE_FEDERAL: 0.1 * 24_000.0})
    assert m.financing.budget_relief_eur == pytest.approx(2_400.0)
    # the municipal budget brings that much less, the offers' money is the same
    assert m.financing.funds.free_eur == pytest.approx(40_000.0 - 2_400.0 + 30_000.0 + 2_400.0)
    m.run_months(24)  # after the programme (2024-2025): neither grant nor compensation
    assert comp.award == {} and m.financing.budget_relief_eur == 0.0
