"""The fiscal stress test: shocks, its outcomes by hand, the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import HERTEN, SCENARIOS

import quartiersim as qs
from quartiersim.cli import main
from quartiersim.config.schema import Shock
from quartiersim.sim.model import QuarterModel
from quartiersim.sim.shocks import apply_transfer_shocks, revenue_factors
from quartiersim.studies.stress import STRESS_OUTCOMES, separate, stress_test


def test_revenue_factors_multiply_over_active_years():
    shocks = [Shock(year=2021, tax_revenue_change=-0.1, duration_years=2),
              Shock(year=2022, tax_revenue_change=-0.5)]
    assert revenue_factors(shocks) == {2021: pytest.approx(0.9), 2022: pytest.approx(0.45)}


def _shocked(tiny_raw, **shock):
    tiny_raw["municipality"].update(consolidation_regime=True, consolidation_voluntary_share_of_gap=0.1)
    tiny_raw["shocks"] = [dict({"year": 2021, "tax_revenue_change": -0.1}, **shock)]
    return tiny_raw


def test_stress_outcomes_by_hand(tiny_raw, write_scenario):
    # balance without shock: 1,000,000 - 900,000 - 30,000 = 70,000 every year.
    # 2021: revenue -10 % -> balance -30,000 -> a tenth of the gap (3,000) is cut from the
    # voluntary line (5 % of 930,000 = 46,500: the quarter's 30,000 and 16,500 in the
    # city), the other measures close 0.9 x 30,000 over 10 years (2,700 a year);
    # 2022: balance 1,000,000 - (900,000 - 16,500 x 3/46.5 - 2,700) - 30,000 x (1 - 3/46.5)
    # = 75,700 >= 70,000: recovered after one year. Coverage from 2021 on: 0.5 (2021) and
    # 0.5 x (1 - 3/46.5) (2022) against 0.5.
    path = write_scenario(_shocked(tiny_raw))
    res = stress_test(path, model="municipal", seed=1, years=3)
    assert set(STRESS_OUTCOMES) <= set(res)
    assert res["stress_max_deficit_eur"] == pytest.approx(30_000.0)
    assert res["stress_years_to_recover"] == 1.0
    assert res["stress_coverage_drop"] == pytest.approx(0.5 - 0.5 * (1 + (1 - 3 / 46.5)) / 2)
    assert res["unshocked"]["budget_balance_2021_eur"] == pytest.approx(70_000.0)
    assert res["shocked"]["budget_balance_2021_eur"] == pytest.approx(-30_000.0)
    assert res["shocked"]["budget_balance_2022_eur"] == pytest.approx(75_700.0)
    assert res["shocked"]["consolidation_cut_years"] == 1


def test_not_recovered_within_horizon_is_nan(tiny_raw, write_scenario):
    path = write_scenario(_shocked(tiny_raw, duration_years=5))
    res = stress_test(path, model="municipal", seed=1, years=3)
    assert np.isnan(res["stress_years_to_recover"])
    assert res["stress_max_deficit_eur"] > 0


def test_ordinary_runs_ignore_shocks(tiny_raw, write_scenario):
    path = write_scenario(_shocked(tiny_raw))
    s = qs.run(path, model="municipal", seed=1, years=3).summary
    assert s["budget_balance_2021_eur"] == pytest.approx(70_000.0)


def test_transfer_shock_raises_recipients_by_the_share():
    sc = qs.load_scenario(HERTEN)
    m = QuarterModel(sc, rng=3, years=1, shocks=[Shock(year=2021, transfer_recipient_change=0.2)])
    a = m.residents
    before = int((a.alive & a.transfer).sum())
    apply_transfer_shocks(m, 2020)  # no shock this year
    assert int((a.alive & a.transfer).sum()) == before
    apply_transfer_shocks(m, 2021)
    assert int((a.alive & a.transfer).sum()) == before + round(0.2 * before)


def test_no_shocks_is_an_error(tiny_raw, write_scenario):
    with pytest.raises(qs.QuartiersimError, match=r"no shocks within 2020-2022; declare them as \[\[shocks\]\]"):
        stress_test(write_scenario(tiny_raw), model="municipal", years=3)


def test_shock_schema_is_validated(tiny_raw, write_scenario):
    tiny_raw["shocks"] = [{"year": 2021, "tax_revenue_change": -2.0}]
    with pytest.raises(qs.ScenarioError, match=r"'shocks\[0\]\.tax_revenue_change' = -2\.0: must be >= -1"):
        qs.load_scenario(write_scenario(tiny_raw))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenarios_declare_shocks_within_ten_years(path):
    sc = qs.load_scenario(path)
    assert sc.shocks and all(sc.meta.start_year <= s.year < sc.meta.start_year + 10 for s in sc.shocks)


def test_cli_stress_table_and_json(tiny_raw, write_scenario, capsys):
    path = str(write_scenario(_shocked(tiny_raw)))
    assert main(["stress", path, "--model", "municipal", "--years", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stress_max_deficit_eur"] == pytest.approx(30_000.0)
    assert main(["stress", path, "--model", "municipal", "--years", "3"]) == 0
    text = capsys.readouterr().out
    assert "unshocked" in text and "Years to recover from the shocks: 1" in text
    assert main(["stress", path, "--model", "nope"]) == 2
    assert "unknown cooperation model 'nope'" in capsys.readouterr().err


def test_cli_json_writes_null_when_not_recovered(tiny_raw, write_scenario, capsys):
    path = str(write_scenario(_shocked(tiny_raw, duration_years=5)))
    assert main(["stress", path, "--model", "municipal", "--years", "3", "--json"]) == 0
    out = capsys.readouterr().out
    assert "NaN" not in out
    assert json.loads(out)["stress_years_to_recover"] is None


def test_the_parts_of_a_shock_run_apart(tiny_raw, write_scenario):
    shocks = [Shock(year=2021, tax_revenue_change=-0.1, transfer_recipient_change=0.2)]
    assert [s.transfer_recipient_change for s in separate(shocks, "revenue")] == [0.0]
    assert [s.tax_revenue_change for s in separate(shocks, "revenue")] == [-0.1]
    assert [s.tax_revenue_change for s in separate(shocks, "transfers")] == [0.0]
    assert [s.transfer_recipient_change for s in separate(shocks, "transfers")] == [0.2]
    assert separate(shocks, "all") == shocks
    with pytest.raises(qs.QuartiersimError, match=r"shock = 'tax': allowed: all, revenue, transfers"):
        separate(shocks, "tax")
    # the tiny world's revenue shock alone: the same deficit; transfers alone: none
    path = write_scenario(_shocked(tiny_raw, transfer_recipient_change=0.5))
    assert stress_test(path, model="municipal", seed=1, years=3, shock="revenue")[
        "stress_max_deficit_eur"] == pytest.approx(30_000.0)
    only = stress_test(path, model="municipal", seed=1, years=3, shock="transfers")
    assert only["stress_max_deficit_eur"] == 0.0 and only["shock"] == "transfers"
    assert only["shocks"][0]["tax_revenue_change"] == 0.0


def test_transfer_shock_alone_adds_recipients_and_mandatory_cases_on_herten():
    # twice the recipients: Herten's own +15 % adds about 4 cases in 2023-25 on average
    # (seeds 1-4: -7, +8, +10, +4), less than one seed's spread; doubling adds 17-28
    hit = stress_test(HERTEN, seed=1, years=6, shock="transfers",
                      overrides={"shocks.0.transfer_recipient_change": 1.0})
    # no revenue loss: the voluntary budget is never cut
    assert hit["shocked"]["voluntary_budget_eur_by_year"] == hit["unshocked"]["voluntary_budget_eur_by_year"]
    base, shocked = (hit[k]["mandatory_cases_by_year"] for k in ("unshocked", "shocked"))
    assert sum(shocked[y] for y in range(2023, 2026)) > sum(base[y] for y in range(2023, 2026))
    assert shocked[2020] == base[2020] and shocked[2022] == base[2022]  # before the shock: paired


def test_cli_json_gives_the_budget_and_cases_by_year(tiny_raw, write_scenario, capsys):
    path = str(write_scenario(_shocked(tiny_raw)))
    assert main(["stress", path, "--model", "municipal", "--years", "3", "--json",
                 "--shock", "revenue"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["shock"] == "revenue"
    for run in ("unshocked", "shocked"):
        assert set(out[run]["voluntary_budget_eur_by_year"]) == {"2020", "2021", "2022"}
        assert set(out[run]["mandatory_cases_by_year"]) == {"2020", "2021", "2022"}
    assert out["shocked"]["voluntary_budget_eur_by_year"]["2022"] == pytest.approx(30_000.0 * (1 - 3 / 46.5))
    with pytest.raises(SystemExit) as exit_:
        main(["stress", path, "--shock", "tax"])
    assert exit_.value.code == 2 and "invalid choice: 'tax'" in capsys.readouterr().err
    assert main(["stress", path, "--model", "municipal", "--years", "3"]) == 0
    assert "The quarter's voluntary budget (EUR) and mandatory cases started, by year" in capsys.readouterr().out
