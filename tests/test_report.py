"""Reports: exact analysis functions on hand-built tables, and a report end to end."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quartiersim.cli import main
from quartiersim.studies.batch import run_batch
from quartiersim.studies.experiment import load_experiment
from quartiersim.studies.report import (
    ReportError,
    Results,
    comparison_table,
    discover,
    load_results,
    pareto_front,
    sensitivity,
    write_report,
)

DATA = Path(__file__).parent / "data"


def test_pareto_front_keeps_only_undominated_points():
    cost = np.array([10.0, 20.0, 20.0, 30.0, 15.0, 10.0])
    coverage = np.array([0.5, 0.7, 0.6, 0.7, 0.5, 0.4])
    # 2 is beaten by 1 (same cost, more coverage), 3 by 1 (more cost), 4 by 0, 5 by 0
    assert pareto_front(cost, coverage).tolist() == [True, True, False, False, False, False]


def test_comparison_table_mean_and_t_interval():
    runs = pd.DataFrame({"scenario": ["S"] * 4, "cooperation": ["a", "a", "b", "b"],
                         "financing": ["budget"] * 4, "coverage": [0.2, 0.4, 0.5, 0.5]})
    t = comparison_table(runs, ["scenario", "cooperation", "financing"], ["coverage"])
    assert t["runs"].tolist() == [2, 2]
    assert t["coverage_mean"].tolist() == pytest.approx([0.3, 0.5])
    half = 12.706204736 * 0.1414213562 / math.sqrt(2)  # t(0.975, 1) x sd / sqrt(n)
    assert t["coverage_ci_high"].iloc[0] == pytest.approx(0.3 + half)
    assert t["coverage_ci_low"].iloc[1] == t["coverage_ci_high"].iloc[1] == pytest.approx(0.5)


def synthetic(sampler: str, x: np.ndarray, y: np.ndarray, design: dict) -> Results:
    """Results of a made-up experiment with two uncertainties a, b in [0, 1]."""
    runs = pd.DataFrame({"run_key": [f"k{i}" for i in range(len(y))], "scenario": "S",
                         "cooperation": "municipal", "financing": "budget",
                         "design_point": np.arange(len(y)), "replication": 0,
                         "a": x[:, 0], "b": x[:, 1], "coverage": y, "error": None})
    manifest = {"experiment": {"name": "syn", "seed": 3, "outcomes": ["coverage"],
                               "design": {"sampler": sampler, **design}},
                "lever_keys": [], "uncertainty_keys": ["a", "b"],
                "problem": {"num_vars": 2, "names": ["a", "b"], "bounds": [[0, 1], [0, 1]]}}
    dframe = pd.DataFrame({"design_point": np.arange(len(x)), "x:a": x[:, 0], "x:b": x[:, 1]})
    return Results(runs, runs.iloc[:0], pd.DataFrame(), manifest, dframe)


def test_morris_indices_find_the_only_influential_parameter():
    from SALib.sample import morris

    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0, 1], [0, 1]]}
    x = morris.sample(problem, 10, num_levels=4, seed=1)
    s = sensitivity(synthetic("morris", x, 3.0 * x[:, 0], {"levels": 4}), ["coverage"])
    s = s.set_index("parameter")
    assert s.loc["a", "mu_star"] == pytest.approx(3.0)
    assert s.loc["b", "mu_star"] == pytest.approx(0.0)
    assert s.loc["a", "sigma"] == pytest.approx(0.0, abs=1e-12)


def test_sobol_indices_find_the_only_influential_parameter():
    from SALib.sample import sobol

    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0, 1], [0, 1]]}
    x = sobol.sample(problem, 256, calc_second_order=False, seed=1)
    s = sensitivity(synthetic("sobol", x, x[:, 0] ** 2, {"second_order": False}), ["coverage"])
    s = s.set_index("parameter")
    assert s.loc["a", "ST"] == pytest.approx(1.0, abs=0.05)
    assert s.loc["b", "ST"] == pytest.approx(0.0, abs=1e-9)


def test_no_indices_without_a_sobol_or_morris_design():
    x = np.random.default_rng(0).random((8, 2))
    assert sensitivity(synthetic("latin_hypercube", x, x[:, 0], {}), ["coverage"]).empty


@pytest.mark.parametrize("cheaper_above, target", [(True, "yes"), (False, "no")])
def test_prim_finds_where_the_candidate_is_cheaper(cheaper_above, target):
    rng = np.random.default_rng(4)
    n = 400
    a, b = rng.random(n), rng.random(n)
    ref = pd.DataFrame({"cooperation": "municipal", "municipal_cost_eur": np.full(n, 100.0),
                        "coverage": 0.5})
    cheaper = (a > 0.6) if cheaper_above else (a <= 0.6)
    cand = pd.DataFrame({"cooperation": "coproduction",
                         "municipal_cost_eur": np.where(cheaper, 90.0, 110.0), "coverage": 0.5})
    runs = pd.concat([ref.assign(a=a, b=b, design_point=np.arange(n)),
                      cand.assign(a=a, b=b, design_point=np.arange(n))], ignore_index=True)
    runs = runs.assign(scenario="S", financing="budget", replication=0, error=None)
    res = Results(runs, runs.iloc[:0], pd.DataFrame(),
                  {"experiment": {"name": "p"}, "lever_keys": [], "uncertainty_keys": ["a", "b"]},
                  pd.DataFrame())
    d = discover(res)
    # PRIM describes the rarer answer: "yes" (a > 0.6) in the first case, "no" in the second
    assert d.pairs == n and d.cases == int(cheaper.sum()) and d.target == target
    assert d.density == pytest.approx(1.0) and d.coverage > 0.9
    lim = d.limits.set_index("uncertainty")
    assert list(lim.index) == ["a"]  # b does not matter
    assert 0.55 < lim.loc["a", "low"] <= 0.62 and lim.loc["a", "high"] == pytest.approx(a.max())


def test_prim_is_not_run_on_too_few_cases():
    n = 50
    a = np.linspace(0, 1, n)
    ref = pd.DataFrame({"cooperation": "municipal", "municipal_cost_eur": np.full(n, 100.0),
                        "coverage": 0.5})
    cand = ref.assign(cooperation="coproduction",
                      municipal_cost_eur=np.where(a > 0.9, 110.0, 90.0))  # 5 'no' cases
    runs = pd.concat([ref.assign(a=a, design_point=np.arange(n)),
                      cand.assign(a=a, design_point=np.arange(n))], ignore_index=True)
    runs = runs.assign(scenario="S", financing="budget", replication=0)
    res = Results(runs, runs.iloc[:0], pd.DataFrame(),
                  {"experiment": {}, "lever_keys": [], "uncertainty_keys": ["a"]}, pd.DataFrame())
    d = discover(res)
    assert (d.pairs, d.cases, d.target) == (50, 45, "no") and d.limits.empty
    assert d.note == "only 5 'no' cases: too few for PRIM (it needs 10; run more seeds or " \
                     "design points)"


def test_prim_needs_uncertainties_and_both_models():
    runs = pd.DataFrame({"scenario": ["S"], "cooperation": ["municipal"], "financing": ["budget"]})
    res = Results(runs, runs.iloc[:0], pd.DataFrame(),
                  {"experiment": {}, "lever_keys": [], "uncertainty_keys": []}, pd.DataFrame())
    assert discover(res) is None


@pytest.fixture(scope="module")
def morris_results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("morris")
    (tmp / "tiny-quarter.toml").write_text((DATA / "tiny-quarter.toml").read_text())
    (tmp / "exp.toml").write_text(
        'name = "tiny-morris"\nscenarios = ["tiny-quarter.toml"]\nyears = 1\nreplications = 1\n'
        'outcomes = ["coverage", "municipal_cost_eur"]\n'
        '[levers]\ncooperation = ["municipal", "coproduction"]\n'
        '[uncertainties]\n"access.decay_length_m" = { low = 300.0, high = 900.0 }\n'
        '"volunteering.rate" = { low = 0.02, high = 0.08 }\n'
        '[design]\nsampler = "morris"\nsamples = 2\nlevels = 4\n')
    run_batch(load_experiment(tmp / "exp.toml"), tmp / "out", workers=1, progress=False)
    return tmp / "out"


def test_report_end_to_end(morris_results, tmp_path):
    paths = write_report(morris_results, tmp_path / "rep")
    html = (tmp_path / "rep" / "report.html").read_text()
    md = (tmp_path / "rep" / "report.md").read_text()
    figures = [p for p in paths if p.suffix == ".png"]
    assert all(p.stat().st_size > 1000 for p in figures)
    assert html.count('src="data:image/png;base64,') == len(figures)
    names = {p.name for p in figures}
    assert {"pareto.png", "costs.png", "series_coverage.png", "groups.png",
            "sensitivity_coverage.png", "sensitivity_municipal_cost_eur.png"} <= names
    for section in ("Comparison by scenario and levers", "Pareto front", "Sensitivity",
                    "Scenario discovery (PRIM)", "Rankings over the uncertainties"):
        assert section in md and section in html
    # P(best) and regret per model and headline outcome over the 6 design points
    ranking = md.split("Rankings over the uncertainties")[1].split("\n## ")[0]
    assert "| outcome | model | mean | 5-95 % over design points | P(best) |" in ranking
    assert "Reach: need episodes served within 3 months | coproduction |" in ranking
    assert "Under which assumptions does" in ranking
    assert md.count("| Tiny test quarter | municipal | budget |") >= 1
    res = load_results(morris_results)
    assert len(res.runs) == 2 * 2 * 3  # 2 models x Morris (k + 1) r = 3 x 2 points
    sens = sensitivity(res, ["coverage"])
    assert len(sens) == 2 * 2 and set(sens["parameter"]) == {"access.decay_length_m",
                                                             "volunteering.rate"}


def test_cli_report(morris_results, tmp_path, capsys):
    assert main(["report", str(morris_results), "--out", str(tmp_path / "r")]) == 0
    assert "report.html" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "none")]) == 2
    assert "no batch results here" in capsys.readouterr().err


def test_report_without_finished_runs(tmp_path):
    (tmp_path / "runs").mkdir()
    with pytest.raises(ReportError, match=r"no finished run to report on"):
        load_results(tmp_path)
