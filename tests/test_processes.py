"""The core processes, each shown in a tiny hand-built quarter where its effect must appear."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import numpy as np
import pytest

import quartiersim as qs
from quartiersim.sim.model import QuarterModel
from quartiersim.sim.processes.matching import capacity

from conftest import ROOT


def _model(write_scenario, raw, **kw) -> QuarterModel:
    return QuarterModel(qs.load_scenario(write_scenario(raw)), rng=kw.pop("seed", 1), **kw)


def test_distance_and_barrier_lower_take_up(tiny_raw, write_scenario):
    # office M at the west end; housing near it and housing behind a barrier further east
    tiny_raw["space"]["layout"] = ["M...#...."]
    tiny_raw["access"].update(decay_length_m=200.0, trust_municipal_office=1.0)
    tiny_raw["population"]["residents"] = 400
    tiny_raw["municipality"]["voluntary_budget_eur_per_year"] = 1e7  # capacity is no limit
    m = _model(write_scenario, tiny_raw)
    m.run_months(6)
    a = m.residents
    col = a.home_cell % m.space.width
    need, served = a.need_hours.sum(1), a.served_hours.sum(1)
    near = a.alive & (col <= 2)
    far = a.alive & (col >= 5)
    assert served[near].sum() / need[near].sum() > 2 * served[far].sum() / need[far].sum()
    # walking M -> cell 5: three 50 m steps, then into and out of the barrier cell at the
    # mean cost (1 + 8) / 2 each: 150 + 225 + 225 = 600 m instead of 250 m
    assert m.space.distance_m[0, 5] == pytest.approx(600.0)
    assert m.space.distance_m[0, 3] == pytest.approx(150.0)


def test_language_barrier_lowers_take_up_at_an_office(tiny_raw, write_scenario):
    tiny_raw["population"].update(residents=400, share_migration_background=1.0,
                                  share_language_barrier=0.5)
    tiny_raw["access"]["language_factor_municipal_office"] = 0.2
    tiny_raw["municipality"]["voluntary_budget_eur_per_year"] = 1e7
    m = _model(write_scenario, tiny_raw)
    m.run_months(1)  # first contact (clients later return whatever their language)
    a = m.residents
    share = a.served_hours.sum(1) / np.maximum(a.need_hours.sum(1), 1e-9)
    lb, ok = a.alive & a.language_barrier, a.alive & ~a.language_barrier
    assert share[lb].mean() < 0.5 * share[ok].mean()


def test_awareness_spreads_over_ties(tiny_raw, write_scenario):
    tiny_raw["access"].update(initial_awareness=0.1, spread_probability_per_tie=0.2)
    tiny_raw["population"]["residents"] = 300
    m = _model(write_scenario, tiny_raw)
    counselling = m.residents.aware[m.residents.alive, 5]  # the one domain offered
    before = counselling.mean()
    m.run_months(3)
    assert m.residents.aware[m.residents.alive, 5].mean() > before + 0.2
    # the networkx graph is the same network the spread runs on
    g = m.social_network
    assert g.number_of_edges() == len(m.ties)
    assert m.adjacency.nnz == 2 * g.number_of_edges()


def _volunteer_world(tiny_raw, coordination_fte):
    tiny_raw["space"] = {"layout": ["MA."], "service_points": {
        "M": {"kind": "municipal_office", "name": "office"},
        "A": {"kind": "carrier_premises", "name": "carrier"}}}
    tiny_raw["population"]["residents"] = 2000
    tiny_raw["needs"]["counselling"]["hours_per_month"] = 0.5  # demand below volunteer hours
    tiny_raw["volunteering"] = {"rate": 0.05, "activation_probability_per_month": 0.0,
                                "activation_per_volunteer_tie": 0.0, "counselling": 1.0,
                                "uncoordinated_productivity": 0.0,
                                "elderly_support": 0.0, "youth_education": 0.0,
                                "integration": 0.0, "health_prevention": 0.0,
                                "social_participation": 0.0}
    tiny_raw["carriers"] = [{"name": "A", "point": "A", "coordination_fte": coordination_fte,
                             "own_funds_eur_per_year": 1e7, "rent_eur_per_month": 0.0}]
    return tiny_raw


@pytest.mark.parametrize("seed", [1, 2])
def test_paid_coordination_deploys_volunteers_and_keeps_them(tiny_raw, write_scenario, seed):
    with_c = qs.run(write_scenario(_volunteer_world(tiny_raw, 5.0), "a.toml"), seed=seed,
                    years=2).summary
    without = qs.run(write_scenario(_volunteer_world(tiny_raw, 0.0), "b.toml"), seed=seed,
                     years=2).summary
    # nobody coordinates, and uncoordinated volunteers deliver nothing here
    assert without["volunteer_hours"] == 0.0
    assert with_c["volunteer_hours"] > 0.0
    assert with_c["volunteer_attrition"] < without["volunteer_attrition"]
    assert with_c["coverage"] > without["coverage"]


def test_overload_raises_volunteer_attrition(tiny_raw, write_scenario):
    raw = _volunteer_world(tiny_raw, 5.0)
    busy = dict(raw, needs={**raw["needs"], "counselling": {**raw["needs"]["counselling"],
                                                            "hours_per_month": 10.0}})
    busy = qs.run(write_scenario(busy, "busy.toml"), seed=3, years=2).summary
    quiet = qs.run(write_scenario(raw, "calm.toml"), seed=3, years=2).summary
    assert busy["volunteer_attrition"] > quiet["volunteer_attrition"]


def test_carrier_in_deficit_cuts_staff_and_closes(tiny_raw, write_scenario):
    tiny_raw["space"] = {"layout": ["MA."], "service_points": {
        "M": {"kind": "municipal_office", "name": "office"},
        "A": {"kind": "carrier_premises", "name": "carrier"}}}
    tiny_raw["carriers"] = [{"name": "A", "point": "A", "staff_fte": {"counselling": 1.0},
                             "own_funds_eur_per_year": 1000.0, "reserve_eur": 0.0,
                             "rent_eur_per_month": 500.0}]
    m = _model(write_scenario, tiny_raw)
    carrier = m.carriers_list[0]
    m.run_months(1)
    # its income (1,000 EUR a year) cannot pay its staff: notice to all of them at once ...
    assert carrier.own_target_fte[5] == 0.0
    m.run_months(1)
    assert carrier.own_fte[5] == 0.0  # gone the next month (no notice here)
    # ... and not even its rent of 500 EUR a month: after 12 deficit months it closes
    m.run_months(9)
    assert carrier.is_open
    m.run_months(1)
    assert not carrier.is_open
    assert capacity(m)[0][carrier.point.index].sum() == 0.0
    assert carrier.received_eur == pytest.approx(carrier.spent_eur + carrier.reserve_eur)


def test_ageing_raises_elderly_needs(tiny_raw, write_scenario):
    tiny_raw["population"].update(residents=2000, share_65_plus=0.0, share_under_18=0.0)
    tiny_raw["needs"]["elderly_support"] = {"min_age": 65.0, "onset_probability_per_month": 0.05}
    m = _model(write_scenario, tiny_raw)
    m.residents.age[m.residents.alive] = 64.5  # everyone turns 65 within half a year
    m.run_months(3)
    assert m.residents.need_hours[:, 0].sum() == 0.0
    m.run_months(12)
    assert (m.residents.need_hours[:, 0] > 0).sum() > 100


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "quartiersim.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300, check=True)


def test_cli_run_out_writes_summary_and_series(tmp_path):
    out = tmp_path / "res"
    r = _cli("run", "scenarios/wetter-grundschoettel.toml", "--years", "1", "--out", str(out),
             "--set", "municipality.voluntary_budget_eur_per_year=90000")
    assert "Demand coverage" in r.stdout
    import pandas as pd

    series = pd.read_parquet(out / "series.parquet")
    assert len(series) == 12 and "coverage" in series.columns
    summary = json.loads((out / "summary.json").read_text())
    assert summary["municipal_cost_voluntary_eur"] == pytest.approx(90_000.0)


def test_cli_compare_json_rows():
    r = _cli("compare", "scenarios/wetter-grundschoettel.toml", "--models", "municipal,coproduction",
             "--seeds", "2", "--years", "1", "--json", "--workers", "1")
    rows = json.loads(r.stdout)
    assert [row["model"] for row in rows] == ["municipal", "coproduction"]
    for row in rows:
        assert row["coverage_ci_low"] <= row["coverage_mean"] <= row["coverage_ci_high"]
        assert {"mandatory_cases_mean", "municipal_cost_eur_ci_high"} <= set(row)


@pytest.mark.parametrize("seed", [1, 2])
def test_clients_return_so_take_up_builds_up(tiny_raw, write_scenario, seed):
    # a hesitant quarter: a tenth of those in need seek in a given month (and being
    # served does not change that: trust does not learn here)
    tiny_raw["access"].update(trust_municipal_office=0.1, trust_learning_rate=0.0,
                              trust_word_of_mouth_rate=0.0)
    tiny_raw["population"]["residents"] = 500
    tiny_raw["municipality"]["voluntary_budget_eur_per_year"] = 1e7  # capacity is no limit
    cov = {}
    for p in (0.0, 1.0):
        tiny_raw["access"]["client_continuation_probability"] = p
        res = qs.run(write_scenario(tiny_raw, f"c{p}.toml"), seed=seed, years=1)
        cov[p] = res.series["coverage"].tolist()
    assert cov[0.0][-1] == pytest.approx(0.1, abs=0.05)  # stays at the seeking probability
    assert cov[1.0][-1] > 0.6  # everyone who came once keeps coming: clients accumulate
    assert cov[1.0][0] == pytest.approx(cov[0.0][0], abs=0.05)  # first month alike


def test_odd_names_every_process_module_and_only_existing_ones():
    """docs/ODD.md section 3 names the module of each process; every module it names exists."""
    import re

    odd = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    section3 = odd[odd.index("## 3. Process overview"):odd.index("## 4. Design concepts")]
    package = ROOT / "src" / "quartiersim" / "sim" / "processes"
    modules = {p.name for p in package.glob("*.py")} - {"__init__.py"}
    named = set(re.findall(r"sim/processes/(\w+\.py)", section3))
    assert named == modules
    for path in set(re.findall(r"`((?:sim|config|studies|app)/[\w/]+\.py)`", odd)):
        assert (ROOT / "src" / "quartiersim" / path).is_file(), path


def test_every_process_module_is_reached_from_step():
    """step() (and plan_year, which it calls at the year end) is the list of processes:
    each module of sim/processes is called there by name."""
    import inspect

    from quartiersim.sim import processes

    package = ROOT / "src" / "quartiersim" / "sim" / "processes"
    source = inspect.getsource(QuarterModel.step) + inspect.getsource(QuarterModel.plan_year)
    # initialization (ODD 5) runs before month 1: provide and spin-up, reached from __init__
    source += inspect.getsource(QuarterModel.provide) + inspect.getsource(QuarterModel.spin_up)
    assert "self.plan_year()" in inspect.getsource(QuarterModel.step)
    assert "self.spin_up(" in inspect.getsource(QuarterModel.__init__)
    for p in package.glob("*.py"):
        if p.name != "__init__.py":
            assert f"{p.stem}." in source, p.stem
    assert processes.monthly(1.0) == 1.0 and processes.monthly(0.0) == 0.0


# ---------------------------------------------------------------- defects of issue 10, item 7
def test_neighbour_ties_do_not_wrap_around_the_grid_edge(tiny_raw, write_scenario):
    # housing only in the first and the last column: the last column's right-hand
    # neighbours would be the next row's first column in flat-index arithmetic
    tiny_raw["space"]["layout"] = ["Mggg.", ".ggg.", ".ggg.", ".ggg."]
    tiny_raw["population"]["residents"] = 700
    tiny_raw["network"] = {"household_size_mean": 1.0, "neighbour_ties": 8.0, "friend_ties": 0.0}
    m = _model(write_scenario, tiny_raw)
    col = m.residents.home_cell % m.space.width
    ties = m.ties
    assert len(ties) > 500
    assert (col[ties[:, 0]] == col[ties[:, 1]]).all()  # columns 0 and 4 are never adjacent


def _two_point_world(tiny_raw):
    # a carrier B next to the residents with 13.3 h of counselling a month (0.1 FTE), the
    # office M behind it with far more: 10 residents ask for 100 h at B first
    tiny_raw["space"] = {"layout": ["MB."], "service_points": {
        "M": {"kind": "municipal_office", "name": "office"},
        "B": {"kind": "carrier_premises", "name": "carrier"}}}
    tiny_raw["access"].update(trust_carrier=1.0)
    tiny_raw["municipality"]["voluntary_budget_eur_per_year"] = 1e7
    # (paid from a large reserve: no surplus of own funds to spend on more staff)
    tiny_raw["carriers"] = [{"name": "B", "point": "B", "staff_fte": {"counselling": 0.1},
                             "own_funds_eur_per_year": 0.0, "reserve_eur": 1e7,
                             "rent_eur_per_month": 0.0}]
    return tiny_raw


def test_second_choice_requests_count_once_in_the_load(tiny_raw, write_scenario):
    m = _model(write_scenario, _two_point_world(tiny_raw))
    m.run_months(1)
    month, b, o = m.month, m.space.point("B").index, m.space.point("M").index
    cap_b = month.capacity_hours[b, 5]
    assert cap_b == pytest.approx(13.3)
    assert m.residents.served_hours.sum() == pytest.approx(100.0)  # the office took the rest
    requested = month.load * month.capacity_hours
    # each requested hour once: B keeps what it served, the rest sought at the office
    assert requested.sum() == pytest.approx(100.0)
    assert month.load[b, 5] == pytest.approx(1.0)
    assert requested[o, 5] == pytest.approx(100.0 - cap_b)


def test_cross_referral_reaches_only_residents_served(tiny_raw, write_scenario):
    # co-production, one carrier A offering counselling and social participation, no
    # budget (own staff only), referral certain. 100 residents ask for 10 h of counselling.
    def world(counselling_fte):
        raw = copy.deepcopy(tiny_raw)
        raw["space"] = {"layout": ["MA", ".."], "service_points": {
            "M": {"kind": "municipal_office", "name": "office"},
            "A": {"kind": "carrier_premises", "name": "A"}}}
        raw["population"]["residents"] = 100
        raw["access"].update(trust_carrier=1.0, spread_probability_per_tie=0.0)
        raw["municipality"]["voluntary_budget_eur_per_year"] = 0.0
        raw["carriers"] = [{"name": "A", "point": "A", "own_funds_eur_per_year": 0.0,
                            "reserve_eur": 1e7, "rent_eur_per_month": 0.0,
                            "staff_fte": {"counselling": counselling_fte,
                                          "social_participation": 1.0}}]
        raw["cooperation"]["coproduction"] = {"cross_referral": 1.0, "coordination_fte": 0.0,
                                              "planning_share": 0.0}
        m = _model(write_scenario, raw, cooperation="coproduction")
        m.residents.aware[:, 4] = False  # nobody knows of social participation yet
        m.run_months(1)
        return m

    # 1e-9 FTE: about 1e-7 h for 1,000 h asked: everybody is rationed to (next to) nothing
    rationed = world(1e-9)
    a = rationed.residents
    assert (a.served_hours[a.alive, 5] < 1e-8).all() and (a.served_hours[a.alive, 5] > 0).all()
    assert not a.aware[a.alive, 4].any()
    # 100 FTE: everybody who asks is served in full and referred
    served = world(100.0)
    a = served.residents
    got = a.served_hours[:, 5] > 0
    assert got.sum() == 100
    assert (a.aware[got, 4]).all()
