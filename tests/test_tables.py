"""The first screen (issue 17): headline tables that fit the terminal, --all, --out files."""

from __future__ import annotations

import io
import json
import math
import re

import pandas as pd
import pytest
from conftest import HERTEN
from rich.console import Console

from quartiersim.cli import main, tables
from quartiersim.cli.common import COOPERATION_NAMES
from quartiersim.cli.tables import Estimate, headline_tables
from quartiersim.sim.outcomes import REGISTRY
from quartiersim.sim.registry import Kind, OutcomeGroup, Scope, View
from quartiersim.studies.format import format_value

_BASE = {Kind.SHARE: 0.2, Kind.EUR: 1_500_000.0, Kind.HOURS: 140_000.0, Kind.COUNT: 100.0,
         Kind.RATE: 6.0, Kind.YEARS: 1.0, Kind.MONTHS: 2.0}
_STEP = {Kind.SHARE: 0.03, Kind.EUR: -50_000.0, Kind.HOURS: -1_000.0, Kind.COUNT: -5.0,
         Kind.RATE: -0.3, Kind.YEARS: 0.0, Kind.MONTHS: -0.1}


def _compare_table() -> pd.DataFrame:
    """A compare() table for the six models: model i has base + i x step for each outcome
    (coverage rises, cost and cases fall: innovation_lab, the last, is best); state/federal
    cost is zero everywhere; coverage after the grant is missing (no grant)."""
    rows = []
    outcomes = [REGISTRY.lookup(n) for n in REGISTRY.names(Scope.SUMMARY)]
    outcomes.append(REGISTRY.lookup("budget_balance_2020_eur"))
    for i, m in enumerate(COOPERATION_NAMES):
        row = {"model": m, "financing": "budget", "seeds": 3}
        for o in outcomes:
            if o.name == "coverage_after_grant":
                continue
            v = 0.0 if o.name == "cost_state_federal_eur" else _BASE[o.kind] + i * _STEP[o.kind]
            half = 0.05 * abs(v)
            row |= {f"{o.name}_mean": v, f"{o.name}_ci_low": v - half, f"{o.name}_ci_high": v + half}
        rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture
def fake_compare(monkeypatch):
    """``quartiersim compare`` on :func:`_compare_table` (no simulation)."""
    calls = []

    def compare(*args, **kwargs):
        calls.append(kwargs)
        return _compare_table()

    monkeypatch.setattr("quartiersim.studies.runner.compare", compare)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    return calls


def _lines(text: str) -> list[str]:
    return text.rstrip("\n").split("\n")


# --------------------------------------------------------------------------- the headline
@pytest.mark.parametrize("width", [80, 120, 200])
def test_headline_fits_the_width_and_marks_the_best(width, fake_compare, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", str(width))
    assert main(["compare", str(HERTEN)]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in _lines(out)) <= width
    assert "\x1b" not in out  # piped (captured): plain text
    for m in COOPERATION_NAMES:
        assert m in out
    best = next(line for line in _lines(out) if line.startswith("innovation_lab"))
    # best reach (highest), cases and cost per resident-year (lowest); the fake table's
    # escalation rate rises with reach, so municipal provision has the best of it
    assert best.split() == ["innovation_lab", "*0.350", "0.350", "*4.5", "*1,250,000"]
    first = next(line for line in _lines(out) if line.startswith("municipal "))
    assert first.split() == ["municipal", "0.200", "*0.200", "6.0", "1,500,000"]
    assert out.count("*") == 4 + 1  # four marks and the note
    assert "Left out: Coverage after the grant ends (n/a for every model)." in out
    assert "* best in the column" in out
    assert "Escalation" in out and "Reach" in out
    assert fake_compare[0]["seeds"] == 10  # the default


def test_headline_leaves_out_columns_and_rows_with_nothing_to_show():
    cov, cases = REGISTRY.lookup("coverage"), REGISTRY.lookup("mandatory_cases")
    results = {"a": {"coverage": Estimate(0.2, 0.1, 0.3), "mandatory_cases": Estimate(0.0)},
               "b": {"coverage": Estimate(0.4, 0.3, 0.5), "mandatory_cases": Estimate(None)},
               "c": {"coverage": Estimate(None), "mandatory_cases": Estimate(0.0)}}
    tabs, notes = headline_tables(results, [cov, cases], width=80)
    text = _render(tabs, 80)
    assert "Mandatory" not in text and "c " not in text and "*0.400" in text
    assert notes == ["Left out: Mandatory cases started (n/a or zero for every model).",
                     "Left out: c (n/a for every outcome).",
                     "* best in the column (higher reach, lower escalation, fewer cases, "
                     "lower cost)."]


def test_best_is_not_marked_when_all_show_the_same_value():
    cov = REGISTRY.lookup("coverage")
    same = {"a": {"coverage": Estimate(0.2121)}, "b": {"coverage": Estimate(0.2124)}}
    tabs, notes = headline_tables(same, [cov], width=80)
    assert "*" not in _render(tabs, 80) and not any(n.startswith("*") for n in notes)
    lower = REGISTRY.lookup("municipal_cost_eur")
    tabs, _ = headline_tables({"a": {lower.name: Estimate(5.0)}, "b": {lower.name: Estimate(3.0)}},
                              [lower], width=80)
    assert "*3" in _render(tabs, 80) and "*5" not in _render(tabs, 80)


def test_columns_that_do_not_fit_go_to_a_second_table():
    wide = REGISTRY.select(view=View.TABLE)[:8]
    results = {m: {o.name: Estimate(123_456_789.0, 1.0, 2.0) for o in wide} for m in "ab"}
    tabs, _ = headline_tables(results, wide, width=60)
    assert len(tabs) > 1
    text = _render(tabs, 60)
    assert max(len(line) for line in _lines(text)) <= 60
    assert text.count("123456789.000") == 2 * len(wide)  # nothing cropped (shares: 3 decimals)


def test_on_a_terminal_the_best_is_bold_and_coloured():
    cov = REGISTRY.lookup("coverage")
    tabs, _ = headline_tables({"a": {"coverage": Estimate(0.2)}, "b": {"coverage": Estimate(0.4)}},
                              [cov], width=80)
    con = Console(file=io.StringIO(), width=80, force_terminal=True, color_system="standard")
    con.print(tabs[0])
    assert re.search(r"\x1b\[1;32m *\*0\.400\x1b\[0m", con.file.getvalue())


def _render(tabs, width: int) -> str:
    con = Console(file=io.StringIO(), width=width)
    for t in tabs:
        con.print(t)
    return con.file.getvalue()


# --------------------------------------------------------------------------- --all
def test_all_prints_every_group_and_leaves_out_zero_rows(fake_compare, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["compare", str(HERTEN), "--all"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in _lines(out)) <= 80
    titles = [line for line in _lines(out) if line in {g.title for g in OutcomeGroup}]
    assert titles == ["Need episodes: reach, time to service, escalation", "Coverage",
                      "Mandatory cases", "Cost by payer", "Volunteers",
                      "Carriers and residents", "Municipal budget"]
    assert "Left out: Cost to state / federal (EUR) (zero for every model)." in out
    assert "  elderly support" in out and "Municipal budget balance 2020 (EUR)" in out
    for m in ("municipal", "contracting", "coproduction", "meeting point", "innovation"):
        assert m in out  # each model heads a column (underscores as spaces, so they wrap)


# --------------------------------------------------------------------------- --out
@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".json"])
def test_out_file_reads_back_with_the_json_numbers(suffix, fake_compare, tmp_path, capsys):
    path = tmp_path / f"table{suffix}"
    assert main(["compare", str(HERTEN), "--json", "--out", str(path)]) == 0
    rows = {r["model"]: r for r in json.loads(capsys.readouterr().out)}
    df = {".csv": pd.read_csv, ".xlsx": pd.read_excel, ".json": pd.read_json}[suffix](path)
    assert list(df.columns) == ["model", "financing", "seeds", "group", "outcome", "label", "unit",
                                "mean", "ci_low", "ci_high"]
    n_outcomes = len([c for c in rows["municipal"] if c.endswith("_mean")])
    assert len(df) == 6 * n_outcomes
    for r in df.itertuples():
        for col in ("mean", "ci_low", "ci_high"):
            expected = rows[r.model][f"{r.outcome}_{col}"]
            assert getattr(r, col) == pytest.approx(expected, rel=1e-12), (r.model, r.outcome)
    cov = df[(df["model"] == "municipal") & (df["outcome"] == "coverage")].iloc[0]
    assert (cov["label"], cov["unit"], cov["group"]) == (
        "Demand coverage (served / needed hours)", "share of need-hours", "coverage")


def test_out_rejects_other_file_types_before_any_run(fake_compare, tmp_path, capsys):
    assert main(["compare", str(HERTEN), "--out", str(tmp_path / "t.txt")]) == 2
    assert "--out " in (err := capsys.readouterr().err) and \
        "the file must end in .csv, .xlsx or .json" in err
    assert fake_compare == []  # nothing ran


def test_tidy_without_interval_and_missing_values():
    cov = REGISTRY.lookup("coverage")
    df = tables.tidy({"shocked": {"coverage": Estimate(None)}}, [cov], "run", interval=False)
    assert list(df.columns) == ["run", "group", "outcome", "label", "unit", "value"]
    assert math.isnan(df["value"].iloc[0])


# --------------------------------------------------------------------------- whatif, stress
def test_whatif_headline_and_out(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    path = tmp_path / "w.csv"
    assert main(["whatif", str(HERTEN), "--set", "population.residents=400", "--set",
                 "volunteering.rate=0.08", "--seeds", "2", "--years", "1", "--workers", "1",
                 "--out", str(path)]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in _lines(out)) <= 80 and "\x1b" not in out
    rows = [w[0] for w in map(str.split, _lines(out))
            if len(w) > 1 and w[0] in ("baseline", "variant", "change") and w[1][0] in "+-*0123456789"]
    assert rows == ["baseline", "variant", "change"]
    df = pd.read_csv(path)
    assert set(df["run"]) == {"baseline", "variant", "change"}
    reach = df[df["outcome"] == "reach"].set_index("run")["mean"]
    assert reach["change"] == pytest.approx(reach["variant"] - reach["baseline"], abs=1e-12)
    change = next(line for line in _lines(out) if line.startswith("change"))
    assert change.split()[1] == format_value(reach["change"], Kind.SHARE, signed=True)


def test_stress_headline_all_and_out(tiny_raw, write_scenario, tmp_path, capsys, monkeypatch):
    from test_stress import _shocked

    monkeypatch.setenv("COLUMNS", "80")
    scenario = str(write_scenario(_shocked(tiny_raw)))
    path = tmp_path / "s.xlsx"
    assert main(["stress", scenario, "--model", "municipal", "--years", "3", "--out", str(path)]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in _lines(out)) <= 80 and "\x1b" not in out
    assert "Years to recover from the shocks: 1" in out
    assert "Municipal budget balance by year (EUR)" in out
    df = pd.read_excel(path)
    assert set(df["run"]) == {"unshocked", "shocked", "stress test"}
    assert df.set_index("outcome").loc["stress_max_deficit_eur", "value"] == pytest.approx(30_000.0)
    assert main(["stress", scenario, "--model", "municipal", "--years", "3", "--all"]) == 0
    out = capsys.readouterr().out
    assert "Cost by payer" in out and "Municipal budget" in out
