"""The app rendered in-process (solara.render, no browser): controls, map, charts, errors,
the adapter and the what-if panel."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np
import pytest

try:
    import ipyvuetify as v
    import solara
except ImportError as exc:  # the viz extra is missing
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        raise ImportError(f"CI=true: the app tests must run; install the viz extra "
                          f"(scripts/install-browser-deps.sh .venv): {exc}") from exc
    pytest.skip(f"app tests need the viz extra (pip install -e '.[viz]'): {exc}",
                allow_module_level=True)

from quartiersim.config.domains import DOMAINS  # noqa: E402
from quartiersim.config.loading import load_scenario  # noqa: E402
from quartiersim.studies.whatif import WhatIfSession, paired_table  # noqa: E402
from quartiersim.app import app  # noqa: E402
from quartiersim.app.components import cell_aggregates, map_spec, series_spec  # noqa: E402
from quartiersim.app.model import AppModel  # noqa: E402
from quartiersim.app.params import model_params, slider_range  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HERTEN = ROOT / "scenarios" / "herten-innenstadt.toml"
BUDGET = "Voluntary budget (EUR/yr)"


def render(component):
    """Render like `solara run` does: inside an AppLayout (SolaraViz's sidebar needs it)."""
    return solara.render(solara.AppLayout(children=[component]), handle_error=False)


def page_text(rc) -> str:
    """All text on the page (str children, Markdown HTML), walking the widget tree."""
    parts: list[str] = []
    seen: set[int] = set()

    def walk(w) -> None:
        if id(w) in seen:
            return
        seen.add(id(w))
        if isinstance(w, str):
            parts.append(w)
            return
        template = getattr(w, "template", None)
        if isinstance(template, str) and isinstance(w, v.VuetifyTemplate):
            html = re.sub(r"<script>.*?</script>|<style.*?</style>", " ", template, flags=re.S)
            parts.append(re.sub(r"<[^>]+>", " ", html))
        for name in ("children", "items"):
            kids = getattr(w, name, None)
            if isinstance(kids, list | tuple):
                for k in kids:
                    if isinstance(k, str) and name == "items":
                        continue  # select options are not page text
                    walk(k)

    walk(rc.container)
    return re.sub(r"\s+([,.;:])", r"\1", re.sub(r"\s+", " ", " ".join(parts)))


def sliders(rc) -> dict:
    return {s.widget.label: s.widget for s in rc.find(v.Slider)}


def click(rc, label: str, timeout: float = 30.0) -> None:
    """Click a button once it is enabled (the what-if's background thread re-enables the
    panel's buttons in its own render, which may land a moment after its message)."""
    t0 = time.monotonic()
    while rc.find(v.Btn, children=[label]).widget.disabled:
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"button {label!r} stayed disabled for {timeout} s")
        time.sleep(0.05)
    rc.find(v.Btn, children=[label]).widget.click()


def set_session_file(rc, path) -> None:
    # found anew each time: a message above it re-creates the widget, and a render from
    # the what-if's thread may land meanwhile: set it until the field shows it
    def field():
        return rc.find(v.TextField, label="Session file (TOML)").widget

    t0 = time.monotonic()
    while field().v_model != str(path):
        if time.monotonic() - t0 > 30:
            raise AssertionError(f"the session file field does not take {path}")
        field().v_model = str(path)
        time.sleep(0.05)


@pytest.fixture
def herten_page(monkeypatch):
    monkeypatch.setattr(app.scenario_path, "value", HERTEN)
    box, rc = render(app.Page())
    yield rc
    rc.close()


def no_carrier_scenario(tmp_path: Path) -> Path:
    """Herten without carriers: co-production cannot work there (its set-up raises)."""
    text = HERTEN.read_text()
    text = text[:text.index("[[carriers]]")] + text[text.index("[cooperation.municipal]"):]
    p = tmp_path / "no-carriers.toml"
    p.write_text(text)
    return p


# --------------------------------------------------------------------------- controls
def test_lever_controls_generated_from_schema(herten_page):
    s = sliders(herten_page)
    sc = load_scenario(HERTEN)
    assert s[BUDGET].v_model == sc.municipality.voluntary_budget_eur_per_year
    assert (s[BUDGET].min, s[BUDGET].max, s[BUDGET].step) == (0.0, 2_500_000.0, 25_000.0)
    # every lever slider's grid passes through the scenario's value (no silent snapping)
    for label in (BUDGET, "Residents (persons)", "Volunteering rate (share)"):
        k = (s[label].v_model - s[label].min) / s[label].step
        assert abs(k - round(k)) < 1e-6, label
    assert s["Volunteering rate (share)"].v_model == sc.volunteering.rate
    assert s["Residents (persons)"].v_model == 8700
    assert s["Coproduction: coordination fte (FTE)"].v_model == 0.5
    selects = {w.widget.label: w.widget for w in herten_page.find(v.Select)}
    assert selects["Cooperation model"].items == ["municipal", "coproduction"] or \
        set(selects["Cooperation model"].items) >= {"municipal", "coproduction"}
    assert "budget" in selects["Financing model"].items
    assert selects["Scenario file"].v_model == "herten-innenstadt.toml"
    assert "wetter-grundschoettel.toml" in selects["Scenario file"].items


def test_model_params_follow_registries(herten_page):
    from quartiersim.sim.cooperation import COOPERATION_MODELS

    params = model_params(load_scenario(HERTEN), HERTEN)
    assert params["cooperation"]["values"] == list(COOPERATION_MODELS)
    assert params["scenario_file"] == str(HERTEN)
    assert params["population.residents"]["type"] == "SliderInt"


def test_slider_range_is_schema_bounded():
    from quartiersim.studies.whatif import Lever

    lv = Lever("a.b", "A: b", "share", "assumption", "", 0.4, "float", 0, 1)
    assert slider_range(lv) == (0.0, 1.0, 0.01)  # 5 x 0.4 = 2 is capped by le=1
    lv = Lever("a.n", "A: n", "persons", "x", "", 8700, "int", 1, 5_000_000)
    lo, hi, step = slider_range(lv)
    assert (lo, hi, step) == (200.0, 49_700.0, 500.0)  # the grid passes through 8,700
    assert (8700 - lo) % step == 0


@pytest.mark.parametrize("value, minimum, maximum", [
    (0.04, 0, 1), (450_000.0, 0, 1e10), (0.5, 0, 100), (8700, 1, 5_000_000), (0.0, 0, 1),
    (0.165, 0, 1), (1234.5, 0, 1e9)])
def test_slider_grid_contains_scenario_value(value, minimum, maximum):
    from quartiersim.studies.whatif import Lever

    kind = "int" if isinstance(value, int) else "float"
    lo, hi, step = slider_range(Lever("k", "K", "u", "s", "", value, kind, minimum, maximum))
    assert minimum <= lo <= value <= hi <= maximum
    k = (value - lo) / step
    assert abs(k - round(k)) < 1e-6


# --------------------------------------------------------------------------- stepping
def test_step_advances_model_and_redraws_map_and_charts(herten_page):
    rc = herten_page
    click(rc, "Step")
    click(rc, "Step")
    assert "Time: 2.0" in page_text(rc)
    specs = [w.widget.spec for w in rc.find(solara.widgets.VegaLite)]
    map_specs = [s for s in specs if "layer" in s]
    assert len(map_specs) == 1 and "month 2" in map_specs[0]["title"]
    assert len(map_specs[0]["data"]["values"]) == 16 * 16
    series = [s for s in specs if "mark" in s]
    assert len(series) == 3
    coverage = next(s for s in series if s["title"].startswith("Demand coverage"))
    assert [d["month"] for d in coverage["data"]["values"]] == [1, 2]


def test_reset_applies_levers(herten_page):
    rc = herten_page
    sliders(rc)[BUDGET].v_model = 600_000.0
    click(rc, "Reset")
    text = page_text(rc)
    assert "municipality.voluntary_budget_eur_per_year = 600,000.0" in text
    assert "Invalid lever value" not in text


def test_invalid_lever_shows_message_not_traceback(tmp_path, monkeypatch):
    path = no_carrier_scenario(tmp_path)
    monkeypatch.setattr(app.scenario_path, "value", path)
    box, rc = render(app.Page())
    select = next(w.widget for w in rc.find(v.Select) if w.widget.label == "Cooperation model")
    select.v_model = "coproduction"
    click(rc, "Reset")
    text = page_text(rc)
    assert "Invalid lever value" in text
    assert "cooperation model 'coproduction' needs at least one carrier" in text
    assert "Showing the scenario's baseline (municipal / budget) instead" in text
    click(rc, "Step")  # the fallback model runs
    assert "Time: 1.0" in page_text(rc)
    rc.close()


def test_missing_scenario_lists_existing_files(tmp_path, monkeypatch):
    monkeypatch.setattr(app.scenario_path, "value", ROOT / "scenarios" / "nowhere.toml")
    box, rc = render(app.Page())
    text = page_text(rc)
    assert re.search(r"nowhere\.toml: no such scenario file; scenario files: .*herten-innenstadt\.toml",
                     text)
    # the picker still offers the files that exist
    select = next(w.widget for w in rc.find(v.Select) if w.widget.label == "Scenario file")
    select.v_model = "herten-innenstadt.toml"
    assert "Time: 0.0" in page_text(rc)
    rc.close()


def test_invalid_scenario_file_shows_message(tmp_path, monkeypatch):
    bad = tmp_path / "bad.toml"
    bad.write_text(HERTEN.read_text().replace("residents = 8700", "residents = -5"))
    monkeypatch.setattr(app.scenario_path, "value", bad)
    box, rc = render(app.Page())
    assert "'population.residents' = -5: must be >= 1" in page_text(rc)
    rc.close()


# --------------------------------------------------------------------------- adapter
def test_adapter_builds_variant_from_flat_kwargs():
    m = AppModel(scenario_file=str(HERTEN), cooperation="coproduction", seed=3, years=1,
                 **{"volunteering.rate": 0.08, "population.residents": 500.0,
                    "municipality.voluntary_budget_eur_per_year": 450_000.0})
    assert m.error is None
    assert m.overrides == {"volunteering.rate": 0.08, "population.residents": 500}
    assert m.quarter.config.population.residents == 500
    assert m.cooperation_name == "coproduction"
    for _ in range(12):
        m.step()
    assert not m.running and m.quarter.steps == 12  # stops at the horizon
    assert len(m.datacollector.get_model_vars_dataframe()) == 12


def test_adapter_same_kwargs_same_run():
    a = AppModel(scenario_file=str(HERTEN), seed=5, **{"population.residents": 400})
    b = AppModel(scenario_file=str(HERTEN), seed=5, **{"population.residents": 400})
    for _ in range(3):
        a.step()
        b.step()
    np.testing.assert_array_equal(a.quarter.residents.need_hours, b.quarter.residents.need_hours)


@pytest.mark.parametrize("kwargs, message", [
    ({"volunteering.rate": 5.0}, "'volunteering.rate' = 5.0: must be <= 1"),
    ({"volunteering.rate": "lots"}, "'volunteering.rate' = 'lots'"),
    ({"cooperation": "nope"}, "unknown cooperation model 'nope'"),
    ({"population.share_65_plus": 0.5}, "'population.share_65_plus' is not a lever"),
])
def test_adapter_falls_back_with_message(kwargs, message):
    m = AppModel(scenario_file=str(HERTEN), **{"population.residents": 300}, **kwargs) \
        if "population.share_65_plus" not in kwargs else AppModel(scenario_file=str(HERTEN), **kwargs)
    assert m.error is not None and message in m.error
    assert m.overrides == {}
    assert m.quarter.config == m.baseline


def test_adapter_ignores_mesa_scenario_kwarg():
    from mesa.experimental.scenarios import Scenario as MesaScenario

    m = AppModel(scenario_file=str(HERTEN), scenario=MesaScenario(), **{"population.residents": 300})
    assert m.error is None


# --------------------------------------------------------------------------- drawing
def test_cell_aggregates_sum_over_home_cells():
    m = AppModel(scenario_file=str(HERTEN), **{"population.residents": 300})
    q = m.quarter
    a = q.residents
    alive = np.flatnonzero(a.alive)
    a.need_hours[:] = 0.0
    a.served_hours[:] = 0.0
    first, second = alive[0], alive[1]
    a.home_cell[second] = a.home_cell[first]
    cell = a.home_cell[first]
    a.need_hours[first, 0], a.need_hours[second, 1] = 4.0, 6.0
    a.served_hours[first, 0] = 2.5
    agg = cell_aggregates(q)
    assert agg["need_hours"][cell] == 10.0 and agg["served_hours"][cell] == 2.5
    assert agg["coverage"][cell] == pytest.approx(0.25)
    assert agg["unmet_share"][cell] == pytest.approx(0.75)
    assert np.isnan(agg["coverage"]).sum() == q.space.n_cells - 1  # no need anywhere else
    assert agg["residents"].sum() == a.alive.sum()
    assert agg["volunteers"].sum() == (a.alive & (a.volunteer_hours > 0)).sum()


def test_map_spec_is_valid_vega_lite_with_points_and_barriers():
    alt = pytest.importorskip("altair")
    m = AppModel(scenario_file=str(HERTEN), **{"population.residents": 300})
    m.step()
    spec = map_spec(m.quarter, "Coverage")
    alt.Chart.from_dict(spec)  # validates against the Vega-Lite schema
    letters = {p["letter"] for p in spec["layer"][4]["data"]["values"]}
    assert letters == set(load_scenario(HERTEN).space.service_points) >= {"R", "S", "A", "Z"}
    lands = [c["land"] for c in spec["data"]["values"]]
    layout = load_scenario(HERTEN).space.layout
    assert lands.count("barrier") == sum(row.count("#") for row in layout) == 30
    assert lands.count("crossing") == sum(row.count("+") for row in layout) == 4
    spec2 = series_spec(m, {"coverage": "#000"}, "t", "share", share=True)
    alt.Chart.from_dict(spec2)
    assert len(spec2["data"]["values"]) == 1
    assert len(DOMAINS) == 6


# --------------------------------------------------------------------------- what-if panel
def wait_until(pred, timeout=120.0):
    t0 = time.monotonic()
    while not pred():
        if time.monotonic() - t0 > timeout:
            raise AssertionError("timed out")
        time.sleep(0.1)


def test_whatif_panel_runs_in_background_saves_and_loads(herten_page, tmp_path):
    rc = herten_page
    s = sliders(rc)
    s[BUDGET].v_model = 700_000.0
    s["Residents (persons)"].v_model = 400
    click(rc, "Reset")
    s = sliders(rc)
    s["Seeds"].v_model = 2
    s["Years"].v_model = 1
    run = rc.find(v.Btn, children=["Run what-if"]).widget
    run.click()
    wait_until(lambda: "runs finished" in page_text(rc), timeout=60)
    # the page stays usable while the what-if runs: stepping works meanwhile
    click(rc, "Step")
    wait_until(lambda: "Time: 1.0" in page_text(rc), timeout=60)
    wait_until(lambda: "What-if finished: 4 runs." in page_text(rc))
    wait_until(lambda: not rc.find(v.Btn, children=["Run what-if"]).widget.disabled)
    text = page_text(rc)
    assert "Demand coverage (served / needed hours)" in text
    assert "Mandatory cases started" in text
    assert "Cost to municipality (EUR)" in text
    # save, then load it back
    session_file = tmp_path / "session.toml"
    set_session_file(rc, session_file)
    click(rc, "Save session")
    assert f"Session saved to {session_file}" in page_text(rc)
    loaded = WhatIfSession.load(session_file)
    assert loaded.levers == {"municipality.voluntary_budget_eur_per_year": 700_000.0,
                             "population.residents": 400}
    assert loaded.results.loc["municipal_cost_voluntary_eur", "difference_mean"] == \
        pytest.approx(250_000.0)
    click(rc, "Load session")
    assert f"Session loaded from {session_file}" in page_text(rc)


def test_whatif_panel_load_shows_results_and_errors(herten_page, tmp_path):
    rc = herten_page
    good = WhatIfSession(scenario=str(HERTEN), levers={"volunteering.rate": 0.06}, seeds=3, years=2,
                         results=paired_table(
                             [{"coverage": 0.1, "mandatory_cases": 9}, {"coverage": 0.2, "mandatory_cases": 7}],
                             [{"coverage": 0.3, "mandatory_cases": 5}, {"coverage": 0.4, "mandatory_cases": 3}]))
    path = good.save(tmp_path / "good.toml")
    set_session_file(rc, path)
    click(rc, "Load session")
    text = page_text(rc)
    assert "volunteering.rate = 0.06; 3 seeds x 2 years" in text
    assert "Demand coverage (served / needed hours) 0.150 0.350 +0.200" in text
    assert "Mandatory cases started 8 4 -4" in text
    bad = tmp_path / "bad.toml"
    bad.write_text("import os\nos.system('touch pwned')\n")
    set_session_file(rc, bad)
    click(rc, "Load session")
    assert "not a valid TOML session file" in page_text(rc)
    assert not (Path.cwd() / "pwned").exists()
    set_session_file(rc, tmp_path / "missing.toml")
    click(rc, "Load session")
    assert "missing.toml: no such session file" in page_text(rc)


def test_whatif_panel_save_without_results_says_so(herten_page):
    click(herten_page, "Save session")
    assert "Nothing to save yet" in page_text(herten_page)
