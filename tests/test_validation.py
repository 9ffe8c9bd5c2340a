"""Every invalid input gives one clear message naming the file, the key and what is allowed."""

from __future__ import annotations

import subprocess
import sys

import pytest

import quartiersim as qs
from quartiersim.errors import ScenarioError, UnknownNameError

from conftest import HERTEN, ROOT


def _load(write_scenario, raw, **kw):
    return qs.load_scenario(write_scenario(raw), **kw)


def test_missing_file_lists_existing_scenarios():
    with pytest.raises(ScenarioError, match=r"scenarios/nope\.toml: no such scenario file; "
                                            r"scenario files there: .*herten-innenstadt\.toml"):
        qs.load_scenario(ROOT / "scenarios" / "nope.toml")


def test_malformed_toml(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[population\nresidents = 3\n")
    with pytest.raises(ScenarioError, match=r"bad\.toml: not valid TOML"):
        qs.load_scenario(p)


def test_unknown_key_names_allowed_keys(tiny_raw, write_scenario):
    tiny_raw["population"]["resident"] = 5
    with pytest.raises(ScenarioError, match=r"scenario\.toml: unknown key 'population\.resident'; "
                                            r"allowed keys here: .*residents"):
        _load(write_scenario, tiny_raw)


def test_unknown_top_level_section(tiny_raw, write_scenario):
    tiny_raw["budget"] = {"x": 1}
    with pytest.raises(ScenarioError, match=r"unknown key 'budget'; allowed keys here: .*municipality"):
        _load(write_scenario, tiny_raw)


def test_wrong_type(tiny_raw, write_scenario):
    tiny_raw["population"]["residents"] = "many"
    with pytest.raises(ScenarioError, match=r"'population\.residents' = 'many': .*integer"):
        _load(write_scenario, tiny_raw)


def test_float_given_for_integer(tiny_raw, write_scenario):
    tiny_raw["population"]["residents"] = 10.5
    with pytest.raises(ScenarioError, match=r"'population\.residents' = 10\.5"):
        _load(write_scenario, tiny_raw)


def test_out_of_range(tiny_raw, write_scenario):
    tiny_raw["volunteering"]["rate"] = 1.5
    with pytest.raises(ScenarioError, match=r"'volunteering\.rate' = 1\.5: must be <= 1"):
        _load(write_scenario, tiny_raw)


def test_negative_residents(tiny_raw, write_scenario):
    tiny_raw["population"]["residents"] = -5
    with pytest.raises(ScenarioError, match=r"'population\.residents' = -5: must be >= 1"):
        _load(write_scenario, tiny_raw)


def test_missing_required_key(tiny_raw, write_scenario):
    del tiny_raw["municipality"]["voluntary_budget_eur_per_year"]
    with pytest.raises(ScenarioError, match=r"missing required key "
                                            r"'municipality\.voluntary_budget_eur_per_year'"):
        _load(write_scenario, tiny_raw)


def test_ragged_layout(tiny_raw, write_scenario):
    tiny_raw["space"]["layout"] = ["M..", "."]
    with pytest.raises(ScenarioError, match=r"'space': row 1 has 1 cells, row 0 has 3"):
        _load(write_scenario, tiny_raw)


def test_unknown_layout_symbol(tiny_raw, write_scenario):
    tiny_raw["space"]["layout"] = ["M.x"]
    with pytest.raises(ScenarioError, match=r"unknown symbol 'x' at row 0, column 2; allowed: '\.'"):
        _load(write_scenario, tiny_raw)


def test_undeclared_service_point(tiny_raw, write_scenario):
    tiny_raw["space"]["layout"] = ["M.Q"]
    with pytest.raises(ScenarioError, match=r"service point 'Q' at row 0, column 2 is not declared"):
        _load(write_scenario, tiny_raw)


def test_carrier_on_unknown_point(tiny_raw, write_scenario):
    tiny_raw["carriers"] = [{"name": "c", "point": "Z"}]
    with pytest.raises(ScenarioError, match=r"carriers\[0\]\.point = 'Z' is not a service point"):
        _load(write_scenario, tiny_raw)


def test_wrong_enum_value(tiny_raw, write_scenario):
    tiny_raw["space"]["service_points"]["M"]["kind"] = "castle"
    with pytest.raises(ScenarioError, match=r"'space\.service_points\.M\.kind' = 'castle': "
                                            r"allowed: 'municipal_office'"):
        _load(write_scenario, tiny_raw)


def test_unknown_cooperation_section_param(tiny_raw, write_scenario):
    tiny_raw["cooperation"]["municipal"]["rent"] = 5
    with pytest.raises(ScenarioError, match=r"unknown key 'cooperation\.municipal\.rent'; "
                                            r"allowed keys here: offices, rent_eur_per_month_per_office"):
        _load(write_scenario, tiny_raw)


def test_unknown_cooperation_model_section(tiny_raw, write_scenario):
    tiny_raw["cooperation"]["feudal"] = {}
    with pytest.raises(UnknownNameError, match=r"unknown cooperation model 'feudal'; allowed: .*municipal"):
        _load(write_scenario, tiny_raw)


def test_unknown_model_and_financing_names():
    with pytest.raises(UnknownNameError, match=r"unknown cooperation model 'nope'; allowed:"):
        qs.run(HERTEN, model="nope", years=1)
    with pytest.raises(UnknownNameError, match=r"unknown financing model 'nope'; allowed: .*budget"):
        qs.run(HERTEN, financing="nope", years=1)


def test_override_validated_like_the_file():
    with pytest.raises(ScenarioError, match=r"herten-innenstadt\.toml: "
                                            r"'municipality\.voluntary_budget_eur_per_year' = -1\.0: "
                                            r"must be >= 0"):
        qs.load_scenario(HERTEN, {"municipality.voluntary_budget_eur_per_year": -1.0})
    with pytest.raises(ScenarioError, match=r"unknown key 'population\.nonsense'"):
        qs.load_scenario(HERTEN, {"population.nonsense": 1})
    with pytest.raises(ScenarioError, match=r"'population\.residents' is a value, not a table"):
        qs.load_scenario(HERTEN, {"population.residents.x": 1})


def test_override_on_loaded_scenario():
    sc = qs.load_scenario(HERTEN)
    sc2 = sc.with_overrides({"population.residents": 500, "carriers.0.own_funds_eur_per_year": 1.0})
    assert sc2.population.residents == 500 and sc2.carriers[0].own_funds_eur_per_year == 1.0
    assert sc.population.residents == 8700  # the original is unchanged (frozen)
    with pytest.raises(ScenarioError, match=r"'99' is not an index of a list of 5 items"):
        sc.with_overrides({"carriers.99.own_funds_eur_per_year": 1.0})


def test_years_must_be_positive():
    with pytest.raises(qs.QuartiersimError, match=r"years = 0: must be a whole number >= 1"):
        qs.run(HERTEN, years=0)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "quartiersim.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def test_cli_bad_input_exits_2_without_traceback():
    r = _cli("run", "scenarios/herten-innenstadt.toml", "--set", "volunteering.rate=2", "--years", "1")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "error: scenarios/herten-innenstadt.toml: 'volunteering.rate' = 2: must be <= 1" in r.stderr


def test_cli_missing_file_and_bad_set_syntax():
    r = _cli("run", "scenarios/missing.toml")
    assert r.returncode == 2 and "no such scenario file" in r.stderr and "Traceback" not in r.stderr
    r = _cli("compare", "scenarios/herten-innenstadt.toml", "--set", "novalue")
    assert r.returncode == 2 and "--set 'novalue': expected KEY=VALUE" in r.stderr
    r = _cli("compare", "scenarios/herten-innenstadt.toml", "--models", "municipal,nope")
    assert r.returncode == 2 and "--models: unknown cooperation model 'nope'" in r.stderr
