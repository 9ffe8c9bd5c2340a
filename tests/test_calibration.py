"""Calibration (issue 11): ABC-SMC recovers a known parameter in a tiny world; the
targets file's every error path with its message; the outputs a scenario can reference."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import quartiersim as qs
from quartiersim.cli import main
from quartiersim.studies.calibration_spec import CalibrationError, load_targets

pytest.importorskip("pyabc")

TRUE_P = 0.3

#: A tiny world where the escalation rate measures the escalation probability: no service,
#: needs arise, stay unmet and escalate after one month with the parameter's probability.
ESCALATION_WORLD = {
    "space": {"layout": ["M...."]},
    "population": {"residents": 200},
    "municipality": {"voluntary_budget_eur_per_year": 0.0},
    "needs": {"counselling": {"onset_probability_per_month": 0.05,
                              "resolve_probability_unserved": 0.2,
                              "resolve_probability_served": 0.2,
                              "escalation_delay_months": 1,
                              "escalation_probability_per_month": TRUE_P}},
}


def _world(tiny_raw):
    for section, values in ESCALATION_WORLD.items():
        for k, v in values.items():
            if isinstance(v, dict):
                tiny_raw[section][k].update(v)
            else:
                tiny_raw[section][k] = v
    return tiny_raw


def _targets(path, target: str, parameters: str, extra: str = "") -> str:
    text = f"""years = 2
seed = 3
{extra}
[abc]
population_size = 40
generations = 3
max_minutes = 5.0
check_draws = 4

{target}

[parameters]
{parameters}
"""
    path.write_text(text, encoding="utf-8")
    return str(path)


_TARGET = """[[targets]]
name = "escalation"
outcome = "escalation_rate"
value = {value}
sd = 0.02
source = "the same world at escalation probability 0.3 (test)"
"""
_PARAM = '"needs.counselling.escalation_probability_per_month" = { low = 0.0, high = 0.8 }'


def test_abc_recovers_a_known_parameter_in_a_tiny_world(tiny_raw, write_scenario, tmp_path):
    path = write_scenario(_world(tiny_raw))
    observed = np.mean([qs.run(path, years=2, seed=100 + s).summary["escalation_rate"]
                        for s in range(5)])
    targets = _targets(tmp_path / "t.toml", _TARGET.format(value=observed), _PARAM)
    from quartiersim.studies.calibration import calibrate

    res = calibrate(path, targets, tmp_path / "out", workers=1, progress=False)
    row = res.parameters.set_index("parameter").loc["needs.counselling.escalation_probability_per_month"]
    assert abs(row["mean"] - TRUE_P) < 0.1, row
    assert row["sd_ratio"] < 0.5  # the target informs the parameter: the posterior narrows
    assert res.generations["epsilon"].is_monotonic_decreasing
    fit = res.fit.set_index("target").loc["escalation"]
    assert abs(fit["after_mean"] - observed) < abs(fit["before_mean"] - observed) + 0.02
    # the outputs: a scenario can reference the posterior and draw from it
    out = tmp_path / "out"
    for name in ("posterior.parquet", "parameters.csv", "parameters.md", "fit.csv", "fit.md",
                 "generations.csv", "calibration.md", "calibration.json", "abc.db",
                 "figures/needs.counselling.escalation_probability_per_month.png"):
        assert (out / name).is_file(), name
    post = pd.read_parquet(out / "posterior.parquet")
    assert list(post.columns) == ["needs.counselling.escalation_probability_per_month", "weight"]
    assert post["weight"].sum() == pytest.approx(1.0)
    meta = json.loads((out / "calibration.json").read_text())
    assert meta["reference"] == 'posterior = "out/posterior.parquet"'
    tiny_raw["uncertainty"] = {"posterior": "out/posterior.parquet"}
    with_post = write_scenario(tiny_raw, "with-posterior.toml")
    from quartiersim.studies.uncertainty import draw_parameters

    d = draw_parameters(qs.load_scenario(with_post), "posterior", 50)
    assert d.iloc[:, 0].mean() == pytest.approx(row["mean"], abs=0.1)


# --------------------------------------------------------------------------- error paths
@pytest.mark.parametrize(("target", "parameters", "extra", "message"), [
    (_TARGET.format(value=0.3), '"needs.counselling.nope" = { low = 0.0, high = 0.8 }', "",
     r"'parameters.needs.counselling.nope': 'needs.counselling.nope' = 0.0 is not a valid "
     r"value of the scenario: unknown key 'needs.counselling.nope'; allowed keys here: "),
    (_TARGET.format(value=0.3), '"access.trust_carrier" = { low = 0.5, high = 1.5 }', "",
     r"'parameters.access.trust_carrier': 'access.trust_carrier' = 1.5 is not a valid value "
     r"of the scenario: 'access.trust_carrier' = 1.5: must be <= 1"),
    (_TARGET.format(value=0.3), '"access.trust_carrier" = { low = 0.9, high = 0.5 }', "",
     r"'parameters.access.trust_carrier': high = 0.5 must be greater than low = 0.9"),
    (_TARGET.format(value=0.3),
     '"access.decay_length_m" = { low = 0.0, high = 5.0, prior = "loguniform" }', "",
     r"a loguniform prior needs low > 0"),
    (_TARGET.format(value=0.3),
     '"access.decay_length_m" = { low = 1.0, high = 5.0, prior = "normal" }', "",
     r"'parameters.access.decay_length_m.prior' = 'normal': allowed: 'uniform' or 'loguniform'"),
    (_TARGET.replace("escalation_rate", "happiness").format(value=0.3), _PARAM, "",
     r"'targets\[0\].outcome': unknown outcome 'happiness'; allowed: coverage, "),
    (_TARGET.format(value=0.3).replace("sd = 0.02", "band = [0.1, 0.2]"), _PARAM, "",
     r"give either value \(with sd\) or band = \[low, high\], not both or neither"),
    (_TARGET.format(value=0.3).replace("sd = 0.02\n", ""), _PARAM, "",
     r"a value needs sd \(> 0\)"),
    (_TARGET.format(value=0.3).replace("value = 0.3\nsd = 0.02", "band = [0.4, 0.2]"), _PARAM,
     "", r"band = \[0.4, 0.2\]: must be \[low, high\] with high > low"),
    (_TARGET.format(value=0.3).replace('source = "the same world at escalation probability '
                                       '0.3 (test)"', 'source = ""'), _PARAM, "",
     r"'targets\[0\].source' = '': "),
    (_TARGET.format(value=0.3) + "fit = false\n", _PARAM, "",
     r"no target has fit = true: at least one target must be fitted"),
    (_TARGET.format(value=0.3) * 2, _PARAM, "",
     r"target name\(s\) escalation given twice"),
    (_TARGET.format(value=0.3), _PARAM, 'colour = "blue"',
     r"unknown key 'colour'; allowed keys here: abc, description, financing, model, "),
    (_TARGET.format(value=0.3), _PARAM, 'model = "guild"',
     r"'model' / 'financing': .*unknown cooperation model 'guild'; allowed: "),
    (_TARGET.format(value=0.3), "", "", r"no \[parameters\]: give at least one parameter to "
                                        r"fit, as \"<dotted key>\" = \{ low = .., high = .. \}"),
    ("", _PARAM, "", r"no \[\[targets\]\]: give at least one target"),
])
def test_targets_file_errors(target, parameters, extra, message, tiny_raw, write_scenario,
                             tmp_path):
    sc = qs.load_scenario(write_scenario(_world(tiny_raw)))
    path = _targets(tmp_path / "t.toml", target, parameters, extra)
    with pytest.raises(CalibrationError, match=message) as err:
        load_targets(path, sc)
    assert str(err.value).startswith(str(path))


def test_missing_targets_file_and_default(tiny_raw, write_scenario, tmp_path, capsys):
    scenario = write_scenario(tiny_raw)
    assert main(["calibrate", str(scenario), "--targets", str(tmp_path / "none.toml")]) == 2
    assert "none.toml: no such targets file" in capsys.readouterr().err
    assert main(["calibrate", str(scenario)]) == 2
    err = capsys.readouterr().err
    assert "no targets file given and none at" in err and "give --targets FILE" in err


def test_output_directory_is_checked_before_any_run(tiny_raw, write_scenario, tmp_path, capsys):
    scenario = write_scenario(_world(tiny_raw))
    targets = _targets(tmp_path / "t.toml", _TARGET.format(value=0.3), _PARAM)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["calibrate", str(scenario), "--targets", targets, "--out", str(blocker)]) == 2
    assert "exists and is not a directory" in capsys.readouterr().err


def test_distance_of_a_value_and_of_a_band():
    from quartiersim.studies.calibration_spec import Target

    band = Target(name="b", outcome="coverage", band=[0.2, 0.4], source="s")
    assert band.distance(0.3) == 0.0 and band.distance(0.5) == pytest.approx(1.0)
    assert math.isinf(band.distance(math.nan))
    value = Target(name="v", outcome="coverage", value=0.3, sd=0.05, source="s")
    assert value.distance(0.4) == pytest.approx(2.0)


def test_the_stop_share_is_the_surveys_measure_of_the_quit_rate(tiny_raw, write_scenario):
    """Surveys give the share of volunteers who stop within a year; the run counts quits
    per volunteer-year (a rate). 35 % a year is a rate of -ln(0.65) = 0.43."""
    tiny_raw["population"]["residents"] = 300
    tiny_raw["volunteering"].update(rate=0.3, attrition_per_year_uncoordinated=0.35,
                                    attrition_per_year_coordinated=0.35)
    s = qs.run(write_scenario(tiny_raw), years=3, seed=1).summary
    assert s["volunteer_stop_share_per_year"] == pytest.approx(
        1 - math.exp(-s["volunteer_attrition"]))
    # at a constant 35 % a year (no coordination, no overload without offers):
    assert s["volunteer_stop_share_per_year"] == pytest.approx(0.35, abs=0.06)
    assert s["volunteer_attrition"] == pytest.approx(-math.log(0.65), abs=0.08)
