"""`quartiersim app`: scenario checks, the server command line, defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from quartiersim.cli import app as app_cli
from quartiersim.cli import build_parser, main
from quartiersim.errors import QuartiersimError, ScenarioError

ROOT = Path(__file__).resolve().parents[1]
HERTEN = ROOT / "scenarios" / "herten-innenstadt.toml"


def test_missing_scenario_lists_existing_files(capsys):
    rc = main(["app", str(ROOT / "scenarios" / "nowhere.toml")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "nowhere.toml: no such scenario file; scenario files: " in err
    assert "herten-innenstadt.toml" in err and "wetter-grundschoettel.toml" in err


def test_missing_scenario_in_missing_dir_lists_default_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(ScenarioError, match=r"nope/x\.toml: no such scenario file; scenario files: "
                                            r".*scenarios/herten-innenstadt\.toml"):
        app_cli.check_scenario("nope/x.toml")


def test_invalid_scenario_is_reported_before_serving(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(HERTEN.read_text().replace("residents = 8700", "residents = -1"))
    assert main(["app", str(bad)]) == 2
    assert "'population.residents' = -1: must be >= 1" in capsys.readouterr().err


def test_default_scenario_is_herten_else_first(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    assert app_cli.check_scenario(None) == HERTEN.resolve()
    (tmp_path / "scenarios").mkdir()
    for name in ("b.toml", "a.toml"):
        (tmp_path / "scenarios" / name).write_text(HERTEN.read_text())
    monkeypatch.chdir(tmp_path)
    assert app_cli.check_scenario(None) == (tmp_path / "scenarios" / "a.toml").resolve()
    (tmp_path / "scenarios" / "a.toml").unlink()
    (tmp_path / "scenarios" / "b.toml").unlink()
    with pytest.raises(ScenarioError, match=r"no scenario given and no \*\.toml in .*scenarios: "
                                            r"name a scenario file, e\.g\. `quartiersim app "
                                            r"scenarios/herten-innenstadt\.toml`, or write one "
                                            r"with `quartiersim synth --residents 20000 "
                                            r"--quarters 2 --out city\.toml`"):
        app_cli.check_scenario(None)


def test_no_scenario_and_no_scenarios_folder(tmp_path, monkeypatch, capsys):
    # what an installed wheel sees outside a checkout: no scenarios/ here, none in the package
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(app_cli, "default_scenario_dir", lambda: tmp_path / "scenarios")
    monkeypatch.setattr(app_cli, "default_scenario", lambda: None)
    assert main(["app"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: no scenario given and no scenarios/ folder in {tmp_path}: "
                          "name a scenario file, e.g. `quartiersim app scenarios/herten-innenstadt.toml`")
    assert "Traceback" not in err


def test_server_command_listens_on_localhost_by_default(monkeypatch, capsys):
    calls = {}

    def fake_supervise(cmd, env, stop_timeout_s):
        calls["cmd"], calls["env"], calls["stop"] = cmd, env, stop_timeout_s
        return 0

    monkeypatch.setattr(app_cli, "check_port_free", lambda host, port: None)
    monkeypatch.setattr(app_cli, "supervise", fake_supervise)
    assert main(["app", str(HERTEN)]) == 0
    cmd = calls["cmd"]
    assert cmd[1:4] == ["-m", "solara", "run"]
    assert Path(cmd[4]) == ROOT / "src" / "quartiersim" / "app" / "app.py"
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--port") + 1] == "8765"
    assert "--production" in cmd
    assert calls["env"][app_cli.SCENARIO_ENV] == str(HERTEN.resolve())
    assert calls["stop"] == app_cli.STOP_TIMEOUT_S == 5.0
    assert "http://127.0.0.1:8765/" in capsys.readouterr().out


def test_host_port_and_stop_timeout_options(monkeypatch):
    seen = {}
    monkeypatch.setattr(app_cli, "check_port_free", lambda host, port: seen.setdefault("free", (host, port)))
    monkeypatch.setattr(app_cli, "supervise",
                        lambda cmd, env, stop_timeout_s: seen.update(cmd=cmd, stop=stop_timeout_s) or 0)
    main(["app", str(HERTEN), "--host", "0.0.0.0", "--port", "9000", "--stop-timeout", "1.5"])
    cmd = seen["cmd"]
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0" and cmd[cmd.index("--port") + 1] == "9000"
    assert seen["free"] == ("0.0.0.0", 9000) and seen["stop"] == 1.5


def test_lang_option_sets_the_language_of_a_new_page(monkeypatch, capsys):
    seen = {}
    monkeypatch.setattr(app_cli, "check_port_free", lambda host, port: None)
    monkeypatch.setattr(app_cli, "supervise", lambda cmd, env, stop_timeout_s: seen.update(env=env) or 0)
    monkeypatch.delenv(app_cli.LANG_ENV, raising=False)
    main(["app", str(HERTEN), "--lang", "en"])
    assert seen["env"][app_cli.LANG_ENV] == "en"
    main(["app", str(HERTEN)])
    assert app_cli.LANG_ENV not in seen["env"]  # the app's default: German
    with pytest.raises(SystemExit):
        main(["app", str(HERTEN), "--lang", "fr"])
    assert "invalid choice: 'fr' (choose from 'de', 'en')" in capsys.readouterr().err


def test_cli_languages_are_the_apps():
    pytest.importorskip("babel")
    from quartiersim.app import i18n, state

    assert app_cli.LANGUAGES == i18n.LANGUAGES and app_cli.LANG_ENV == state.LANG_ENV


def test_app_exit_status_is_the_supervisors(monkeypatch):
    monkeypatch.setattr(app_cli, "check_port_free", lambda host, port: None)
    monkeypatch.setattr(app_cli, "supervise", lambda cmd, env, stop_timeout_s: 143)
    assert main(["app", str(HERTEN)]) == 143


def test_unknown_host_is_reported():
    with pytest.raises(QuartiersimError, match=r"--host no-such-host\.invalid: "):
        app_cli.check_port_free("no-such-host.invalid", 8765)


def test_parser_registers_app_and_whatif():
    args = build_parser().parse_args(["app"])
    assert (args.scenario, args.host, args.port) == (None, "127.0.0.1", 8765)
    args = build_parser().parse_args(["whatif", "x.toml", "--set", "a=1", "--seeds", "3"])
    assert (args.scenario, args.set, args.seeds, args.years) == ("x.toml", ["a=1"], 3, 10)


def test_app_path_from_source_checkout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the app is package data: found from any folder
    assert app_cli.app_path() == ROOT / "src" / "quartiersim" / "app" / "app.py"


def test_scenario_files_sorted_and_empty_for_missing_dir(tmp_path):
    names = [p.name for p in app_cli.scenario_files(ROOT / "scenarios")]
    assert names == sorted(names) and {"herten-innenstadt.toml", "wetter-grundschoettel.toml"} <= set(names)
    assert app_cli.scenario_files(tmp_path / "none") == []


def test_app_without_viz_packages_says_how_to_install(monkeypatch):
    import importlib.util

    from quartiersim.cli import app as app_cli
    from quartiersim.errors import QuartiersimError

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "solara" else real(name, *a))
    with pytest.raises(QuartiersimError, match=r"the app needs the 'viz' extra \(solara not "
                                                r"installed\): run `make test` once"):
        app_cli.check_viz_installed()
