"""What-if sessions: levers from the schema, paired differences, sessions as TOML, CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from pydantic import Field

from quartiersim.config import financing as cfin
from quartiersim.sim import financing as fin
from quartiersim.cli import main
from quartiersim.config.domains import Payer
from quartiersim.errors import QuartiersimError, ScenarioError, UnknownNameError
from quartiersim.studies.runner import run
from quartiersim.config.fields import P, Strict
from quartiersim.config.loading import load_scenario
from quartiersim.studies.whatif import (
    COLUMNS,
    WhatIfCancelled,
    WhatIfSession,
    headline,
    lever_overrides,
    levers,
    paired_table,
    whatif,
)

ROOT = Path(__file__).resolve().parents[1]
HERTEN = ROOT / "scenarios" / "herten-innenstadt.toml"
SMALL = {"population.residents": 400}  # a small Herten: fast runs


@pytest.fixture(scope="module")
def herten():
    return load_scenario(HERTEN)


@pytest.fixture(scope="module")
def small():
    return load_scenario(HERTEN, SMALL)


# --------------------------------------------------------------------------- levers
def test_levers_come_from_schema_metadata_with_scenario_values(herten):
    by_key = {lv.key: lv for lv in levers(herten)}
    budget = by_key["municipality.voluntary_budget_eur_per_year"]
    assert budget.value == 450_000.0  # the scenario's value, not a schema default
    assert (budget.minimum, budget.maximum, budget.unit) == (0, 1e10, "EUR per year")
    assert budget.label == "Voluntary budget"
    assert by_key["volunteering.rate"].label == "Volunteering rate"
    assert by_key["cooperation.coproduction.coordination_fte"].label == "Coproduction: coordination fte"
    assert by_key["population.residents"].kind == "int"
    assert by_key["population.residents"].value == 8700
    assert by_key["volunteering.rate"].maximum == 1
    # a cooperation model's lever parameter, for every registered model
    assert by_key["cooperation.coproduction.coordination_fte"].value == 0.5
    # fields without lever=True are not levers
    assert "population.share_65_plus" not in by_key
    assert "cooperation.coproduction.planning_share" not in by_key


class _TopUpParams(Strict):
    eur_per_year: float = P(1000.0, unit="EUR per year", ge=0, le=1e9, lever=True)
    payer_note: str = Field("x")


class _TopUp(fin.Instrument):
    name = "test_top_up"
    Params = _TopUpParams

    def funds(self, year_index, calendar_year):
        return {Payer.DONORS: self.params.eur_per_year}


@pytest.fixture
def builtin_with_lever(monkeypatch):
    """A built-in financing model with a lever parameter, registered for one test."""
    monkeypatch.setitem(fin.INSTRUMENTS, "test_top_up", _TopUp)
    monkeypatch.setitem(cfin.INSTRUMENT_PARAMS, "test_top_up", _TopUpParams)
    monkeypatch.setitem(cfin.BUILTIN_FINANCING, "topped_up",
                        {"municipal_budget": {}, "test_top_up": {"eur_per_year": 2000.0}})


def test_financing_levers_appear_from_registry_and_expand(builtin_with_lever, herten):
    by_key = {lv.key: lv for lv in levers(herten)}
    assert by_key["financing.topped_up.test_top_up.eur_per_year"].value == 2000.0
    # changing it keeps the model's other instruments (the whole table is overridden)
    ov = lever_overrides(herten, {"financing.topped_up.test_top_up.eur_per_year": 5000.0})
    assert ov == {"financing.topped_up": {"municipal_budget": {},
                                          "test_top_up": {"eur_per_year": 5000.0}}}
    variant = herten.with_overrides(ov)
    assert variant.financing["topped_up"]["test_top_up"]["eur_per_year"] == 5000.0
    assert cfin.BUILTIN_FINANCING["topped_up"]["test_top_up"]["eur_per_year"] == 2000.0


def test_lever_overrides_keep_only_changes_and_reject_unknown_keys(herten):
    assert lever_overrides(herten, {"volunteering.rate": 0.04}) == {}
    assert lever_overrides(herten, {"volunteering.rate": 0.08}) == {"volunteering.rate": 0.08}
    with pytest.raises(ScenarioError, match="'population.share_65_plus' is not a lever; levers: "):
        lever_overrides(herten, {"population.share_65_plus": 0.3})


# --------------------------------------------------------------------------- tables
def _summaries(values):
    return [{"seed": i, "years": 1, "start_year": 2020, "coverage": v, "mandatory_cases": 10 * v,
             "cooperation": "m"} for i, v in enumerate(values)]


def test_paired_table_exact_means_and_paired_interval():
    base = _summaries([0.1, 0.2, 0.3])
    var = _summaries([0.2, 0.3, 0.4])  # +0.1 for every seed: the paired difference has no spread
    t = paired_table(base, var)
    assert list(t.columns) == list(COLUMNS)
    # identifiers and text are not outcomes; cases avoided against the baseline are added
    assert set(t.index) == {"coverage", "mandatory_cases", "mandatory_cases_avoided"}
    avoided = t.loc["mandatory_cases_avoided"]
    assert (avoided["baseline_mean"], avoided["variant_mean"]) == (0.0, pytest.approx(-1.0))
    assert avoided["difference_ci_low"] == avoided["difference_ci_high"] == pytest.approx(-1.0)
    row = t.loc["coverage"]
    assert row["baseline_mean"] == pytest.approx(0.2)
    assert row["variant_mean"] == pytest.approx(0.3)
    assert row["difference_mean"] == pytest.approx(0.1)
    assert row["difference_ci_low"] == pytest.approx(0.1)
    assert row["difference_ci_high"] == pytest.approx(0.1)
    # unpaired, the same data would give a wide interval
    assert row["variant_ci_high"] - row["variant_ci_low"] > 0.4


def test_paired_interval_is_t_interval_of_differences():
    t = paired_table(_summaries([0.0, 0.0]), _summaries([0.1, 0.3]))
    row = t.loc["coverage"]
    half = 12.706204736 * 0.1414213562 / math.sqrt(2)  # t(0.975, 1) * sd / sqrt(n)
    assert row["difference_mean"] == pytest.approx(0.2)
    assert row["difference_ci_low"] == pytest.approx(0.2 - half)
    assert row["difference_ci_high"] == pytest.approx(0.2 + half)


def test_paired_table_needs_equal_lengths():
    with pytest.raises(QuartiersimError, match="same number of runs"):
        paired_table(_summaries([0.1]), _summaries([0.1, 0.2]))


def test_headline_rows_are_variant_minus_baseline_with_registry_labels():
    t = paired_table(_summaries([0.1, 0.2]), _summaries([0.05, 0.1]))
    rows = {r["outcome"]: r for r in headline(t)}
    cases = rows["mandatory_cases"]
    assert cases["label"] == cases["row_label"] == "Mandatory cases started"
    assert cases["change"] == pytest.approx(-0.75)  # 1.5 -> 0.75 cases: 0.75 fewer
    assert cases["change_low"] <= cases["change"] <= cases["change_high"]
    assert [r["outcome"] for r in headline(t)] == ["coverage", "mandatory_cases",
                                                   "mandatory_cases_avoided"]
    avoided = rows["mandatory_cases_avoided"]
    assert avoided["row_label"] == "  avoided against the reference"
    assert avoided["change"] == pytest.approx(0.75)
    assert "cost_municipality_eur" not in rows  # absent outcomes are skipped


def test_headline_indents_details_under_their_parent_only_when_it_is_a_row():
    both = paired_table([{"coverage": 0.1, "coverage_65plus": 0.2}] * 2,
                        [{"coverage": 0.2, "coverage_65plus": 0.3}] * 2)
    rows = {r["outcome"]: r for r in headline(both)}
    assert rows["coverage_65plus"]["row_label"] == "  residents 65+"
    assert rows["coverage_65plus"]["label"] == "Coverage, residents 65+"
    alone = paired_table([{"coverage_65plus": 0.2}] * 2, [{"coverage_65plus": 0.3}] * 2)
    assert headline(alone)[0]["row_label"] == "Coverage, residents 65+"


def test_outcome_that_does_not_apply_is_nan_not_dropped():
    base = [{**s, "coverage_after_grant": None} for s in _summaries([0.1, 0.2])]
    var = [{**s, "coverage_after_grant": g} for s, g in zip(_summaries([0.1, 0.2]), (0.5, 0.7))]
    t = paired_table(base, var)
    row = t.loc["coverage_after_grant"]
    assert math.isnan(row["baseline_mean"]) and math.isnan(row["difference_mean"])
    assert row["variant_mean"] == pytest.approx(0.6)
    assert "cooperation" not in t.index
    rows = {r["outcome"]: r for r in headline(t)}
    assert rows["coverage_after_grant"]["label"] == "Coverage after the grant ends"


def test_headline_shows_coverage_after_grant_when_present():
    base = [{**s, "coverage_after_grant": 0.5} for s in _summaries([0.1, 0.2])]
    var = [{**s, "coverage_after_grant": 0.6} for s in _summaries([0.1, 0.2])]
    rows = {r["outcome"]: r for r in headline(paired_table(base, var))}
    assert rows["coverage_after_grant"]["change"] == pytest.approx(0.1)


# --------------------------------------------------------------------------- runs
def test_whatif_without_changes_has_zero_difference(small):
    t = whatif(small, {}, seeds=2, years=1, workers=1)
    assert (t["difference_mean"] == 0).all()
    assert (t["difference_ci_low"] == 0).all() and (t["difference_ci_high"] == 0).all()


def test_whatif_is_paired_by_seed_and_matches_run(small):
    t = whatif(small, {"municipality.voluntary_budget_eur_per_year": 600_000.0}, seeds=2,
               years=1, workers=1)
    runs = [run(small, seed=s, years=1).summary for s in range(2)]
    assert t.loc["coverage", "baseline_mean"] == pytest.approx(
        (runs[0]["coverage"] + runs[1]["coverage"]) / 2)
    # year 1 (no consolidation cut yet): the municipal model spends the whole budget
    row = t.loc["municipal_cost_voluntary_eur"]
    assert row["difference_mean"] == pytest.approx(150_000.0)
    assert row["difference_ci_low"] == pytest.approx(150_000.0)
    assert t.attrs["overrides"] == {"municipality.voluntary_budget_eur_per_year": 600_000.0}
    assert (t.attrs["model"], t.attrs["baseline_model"]) == ("municipal", "municipal")


def test_whatif_variant_model_deterministic_and_progress(small):
    calls = []
    kw = dict(seeds=2, years=1, model="coproduction", workers=1)
    t1 = whatif(small, {}, on_progress=lambda d, n: calls.append((d, n)), **kw)
    t2 = whatif(small, {}, **kw)
    pd.testing.assert_frame_equal(t1, t2)
    assert calls == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert t1.attrs["model"] == "coproduction"
    assert t1.loc["coverage", "difference_mean"] != 0


def test_whatif_in_process_pool_equals_serial(small):
    serial = whatif(small, {"volunteering.rate": 0.08}, seeds=2, years=1, workers=1)
    pooled = whatif(small, {"volunteering.rate": 0.08}, seeds=2, years=1, workers=2)
    pd.testing.assert_frame_equal(serial, pooled)


def test_whatif_cancel_stops_before_running():
    import threading

    ev = threading.Event()
    ev.set()
    with pytest.raises(WhatIfCancelled, match="cancelled after 0 of 4 runs"):
        whatif(HERTEN, SMALL, seeds=2, years=1, workers=1, cancel=ev)


def test_whatif_cancel_during_pooled_runs_keeps_the_count(small):
    """Cancel from the progress callback after the first finished run (as the app's
    Cancel button does): the running workers are ended, not waited for."""
    import threading

    ev = threading.Event()
    seen: list[int] = []

    def progress(done, total):
        seen.append(done)
        if done >= 1:
            ev.set()

    with pytest.raises(WhatIfCancelled, match=r"cancelled after [12] of 8 runs"):
        whatif(small, {"volunteering.rate": 0.08}, seeds=4, years=1, workers=2,
               on_progress=progress, cancel=ev)
    assert seen[0] == 0 and max(seen) <= 2


@pytest.mark.parametrize("kwargs, error, message", [
    ({"overrides": {"volunteering.rate": 2}}, ScenarioError, "'volunteering.rate' = 2: must be <= 1"),
    ({"model": "nope"}, UnknownNameError, "unknown cooperation model 'nope'; allowed: "),
    ({"financing": "nope"}, UnknownNameError, "unknown financing model 'nope'; allowed: "),
    ({"seeds": 0}, QuartiersimError, "seeds = 0: must be a whole number >= 1"),
    ({"years": 0}, QuartiersimError, "years = 0: must be a whole number >= 1"),
])
def test_whatif_errors_before_any_run(kwargs, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(")):
        whatif(HERTEN, **{"seeds": 2, "years": 1, "workers": 1, **kwargs})


# --------------------------------------------------------------------------- sessions
def _session(tmp_path, small_results=True):
    s = WhatIfSession(scenario=str(HERTEN), levers={"volunteering.rate": 0.08},
                      model="coproduction", seeds=2, years=1)
    if small_results:
        s.results = paired_table(_summaries([0.1, 0.2]), _summaries([0.2, 0.4]))
    return s


def test_session_roundtrip(tmp_path):
    s = _session(tmp_path)
    path = s.save(tmp_path / "sub" / "session.toml")
    text = path.read_text()
    assert text.startswith("# quartiersim what-if session")
    assert '"volunteering.rate" = 0.08' in text
    back = WhatIfSession.load(path)
    assert (back.scenario, back.levers, back.model, back.financing, back.seeds, back.years) == \
        (str(HERTEN), {"volunteering.rate": 0.08}, "coproduction", None, 2, 1)
    pd.testing.assert_frame_equal(back.results, s.results)


def test_session_without_results_roundtrip(tmp_path):
    s = _session(tmp_path, small_results=False)
    back = WhatIfSession.load(s.save(tmp_path / "s.toml"))
    assert back.results is None and back.levers == s.levers


@pytest.mark.parametrize("text, message", [
    ('[session]\nscenario = "{h}"\nshell = "rm -rf /"\n', "unknown key 'session.shell'"),
    ('[session]\nscenario = "{h}"\nseeds = "ten"\n', "'session.seeds' = 'ten'"),
    ('[levers]\nx = 1\n', "missing required key 'session'"),
    ('[session\nscenario = 1', "not a valid TOML session file"),
    ('[session]\nscenario = "{h}"\n[levers]\n"volunteering.rate" = 3.0\n',
     "'volunteering.rate' = 3.0: must be <= 1"),
    ('[session]\nscenario = "nowhere.toml"\n', "nowhere.toml: no such scenario file"),
    ('[session]\nscenario = "{h}"\n[results.coverage]\nbaseline_mean = 1.0\n',
     "missing required key 'results.coverage.variant_mean'"),
])
def test_session_load_errors_name_file_and_key(tmp_path, text, message):
    p = tmp_path / "bad.toml"
    p.write_text(text.replace("{h}", str(HERTEN)))
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace("[", r"\[")):
        WhatIfSession.load(p)


def test_session_load_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match="no such session file"):
        WhatIfSession.load(tmp_path / "none.toml")


# --------------------------------------------------------------------------- CLI
def test_cli_whatif_json_and_save(tmp_path, capsys):
    out = tmp_path / "s.toml"
    rc = main(["whatif", str(HERTEN), "--set", "population.residents=400", "--set",
               "volunteering.rate=0.08", "--seeds", "2", "--years", "1", "--workers", "1",
               "--json", "--save", str(out)])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["overrides"] == {"population.residents": 400, "volunteering.rate": 0.08}
    names = [r["outcome"] for r in doc["outcomes"]]
    assert "coverage" in names and "cost_municipality_eur" in names
    residents = next(r for r in doc["outcomes"] if r["outcome"] == "residents_end")
    assert residents["baseline_mean"] > 5000 and residents["variant_mean"] < 1000
    assert WhatIfSession.load(out).levers["volunteering.rate"] == 0.08


def test_cli_whatif_table(capsys):
    rc = main(["whatif", str(HERTEN), "--set", "population.residents=400", "--model",
               "coproduction", "--seeds", "2", "--years", "1", "--workers", "1"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "baseline municipal/budget vs variant coproduction/budget" in " ".join(text.split())
    assert "Left out: Coverage after the grant ends (n/a for every run)." in text
    assert [w[0] for w in map(str.split, text.splitlines())
            if w and w[0] in ("baseline", "variant", "change")][-3:] == ["baseline", "variant", "change"]


def test_cli_whatif_invalid_lever_exits_2_with_message(capsys):
    rc = main(["whatif", str(HERTEN), "--set", "volunteering.rate=2", "--seeds", "2"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "'volunteering.rate' = 2: must be <= 1.0" in err
    assert "Traceback" not in err


def test_financing_lever_labels_short_but_unique(herten):
    labels = [lv.label for lv in levers(herten)]
    assert len(labels) == len(set(labels))
    fin = {lv.key: lv.label for lv in levers(herten) if lv.key.startswith("financing.")}
    for key, label in fin.items():
        name = key.split(".")[1].replace("_", " ")
        assert label.lower().startswith(name), (key, label)
