"""Rankings as probabilities (issue 11): drawn parameter sets, P(best), regret, the
scenario's [uncertainty] section and every error path with its message."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import HERTEN

import quartiersim as qs
from quartiersim.cli import main
from quartiersim.config.uncertainty import read_posterior
from quartiersim.errors import QuartiersimError, ScenarioError
from quartiersim.sim.outcomes import REGISTRY
from quartiersim.studies import uncertainty as unc
from quartiersim.studies.runner import compare

REACH, COST = REGISTRY.lookup("reach"), REGISTRY.lookup("municipal_cost_per_resident_year_eur")
SMALL = {"population.residents": 400, "spin_up.months": 12}


def _runs(values: dict[str, list[float]], outcome: str = "reach") -> pd.DataFrame:
    """A run table: model -> its value in draws 0, 1, 2, ... (one seed each)."""
    rows = [{"draw": d, "model": m, outcome: v} for m, vs in values.items()
            for d, v in enumerate(vs)]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- analysis by hand
def test_p_best_and_regret_by_hand():
    runs = _runs({"a": [0.5, 0.6, 0.4, 0.5], "b": [0.4, 0.7, 0.4, 0.6]})
    r = unc.rankings(runs, [REACH]).set_index("model")
    # draw 0: a best; 1: b; 2: a tie (half each); 3: b
    assert r.loc["a", "p_best"] == pytest.approx((1 + 0 + 0.5 + 0) / 4)
    assert r.loc["b", "p_best"] == pytest.approx((0 + 1 + 0.5 + 1) / 4)
    # regret = best of the draw - own value (higher is better)
    assert r.loc["a", "regret_mean"] == pytest.approx((0 + 0.1 + 0 + 0.1) / 4)
    assert r.loc["b", "regret_mean"] == pytest.approx((0.1 + 0 + 0 + 0) / 4)
    assert r.loc["a", "regret_p90"] == pytest.approx(np.percentile([0, 0.1, 0, 0.1], 90))
    assert r.loc["a", "mean"] == pytest.approx(0.5)
    assert r.loc["a", "low"] == pytest.approx(np.percentile([0.5, 0.6, 0.4, 0.5], 5))
    assert r.loc["a", "high"] == pytest.approx(np.percentile([0.5, 0.6, 0.4, 0.5], 95))


def test_lower_is_better_and_seeds_are_averaged_within_a_draw():
    runs = pd.DataFrame([
        {"draw": 0, "model": "a", "seed": 0, COST.name: 100.0},
        {"draw": 0, "model": "a", "seed": 1, COST.name: 120.0},  # mean 110
        {"draw": 0, "model": "b", "seed": 0, COST.name: 105.0},
        {"draw": 0, "model": "b", "seed": 1, COST.name: 105.0}])
    r = unc.rankings(runs, [COST]).set_index("model")
    assert (r.loc["b", "p_best"], r.loc["a", "p_best"]) == (1.0, 0.0)
    assert r.loc["a", "regret_mean"] == pytest.approx(5.0)  # 110 - 105


def test_pairwise_probability_and_regret():
    runs = _runs({"baseline": [0.5, 0.5, 0.5, 0.5], "variant": [0.6, 0.4, 0.5, 0.7]})
    row = unc.pairwise(runs, outcomes=[REACH]).iloc[0]
    assert row["p_variant_better"] == pytest.approx((1 + 0 + 0.5 + 1) / 4)
    assert row["difference_mean"] == pytest.approx(0.05)
    assert row["regret_variant_mean"] == pytest.approx(0.1 / 4)
    assert row["regret_baseline_mean"] == pytest.approx((0.1 + 0.2) / 4)


def test_prim_finds_where_the_leader_loses():
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"p": rng.uniform(0, 1, 200), "q": rng.uniform(0, 1, 200)})
    box = unc.prim_box(x, (x["p"] > 0.7).to_numpy(), "q?")
    assert box.hits == (x["p"] > 0.7).sum() and list(box.limits["uncertainty"]) == ["p"]
    assert box.limits["low"].iloc[0] == pytest.approx(0.7, abs=0.05) and box.density > 0.9
    few = unc.prim_box(x, (x["p"] > 0.98).to_numpy(), "q?")
    assert "too few for PRIM (it needs 10; draw more parameter sets)" in few.note
    most = unc.prim_box(x, (x["p"] < 0.7).to_numpy(), "q?")  # the rarer answer: p > 0.7
    assert most.target == "no" and most.limits["low"].iloc[0] == pytest.approx(0.7, abs=0.05)


# --------------------------------------------------------------------------- draws
def _with_ranges(**ranges) -> qs.config.Scenario:
    sc = qs.load_scenario(HERTEN)
    return sc.with_overrides({"uncertainty.ranges": {k: v for k, v in ranges.items()}})


def test_ranges_are_a_latin_hypercube_within_bounds_and_integers_stay_integers():
    sc = _with_ranges(**{"access.decay_length_m": {"low": 300.0, "high": 1200.0},
                         "needs.counselling.escalation_delay_months": {"low": 1, "high": 6}})
    d = unc.draw_parameters(sc, "ranges", 10, seed=3)
    assert d.index.name == "draw" and len(d) == 10
    assert d["access.decay_length_m"].between(300, 1200).all()
    # a Latin hypercube: one draw in each tenth of the range
    assert sorted(((d["access.decay_length_m"] - 300) // 90).astype(int)) == list(range(10))
    assert d["needs.counselling.escalation_delay_months"].dtype.kind == "i"
    assert d.equals(unc.draw_parameters(sc, "ranges", 10, seed=3))  # same seed, same draws


def test_posterior_draws_follow_the_weights(tmp_path, tiny_raw, write_scenario):
    pd.DataFrame({"access.decay_length_m": [300.0, 700.0, 900.0],
                  "weight": [0.0, 1.0, 0.0]}).to_parquet(tmp_path / "post.parquet")
    tiny_raw["uncertainty"] = {"posterior": "post.parquet"}
    sc = qs.load_scenario(write_scenario(tiny_raw))
    d = unc.draw_parameters(sc, "posterior", 5)
    assert (d["access.decay_length_m"] == 700.0).all()
    assert read_posterior(sc)["weight"].tolist() == [0.0, 1.0, 0.0]


# --------------------------------------------------------------------------- error paths
def _posterior_scenario(tmp_path, tiny_raw, write_scenario, frame: pd.DataFrame | None,
                        name: str = "post.parquet"):
    if frame is not None:
        frame.to_parquet(tmp_path / name)
    tiny_raw["uncertainty"] = {"posterior": name}
    return write_scenario(tiny_raw)


@pytest.mark.parametrize(("frame", "message"), [
    (None, r"'uncertainty.posterior' = 'post.parquet': no such file \(.*post.parquet\); run "
           r"'quartiersim calibrate' first or fix the path \(relative to the scenario file\)"),
    (pd.DataFrame({"access.no_such_key": [1.0]}),
     r"column: 'access.no_such_key' = 1.0 is not a valid value of the scenario: unknown key "
     r"'access.no_such_key'; allowed keys here: .*decay_length_m"),
    (pd.DataFrame({"volunteering.rate": [0.5, 3.0]}),
     r"'volunteering.rate' = 3.0 is not a valid value of the scenario: 'volunteering.rate' = "
     r"3.0: must be <= 1"),
    (pd.DataFrame({"weight": [1.0]}), r"has no parameter column or no row"),
    (pd.DataFrame({"access.decay_length_m": [1.0, float("nan")]}),
     r"column 'access.decay_length_m' of .* has missing or non-finite values"),
    (pd.DataFrame({"access.decay_length_m": [500.0, 600.0], "weight": [-1.0, 2.0]}),
     r"column 'weight' of .* must be >= 0 and not all 0"),
    (pd.DataFrame({"access.decay_length_m": ["a"]}), r"column 'access.decay_length_m' of .* is not numeric"),
])
def test_posterior_errors_name_the_file_the_key_and_what_is_wrong(frame, message, tmp_path,
                                                                  tiny_raw, write_scenario):
    path = _posterior_scenario(tmp_path, tiny_raw, write_scenario, frame)
    sc = qs.load_scenario(path)  # loads: the posterior is checked where it is used
    with pytest.raises(ScenarioError, match=message):
        unc.draw_parameters(sc, "posterior", 3)
    with pytest.raises(ScenarioError, match=message):  # before any run
        unc.compare_uncertain(sc, "posterior", draws=2, years=1, workers=1, progress=False)


def test_a_posterior_that_is_not_parquet(tmp_path, tiny_raw, write_scenario):
    (tmp_path / "post.parquet").write_text("a,b\n1,2\n")
    path = _posterior_scenario(tmp_path, tiny_raw, write_scenario, None)
    with pytest.raises(ScenarioError, match=r"'uncertainty.posterior' = 'post.parquet': not a "
                                            r"readable Parquet file"):
        read_posterior(qs.load_scenario(path))


@pytest.mark.parametrize(("ranges", "message"), [
    ({"access.nope": {"low": 1.0, "high": 2.0}},
     r"'uncertainty.ranges': 'access.nope' = 1.0 is not a valid value of the scenario: "
     r"unknown key 'access.nope'"),
    ({"access.trust_carrier": {"low": 0.5, "high": 1.5}},
     r"'access.trust_carrier' = 1.5 is not a valid value of the scenario: "
     r"'access.trust_carrier' = 1.5: must be <= 1"),
    ({"access.trust_carrier": {"low": 0.9, "high": 0.5}},
     r"'uncertainty.ranges.access.trust_carrier': high = 0.5 must be greater than low = 0.9"),
    ({"meta.name": {"low": 1, "high": 2}},
     r"'uncertainty.ranges': 'meta.name' is not a number \('tiny'\); an uncertain parameter "
     r"must be numeric"),
    ({"access.trust_carrier": {"low": "a", "high": 1.0}},
     r"low = 'a': must be a number \(without quotes\)"),
])
def test_range_errors(ranges, message, tiny_raw, write_scenario):
    path = write_scenario(tiny_raw)
    lines = [f'"{k}" = {{ ' + ", ".join(f"{e} = {json.dumps(v)}" for e, v in r.items()) + " }"
             for k, r in ranges.items()]
    path.write_text(path.read_text() + "\n[uncertainty.ranges]\n" + "\n".join(lines) + "\n")
    with pytest.raises(ScenarioError, match=message):
        qs.load_scenario(path)


def test_drawing_needs_what_the_scenario_declares(tiny_raw, write_scenario):
    sc = qs.load_scenario(write_scenario(tiny_raw))
    with pytest.raises(ScenarioError, match=r"no uncertain parameters: declare them as "
                                            r"\[uncertainty.ranges\]"):
        unc.draw_parameters(sc, "ranges", 2)
    with pytest.raises(ScenarioError, match=r"no posterior: set 'uncertainty.posterior'"):
        unc.draw_parameters(sc, "posterior", 2)
    for bad in (0, -1, 10_001, 2.5, True):
        with pytest.raises(QuartiersimError, match=r"draws = .*: must be a whole number from 1 "
                                                   r"to 10,000"):
            unc.check_draws(bad)
    with pytest.raises(QuartiersimError, match=r"uncertainty source 'guess': allowed: "
                                               r"posterior, ranges"):
        unc.draw_parameters(sc, "guess", 2)


@pytest.mark.parametrize(("argv", "message"), [
    (["--uncertainty", "ranges", "--draws", "0"], "argument --draws: 0: must be 1-10000"),
    (["--draws", "5"], "--draws 5: draws are parameter sets of --uncertainty "
                       "posterior|ranges; give --uncertainty too"),
    (["--uncertainty", "guess"], "argument --uncertainty: invalid choice: 'guess'"),
    (["--uncertainty", "ranges", "--all"], "--all is not available with --uncertainty"),
])
def test_cli_errors_before_any_run(argv, message, capsys):
    with pytest.raises(SystemExit) if "argument" in message else _no_raise():
        code = main(["compare", str(HERTEN), *argv])
        assert code == 2
    assert message in capsys.readouterr().err


def test_cli_without_a_posterior(tiny_raw, write_scenario, capsys):
    assert main(["compare", str(write_scenario(tiny_raw)), "--uncertainty", "posterior"]) == 2
    assert "no posterior: set 'uncertainty.posterior'" in capsys.readouterr().err


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# --------------------------------------------------------------------------- runs
def test_every_model_of_a_draw_shares_its_seeds_and_the_drawn_world():
    sc = _with_ranges(**{"access.trust_carrier": {"low": 0.6, "high": 1.0}})
    sc = sc.with_overrides(SMALL)
    draws = unc.draw_parameters(sc, "ranges", 2, seed=1)
    runs = unc.run_draws(sc, draws, models=["coproduction", "contracting"], seeds=2, years=1,
                         workers=1, progress=False)
    assert set(runs["model"]) == {"coproduction", "contracting", "municipal"}  # + reference
    by = runs.groupby(["draw", "model"])["seed"].apply(sorted)
    assert by.loc[0, "coproduction"] == by.loc[0, "municipal"] == [0, 1]
    assert by.loc[1, "contracting"] == [2, 3]
    assert runs["access.trust_carrier"].nunique() == 2
    ref = runs[runs["model"] == "municipal"].set_index(["draw", "seed"])["mandatory_cases"]
    co = runs[runs["model"] == "coproduction"].set_index(["draw", "seed"])
    assert (co["mandatory_cases_avoided"] == ref - co["mandatory_cases"]).all()


def test_compare_counts_cases_avoided_against_the_reference_even_when_not_shown():
    sc = qs.load_scenario(HERTEN).with_overrides(SMALL)
    t = compare(sc, models=["coproduction"], seeds=2, years=1, workers=1, progress=False)
    assert list(t["model"]) == ["coproduction"] and t.attrs["reference_model"] == "municipal"
    both = compare(sc, models=["municipal", "coproduction"], seeds=2, years=1, workers=1,
                   progress=False).set_index("model")
    assert t["mandatory_cases_avoided_mean"].iloc[0] == pytest.approx(
        both.loc["municipal", "mandatory_cases_mean"] - both.loc["coproduction", "mandatory_cases_mean"])
    assert both.loc["municipal", "mandatory_cases_avoided_mean"] == 0.0


def test_compare_uncertainty_prints_p_best_and_regret_per_model(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    scenario = tmp_path / "herten.toml"  # a copy without its posterior: ranges still work
    scenario.write_text(HERTEN.read_text() + "\n", encoding="utf-8")
    argv = ["compare", str(scenario), "--uncertainty", "ranges", "--draws", "3", "--years", "1",
            "--workers", "1", "--models", "municipal,coproduction",
            "--set", "population.residents=400", "--set", "spin_up.months=12"]
    out_file = tmp_path / "ranks.csv"
    assert main([*argv, "--out", str(out_file)]) == 0
    out = capsys.readouterr().out
    assert "P(best)" in out and "regret" in out and "How robust is each ranking?" in out
    for title in ("Reach: need episodes served within 3 months",
                  "Escalation rate: need episodes ending in a mandatory case",
                  "Municipal cost per resident-year (EUR)"):
        assert title in out
    assert "Under which assumptions does" in out
    ranks = pd.read_csv(out_file)
    assert {"p_best", "regret_mean", "regret_p90", "low", "high"} <= set(ranks.columns)
    assert main([*argv, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["source"] == "ranges" and doc["draws"] == 3 and doc["reference_model"] == "municipal"
    r = pd.DataFrame(doc["rankings"])
    for _, sub in r.groupby("outcome"):
        assert sub["p_best"].sum() == pytest.approx(1.0) and set(sub["model"]) == {
            "municipal", "coproduction"}
        assert (sub["regret_mean"] >= 0).all() and (sub["low"] <= sub["high"]).all()


def test_whatif_under_uncertainty_for_the_app():
    sc = _with_ranges(**{"access.trust_municipal_office": {"low": 0.4, "high": 0.8}})
    table = unc.whatif_uncertain(sc.with_overrides(SMALL),
                                 {"municipality.voluntary_budget_eur_per_year": 2_000_000.0},
                                 draws=2, years=1, workers=1)
    row = table.set_index("outcome").loc["reach"]
    assert row["draws"] == 2 and 0.0 <= row["p_variant_better"] <= 1.0
    assert row["regret_variant_mean"] >= 0 and not math.isnan(row["difference_mean"])


# --------------------------------------------------------------------------- batch
def _posterior_experiment(tmp_path, design: str, uncertainties: str = "",
                          posterior: bool = True):
    from conftest import ROOT

    quarter = (ROOT / "tests" / "data" / "tiny-quarter.toml").read_text()
    if posterior:
        pd.DataFrame({"access.decay_length_m": [400.0, 800.0],
                      "weight": [0.25, 0.75]}).to_parquet(tmp_path / "post.parquet")
        quarter += '\n[uncertainty]\nposterior = "post.parquet"\n'
    (tmp_path / "tiny-quarter.toml").write_text(quarter)
    exp = tmp_path / "exp.toml"
    exp.write_text(f'name = "p"\nscenarios = ["tiny-quarter.toml"]\nreplications = 1\n'
                   f'years = 1\nseed = 5\n\n{uncertainties}\n[design]\n{design}\n')
    return exp


def test_batch_draws_design_points_from_the_posterior(tmp_path):
    from quartiersim.studies.experiment import load_experiment

    exp = load_experiment(_posterior_experiment(tmp_path, 'sampler = "posterior"\nsamples = 40\n'))
    x, points = exp.design()
    assert len(points) == 40 and exp.uncertainty_keys == ["access.decay_length_m"]
    values = [pt["access.decay_length_m"] for pt in points]
    assert set(values) <= {400.0, 800.0} and 20 <= values.count(800.0) <= 38  # by weight
    assert len(exp.runs()) == 40


@pytest.mark.parametrize(("design", "uncertainties", "posterior", "message"), [
    ('sampler = "posterior"', '[uncertainties]\n"access.trust_carrier" = { low = 0.5, high = 1.0 }\n',
     True, r"'design.sampler' = 'posterior': leave \[uncertainties\] out"),
    ('sampler = "posterior"', "", False, r"'design.sampler' = 'posterior': .*no posterior: set "
                                         r"'uncertainty.posterior'"),
])
def test_batch_posterior_design_errors(design, uncertainties, posterior, message, tmp_path):
    from quartiersim.studies.experiment import load_experiment
    from quartiersim.studies.experiment_spec import ExperimentError

    with pytest.raises(ExperimentError, match=message):
        load_experiment(_posterior_experiment(tmp_path, design, uncertainties, posterior))


def test_posterior_draws_add_the_declared_ranges_of_the_rest(tmp_path, tiny_raw, write_scenario):
    pd.DataFrame({"access.decay_length_m": [300.0, 700.0]}).to_parquet(tmp_path / "post.parquet")
    path = write_scenario(tiny_raw)
    path.write_text(path.read_text() + '\n[uncertainty]\nposterior = "post.parquet"\n'
                    '[uncertainty.ranges]\n"access.trust_municipal_office" = '
                    '{ low = 0.4, high = 0.8 }\n"access.decay_length_m" = '
                    '{ low = 100.0, high = 200.0 }\n')
    d = unc.draw_parameters(qs.load_scenario(path), "posterior", 30, seed=2)
    assert list(d.columns) == ["access.decay_length_m", "access.trust_municipal_office"]
    assert set(d["access.decay_length_m"]) <= {300.0, 700.0}  # the posterior wins
    assert d["access.trust_municipal_office"].between(0.4, 0.8).all()
    assert d["access.trust_municipal_office"].nunique() == 30
