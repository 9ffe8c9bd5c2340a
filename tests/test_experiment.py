"""Experiment files: run grid, keys and seeds, designs, and every validation error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from quartiersim.cli import main
from quartiersim.studies.experiment import ExperimentError, derive_seed, load_experiment

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny-experiment.toml"
ROOT = Path(__file__).parents[1]


def write(tmp_path: Path, body: str, name: str = "exp.toml") -> Path:
    """An experiment file next to a copy of the tiny scenario."""
    (tmp_path / "tiny-quarter.toml").write_text((DATA / "tiny-quarter.toml").read_text())
    p = tmp_path / name
    p.write_text(body)
    return p


BASE = 'name = "t"\nscenarios = ["tiny-quarter.toml"]\nyears = 1\nreplications = 2\n'


def test_tiny_grid_has_every_combination_once():
    exp = load_experiment(TINY)
    runs = exp.runs()
    # 2 cooperation x 1 financing x 2 budget levels x 2 design points x 2 replications
    assert len(runs) == 16
    assert len({r.run_key for r in runs}) == 16
    combos = {(r.cooperation, r.financing, r.levers["municipality.voluntary_budget_eur_per_year"],
               r.uncertainties["access.decay_length_m"], r.replication) for r in runs}
    assert combos == {(c, "budget", b, d, k) for c in ("municipal", "coproduction")
                      for b in (20_000.0, 60_000.0) for d in (300.0, 900.0) for k in (0, 1)}


def test_keys_and_seeds_are_deterministic_and_common_across_levers():
    a, b = load_experiment(TINY).runs(), load_experiment(TINY).runs()
    assert [(r.run_key, r.seed) for r in a] == [(r.run_key, r.seed) for r in b]
    # common random numbers: runs that differ only in levers share the seed
    by_world = {}
    for r in a:
        by_world.setdefault((r.design_point, r.replication), set()).add(r.seed)
    assert all(len(s) == 1 for s in by_world.values())
    assert len({next(iter(s)) for s in by_world.values()}) == 4
    assert all(0 <= r.seed < 2**63 for r in a)


@pytest.mark.parametrize("sharing, n_seeds", [("none", 8), ("levers", 4),
                                               ("levers_and_uncertainties", 2)])
def test_seed_sharing(tmp_path, sharing, n_seeds):
    p = write(tmp_path, BASE + f'common_random_numbers = "{sharing}"\n'
              '[levers]\ncooperation = ["municipal", "coproduction"]\n'
              '[uncertainties]\n"access.decay_length_m" = [400.0, 800.0]\n')
    runs = load_experiment(p).runs()
    assert len(runs) == 8 and len({r.seed for r in runs}) == n_seeds
    assert len({r.run_key for r in runs}) == 8


def test_experiment_seed_changes_seeds_and_keys(tmp_path):
    p1 = write(tmp_path, BASE + "seed = 1\n", "a.toml")
    p2 = write(tmp_path, BASE + "seed = 2\n", "b.toml")
    r1, r2 = load_experiment(p1).runs(), load_experiment(p2).runs()
    assert {r.seed for r in r1}.isdisjoint({r.seed for r in r2})
    assert {r.run_key for r in r1}.isdisjoint({r.run_key for r in r2})


def test_derive_seed_uses_seed_sequence():
    # the key's hex words (8 digits each, the last one shorter) are the spawn key
    state = np.random.SeedSequence(5, spawn_key=[0x01234567, 0x89ABCDEF, 0x0123]).generate_state(
        1, np.uint64)[0]
    assert derive_seed(5, "0123456789abcdef0123") == int(state >> np.uint64(1))
    assert derive_seed(5, "0123456789abcdef0123") != derive_seed(6, "0123456789abcdef0123")


def test_nested_tables_and_quoted_dotted_keys_mean_the_same(tmp_path):
    p1 = write(tmp_path, BASE + '[uncertainties]\n"access.decay_length_m" = [400.0, 800.0]\n', "a.toml")
    p2 = write(tmp_path, BASE + '[uncertainties.access]\ndecay_length_m = [400.0, 800.0]\n', "b.toml")
    assert [r.run_key for r in load_experiment(p1).runs()] == \
        [r.run_key for r in load_experiment(p2).runs()]


@pytest.mark.parametrize("design, n_points", [
    ('sampler = "latin_hypercube"\nsamples = 7', 7),
    ('sampler = "sobol"\nsamples = 8', 8 * (2 + 2)),
    ('sampler = "sobol"\nsamples = 8\nsecond_order = true', 8 * (2 * 2 + 2)),
    ('sampler = "morris"\nsamples = 3\nlevels = 4', 3 * (2 + 1)),
    ('sampler = "full_factorial"\nlevels = 3', 3 * 2),
])
def test_design_sizes(tmp_path, design, n_points):
    p = write(tmp_path, BASE + "[uncertainties]\n"
              '"access.decay_length_m" = { low = 300.0, high = 900.0 }\n'
              '"population.share_language_barrier" = [0.2, 0.4]\n'
              f"[design]\n{design}\n")
    exp = load_experiment(p)
    x, points = exp.design()
    assert x.shape == (n_points, 2) and len(points) == n_points
    assert all(300.0 <= pt["access.decay_length_m"] <= 900.0 for pt in points)
    assert {pt["population.share_language_barrier"] for pt in points} <= {0.2, 0.4}
    assert len(exp.runs()) == 2 * n_points


def test_integer_scenario_keys_are_sampled_as_integers(tmp_path):
    p = write(tmp_path, BASE + "[uncertainties]\n"
              '"needs.counselling.escalation_delay_months" = { low = 1, high = 6 }\n'
              '[design]\nsampler = "latin_hypercube"\nsamples = 10\n')
    _, points = load_experiment(p).design()
    values = [pt["needs.counselling.escalation_delay_months"] for pt in points]
    assert all(type(v) is int and 1 <= v <= 6 for v in values)


def test_cli_overrides_for_reduced_runs():
    exp = load_experiment(TINY, replications=1, years=2)
    assert len(exp.runs()) == 8 and {r.years for r in exp.runs()} == {2}


def test_shipped_experiments_validate():
    for path in sorted((ROOT / "experiments").glob("*.toml")):
        try:
            exp = load_experiment(path)
        except ExperimentError as exc:
            # names that issue #3 adds may not exist yet: only those may fail
            assert "unknown cooperation model" in str(exc) or "unknown financing" in str(exc), exc
            continue
        assert exp.runs()


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("body, message", [
    (BASE + "colour = 1\n", r"exp.toml: unknown key 'colour'; allowed keys here: .*replications"),
    ('name = "t"\n', r"exp.toml: missing required key 'scenarios'"),
    (BASE.replace("years = 1", "years = 0"), r"exp.toml: 'years' = 0: must be >= 1"),
    (BASE + '[levers]\ncooperation = ["municipal", "cooperative"]\n',
     r"'levers.cooperation': unknown cooperation model 'cooperative'; allowed: .*coproduction"),
    (BASE + '[levers]\nfinancing = ["lottery"]\n',
     r"'levers.financing' = 'lottery': .*unknown financing model 'lottery'; allowed: budget"),
    (BASE + '[levers.scenario]\n"population.residentz" = [100]\n',
     r"'levers.scenario.population.residentz' = 100 is not valid for scenario .*tiny-quarter"
     r".toml: unknown key 'population.residentz'; allowed keys here: .*residents"),
    (BASE + '[levers.scenario]\n"population.residents" = [100, -5]\n',
     r"'levers.scenario.population.residents' = -5 is not valid .*'population.residents' = -5: "
     r"must be >= 1"),
    (BASE + '[uncertainties]\n"access.trust_carrier" = { low = 0.5, high = 1.5 }\n',
     r"'uncertainties.access.trust_carrier' = 1.5 is not valid for scenario .*"
     r"tiny-quarter.toml: 'access.trust_carrier' = 1.5: must be <= 1"),
    (BASE + '[uncertainties]\n"access.decay_length_m" = { low = 900.0, high = 300.0 }\n',
     r"'uncertainties.access.decay_length_m': high = 300.0 must be greater than low = 900.0"),
    (BASE + '[uncertainties]\n"access.decay_length_m" = { low = 3.0, hi = 9.0 }\n',
     r"unknown key 'uncertainties.access.decay_length_m.hi'; allowed keys here: high, low"),
    (BASE + '[uncertainties]\n"access.decay_length_m" = 300.0\n',
     r"'uncertainties.access.decay_length_m' = 300.0: give a range \{ low = .., high = .. \} "
     r"or a list of values"),
    (BASE + '[levers.scenario]\n"access.decay_length_m" = [300.0]\n'
     '[uncertainties]\n"access.decay_length_m" = [300.0, 600.0]\n',
     r"'access.decay_length_m' is both a lever and an uncertainty"),
    (BASE + '[uncertainties]\n"access.decay_length_m" = [300.0, 600.0]\n'
     '[design]\nsampler = "sobol"\nsamples = 10\n',
     r"'design': samples = 10: a Sobol design needs a power of 2"),
    (BASE + '[design]\nsampler = "morris"\n', r"'design.sampler' = 'morris' needs at least one "
     r"uncertainty"),
    (BASE + '[design]\nsampler = "bootstrap"\n',
     r"'design.sampler' = 'bootstrap': allowed: 'full_factorial', 'latin_hypercube', 'sobol', "
     r"'morris' or 'posterior'"),
    (BASE + 'outcomes = ["coverage", "happiness"]\n',
     r"'outcomes': unknown outcome 'happiness'; allowed: coverage, "),
    (BASE.replace("tiny-quarter.toml", "nowhere.toml"),
     r"'scenarios\[0\]' = 'nowhere.toml': .*nowhere.toml: no such scenario file"),
    (BASE + "years = [", r"exp.toml: not valid TOML"),
])
def test_bad_experiment_files_name_file_key_and_allowed(tmp_path, body, message):
    p = write(tmp_path, body)
    with pytest.raises(ExperimentError, match=message):
        load_experiment(p)


def test_missing_experiment_file(tmp_path):
    with pytest.raises(ExperimentError, match=r"nope.toml: no such experiment file"):
        load_experiment(tmp_path / "nope.toml")


def test_cli_reports_experiment_errors_without_traceback(tmp_path, capsys):
    p = write(tmp_path, BASE + 'outcomes = ["happiness"]\n')
    assert main(["batch", str(p), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "unknown outcome 'happiness'" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing ran


# --------------------------------------------------------------------------- issue 14
@pytest.mark.parametrize("body, message", [
    (BASE + '[uncertainties]\n"access.decay_length_m" = { low = "300", high = 900.0 }\n',
     r"exp.toml: 'uncertainties.access.decay_length_m': low = '300': must be a number"),
    (BASE + '[uncertainties]\n"access.decay_length_m" = { low = 300.0, high = true }\n',
     r"'uncertainties.access.decay_length_m': high = True: must be a number"),
    (BASE + '[uncertainties]\n"access.decay_length_m" = { low = nan, high = 900.0 }\n',
     r"'uncertainties.access.decay_length_m': low = nan: must be a finite number"),
    (BASE + '[uncertainties]\n"access.decay_length_m" = [300.0, inf]\n',
     r"'uncertainties.access.decay_length_m' = inf is not valid .*must be a finite number"),
    (BASE + '[uncertainties]\n"municipality.consolidation_regime" = { low = 0, high = 1 }\n',
     r"'uncertainties.municipality.consolidation_regime' is true or false, not a number: give "
     r"a list \[true, false\], not a range"),
    (BASE + '[levers.scenario]\n"municipality.consolidation_regime" = ["yes", "no"]\n',
     r"'levers.scenario.municipality.consolidation_regime' = 'yes' is not valid .*must be true "
     r"or false"),
    (BASE.replace('name = "t"', 'name = "../../x"'),
     r"exp.toml: 'name': name = '../../x': must be a plain name of letters, digits, '.', '_' "
     r"and '-' .*must stay inside results/"),
    (BASE.replace('name = "t"', 'name = "/tmp/x"'), r"'name': name = '/tmp/x': must be a plain"),
    (BASE.replace('name = "t"', 'name = ".."'), r"'name': name = '..': must be a plain"),
    (BASE.replace('["tiny-quarter.toml"]', '["tiny-quarter.toml", "./tiny-quarter.toml"]'),
     r"'scenarios\[1\]' = './tiny-quarter.toml' is the same file as 'scenarios\[0\]': list each "
     r"scenario once"),
    (BASE + '[levers]\ncooperation = ["municipal", "municipal"]\n',
     r"'levers.cooperation' lists 'municipal' twice \(items 0 and 1\)"),
    (BASE + '[uncertainties]\n"access.decay_length_m" = [300.0, 300.0]\n',
     r"'uncertainties.access.decay_length_m' lists 300 twice"),
    (BASE + '[uncertainties]\n"needs.counselling.escalation_delay_months" = { low = 1, high = 2 }'
     '\n[design]\nlevels = 3\n',
     r"'uncertainties.needs.counselling.escalation_delay_months' holds whole numbers: the range "
     r"1-2 has 2 of them, fewer than design.levels = 3"),
    (BASE + "replications = true\n".replace("replications", "seed"),
     r"'seed' = True: must be an integer"),
    (BASE + '[design]\nsecond_order = "yes"\n', r"'design.second_order' = 'yes': must be true or "
     r"false"),
])
def test_issue14_bad_experiments(tmp_path, body, message):
    p = write(tmp_path, body)
    with pytest.raises(ExperimentError, match=message):
        load_experiment(p)


DISCOVERY = BASE + ('[levers]\ncooperation = ["municipal", "coproduction"]\n'
                    '[uncertainties]\n"access.decay_length_m" = [300.0, 900.0]\n')


@pytest.mark.parametrize("question, message", [
    ('candidate = "feudal"', r"'discovery\[0\].candidate' = 'feudal': unknown cooperation model; "
                             r"allowed: .*coproduction"),
    ('candidate = "meeting_point"', r"'discovery\[0\].candidate' = 'meeting_point' is not run by "
                                    r"the experiment; 'levers.cooperation' runs: municipal, "
                                    r"coproduction"),
    ('reference = "coproduction"', r"'discovery\[0\]': candidate and reference are both "
                                   r"'coproduction'"),
    ('cost = "municipal_cost"', r"'discovery\[0\].cost' = 'municipal_cost': unknown outcome; "
                                r"allowed: coverage, "),
    ('benefit = "happiness"', r"'discovery\[0\].benefit' = 'happiness': unknown outcome"),
    ('colour = 1', r"unknown key 'discovery\[0\].colour'; allowed keys here: benefit, candidate"),
])
def test_unanswerable_discovery_questions(tmp_path, question, message):
    p = write(tmp_path, DISCOVERY + f"[[discovery]]\n{question}\n")
    with pytest.raises(ExperimentError, match=message):
        load_experiment(p)


def test_discovery_needs_an_uncertainty(tmp_path):
    p = write(tmp_path, BASE + '[levers]\ncooperation = ["municipal", "coproduction"]\n'
              "[[discovery]]\n")
    with pytest.raises(ExperimentError, match=r"'discovery\[0\]': scenario discovery needs at "
                                              r"least one uncertainty"):
        load_experiment(p)
    # the default question is asked only where it fits: no error without [[discovery]]
    p = write(tmp_path, BASE + '[levers]\ncooperation = ["municipal"]\n', "b.toml")
    assert load_experiment(p).runs()


def test_same_scenario_content_twice(tmp_path):
    (tmp_path / "copy.toml").write_text((DATA / "tiny-quarter.toml").read_text())
    p = write(tmp_path, BASE.replace('["tiny-quarter.toml"]', '["tiny-quarter.toml", "copy.toml"]'))
    with pytest.raises(ExperimentError, match=r"'scenarios\[1\]' = 'copy.toml' has the same "
                                              r"content as 'scenarios\[0\]'"):
        load_experiment(p)


def test_every_design_point_is_validated_before_any_run(tmp_path):
    # the ends of each range are valid, 3 of the 9 combinations are not
    p = write(tmp_path, BASE + '[uncertainties]\n'
              '"volunteering.share_low_hours" = { low = 0.3, high = 0.8 }\n'
              '"volunteering.share_high_hours" = { low = 0.1, high = 0.5 }\n'
              '[design]\nlevels = 3\n')
    with pytest.raises(ExperimentError) as exc:
        load_experiment(p)
    lines = str(exc.value).splitlines()
    assert lines[0] == f"{p}: 3 of 9 design points are invalid (checked before any run):"
    assert lines[1] == ("  scenario tiny-quarter.toml, design point 5 (volunteering.share_low_hours "
                        "= 0.55, volunteering.share_high_hours = 0.5): 'volunteering': "
                        "share_low_hours + share_high_hours = 0.55 + 0.5: must not exceed 1 (the "
                        "rest give middle hours)")
    assert [ln.split(" (")[0] for ln in lines[1:4]] == [
        f"  scenario tiny-quarter.toml, design point {i}" for i in (5, 7, 8)]
    assert lines[-1].startswith("narrow the ranges or lists")


def test_age_ranges_checked_at_every_sampled_point(tmp_path):
    p = write(tmp_path, BASE + '[uncertainties]\n'
              '"needs.counselling.min_age" = { low = 18.0, high = 90.0 }\n'
              '"needs.counselling.max_age" = { low = 30.0, high = 120.0 }\n'
              '[design]\nsampler = "latin_hypercube"\nsamples = 8\n')
    with pytest.raises(ExperimentError, match=r"of 8 design points are invalid(.|\n)*"
                                              r"'needs.counselling': max_age .* is below min_age"):
        load_experiment(p)


def test_a_rule_between_keys_is_judged_on_the_combinations_run(tmp_path):
    # each end of share_high_hours is invalid with the file's share_low_hours (0.6), but
    # every combination the design runs is valid: accepted
    p = write(tmp_path, BASE + '[uncertainties]\n'
              '"volunteering.share_low_hours" = { low = 0.1, high = 0.4 }\n'
              '"volunteering.share_high_hours" = { low = 0.1, high = 0.5 }\n')
    exp = load_experiment(p)
    assert all(pt["volunteering.share_low_hours"] + pt["volunteering.share_high_hours"] <= 1
               for pt in exp.design()[1])


def test_lever_combinations_are_validated(tmp_path):
    p = write(tmp_path, BASE + '[levers.scenario]\n"population.share_under_18" = [0.1, 0.8]\n'
              '"population.share_65_plus" = [0.1, 0.3]\n')
    with pytest.raises(ExperimentError, match=r"1 of 4 design points are invalid(.|\n)*"
                                              r"population.share_under_18 = 0.8, "
                                              r"population.share_65_plus = 0.3\): 'population': "
                                              r"share_under_18 \+ share_65_plus"):
        load_experiment(p)


@pytest.mark.parametrize("data, message", [
    (b'\xef\xbb\xbf' + BASE.encode(), None),
    (BASE.replace('"t"', '"M\xfcnster"').encode("latin-1"),
     r"exp.toml: not a UTF-8 text file \(byte 0xfc at line 1\)"),
])
def test_experiment_file_encoding(tmp_path, data, message):
    p = write(tmp_path, "")
    p.write_bytes(data)
    if message is None:
        assert load_experiment(p).name == "t"
    else:
        with pytest.raises(ExperimentError, match=message):
            load_experiment(p)


def test_experiment_directory(tmp_path):
    with pytest.raises(ExperimentError, match=r"is a directory, not an experiment file"):
        load_experiment(tmp_path)
