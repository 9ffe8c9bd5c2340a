"""The outcome registry (one declaration per outcome) and the one number formatter."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from quartiersim.cli import main
from quartiersim.config.loading import load_scenario
from quartiersim.sim import outcomes
from quartiersim.sim.model import SERIES_KEYS, QuarterModel
from quartiersim.sim.outcomes import (
    REGISTRY,
    FinishedRun,
    batch_extras,
    series_names,
    summarize,
)
from quartiersim.sim.registry import (
    Better,
    Kind,
    Outcome,
    OutcomeGroup,
    Part,
    Registry,
    Scope,
    View,
    tree_rows,
)
from quartiersim.studies.experiment import (
    ExperimentError,
    known_outcomes,
    load_experiment,
)
from quartiersim.studies.format import format_interval, format_value


@pytest.fixture
def tiny_model(tiny_raw, write_scenario):
    """The tiny world (10 residents, 100 counselling need-hours a month) after 12 months."""
    sc = load_scenario(write_scenario(tiny_raw))
    m = QuarterModel(sc, cooperation="municipal", rng=0, years=1)
    m.run_months(12)
    return m


def _twice_the_need(run: FinishedRun) -> float:
    return 2.0 * run.need


FAKE = Outcome("twice_the_need_hours", "Twice the need (h over the run)", Kind.HOURS,
               "hours over the run", OutcomeGroup.COVERAGE, _twice_the_need,
               views=frozenset({View.TABLE, View.HEADLINE}), short="Twice the need",
               better=Better.HIGHER)


@pytest.fixture
def with_fake(monkeypatch):
    monkeypatch.setattr(REGISTRY, "entries", (*REGISTRY.entries, FAKE))


# --------------------------------------------------------------------------- the summary
def test_summary_keys_are_the_registry_summary_outcomes_in_order(tiny_model):
    s = summarize(tiny_model)
    years = [f"budget_balance_{y.year}_eur" for y in tiny_model.municipality.history]
    assert years == ["budget_balance_2020_eur"]
    assert list(s) == [*REGISTRY.names(Scope.SUMMARY), *years]
    assert s["need_hours"] == pytest.approx(12 * 10 * 10.0)  # 10 residents x 10 h x 12 months
    assert s["budget_balance_2020_eur"] == tiny_model.municipality.history[0].balance_eur


def test_an_added_entry_appears_in_the_summary_and_the_tables(with_fake, tiny_model, tiny_raw,
                                                              write_scenario, capsys):
    s = summarize(tiny_model)
    assert s["twice_the_need_hours"] == pytest.approx(2 * s["need_hours"]) == 2400.0
    path = str(write_scenario(tiny_raw))
    assert main(["run", path, "--model", "municipal", "--years", "1"]) == 0
    out = capsys.readouterr().out
    assert "Twice the need (h over the run)" in out and "2,400" in out
    assert main(["compare", path, "--models", "municipal", "--seeds", "2", "--years", "1",
                 "--workers", "1", "--all"]) == 0
    out = capsys.readouterr().out
    assert "Twice the need (h over the run)" in out and "2,400" in out
    assert main(["compare", path, "--models", "municipal", "--seeds", "2", "--years", "1",
                 "--workers", "1"]) == 0  # the headline: its short label heads a column
    out = capsys.readouterr().out
    assert "Twice" in out and "2,400" in out


def test_an_added_entry_is_a_valid_experiment_outcome(with_fake):
    assert "twice_the_need_hours" in known_outcomes()
    assert REGISTRY.is_known("twice_the_need_hours", (Scope.SUMMARY, Scope.BATCH))


def test_batch_extras_are_the_batch_scope(tiny_model):
    extra = batch_extras(tiny_model)
    assert list(extra) == REGISTRY.names(Scope.BATCH) == [
        "coverage_final_year", "coverage_distance_0_250m", "coverage_distance_250_500m",
        "coverage_distance_500_1000m", "coverage_distance_1000_infm"]
    # the tiny world's two cells are 0 m and one cell (well under 250 m) from the office
    assert math.isnan(extra["coverage_distance_1000_infm"])
    last = tiny_model.datacollector.get_model_vars_dataframe().iloc[-12:]
    assert extra["coverage_final_year"] == pytest.approx(
        last["served_hours"].sum() / last["need_hours"].sum())
    assert 0.0 <= extra["coverage_distance_0_250m"] <= 1.0


# --------------------------------------------------------------------------- declarations
def test_patterns_expand_and_lookup_their_members():
    o = REGISTRY.lookup("cost_state_federal_eur")
    assert (o.label, o.row_label, o.parent, o.kind) == (
        "Cost to state / federal (EUR)", "state / federal", "total_cost_eur", Kind.EUR)
    assert REGISTRY.lookup("coverage_65plus").label == "Coverage, residents 65+"
    year = REGISTRY.lookup("budget_balance_2031_eur")
    assert year.label == "Municipal budget balance 2031 (EUR)" and year.scope is Scope.SUMMARY
    assert REGISTRY.lookup("budget_balance_20x1_eur") is None
    assert REGISTRY.lookup("coverage_nowhere") is None
    assert "budget_balance_<year>_eur" in known_outcomes()


def test_an_outcome_declared_twice_is_refused():
    twin = dataclasses.replace(FAKE, name="coverage_counselling")
    with pytest.raises(ValueError, match="outcome declared twice: coverage_counselling"):
        Registry([*REGISTRY.entries, twin])


def test_run_dependent_pattern_has_no_members_without_a_run():
    years = Outcome("x_{part}", "X {part}", Kind.EUR, "EUR", OutcomeGroup.BUDGET,
                    lambda run, part: float(part), parts=lambda run: (Part("1", "one"),))
    assert years.expand() == []
    member = years.expand(run=object())[0]
    assert (member.name, member.label, member.compute(None)) == ("x_1", "X one", 1.0)


def test_every_summary_outcome_has_a_compute_and_label():
    for o in REGISTRY.select(scope=(Scope.SUMMARY, Scope.BATCH)):
        assert o.compute is not None and o.label and o.unit, o.name
    for o in REGISTRY.select(scope=(Scope.STRESS, Scope.SERIES)):
        assert o.compute is None, o.name


def test_registry_declares_exactly_the_model_series():
    assert sorted(series_names()) == sorted(SERIES_KEYS)
    renamed = {o.name: o.series for o in REGISTRY.select(display=False)
               if o.series and o.series != o.name}
    # the remaining differences name different quantities: a monthly count or stock
    # (series) against the run's total or its end value (summary)
    assert renamed == {"mandatory_cases": "new_mandatory_cases",
                       "volunteers_at_end": "volunteers", "carriers_surviving": "carriers_open",
                       "residents_end": "residents"}


def test_tree_rows_indent_details_under_a_shown_parent():
    rows = tree_rows(REGISTRY.select(view=View.TABLE))
    labels = {o.name: label for o, label in rows}
    assert labels["municipal_cost_voluntary_eur"] == "  voluntary"
    assert labels["municipal_cost_eur"] == "Municipal cost (EUR over the run)"
    alone = tree_rows([REGISTRY.lookup("municipal_cost_voluntary_eur")])
    assert alone[0][1] == "Municipal cost, voluntary services (EUR)"


def test_table_order_is_by_group_then_declaration():
    names = [o.name for o in REGISTRY.select(view=View.TABLE)]
    assert names.index("npv_municipal_cost_eur") == names.index("cost_residents_eur") + 1
    groups = [o.group for o in REGISTRY.select(view=View.TABLE)]
    assert groups == sorted(groups, key=list(OutcomeGroup).index)


def _experiment(tmp_path, outcomes_line):
    data = Path(__file__).parent / "data"
    (tmp_path / "tiny-quarter.toml").write_text((data / "tiny-quarter.toml").read_text())
    p = tmp_path / "e.toml"
    p.write_text('name = "t"\nscenarios = ["tiny-quarter.toml"]\nyears = 1\nreplications = 2\n'
                 + outcomes_line)
    return p


def test_experiment_outcomes_are_checked_against_the_registry(tmp_path, with_fake):
    ok = _experiment(tmp_path, 'outcomes = ["coverage_final_year", "budget_balance_2020_eur", '
                               '"twice_the_need_hours"]\n')
    assert load_experiment(ok).spec.outcomes[-1] == "twice_the_need_hours"
    for bad in ("happiness", "stress_max_deficit_eur", "staff_hours", "budget_balance_20_eur"):
        with pytest.raises(ExperimentError, match=rf"unknown outcome '{bad}'; allowed: coverage, "
                                                  r".*coverage_final_year.*budget_balance_<year>_eur"):
            load_experiment(_experiment(tmp_path, f'outcomes = ["{bad}"]\n'))


# --------------------------------------------------------------------------- the formatter
@pytest.mark.parametrize(("value", "kind", "signed", "text"), [
    (0.21349, Kind.SHARE, False, "0.213"),
    (0.004, Kind.SHARE, True, "+0.004"),
    (-0.0, Kind.SHARE, True, "+0.000"),
    (1728546.4, Kind.EUR, False, "1,728,546"),
    (-105938.2, Kind.EUR, True, "-105,938"),
    (0, Kind.EUR, True, "+0"),
    (116510.3, Kind.HOURS, False, "116,510"),
    (98, Kind.COUNT, False, "98"),
    (104.0, Kind.COUNT, False, "104"),
    (106.5, Kind.COUNT, False, "106.5"),
    (-2.5, Kind.COUNT, True, "-2.5"),
    (np.int64(5), Kind.COUNT, False, "5"),
    (5.7, Kind.RATE, False, "5.7"),
    (6.0, Kind.RATE, False, "6.0"),
    (2.0, Kind.YEARS, False, "2"),
    (None, Kind.SHARE, False, "n/a"),
    (math.nan, Kind.EUR, True, "n/a"),
    (math.inf, Kind.EUR, False, "n/a"),
    (0.5, "share", False, "0.500"),
])
def test_format_value(value, kind, signed, text):
    assert format_value(value, kind, signed) == text


def test_format_interval_and_unknown_kind():
    assert format_interval(0.212, 0.205, 0.219, Kind.SHARE) == "0.212 [0.205, 0.219]"
    assert format_interval(2.5, -80.1, 85.1, Kind.COUNT, signed=True) == "+2.5 [-80.1, +85.1]"
    assert format_interval(None, None, None, Kind.EUR) == "n/a [n/a, n/a]"
    with pytest.raises(ValueError, match="'percent' is not a valid Kind"):
        format_value(1.0, "percent")


def test_module_reads_the_registry_when_called(with_fake):
    assert outcomes.REGISTRY.lookup("twice_the_need_hours") is FAKE
