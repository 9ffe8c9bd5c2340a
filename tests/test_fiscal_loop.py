"""The closed fiscal loop (ODD 7.9): cuts proportional to the gap on the whole voluntary
line, the floor, other measures over the plan period, restoration from a surplus, one
price index on every quarter price; each rule in the tiny world with exact numbers."""

from __future__ import annotations

import pytest
from conftest import HERTEN

import quartiersim as qs
from quartiersim.config.domains import CostCategory, Payer
from quartiersim.sim.model import QuarterModel
from quartiersim.studies.stress import stress_test


def _line_world(tiny_raw, **municipality):
    """Other expenses 970,000 + the quarter's 30,000 = 1,000,000; the voluntary line is
    10 % of it (100,000: the quarter's 30,000 and 70,000 elsewhere in the city)."""
    tiny_raw["municipality"].update({"other_expenses_eur_per_year": 970_000.0,
                                     "voluntary_line_share": 0.1, "consolidation_regime": True,
                                     "consolidation_voluntary_share_of_gap": 0.25, **municipality})
    return tiny_raw


def test_a_deficit_cuts_the_whole_line_in_proportion_to_the_gap(tiny_raw, write_scenario):
    # 2020: 960,000 - 970,000 - 30,000 = -40,000. A quarter of the gap (10,000) is cut
    # from the line of 100,000: level 0.9, the quarter's budget 27,000, the rest of the
    # line 63,000. Other measures close 0.75 x 40,000 over the 10 plan years: 3,000.
    # 2021: other = 970,000 - 7,000 - 3,000 = 960,000: 960,000 - 960,000 - 27,000 = -27,000,
    # cut 6,750 (level 0.8325, the quarter 24,975), measures + 0.75 x 27,000 / 9 = 2,250.
    # 2022: other = 970,000 - 70,000 x 0.1675 - 5,250 = 953,025: balance -18,000.
    raw = _line_world(tiny_raw, revenue_eur_per_year=960_000.0)
    res = qs.run(write_scenario(raw), model="municipal", seed=1, years=3, keep_model=True)
    hist = res.model.municipality.history
    assert [h.voluntary_budget_eur for h in hist] == pytest.approx([30_000.0, 27_000.0, 24_975.0])
    assert [h.balance_eur for h in hist] == pytest.approx([-40_000.0, -27_000.0, -18_000.0])
    assert [h.cut_eur for h in hist] == pytest.approx([10_000.0, 6_750.0, 4_500.0])
    assert [h.voluntary_line_eur for h in hist] == pytest.approx([100_000.0, 90_000.0, 83_250.0])
    assert [h.measures_eur for h in hist] == pytest.approx([0.0, 3_000.0, 5_250.0])
    assert [h.other_expenses_eur for h in hist] == pytest.approx([970_000.0, 960_000.0, 953_025.0])
    assert all(h.consolidation_cut for h in hist)
    # what the quarter spends is its budget
    led = res.model.ledger
    assert led.total(Payer.MUNICIPALITY, CostCategory.VOLUNTARY, year=2) == pytest.approx(24_975.0)


def test_the_floor_holds_the_line_at_its_share_of_the_pre_cut_level(tiny_raw, write_scenario):
    # gap 110,000 with the whole gap to be cut from a line of 100,000: the floor (0.5)
    # holds: 50,000 cut, the quarter's budget 15,000
    raw = _line_world(tiny_raw, revenue_eur_per_year=890_000.0,
                      consolidation_voluntary_share_of_gap=1.0, voluntary_budget_floor_share=0.5)
    hist = qs.run(write_scenario(raw), model="municipal", seed=1, years=2,
                  keep_model=True).model.municipality.history
    assert hist[0].balance_eur == pytest.approx(-110_000.0)
    assert hist[0].cut_eur == pytest.approx(50_000.0)
    assert hist[1].voluntary_budget_eur == pytest.approx(15_000.0)
    assert hist[1].voluntary_level == pytest.approx(0.5)
    assert hist[1].cut_eur == 0.0  # at the floor nothing more is cut


def test_no_cut_without_a_consolidation_regime(tiny_raw, write_scenario):
    raw = _line_world(tiny_raw, revenue_eur_per_year=960_000.0, consolidation_regime=False)
    hist = qs.run(write_scenario(raw), model="municipal", seed=1, years=2,
                  keep_model=True).model.municipality.history
    assert [h.voluntary_budget_eur for h in hist] == [30_000.0, 30_000.0]
    assert [h.measures_eur for h in hist] == [0.0, 0.0]


def _shock_world(tiny_raw, restoration):
    # other 870,000 + quarter 30,000; line 10 % = 90,000. 2020: +100,000. 2021 revenue
    # -20 %: -100,000, cut 25,000 (level 1 - 25/90), measures 7,500. 2022: other =
    # 870,000 - 60,000 x 25/90 - 7,500 = 845,833.33, the quarter 21,666.67: +132,500.
    tiny_raw["municipality"].update(other_expenses_eur_per_year=870_000.0, voluntary_line_share=0.1,
                                    consolidation_regime=True,
                                    consolidation_voluntary_share_of_gap=0.25,
                                    restoration_share_of_surplus=restoration)
    tiny_raw["shocks"] = [{"year": 2021, "tax_revenue_change": -0.2}]
    return tiny_raw


def test_a_surplus_restores_the_line_up_to_its_pre_cut_level(tiny_raw, write_scenario):
    res = stress_test(write_scenario(_shock_world(tiny_raw, 0.5)), model="municipal", seed=1,
                      years=4)
    hit = res["shocked"]
    assert hit["budget_balance_2021_eur"] == pytest.approx(-100_000.0)
    assert hit["budget_balance_2022_eur"] == pytest.approx(132_500.0)
    budget = hit["voluntary_budget_eur_by_year"]
    # half of 132,500 would restore 66,250 > the 25,000 cut: back to the pre-cut level
    assert [budget[y] for y in (2020, 2021, 2022, 2023)] == pytest.approx(
        [30_000.0, 30_000.0, 30_000.0 * 65 / 90, 30_000.0])
    assert res["unshocked"]["voluntary_budget_eur_by_year"] == {y: 30_000.0 for y in range(2020, 2024)}
    # the other 41,250 of the share relax the measures (7,500) in full: by 2023 the
    # city is back on its unshocked path
    assert hit["budget_balance_2023_eur"] == pytest.approx(100_000.0)
    assert res["stress_years_to_recover"] == 1.0


def test_a_surplus_relaxes_the_other_measures_once_the_line_is_whole(tiny_raw, write_scenario):
    # 2020 gap 40,000: cut 10,000, measures 3,000; in 2021 revenue is 5 % higher
    raw = _line_world(tiny_raw, revenue_eur_per_year=960_000.0,
                      restoration_share_of_surplus=1.0)
    raw["shocks"] = [{"year": 2021, "tax_revenue_change": 0.05}]
    res = stress_test(write_scenario(raw), model="municipal", seed=1, years=3)
    # 2021: revenue 1,008,000; other 960,000; the quarter 27,000: surplus 21,000 restores
    # the 10,000 cut and relaxes all 3,000 of measures (21,000 - 10,000 > 3,000)
    hit = res["shocked"]
    assert hit["budget_balance_2021_eur"] == pytest.approx(21_000.0)
    assert hit["voluntary_budget_eur_by_year"][2022] == pytest.approx(30_000.0)
    # 2022: revenue 960,000 - 970,000 - 30,000 = -40,000 again, as in 2020
    assert hit["budget_balance_2022_eur"] == pytest.approx(-40_000.0)


def test_restoration_is_the_share_of_the_surplus(tiny_raw, write_scenario):
    path = write_scenario(_shock_world(tiny_raw, 0.1))
    res = stress_test(path, model="municipal", seed=1, years=4)
    # 0.1 x 132,500 = 13,250 of the 25,000 cut come back: line 78,250 of 90,000
    assert res["shocked"]["voluntary_budget_eur_by_year"][2023] == pytest.approx(30_000.0 * 78_250 / 90_000)


def test_a_declared_target_year_spreads_the_other_measures_over_the_years_left(tiny_raw,
                                                                               write_scenario):
    # 2020 gap 40,000, target 2022: 0.75 x 40,000 / 2 = 15,000 of other measures
    raw = _line_world(tiny_raw, revenue_eur_per_year=960_000.0, consolidation_target_year=2022)
    hist = qs.run(write_scenario(raw), model="municipal", seed=1, years=2,
                  keep_model=True).model.municipality.history
    assert hist[1].measures_eur == pytest.approx(15_000.0)


def test_one_price_index_for_every_quarter_price(tiny_raw, write_scenario):
    # expenses grow 10 %/yr: the quarter's budget is indexed like the line, staff cost
    # too, so the staff hours (50 a month) and coverage (0.5) stay; the EUR grow 1.1^k
    tiny_raw["municipality"].update(expense_growth_per_year=0.1)
    res = qs.run(write_scenario(tiny_raw), model="municipal", seed=1, years=3, keep_model=True)
    m = res.model
    assert m.municipality.price_index(2) == pytest.approx(1.21)
    assert m.price_index == pytest.approx(1.331)  # the last close planned the fourth year
    vol = res.series.groupby("year")["municipal_cost_voluntary_eur"].sum()
    assert vol.tolist() == pytest.approx([30_000.0, 33_000.0, 36_300.0])
    assert res.series["staff_hours"].tolist() == pytest.approx([50.0] * 36)
    assert res.series["coverage"].tolist() == pytest.approx([0.5] * 36)
    hist = m.municipality.history
    assert [h.other_expenses_eur for h in hist] == pytest.approx([900_000.0, 990_000.0, 1_089_000.0])


def test_case_costs_follow_the_price_index(tiny_raw, write_scenario):
    # one running mandatory case a month at 1,000 EUR in start-year prices
    tiny_raw["municipality"]["expense_growth_per_year"] = 0.1
    tiny_raw["population"]["residents"] = 1
    tiny_raw["needs"]["counselling"].update(escalation_probability_per_month=1.0,
                                            escalation_delay_months=0,
                                            mandatory_case_duration_months=240,
                                            mandatory_case_cost_eur_per_month=1_000.0)
    tiny_raw["municipality"]["voluntary_budget_eur_per_year"] = 0.0
    res = qs.run(write_scenario(tiny_raw), model="municipal", seed=1, years=2, keep_model=True)
    months = res.series["active_mandatory_cases"]
    cost = res.series["municipal_cost_mandatory_eur"]
    assert (months == 1).all()
    assert cost.tolist() == pytest.approx([1_000.0] * 12 + [1_100.0] * 12)


def test_carriers_staff_hours_and_rent_follow_the_price_index():
    m = QuarterModel(qs.load_scenario(HERTEN), rng=1, years=1, spin_up_months=0)
    c = m.carriers_list[0]
    hour, month = c.hour_cost_eur, c.monthly_cost_eur()
    m.price_index = 1.25
    assert c.hour_cost_eur == pytest.approx(1.25 * hour)
    assert c.monthly_cost_eur() == pytest.approx(1.25 * month)
