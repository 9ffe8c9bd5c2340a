"""Mechanisms of the cooperation and financing models, each in a tiny hand-built world
where the effect must show (issue 3)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import quartiersim as qs
from quartiersim.config.domains import CostCategory, Payer
from quartiersim.sim.financing import GrantProgramme

_ALWAYS = {"min_age": 0.0, "max_age": 120.0, "onset_probability_per_month": 1.0,
           "resolve_probability_unserved": 0.0, "resolve_probability_served": 0.0,
           "hours_per_month": 10.0, "escalation_probability_per_month": 0.0}


def _carrier(letter: str, **kw: Any) -> dict[str, Any]:
    c = {"name": f"carrier {letter}", "point": letter, "own_funds_eur_per_year": 20_000.0,
         "reserve_eur": 100_000.0, "rent_eur_per_month": 900.0,
         "cost_eur_per_staff_hour": 50.0, "overhead_share": 0.2}
    c.update(kw)
    return c


def carrier_world(raw: dict[str, Any], residents: int = 100) -> dict[str, Any]:
    """The tiny quarter with two carriers A and B, a centre site Z and a meeting point
    site T next to the office M; everybody trusts every place fully and for good (trust
    does not learn here)."""
    raw = copy.deepcopy(raw)
    raw["space"] = {"layout": ["MAZBT", "....."],
                    "service_points": {"M": {"kind": "municipal_office", "name": "office"},
                                       "A": {"kind": "carrier_premises", "name": "A"},
                                       "B": {"kind": "carrier_premises", "name": "B"},
                                       "Z": {"kind": "centre_site", "name": "centre"},
                                       "T": {"kind": "meeting_point_site", "name": "rooms"}}}
    raw["population"]["residents"] = residents
    raw["access"].update(trust_carrier=1.0, trust_new_place=1.0, trust_learning_rate=0.0,
                         trust_word_of_mouth_rate=0.0, spread_probability_per_tie=0.0)
    raw["carriers"] = [_carrier("A", staff_fte={"counselling": 0.1}),
                       _carrier("B", staff_fte={"counselling": 0.1})]
    copro = {"planning_share": 0.0, "coordination_fte": 0.0, "reallocation_rate": 0.0,
             "cross_referral": 0.0}
    raw["cooperation"] = {
        "municipal": {"rent_eur_per_month_per_office": 0.0},
        "coproduction": dict(copro),
        "integration_centre": dict(copro, centre_rent_eur_per_month=1200.0,
                                   overhead_synergy=0.5, management_fte=0.0, outreach=0.0),
    }
    return raw


def _rent_overhead_per_served_hour(res: qs.RunResult) -> float:
    cs = res.model.carriers_list
    return sum(c.rent_paid_eur + c.overhead_paid_eur for c in cs) / res.summary["served_hours"]


def test_integration_centre_lowers_rent_and_overhead_per_covered_hour(tiny_raw, write_scenario):
    # 100 residents need 10 h of counselling a month each: far more than the carriers
    # offer, so every offered hour is served.
    path = write_scenario(carrier_world(tiny_raw))
    apart = qs.run(path, model="coproduction", seed=1, years=1, keep_model=True)
    centre = qs.run(path, model="integration_centre", seed=1, years=1, keep_model=True)
    # rent: two premises of 900 EUR vs one shared centre of 1,200 EUR a month
    assert sum(c.rent_paid_eur for c in apart.model.carriers_list) == pytest.approx(12 * 1800.0)
    assert sum(c.rent_paid_eur for c in centre.model.carriers_list) == pytest.approx(12 * 1200.0)
    # overhead per staff hour: 20 % vs 10 % of 50 EUR
    for c in centre.model.carriers_list:
        assert c.overhead_share == pytest.approx(0.1)
        assert c.point.letter == "Z"
    # a lower hour cost buys more hours from the same subsidy
    assert centre.summary["served_hours"] > apart.summary["served_hours"]
    assert _rent_overhead_per_served_hour(centre) < 0.75 * _rent_overhead_per_served_hour(apart)


def test_cross_referral_raises_take_up_in_a_second_domain(tiny_raw, write_scenario):
    raw = carrier_world(tiny_raw, residents=200)
    raw["needs"]["social_participation"] = dict(_ALWAYS, hours_per_month=1.0)
    raw["needs"]["counselling"]["hours_per_month"] = 1.0
    raw["access"]["initial_awareness"] = 0.3
    # their staff are paid from large reserves (no deficit, no surplus to spend)
    raw["carriers"] = [_carrier(x, staff_fte={"counselling": 2.0, "social_participation": 2.0},
                                own_funds_eur_per_year=0.0, reserve_eur=1e7) for x in "AB"]
    without = qs.run(write_scenario(raw, "a.toml"), model="integration_centre", seed=4, years=1).summary
    raw["cooperation"]["integration_centre"]["cross_referral"] = 0.5
    with_ref = qs.run(write_scenario(raw, "b.toml"), model="integration_centre", seed=4, years=1).summary
    # without referral (and without spread or outreach) awareness never grows beyond the
    # initial 30 %; staff suffice for everybody who asks. Referral reaches those aware of
    # one of the two domains (1 - 0.7^2 = 51 % at most).
    assert without["coverage_social_participation"] == pytest.approx(0.3, abs=0.08)
    assert with_ref["coverage_social_participation"] > without["coverage_social_participation"] + 0.12
    assert with_ref["coverage_counselling"] > without["coverage_counselling"] + 0.12


def test_quarter_manager_raises_awareness_and_volunteers(tiny_raw, write_scenario):
    raw = carrier_world(tiny_raw, residents=300)
    raw["access"]["initial_awareness"] = 0.2
    raw["volunteering"].update(rate=0.02, activation_probability_per_month=0.0,
                               activation_per_volunteer_tie=0.0)
    raw["municipality"]["voluntary_budget_eur_per_year"] = 100_000.0
    mp = {"manager_fte": 1.0, "manager_cost_eur_per_year_per_fte": 60_000.0,
          "outreach_per_fte": 0.05, "activation_per_fte": 0.01, "room_rent_eur_per_month": 400.0}
    raw["cooperation"]["meeting_point"] = mp
    managed = qs.run(write_scenario(raw, "a.toml"), model="meeting_point", seed=2, years=2,
                     keep_model=True)
    raw["cooperation"]["meeting_point"] = dict(mp, manager_fte=0.0)
    unmanaged = qs.run(write_scenario(raw, "b.toml"), model="meeting_point", seed=2, years=2,
                       keep_model=True)
    assert managed.series["awareness"].iloc[-1] > unmanaged.series["awareness"].iloc[-1] + 0.3
    assert managed.summary["volunteers_at_end"] > 2 * unmanaged.summary["volunteers_at_end"]
    # the manager coordinates volunteers at the meeting point: 0.5 FTE there
    m = managed.model
    t = m.space.point("T").index
    assert m.cooperation.management_coordination()[t] == pytest.approx(0.5)
    # the housing company bears half the rent in kind: 200 EUR a month
    assert managed.summary["cost_housing_company_eur"] == pytest.approx(24 * 200.0)


#: One FTE of municipal staff for a year in the tiny quarter (50 EUR/h, no overhead, 133 h
#: a month, the 500 EUR workplace): what 1 FTE of application staff costs in a year of
#: application or funding.
APPLICATION_EUR = 12 * 133 * 50.0 + 12 * 500.0


def _grant_world(tiny_raw: dict[str, Any], continued: bool, **grant: Any) -> dict[str, Any]:
    raw = copy.deepcopy(tiny_raw)
    g = {"project_eur_per_year": 30_000.0, "funding_rate": 0.8, "start_year": 2020,
         "end_year": 2021, "application_staff_fte": 1.0, "success_probability_max": 1.0,
         "half_saturation_fte": 1e-9}
    g.update(grant)
    fin: dict[str, Any] = {"municipal_budget": {}, "grant_programme": g}
    if continued:
        fin["continuation"] = {"share": 1.0}
    raw["financing"] = {"g": fin}
    return raw


def test_grant_without_continuation_lowers_coverage_afterwards(tiny_raw, write_scenario):
    # budget 30,000 + grant 30,000 EUR/yr at 50 EUR/h = 100 h a month = all the need
    # (10 residents x 10 h) in 2020-21; afterwards the budget alone covers half.
    ended = qs.run(write_scenario(_grant_world(tiny_raw, False), "a.toml"), model="municipal",
                   financing="g", seed=1, years=4)
    cov = ended.series.groupby("year")["coverage"].mean()
    assert cov[2020] == pytest.approx(1.0) and cov[2021] == pytest.approx(1.0)
    assert ended.summary["coverage_after_grant"] == pytest.approx(0.5)
    assert ended.summary["cost_state_federal_eur"] == pytest.approx(2 * 0.8 * 30_000.0)
    assert ended.summary["cost_municipality_eur"] == pytest.approx(4 * 30_000.0 + 2 * 6_000.0
                                                                   + 2 * APPLICATION_EUR)
    kept = qs.run(write_scenario(_grant_world(tiny_raw, True), "b.toml"), model="municipal",
                  financing="g", seed=1, years=4).summary
    assert kept["coverage_after_grant"] == pytest.approx(1.0)
    assert kept["cost_municipality_eur"] == pytest.approx(4 * 30_000.0 + 2 * 6_000.0 + 2 * 30_000.0
                                                          + 2 * APPLICATION_EUR)
    assert kept["cost_state_federal_eur"] == pytest.approx(2 * 0.8 * 30_000.0)


def test_degression_shifts_the_grant_to_the_municipality(tiny_raw, write_scenario):
    raw = _grant_world(tiny_raw, False, degression_per_year=0.5)
    s = qs.run(write_scenario(raw), model="municipal", financing="g", seed=1, years=2).summary
    # rate 0.8 in 2020, 0.4 in 2021
    assert s["cost_state_federal_eur"] == pytest.approx((0.8 + 0.4) * 30_000.0)
    assert s["cost_municipality_eur"] == pytest.approx(2 * 30_000.0 + (0.2 + 0.6) * 30_000.0
                                                       + 2 * APPLICATION_EUR)


def test_municipality_without_cofinancing_share_gets_no_grant(tiny_raw, write_scenario):
    # in deficit under a consolidation regime: no room for an additional co-financing
    # share, and the quarter's voluntary budget (5,000) is below the share (6,000)
    raw = _grant_world(tiny_raw, False)
    raw["municipality"].update(other_expenses_eur_per_year=1_100_000.0, consolidation_regime=True,
                               voluntary_budget_eur_per_year=5_000.0, consolidation_voluntary_share_of_gap=0.0)
    r = qs.run(write_scenario(raw, "a.toml"), model="municipal", financing="g", seed=1, years=2,
               keep_model=True)
    assert r.summary["cost_state_federal_eur"] == 0.0
    assert r.model.financing.instrument(GrantProgramme).missed_years == [2020, 2021]
    assert r.summary["coverage_after_grant"] is None
    # with a budget that can hold the share, it is offset there: the municipality pays
    # no more than its budget and the state adds 80 %
    raw["municipality"]["voluntary_budget_eur_per_year"] = 10_000.0
    s = qs.run(write_scenario(raw, "b.toml"), model="municipal", financing="g", seed=1,
               years=2).summary
    assert s["cost_state_federal_eur"] == pytest.approx(2 * 24_000.0)
    assert s["municipal_cost_voluntary_eur"] == pytest.approx(2 * 10_000.0 + 2 * APPLICATION_EUR)
    # without a consolidation regime the share is additional money
    raw["municipality"]["consolidation_regime"] = False
    s = qs.run(write_scenario(raw, "c.toml"), model="municipal", financing="g", seed=1,
               years=2).summary
    assert s["municipal_cost_voluntary_eur"] == pytest.approx(2 * (10_000.0 + 6_000.0 + APPLICATION_EUR))


def test_grant_application_needs_staff_capacity(tiny_raw, write_scenario):
    raw = _grant_world(tiny_raw, False, application_staff_fte=0.0)
    s = qs.run(write_scenario(raw), model="municipal", financing="g", seed=1, years=2).summary
    assert s["cost_state_federal_eur"] == 0.0


def test_consolidation_cuts_voluntary_spending_and_raises_mandatory_cases_later(
        tiny_raw, write_scenario):
    raw = copy.deepcopy(tiny_raw)
    raw["population"]["residents"] = 300
    raw["needs"]["counselling"].update(escalation_probability_per_month=0.05,
                                       escalation_delay_months=0,
                                       mandatory_case_duration_months=1)
    # 300 residents x 10 h = 3,000 h; 90,000 EUR buys 150 h a month at 50 EUR/h
    raw["municipality"].update(voluntary_budget_eur_per_year=90_000.0,
                               other_expenses_eur_per_year=2_000_000.0,
                               consolidation_voluntary_share_of_gap=0.5, voluntary_budget_floor_share=0.0)
    free = qs.run(write_scenario(raw, "a.toml"), model="municipal", seed=3, years=4)
    raw["municipality"]["consolidation_regime"] = True
    cut = qs.run(write_scenario(raw, "b.toml"), model="municipal", seed=3, years=4)
    vol = cut.series.groupby("year")["municipal_cost_voluntary_eur"].sum()
    # the gap (over 1 million EUR) is far larger than the voluntary line: half of it
    # takes the line to the floor (0) at once
    assert vol.tolist() == pytest.approx([90_000.0, 0.0, 0.0, 0.0])
    assert free.series.groupby("year")["municipal_cost_voluntary_eur"].sum().tolist() == \
        pytest.approx([90_000.0] * 4)
    cases_cut = cut.series.groupby("year")["new_mandatory_cases"].sum()
    cases_free = free.series.groupby("year")["new_mandatory_cases"].sum()
    assert cases_cut[2020] == cases_free[2020]  # same seed, same first year
    assert cases_cut[2022] + cases_cut[2023] > cases_free[2022] + cases_free[2023]
    assert cut.summary["municipal_cost_mandatory_eur"] > free.summary["municipal_cost_mandatory_eur"]


def test_neighbourhood_fund_runs_volunteer_offers_without_paid_coordination(tiny_raw, write_scenario):
    raw = carrier_world(tiny_raw, residents=200)
    raw["volunteering"].update(rate=0.2, attrition_per_year_coordinated=0.0,
                               attrition_per_year_uncoordinated=0.0, counselling=1.0,
                               elderly_support=0.0, youth_education=0.0, integration=0.0,
                               health_prevention=0.0, social_participation=0.0,
                               uncoordinated_productivity=0.0)
    raw["municipality"]["voluntary_budget_eur_per_year"] = 0.0
    raw["carriers"] = [_carrier("A"), _carrier("B")]  # no staff, no coordination
    raw["financing"] = {"nf": {"municipal_budget": {},
                               "neighbourhood_fund": {"eur_per_resident_per_year": 6.0}}}
    path = write_scenario(raw)
    none = qs.run(path, model="coproduction", seed=5, years=1).summary
    fund = qs.run(path, model="coproduction", financing="nf", seed=5, years=1, keep_model=True)
    assert none["volunteer_hours"] == 0.0  # nobody coordinates them
    # 200 x 6 EUR = 1,200 EUR a year at 5 EUR per hour = 20 volunteer hours a month
    assert fund.summary["volunteer_hours"] == pytest.approx(12 * 20.0)
    assert fund.summary["cost_state_federal_eur"] == pytest.approx(600.0)
    assert fund.model.cooperation.self_run_hours.sum() == pytest.approx(20.0)


def test_innovation_lab_rematches_volunteers_to_unmet_needs(tiny_raw, write_scenario):
    raw = carrier_world(tiny_raw, residents=300)
    raw["volunteering"].update(rate=0.1, elderly_support=1.0, counselling=1.0,
                               youth_education=0.0, integration=0.0, health_prevention=0.0,
                               social_participation=0.0, attrition_per_year_coordinated=0.0,
                               attrition_per_year_uncoordinated=0.0)
    raw["cooperation"]["innovation_lab"] = {"agency_fte": 1.0, "matching_rate": 1.0,
                                            "business_hours_per_month": 0.0,
                                            "activation_boost_per_month": 0.0}
    raw["municipality"]["voluntary_budget_eur_per_year"] = 200_000.0
    r = qs.run(write_scenario(raw), model="innovation_lab", seed=1, years=2, keep_model=True)
    a = r.model.residents
    vols = a.volunteer_hours > 0
    # only counselling needs exist: every re-matched volunteer moves there
    assert vols.sum() > 0
    assert np.all(a.volunteer_domain[vols] == 5)
    assert r.summary["volunteer_hours"] > 0
    assert r.summary["cost_municipality_eur"] == pytest.approx(400_000.0)
    assert r.model.ledger.total(Payer.MUNICIPALITY, CostCategory.MANDATORY) == 0.0


def test_compare_runs_all_six_models_by_default(tiny_raw, write_scenario):
    raw = carrier_world(tiny_raw)
    raw["cooperation"]["meeting_point"] = {"manager_cost_eur_per_year_per_fte": 10_000.0}
    table = qs.compare(write_scenario(raw), seeds=2, years=1, workers=1, progress=False)
    assert list(table["model"]) == ["municipal", "contracting", "coproduction",
                                    "integration_centre", "meeting_point", "innovation_lab"]
    assert (table["coverage_mean"] > 0).all()
    assert table["cost_municipality_eur_mean"].tolist() == pytest.approx([30_000.0] * 6)
