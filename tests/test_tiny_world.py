"""A two-cell quarter whose coverage and cost are computed by hand."""

from __future__ import annotations

import pytest

import quartiersim as qs
from quartiersim.config.domains import CostCategory, Payer


def test_tiny_quarter_coverage_and_cost_by_hand(tiny_raw, write_scenario):
    # 30,000 EUR/yr at 50 EUR/h, no rent, no overhead -> 50 staff hours a month for
    # counselling; 10 residents need 10 h each -> 100 h requested -> half is served.
    res = qs.run(write_scenario(tiny_raw), model="municipal", seed=3, years=1, keep_model=True)
    s = res.summary
    assert s["coverage"] == pytest.approx(0.5)
    assert s["coverage_counselling"] == pytest.approx(0.5)
    assert s["need_hours"] == pytest.approx(12 * 100.0)
    assert s["served_hours"] == pytest.approx(12 * 50.0)
    assert s["municipal_cost_eur"] == pytest.approx(30_000.0)
    assert s["municipal_cost_voluntary_eur"] == pytest.approx(30_000.0)
    assert s["municipal_cost_mandatory_eur"] == 0.0
    assert s["cost_per_covered_hour_eur"] == pytest.approx(30_000.0 / 600.0)
    assert s["municipal_cost_per_resident_year_eur"] == pytest.approx(3_000.0)
    assert s["mandatory_cases"] == 0
    # budget year: revenue 1,000,000 - other 900,000 - quarter 30,000
    assert s["budget_balance_2020_eur"] == pytest.approx(70_000.0)
    # every month the same
    assert res.series["coverage"].tolist() == pytest.approx([0.5] * 12)
    assert len(res.series) == 12


def test_tiny_quarter_escalation_by_hand(tiny_raw, write_scenario):
    # no budget: nothing is served; every need escalates in month 1 and the cases run
    # 12 months at 1,000 EUR a month -> 10 cases, 120,000 EUR mandatory cost. The need
    # stays in the coverage denominator while the case runs: coverage 0.
    tiny_raw["municipality"]["voluntary_budget_eur_per_year"] = 0.0
    tiny_raw["needs"]["counselling"].update(escalation_probability_per_month=1.0,
                                             escalation_delay_months=0,
                                             mandatory_case_cost_eur_per_month=1000.0,
                                             mandatory_case_duration_months=12)
    s = qs.run(write_scenario(tiny_raw), model="municipal", seed=1, years=1).summary
    assert s["coverage"] == 0.0
    assert s["need_hours"] == pytest.approx(12 * 100.0)
    assert s["mandatory_cases"] == 10
    assert s["municipal_cost_mandatory_eur"] == pytest.approx(120_000.0)
    assert s["cost_municipality_eur"] == pytest.approx(120_000.0)
    assert s["budget_balance_2020_eur"] == pytest.approx(100_000.0 - 120_000.0)


def test_tiny_quarter_consolidation_cuts_voluntary_budget(tiny_raw, write_scenario):
    # revenue below expenses under a consolidation regime: each deficit year cuts a
    # quarter of the gap from the voluntary line (100,000, the quarter's 30,000 included;
    # the numbers: tests/test_fiscal_loop.py): 30,000 -> 27,000 -> 24,975.
    tiny_raw["municipality"].update(revenue_eur_per_year=960_000.0,
                                    other_expenses_eur_per_year=970_000.0, voluntary_line_share=0.1,
                                    consolidation_regime=True,
                                    consolidation_voluntary_share_of_gap=0.25,
                                    voluntary_budget_floor_share=0.5)
    res = qs.run(write_scenario(tiny_raw), model="municipal", seed=1, years=3, keep_model=True)
    hist = res.model.municipality.history
    assert [round(h.voluntary_budget_eur) for h in hist] == [30_000, 27_000, 24_975]
    assert all(h.consolidation_cut for h in hist)
    # fewer staff hours -> lower coverage in year 3 than in year 1
    cov = res.series.groupby("year")["coverage"].mean()
    assert cov[2022] == pytest.approx(0.5 * 24_975 / 30_000)
    assert cov[2020] == pytest.approx(0.5)
    led = res.model.ledger
    assert led.total(Payer.MUNICIPALITY, CostCategory.VOLUNTARY, year=2) == pytest.approx(24_975.0)


def test_the_horizon_stops_mesas_loop_and_refuses_a_step_past_it(tiny_raw, write_scenario):
    # Mesa's idiom runs exactly the horizon's months; a step after it raises a clear
    # error before it changes anything (before: IndexError in the ledger a year later,
    # and `running` never turned False)
    from quartiersim.config.loading import load_scenario
    from quartiersim.errors import HorizonError
    from quartiersim.sim.model import QuarterModel

    m = QuarterModel(load_scenario(write_scenario(tiny_raw)), cooperation="municipal", rng=3,
                     years=2)
    months = 0
    while m.running:
        m.step()
        months += 1
    assert months == 24 and m.steps == 24
    time, served = m.time, m.totals.served_hours.copy()
    for _ in range(2):  # refused again and again, nothing moves
        with pytest.raises(HorizonError, match=r"month 25 is past the model's horizon of 24 "
                                               r"months \(years=2; model.running is False\)"):
            m.step()
        assert (m.steps, m.time) == (24, time)
        assert m.totals.served_hours.tolist() == served.tolist()
