"""Every invalid input gives one clear message naming the file, the key and what is allowed."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import quartiersim as qs
from quartiersim.config.overrides import parse_pairs
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


# --------------------------------------------------------------------------- issue 14: silently wrong inputs
TINY_FILE = ROOT / "tests" / "data" / "tiny-quarter.toml"


@pytest.mark.parametrize("key, value", [
    ("municipality.domain_shares.elderly_support", float("nan")),
    ("municipality.domain_shares.elderly_support", float("inf")),
    ("volunteering.rate", float("nan")),
    ("access.decay_length_m", float("inf")),
    ("municipality.voluntary_budget_eur_per_year", float("-inf")),
    ("carriers.0.staff_fte.counselling", float("nan")),
    ("cooperation.coproduction.coordination_fte", float("nan")),
])
def test_nan_and_inf_rejected(key, value):
    shown = re.sub(r"\.(\d+)", r"[\1]", key)  # list items are shown as carriers[0]
    with pytest.raises(ScenarioError, match=rf"tiny-quarter\.toml: '{re.escape(shown)}' = "
                                            rf"-?{value!r}: must be a finite number \(nan and "
                                            r"inf are not allowed\)"):
        qs.load_scenario(TINY_FILE, {key: value})


def test_nan_from_set_and_in_the_file(tmp_path):
    overrides = parse_pairs(["municipality.domain_shares.elderly_support=nan"])
    with pytest.raises(ScenarioError, match=r"'municipality\.domain_shares\.elderly_support' = "
                                            r"nan: must be a finite number"):
        qs.load_scenario(HERTEN, overrides)
    p = tmp_path / "nan.toml"
    p.write_text(TINY_FILE.read_text().replace("residents = 300  # assumption",
                                               "residents = 300\nshare_65_plus = nan"))
    with pytest.raises(ScenarioError, match=r"nan\.toml: 'population\.share_65_plus' = nan"):
        qs.load_scenario(p)


def test_nan_in_a_financing_instrument(tmp_path):
    p = tmp_path / "f.toml"
    p.write_text(TINY_FILE.read_text() + "\n[financing.g.grant_programme]\nfunding_rate = nan\n")
    with pytest.raises(ScenarioError, match=r"'financing\.g\.grant_programme\.funding_rate' = "
                                            r"nan: must be a finite number"):
        qs.load_scenario(p)


def test_one_resident_gives_null_cost_per_covered_hour_not_nan():
    res = qs.run(TINY_FILE, years=1, overrides={"population.residents": 1})
    assert res.summary["served_hours"] == 0.0
    assert res.summary["cost_per_covered_hour_eur"] is None
    assert not [k for k, v in res.summary.items() if isinstance(v, float) and math.isnan(v)]


@pytest.mark.parametrize("value", ["yes", "off", 1, 0.0, "true"])
def test_booleans_are_strict(value):
    with pytest.raises(ScenarioError, match=r"'municipality\.consolidation_regime' = .*: must be "
                                            r"true or false"):
        qs.load_scenario(TINY_FILE, {"municipality.consolidation_regime": value})
    assert qs.load_scenario(TINY_FILE, {"municipality.consolidation_regime": True}) \
        .municipality.consolidation_regime is True


def test_booleans_from_set_are_strict():
    for text in ("yes", "off", "1"):
        with pytest.raises(ScenarioError, match=r"consolidation_regime' = .*true or false"):
            qs.load_scenario(TINY_FILE, parse_pairs([f"municipality.consolidation_regime={text}"]))


@pytest.mark.parametrize("key, value, message", [
    ("population.residents", "300", r"'population\.residents' = '300': must be an integer"),
    ("population.residents", True, r"'population\.residents' = True: must be an integer"),
    ("volunteering.rate", "0.1", r"'volunteering\.rate' = '0\.1': must be a number"),
    ("carriers.0.staff_fte.counselling", "0.2", r"'carriers\[0\]\.staff_fte\.counselling' = "
                                                r"'0\.2': must be a number"),
    ("municipality.domain_shares.counselling", False, r"domain_shares\.counselling' = False"),
    ("municipality.domain_shares.counselling", -1.0, r"domain_shares\.counselling' = -1\.0: "
                                                     r"must be >= 0"),
])
def test_no_coercion_between_types(key, value, message):
    with pytest.raises(ScenarioError, match=message):
        qs.load_scenario(TINY_FILE, {key: value})


def test_carrier_on_the_town_halls_point():
    with pytest.raises(ScenarioError, match=r"carriers\[0\]\.point = 'R' is a municipal_office "
                                            r"\(Town hall\); a carrier's point must be of kind "
                                            r"'carrier_premises': A"):
        qs.load_scenario(TINY_FILE, {"carriers.0.point": "R"})


def test_meeting_point_on_a_carriers_premises():
    with pytest.raises(ScenarioError, match=r"'cooperation\.meeting_point\.site' = 'A': a "
                                            r"carrier_premises \(Welfare association A\); allowed: "
                                            r"points of kind 'meeting_point_site': T"):
        qs.load_scenario(HERTEN, {"cooperation.meeting_point.site": "A"})
    with pytest.raises(ScenarioError, match=r"'cooperation\.integration_centre\.site' = 'T': a "
                                            r"meeting_point_site .*allowed: points of kind "
                                            r"'centre_site': Z"):
        qs.load_scenario(HERTEN, {"cooperation.integration_centre.site": "T"})
    with pytest.raises(ScenarioError, match=r"'cooperation\.municipal\.offices\.counselling' = "
                                            r"'A': a carrier_premises .*'municipal_office': R, S"):
        qs.load_scenario(HERTEN, {"cooperation.municipal.offices.counselling": "A"})
    with pytest.raises(ScenarioError, match=r"'cooperation\.meeting_point\.site' = 'Q': not a "
                                            r"service point"):
        qs.load_scenario(HERTEN, {"cooperation.meeting_point.site": "Q"})


def test_duplicate_service_point_letters():
    layout = ["R.....", "..A...", "......", "--+---", "....A.", "......"]
    with pytest.raises(ScenarioError, match=r"'space': service point 'A' is on the layout 2 times "
                                            r"\(row 1 column 2, row 4 column 4\): each letter "
                                            r"marks one point"):
        qs.load_scenario(TINY_FILE, {"space.layout": layout})


def test_grant_end_year_before_start_year(tmp_path):
    p = tmp_path / "g.toml"
    p.write_text(TINY_FILE.read_text() + "\n[financing.g.grant_programme]\nstart_year = 2024\n"
                 "end_year = 2020\n")
    with pytest.raises(ScenarioError, match=r"g\.toml: 'financing\.g\.grant_programme': end_year "
                                            r"2020 is before start_year 2024"):
        qs.load_scenario(p)


def test_financing_instrument_must_be_a_table(tmp_path):
    p = tmp_path / "g.toml"
    p.write_text(TINY_FILE.read_text() + "\n[financing.g]\ngrant_programme = 5\n")
    with pytest.raises(ScenarioError, match=r"'financing\.g\.grant_programme' = 5: give a table"):
        qs.load_scenario(p)


def test_layout_size_is_bounded_with_the_reason():
    layout = ["R" + "." * 1499] + ["." * 1500] * 1499
    with pytest.raises(ScenarioError, match=r"'space': layout of 1500 rows x 1500 columns = "
                                            r"2,250,000 cells: at most 250,000 cells \(e\.g\. "
                                            r"500 x 500\), because every cell costs each run "
                                            r"about 2\.3 kB of memory"):
        qs.load_scenario(TINY_FILE, {"space.layout": layout,
                                     "space.service_points": {"R": {"kind": "municipal_office",
                                                                    "name": "hall"}},
                                     "carriers": []})


def test_age_shares_must_not_exceed_one():
    with pytest.raises(ScenarioError, match=r"herten-innenstadt\.toml: 'population': "
                                            r"share_under_18 \+ share_65_plus = 0\.8 \+ 0\.229 = "
                                            r"1\.029: must not exceed 1"):
        qs.load_scenario(HERTEN, parse_pairs(["population.share_under_18=0.8"]))


# --------------------------------------------------------------------------- issue 14: files
def test_directory_as_scenario(tmp_path):
    with pytest.raises(ScenarioError, match=r"scenarios: is a directory, not a scenario file; "
                                            r"TOML files in it: .*herten-innenstadt\.toml"):
        qs.load_scenario(ROOT / "scenarios")


def test_utf8_bom_is_accepted(tmp_path):
    p = tmp_path / "bom.toml"
    p.write_bytes(b"\xef\xbb\xbf" + TINY_FILE.read_bytes())
    assert qs.load_scenario(p).population.residents == 300


def test_not_utf8(tmp_path):
    p = tmp_path / "latin1.toml"
    p.write_bytes(TINY_FILE.read_bytes().replace(b'"Testdorf"', b'"M\xfcnster"'))
    with pytest.raises(ScenarioError, match=r"latin1\.toml: not a UTF-8 text file \(byte 0xfc at "
                                            r"line 9\); save it as UTF-8"):
        qs.load_scenario(p)


def test_unreadable_file():
    with pytest.raises(ScenarioError, match=r"/proc/self/mem: cannot read the scenario file: "
                                            r"Input/output error"):
        qs.load_scenario("/proc/self/mem")


def test_a_pipe_is_not_read(tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    with pytest.raises(ScenarioError, match=r"pipe\.toml: not a regular file"):
        qs.load_scenario(fifo)


# --------------------------------------------------------------------------- issue 14: sessions
_ROW = ("baseline_mean = 1.0\nbaseline_ci_low = 1.0\nbaseline_ci_high = 1.0\n"
        "variant_mean = 1.0\nvariant_ci_low = 1.0\nvariant_ci_high = 1.0\n"
        "difference_mean = 0.0\ndifference_ci_low = 0.0\ndifference_ci_high = 0.0\n")


@pytest.mark.parametrize("body, message", [
    ('years = true\n', r"'session\.years' = True: must be an integer"),
    ('seeds = "10"\n', r"'session\.seeds' = '10': must be an integer"),
    ('seeds = 2.0\n', r"'session\.seeds' = 2\.0: must be an integer"),
    ('[levers]\n"volunteering.rate" = "0.1"\n',
     r"'volunteering\.rate' = '0\.1': must be a number"),
    ('[results.happiness]\n' + _ROW, r"unknown outcome 'happiness' in \[results\]"),
    ('[results.coverage]\n' + _ROW.replace("variant_mean = 1.0", 'variant_mean = "1.0"'),
     r"'results\.coverage\.variant_mean' = '1\.0': must be a number"),
    ('[results.coverage]\n' + _ROW.replace("variant_mean = 1.0", "variant_mean = inf"),
     r"variant_mean = inf: must be a number or nan"),
])
def test_bad_session_files(tmp_path, body, message):
    from quartiersim.studies.whatif import WhatIfSession

    p = tmp_path / "s.toml"
    p.write_text(f'[session]\nscenario = "{TINY_FILE}"\n' + body)  # keys or tables after it
    with pytest.raises(ScenarioError, match=message):
        WhatIfSession.load(p)


def test_session_scenario_path_survives_a_move(tmp_path, monkeypatch):
    from quartiersim.studies.whatif import WhatIfSession

    proj = tmp_path / "proj"
    (proj / "scenarios").mkdir(parents=True)
    (proj / "scenarios" / "t.toml").write_text(TINY_FILE.read_text())
    monkeypatch.chdir(proj)
    WhatIfSession(scenario="scenarios/t.toml", levers={"volunteering.rate": 0.05},
                  seeds=1, years=1).save("sessions/s.toml")
    assert 'scenario = "../scenarios/t.toml"' in (proj / "sessions" / "s.toml").read_text()
    moved = tmp_path / "elsewhere" / "proj"
    moved.parent.mkdir()
    proj.rename(moved)
    monkeypatch.chdir(tmp_path)  # another working directory, the project moved
    back = WhatIfSession.load(moved / "sessions" / "s.toml")
    assert Path(back.scenario) == moved / "scenarios" / "t.toml"
    assert back.levers == {"volunteering.rate": 0.05}


def test_session_outside_the_project_stores_an_absolute_path(tmp_path):
    from quartiersim.studies.whatif import WhatIfSession

    text = WhatIfSession(scenario=str(TINY_FILE)).to_toml(Path("/"))
    assert f'scenario = "{TINY_FILE}"' in text
