"""The app's parts without a page: texts and number formats (German and English), lever
controls from the schema, what-if rows from the registry, exports, the map and chart
specs, session files from text."""

from __future__ import annotations

import io
import math
import os
import re
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

try:
    import babel  # noqa: F401
    import solara  # noqa: F401
except ImportError as exc:  # the viz extra is missing
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        raise ImportError(f"CI=true: the app tests must run; install the viz extra: {exc}") from exc
    pytest.skip(f"app tests need the viz extra (pip install -e '.[viz]'): {exc}",
                allow_module_level=True)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from quartiersim.app import export  # noqa: E402
from quartiersim.app.charts import CHARTS, changes_spec, series_spec, whatif_series_spec  # noqa: E402
from quartiersim.app.i18n import (  # noqa: E402
    COOPERATION_NAMES,
    FINANCING_NAMES,
    TEXTS,
    UI,
    lever_label_texts,
    pick_language,
)
from quartiersim.app.mapview import (  # noqa: E402
    FONT_PX,
    LETTER_W,
    SYMBOL_R,
    cell_aggregates,
    map_spec,
    place_labels,
    quarter_blocks,
    view_choices,
)
from quartiersim.app.model import AppModel  # noqa: E402
from quartiersim.app.params import (  # noqa: E402
    LeverGroup,
    all_controls,
    applied_levers,
    control,
    slider_range,
    visible_levers,
)
from quartiersim.app.results import planner_rows  # noqa: E402
from quartiersim.app.state import Inputs, inputs_of_session, resolve_session_scenario  # noqa: E402
from quartiersim.config.financing import BUILTIN_FINANCING, INSTRUMENT_PARAMS  # noqa: E402
from quartiersim.config.loading import load_scenario  # noqa: E402
from quartiersim.errors import ScenarioError  # noqa: E402
from quartiersim.sim.cooperation import COOPERATION_MODELS  # noqa: E402
from quartiersim.sim.outcomes import REGISTRY  # noqa: E402
from quartiersim.sim.registry import Better, Kind, Outcome, OutcomeGroup, View  # noqa: E402
from quartiersim.sim.space import QuarterSpace  # noqa: E402
from quartiersim.studies.whatif import COLUMNS, Lever, WhatIfSession, levers, paired_table  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HERTEN = ROOT / "scenarios" / "herten-innenstadt.toml"
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
EN, DE = UI("en"), UI("de")


# --------------------------------------------------------------------------- texts
def test_catalogue_has_both_languages_with_the_same_placeholders():
    fields = string.Formatter()
    for key, (en, de) in TEXTS.items():
        assert en and de, key
        names = [{f for _, f, _, _ in fields.parse(t) if f} for t in (en, de)]
        assert names[0] == names[1], key


def test_every_registered_model_and_shipped_lever_has_a_german_name():
    assert set(COOPERATION_MODELS) <= set(COOPERATION_NAMES)
    assert set(BUILTIN_FINANCING) | {"grant", "grant_continued", "pooled"} <= set(FINANCING_NAMES)
    missing = sorted({lv.key for f in SCENARIOS for lv in levers(load_scenario(f))
                      if lever_label_texts(lv.key) is None})
    assert missing == [], f"levers without a catalogue label (app/i18n.py LEVER_LABELS): {missing}"
    # every instrument parameter declared as a lever, whichever financing model has it
    for name, cls in INSTRUMENT_PARAMS.items():
        for field, info in cls.model_fields.items():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            if extra.get("lever"):
                assert lever_label_texts(f"financing.x.{name}.{field}") is not None, (name, field)


def test_german_uses_the_domain_terms():
    assert DE.cooperation("coproduction") == "Koproduktion"
    assert DE.cooperation("contracting") == "Auftragsvergabe"
    assert "Quartiersmanagement" in DE.cooperation("meeting_point")
    assert DE.financing("grant_continued") == "Förderprogramm mit Verstetigung"
    assert DE.t("chart.cases") == "Pflichtleistungsfälle"
    assert DE.lever("financing.pooled.grant_programme.funding_rate", "x") == "Förderquote"


def test_unknown_names_fall_back_to_words():
    assert EN.cooperation("neighbourhood_cafe") == "Neighbourhood cafe"
    assert DE.financing("city_bonds") == "City bonds"
    assert EN.lever("cooperation.x.new_lever", "Schema wording") == "Schema wording"


@pytest.mark.parametrize("lang, eur, share, pp, number, month", [
    ("de", "450.000\u00a0€", "22,8\u00a0%", "+9,1\u00a0Pp.", "8.700", "Juni 2020"),
    ("en", "€450,000", "22.8%", "+9.1\u00a0pp", "8,700", "June 2020")])
def test_numbers_money_and_dates_per_language(lang, eur, share, pp, number, month):
    ui = UI(lang)
    assert ui.eur(450_000) == eur
    assert ui.percent(0.228) == share
    assert ui.points(0.0912) == pp
    assert ui.number(8700) == number
    assert ui.month_name(2020, 6) == month
    assert ui.eur(-1_037_210.4, signed=True).startswith("−")
    assert ui.value(float("nan"), Kind.EUR) == "–"


def test_language_choice():
    assert pick_language("en", "de") == "en"
    assert pick_language(None, "EN") == "en"
    assert pick_language("fr", None) == "de"
    with pytest.raises(ValueError, match="language 'fr': allowed: de, en"):
        UI("fr").t("btn.step")


def test_outcome_labels_come_from_the_registry():
    coverage = REGISTRY.lookup("coverage")
    assert DE.outcome(coverage) == "Bedarfsdeckung (gedeckte / benötigte Stunden)"
    assert EN.outcome(REGISTRY.lookup("municipal_cost_eur")) == "Municipal cost"  # unit apart


# --------------------------------------------------------------------------- levers
def test_slider_range_is_schema_bounded():
    lv = Lever("a.b", "A: b", "share", "assumption", "", 0.4, "float", 0, 1)
    assert slider_range(lv) == (0.0, 1.0, 0.01)  # 5 x 0.4 = 2 is capped by le=1
    lv = Lever("a.n", "A: n", "persons", "x", "", 8700, "int", 1, 5_000_000)
    lo, hi, step = slider_range(lv)
    assert (lo, hi, step) == (200.0, 49_700.0, 500.0)  # the grid passes through 8,700


@pytest.mark.parametrize("value, minimum, maximum", [
    (0.04, 0, 1), (450_000.0, 0, 1e10), (0.5, 0, 100), (8700, 1, 5_000_000), (0.0, 0, 1),
    (0.165, 0, 1), (1234.5, 0, 1e9)])
def test_slider_grid_contains_scenario_value(value, minimum, maximum):
    kind = "int" if isinstance(value, int) else "float"
    lo, hi, step = slider_range(Lever("k", "K", "u", "s", "", value, kind, minimum, maximum))
    assert minimum <= lo <= value <= hi <= maximum
    k = (value - lo) / step
    assert abs(k - round(k)) < 1e-6


def test_lever_controls_show_value_unit_and_range_in_both_languages():
    c = all_controls(load_scenario(HERTEN))
    budget = c["municipality.voluntary_budget_eur_per_year"]
    assert budget.group is LeverGroup.BUDGET
    assert budget.format(450_000.0, DE) == "450.000\u00a0€/Jahr"
    assert budget.format(450_000.0, EN) == "€450,000/year"
    assert (budget.low, budget.high, budget.step) == (0.0, 2_500_000.0, 25_000.0)
    rate = c["volunteering.rate"]  # a share: shown in per cent
    assert (rate.group, rate.scale, rate.to_display(0.04), rate.from_display(6.0)) == \
        (LeverGroup.VOLUNTEERING, 100.0, 4.0, 0.06)
    assert rate.format(0.04, DE) == "4,0\u00a0%" and rate.unit_text(DE) == "%"
    assert rate.bounds == (0.0, 100.0) and rate.check(101) == "out_of_range"
    assert c["cooperation.coproduction.coordination_fte"].group is LeverGroup.STAFF
    assert c["cooperation.coproduction.coordination_fte"].label(DE) == \
        "Hauptamtliche Ehrenamtskoordination"
    assert c["financing.pooled.sponsoring.eur_per_year"].group is LeverGroup.FINANCING
    assert c["population.residents"].format(8700, EN) == "8,700 persons"


def test_only_the_chosen_models_levers_are_shown():
    c = all_controls(load_scenario(HERTEN))

    def keys(coop, fin):
        return [x.key for g in visible_levers(c, coop, fin).values() for x in g]

    municipal = keys("municipal", "budget")
    assert not any(k.startswith(("cooperation.", "financing.")) for k in municipal)
    assert "municipality.voluntary_budget_eur_per_year" in municipal
    copro = keys("coproduction", "pooled")
    assert "cooperation.coproduction.coordination_fte" in copro
    assert "cooperation.integration_centre.coordination_fte" not in copro
    assert {k for k in copro if k.startswith("financing.")} == \
        {k for k in c if k.startswith("financing.pooled.")}
    groups = list(visible_levers(c, "coproduction", "pooled"))
    assert groups == [LeverGroup.BUDGET, LeverGroup.STAFF, LeverGroup.VOLUNTEERING,
                      LeverGroup.FINANCING, LeverGroup.QUARTER]


def test_hidden_levers_are_not_part_of_the_variant():
    sc = load_scenario(HERTEN)
    c = all_controls(sc)
    values = {k: x.lever.value for k, x in c.items()}
    values["cooperation.coproduction.coordination_fte"] = 2.0
    values["volunteering.rate"] = 0.06
    assert applied_levers(values, c, "municipal", "budget") == {"volunteering.rate": 0.06}
    assert applied_levers(values, c, "coproduction", "budget") == {
        "cooperation.coproduction.coordination_fte": 2.0, "volunteering.rate": 0.06}
    a = Inputs.of(HERTEN, sc)
    assert a.key(c) == (str(HERTEN), "municipal", "budget", 0, 10, ())
    assert a.with_lever("volunteering.rate", 0.06) != a  # a changed draft is a change


def test_new_lever_finds_a_group_and_a_label():
    lv = Lever("cooperation.x.outreach_staff_fte", "X: outreach staff fte", "FTE", "assumption",
               "Outreach workers in the quarter.", 1.0, "float", 0, 10)
    c = control(lv)
    assert c.group is LeverGroup.STAFF
    assert c.label(DE) == "Outreach workers in the quarter"  # the schema's wording


# --------------------------------------------------------------------------- what-if rows
def table_of(rows: dict[str, tuple[float, float, float, float]]) -> pd.DataFrame:
    """A what-if table: outcome -> (baseline, variant, difference low, difference high)."""
    data = {}
    for name, (b, v, lo, hi) in rows.items():
        data[name] = [b, b, b, v, v, v, v - b, lo, hi]
    t = pd.DataFrame.from_dict(data, orient="index", columns=list(COLUMNS))
    t.index.name = "outcome"
    return t


def test_rows_in_percent_points_totals_years_and_cases_avoided():
    t = table_of({"coverage": (0.228, 0.318, 0.087, 0.094),
                  "mandatory_cases": (491.0, 282.0, -240.0, -180.0),
                  "municipal_cost_eur": (10_656_415.0, 9_619_205.0, -1_541_727.0, -532_693.0),
                  "cost_municipality_eur": (10_656_415.0, 9_619_205.0, -1_541_727.0, -532_693.0),
                  "cost_insurers_eur": (0.0, 0.0, 0.0, 0.0),
                  "total_cost_eur": (15_306_415.0, 14_269_205.0, -1_541_727.0, -532_693.0)})
    rows, left_out = planner_rows(t, EN, 2020, 10)
    by = {r.outcome.name: r for r in rows}
    cov = by["coverage"]
    assert (cov.baseline, cov.variant, cov.change) == ("22.8%", "31.8%", "+9.0\u00a0pp")
    assert cov.interval == "[+8.7\u00a0pp, +9.4\u00a0pp]" and cov.verdict == "better"
    cases = by["mandatory_cases"]
    assert cases.label == "Mandatory cases started, total 2020–2029"
    assert cases.change == "−209 (−42.6%)"  # variant − baseline, as the header says
    assert cases.assessment == "209 avoided" and cases.verdict == "better"
    cost = by["municipal_cost_eur"]
    assert cost.label == "Municipal cost, total 2020–2029"
    assert cost.baseline == "€10,656,415" and cost.change.startswith("−€1,037,210 (−9.7%)")
    # the municipality's cost as a payer equals the municipal cost; insurers pay nothing
    assert "cost_municipality_eur" not in by and "cost_insurers_eur" not in by
    assert left_out == ["Cost to municipality", "Cost to health insurers"]
    de_rows, _ = planner_rows(t, DE, 2020, 10)
    de = {r.outcome.name: r for r in de_rows}
    assert de["mandatory_cases"].label == "Begonnene Pflichtleistungsfälle, gesamt 2020–2029"
    assert de["mandatory_cases"].assessment == "209 vermieden"
    assert de["coverage"].change == "+9,0\u00a0Pp."


def test_more_cases_worse_and_unclear_interval():
    t = table_of({"mandatory_cases": (100.0, 120.0, 5.0, 35.0), "coverage": (0.2, 0.21, -0.01, 0.03)})
    by = {r.outcome.name: r for r in planner_rows(t, EN, 2020, 1)[0]}
    assert (by["mandatory_cases"].assessment, by["mandatory_cases"].verdict) == ("20 more", "worse")
    assert by["mandatory_cases"].label.endswith("total 2020")
    assert (by["coverage"].assessment, by["coverage"].verdict) == ("no clear change", "unclear")


def test_an_outcome_added_to_the_registry_appears_without_app_changes(monkeypatch):
    take_up = Outcome("take_up_test", "Take-up (residents with a need who used an offer)", Kind.SHARE,
                    "share of residents with a need", OutcomeGroup.COVERAGE,
                    views=frozenset({View.WHATIF}), better=Better.HIGHER,
                    label_de="Inanspruchnahme (Bedürftige, die ein Angebot nutzten)")
    regret = Outcome("regret_eur", "Regret (EUR)", "eur", "EUR over the run", OutcomeGroup.COST,
                     scope=REGISTRY.entries[0].scope, views=frozenset({View.WHATIF}),
                     better=Better.LOWER)
    monkeypatch.setattr(REGISTRY, "entries", (*REGISTRY.entries, take_up, regret))
    t = table_of({"coverage": (0.2, 0.3, 0.05, 0.15), "take_up_test": (0.40, 0.55, 0.10, 0.20),
                  "regret_eur": (1000.0, 500.0, -800.0, -200.0)})
    rows = {r.outcome.name: r for r in planner_rows(t, DE, 2020, 10)[0]}
    assert rows["take_up_test"].label == "Inanspruchnahme (Bedürftige, die ein Angebot nutzten)"
    assert (rows["take_up_test"].variant, rows["take_up_test"].change) == ("55,0\u00a0%", "+15,0\u00a0Pp.")
    assert rows["regret_eur"].label.startswith("Regret") and rows["regret_eur"].verdict == "better"
    assert changes_spec(list(rows.values()), Kind.SHARE, DE) is not None


def test_every_outcome_view_lists_more_rows():
    t = table_of({"coverage": (0.2, 0.3, 0.05, 0.15), "need_hours": (1000.0, 1000.0, 0.0, 0.0),
                  "volunteer_hours": (10.0, 20.0, 5.0, 15.0)})
    assert [r.outcome.name for r in planner_rows(t, EN, 2020, 10)[0]] == ["coverage"]
    every = [r.outcome.name for r in planner_rows(t, EN, 2020, 10, every_outcome=True)[0]]
    assert every == ["coverage", "need_hours", "volunteer_hours"]


# --------------------------------------------------------------------------- exports
def session_with_results() -> WhatIfSession:
    base = [{"coverage": 0.20, "mandatory_cases": 9, "municipal_cost_eur": 1000.0},
            {"coverage": 0.22, "mandatory_cases": 7, "municipal_cost_eur": 1100.0}]
    var = [{"coverage": 0.30, "mandatory_cases": 5, "municipal_cost_eur": 1200.0},
           {"coverage": 0.31, "mandatory_cases": 3, "municipal_cost_eur": 1250.0}]
    months = 24
    series = pd.DataFrame({"year": [2020 + i // 12 for i in range(months)],
                           "month": list(range(1, months + 1)),  # the run's months, as recorded
                           "baseline_coverage": np.linspace(0.2, 0.22, months),
                           "variant_coverage": np.linspace(0.25, 0.31, months),
                           "baseline_active_mandatory_cases": np.full(months, 40.0),
                           "variant_active_mandatory_cases": np.full(months, 30.0)},
                          index=pd.RangeIndex(1, months + 1, name="step"))
    return WhatIfSession(scenario=str(HERTEN), levers={"volunteering.rate": 0.06},
                         model="coproduction", seeds=2, years=2,
                         results=paired_table(base, var), series=series)


def context_of(s: WhatIfSession, ui: UI) -> export.Context:
    c = all_controls(load_scenario(HERTEN))
    return export.Context("Herten, inner city", "herten-innenstadt.toml", "municipal / budget",
                          "coproduction / budget", export.changed_levers(s.levers, c, ui),
                          s.seeds, s.years, 2020)


def test_csv_follows_the_language():
    s = session_with_results()
    de = export.to_csv(export.whatif_frame(s.results, DE, 2020, 2), DE).decode("utf-8-sig")
    assert de.splitlines()[0].startswith("outcome;Ergebnisgröße;Einheit;Ausgangsfall;")
    assert re.search(r"^coverage;Bedarfsdeckung \(gedeckte / benötigte Stunden\);.*;21,0;", de, re.M)
    en = export.to_csv(export.whatif_frame(s.results, EN, 2020, 2), EN).decode("utf-8-sig")
    rows = pd.read_csv(io.StringIO(en)).set_index("outcome")
    assert rows.loc["coverage", "Change"] == pytest.approx(9.5)  # percentage points
    assert rows.loc["mandatory_cases", "Assessment"] == "4 avoided"  # -4 in both seeds


def test_excel_has_a_sheet_per_table():
    openpyxl = pytest.importorskip("openpyxl")
    s = session_with_results()
    data = export.to_excel({"What-if": export.whatif_frame(s.results, EN, 2020, 2),
                            "What-if series": s.series.reset_index()})
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["What-if", "What-if series"]
    assert wb["What-if"]["B2"].value == "Demand coverage (served / needed hours)"
    assert wb["What-if series"].max_row == 25


def test_summary_names_scenario_levers_rows_and_draws_charts():
    s = session_with_results()
    page = export.summary_html(context_of(s, DE), s.results, s.series, DE)
    assert "<title>Was-wäre-wenn: Zusammenfassung: Herten, inner city</title>" in page
    assert "Anteil der Erwachsenen im Ehrenamt" in page and "4,0\u00a0%" in page and "6,0\u00a0%" in page
    assert "+9,5\u00a0Pp." in page and "4 vermieden" in page
    assert page.count("<svg") == 2 and "@page { size: A4 portrait" in page


# --------------------------------------------------------------------------- sessions from text
def test_session_from_text_offers_only_the_apps_scenarios(tmp_path):
    s = session_with_results()
    text = s.to_toml(HERTEN.parent)
    assert 'scenario = "herten-innenstadt.toml"' in text
    choices = {p.name: p for p in SCENARIOS}

    def resolve(ref):
        return resolve_session_scenario(ref, HERTEN.parent, choices, lambda r: f"unknown {r}")

    back = WhatIfSession.from_toml(text, name="upload.toml", resolve=resolve)
    assert back.levers == {"volunteering.rate": 0.06} and back.series.shape == (24, 6)
    assert back.results.loc["coverage", "difference_mean"] == pytest.approx(0.095)
    for ref in ("/etc/passwd", "../../../../etc/passwd", "nowhere.toml"):
        evil = text.replace('scenario = "herten-innenstadt.toml"', f'scenario = "{ref}"')
        with pytest.raises(ScenarioError, match=f"unknown {re.escape(ref)}"):
            WhatIfSession.from_toml(evil, name="upload.toml", resolve=resolve)
    # a path to an offered file elsewhere (a session saved by the command line) is taken by name
    assert resolve("../somewhere/herten-innenstadt.toml") == str(HERTEN)


@pytest.mark.parametrize("text, message", [
    ("not toml [", "upload.toml: not a valid TOML session file"),
    ('[session]\nscenario = "herten-innenstadt.toml"\n[series]\nbaseline_coverage = [1.0]\n'
     'variant_coverage = [1.0, 2.0]\n', "columns of different lengths"),
    ('[session]\nscenario = "herten-innenstadt.toml"\n[series]\nevil = [1.0]\n',
     "column 'evil': allowed: year, month, baseline_<series>, variant_<series>"),
])
def test_session_text_errors_name_the_file(text, message):
    with pytest.raises(ScenarioError, match=re.escape(message)):
        WhatIfSession.from_toml(text, name="upload.toml", scenario_dir=HERTEN.parent)


def test_session_restores_every_lever_value():
    sc = load_scenario(HERTEN)
    s = WhatIfSession(scenario=str(HERTEN), model="coproduction", financing="grant", years=5,
                      levers={"volunteering.rate": 0.06,
                              "cooperation.coproduction.coordination_fte": 1.5,
                              "financing.grant.grant_programme.funding_rate": 0.6})
    i = inputs_of_session(s, sc)
    assert (i.cooperation, i.financing, i.years) == ("coproduction", "grant", 5)
    assert i.changed(all_controls(sc)) == s.levers


# --------------------------------------------------------------------------- map and charts
@pytest.fixture(scope="module")
def herten_model():
    m = AppModel(HERTEN, **{"population.residents": 300})
    m.step()
    return m


def test_cell_aggregates_sum_over_home_cells():
    m = AppModel(HERTEN, **{"population.residents": 300})
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


def test_map_spec_is_valid_with_points_barriers_and_clear_letters(herten_model):
    alt = pytest.importorskip("altair")
    spec = map_spec(herten_model.quarter, EN, "coverage")
    alt.Chart.from_dict(spec)  # validates against the Vega-Lite schema
    cells = [d for d in spec["datasets"]["cells"]]
    layout = load_scenario(HERTEN).space.layout
    assert sum(d["kind"] == "land" and d["land"].startswith("barrier") for d in cells) == \
        sum(row.count("#") for row in layout) == 30
    assert spec["title"]["subtitle"] == "cells of 50 m"
    # one step later only the dataset differs: the browser updates the drawn map's data
    herten_model.step()
    later = map_spec(herten_model.quarter, EN, "coverage")
    assert {k: v for k, v in later.items() if k != "datasets"} == \
        {k: v for k, v in spec.items() if k != "datasets"}
    assert spec["layer"][1]["encoding"]["color"]["title"] == "Coverage this month (%)"
    points = spec["layer"][-2]["data"]["values"]
    assert {p["letter"] for p in points} == set(load_scenario(HERTEN).space.service_points)
    assert {p["kind"] for p in points} >= {"municipal office", "carrier's premises"}
    # no axes without real coordinates; every legend below the map
    assert spec["layer"][0]["encoding"]["x"]["axis"] is None
    legends = [e.get("legend") for layer in spec["layer"] for e in layer["encoding"].values()
               if isinstance(e, dict) and e.get("legend")]
    assert legends and all(lg["orient"] == "none" and lg["legendX"] == 0 for lg in legends)
    tops = sorted({lg["legendY"] for lg in legends})
    assert len(tops) == 3 and tops[0] >= spec["height"]  # one under the other, below the map
    de = map_spec(herten_model.quarter, DE, "unmet")
    assert de["layer"][1]["encoding"]["color"]["title"] == "Ungedeckter Bedarf im Monat (%)"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 300), st.floats(0, 300)), min_size=1, max_size=30))
def test_placed_letters_never_overlap_each_other_or_a_symbol(centres):
    offsets = place_labels(centres, ["M"] * len(centres), 300, 300)
    boxes = []
    for (x, y), off in zip(centres, offsets):
        if off is None:
            continue
        cx, cy = x + off[0], y + off[1]
        w, h = LETTER_W + 2, FONT_PX + 2
        boxes.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
    symbols = [(x - SYMBOL_R, y - SYMBOL_R, x + SYMBOL_R, y + SYMBOL_R) for x, y in centres]

    def overlap(a, b):
        return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]

    for i, a in enumerate(boxes):
        assert 0 <= a[0] and a[2] <= 300 and 0 <= a[1] and a[3] <= 300
        assert not any(overlap(a, b) for b in boxes[i + 1:])
        assert not any(overlap(a, s) for s in symbols)


def test_letters_of_a_lone_point_are_placed():
    assert place_labels([(50.0, 50.0)], ["R"], 300, 300) == [(13, -10)]


def test_city_600k_opens_per_quarter():
    sc = load_scenario(ROOT / "scenarios" / "city-600k.toml")
    sp = QuarterSpace(sc.space)
    labels, n = quarter_blocks(sp.land_use, sp.width)
    assert view_choices(sp) == ["quarters"]
    assert 60 <= n <= 70  # 62 quarters of the synthetic city (two blocks share a road gap)
    assert labels.max() == n and (labels[sp.land_use == 2] == 0).all()  # roads in no quarter
    assert view_choices(QuarterSpace(load_scenario(HERTEN).space)) == ["cells"]


def test_quarter_view_of_a_city(tmp_path):
    from quartiersim.studies.synth import synthesize

    path = tmp_path / "city.toml"
    path.write_text(synthesize(60_000, 12))
    m = AppModel(path, **{"population.residents": 6000})
    assert view_choices(m.quarter.space) == ["quarters", "cells"]
    spec = map_spec(m.quarter, EN, "residents", "quarters")
    _, n = quarter_blocks(m.quarter.space.land_use, m.quarter.space.width)
    quarters = {d["where"] for d in spec["datasets"]["cells"] if d["kind"] == "area"}
    assert len(quarters) == n >= 12 and spec["title"]["subtitle"] == f"{n} quarters"
    shown = {d["where"]: d["value"] for d in spec["datasets"]["cells"] if d["kind"] == "area"}
    assert sum(shown.values()) == m.quarter.residents.alive.sum()  # each quarter's residents
    assert not any(layer.get("mark", {}).get("type") == "text" for layer in spec["layer"])


def test_georeferenced_scenario_is_drawn_in_its_coordinates(tmp_path, herten_model):
    text = HERTEN.read_text() + ('\n[space.georeference]\ncrs = "EPSG:3035"  # assumption: a test\n'
                                 "origin_x = 4143100.0  # assumption\norigin_y = 3159000.0  # assumption\n")
    path = tmp_path / "geo.toml"
    path.write_text(text.replace("[space]", "[space]", 1))
    m = AppModel(path, **{"population.residents": 300})
    spec = map_spec(m.quarter, EN, "unmet")
    x = spec["layer"][0]["encoding"]["x"]
    assert x["axis"]["title"] == "East (m, EPSG:3035)"
    assert x["scale"]["domain"] == [4143100.0, 4143100.0 + 16 * 50.0]
    assert spec["layer"][0]["encoding"]["y"]["scale"]["domain"] == [3159000.0 - 16 * 50.0, 3159000.0]
    first = spec["datasets"]["cells"][0]
    assert (first["x"], first["y"]) == (4143100.0, 3159000.0)  # the north-west cell


def test_charts_have_units_months_and_no_empty_chart(herten_model):
    df = herten_model.datacollector.get_model_vars_dataframe()
    assert series_spec(CHARTS[0], df.iloc[:0], EN) is None  # month 0: a note, not an empty chart
    spec = series_spec(CHARTS[0], df, DE)
    assert spec["encoding"]["y"]["title"] == "Bedarfsdeckung (% der Bedarfsstunden)"
    assert spec["encoding"]["x"]["type"] == "temporal"
    row = spec["datasets"]["series"][0]
    assert row["date"] == "2020-01-01" and row["when"] == "Januar 2020 (Monat 1)"
    assert row["value"] == pytest.approx(100 * df["coverage"].iloc[0])
    cases = series_spec(CHARTS[1], df, EN)
    assert {r["series"] for r in cases["datasets"]["series"]} == \
        {"Mandatory cases running", "Mandatory cases started in the month"}


def test_whatif_chart_has_baseline_and_variant_lines():
    s = session_with_results()
    spec = whatif_series_spec(CHARTS[0], s.series, EN)
    last = spec["datasets"]["series"][-1]
    assert (last["date"], last["when"]) == ("2021-12-01", "December 2021 (Month 24)")
    names = {r["series"] for r in spec["datasets"]["series"]}
    assert names == {"Baseline", "Variant"}
    assert spec["encoding"]["strokeDash"]["scale"]["range"] == [[5, 3], [1, 0]]
    assert whatif_series_spec(CHARTS[2], s.series, EN) is None  # no budget columns kept
    assert math.isclose(spec["datasets"]["series"][-1]["value"], 31.0)


def test_month_texts_run_into_the_next_year():
    """The DataCollector's ``month`` counts the run's months: month 13 is January of year 2."""
    from quartiersim.app.views import month_text, short_month

    m = AppModel(HERTEN, **{"population.residents": 300})
    for _ in range(13):
        m.step()
    assert month_text(m, EN) == "Month 13 of 120 · January 2021"
    assert short_month(m, DE) == "Monat 13 · Januar 2021"
    spec = series_spec(CHARTS[0], m.datacollector.get_model_vars_dataframe(), EN)
    assert spec["datasets"]["series"][-1]["date"] == "2021-01-01"


# --------------------------------------------------------------------------- robustness check
def test_robustness_rows_give_p_better_change_range_and_regret_in_the_outcomes_units():
    """Issue 11: the app's what-if shows the same P(better) and regret as compare
    --uncertainty; shares as percentage points, money as euros, in German too."""
    from quartiersim.app.robustness import robust_html, robust_rows

    table = pd.DataFrame([
        {"outcome": "reach", "draws": 20, "p_variant_better": 0.75, "difference_mean": 0.02,
         "difference_low": -0.01, "difference_high": 0.05, "regret_variant_mean": 0.004,
         "regret_variant_p90": 0.01, "regret_baseline_mean": 0.02, "regret_baseline_p90": 0.04},
        {"outcome": "municipal_cost_eur", "draws": 20, "p_variant_better": 0.1,
         "difference_mean": 120_000.0, "difference_low": 80_000.0, "difference_high": 150_000.0,
         "regret_variant_mean": 118_000.0, "regret_variant_p90": 149_000.0,
         "regret_baseline_mean": 0.0, "regret_baseline_p90": 0.0},
        {"outcome": "not_an_outcome", "draws": 20, "p_variant_better": 0.5,
         "difference_mean": 0.0, "difference_low": 0.0, "difference_high": 0.0,
         "regret_variant_mean": 0.0, "regret_variant_p90": 0.0, "regret_baseline_mean": 0.0,
         "regret_baseline_p90": 0.0}])
    en = robust_rows(table, EN)
    assert [r[1:] for r in en] == [
        ("75%", "+2.0\u00a0pp", "−1.0\u00a0pp … +5.0\u00a0pp", "0.4\u00a0pp / 1.0\u00a0pp"),
        ("10%", "+€120,000", "+€80,000 … +€150,000", "€118,000 / €149,000")]
    assert en[0][0].startswith("Reach")
    de = robust_rows(table, DE)
    assert de[1][1:] == ("10\u00a0%", "+120.000\u00a0€", "+80.000\u00a0€ … +150.000\u00a0€",
                         "118.000\u00a0€ / 149.000\u00a0€")
    assert "<th class='num'>P(besser)</th>" in robust_html(table, DE)


def test_robustness_source_is_the_posterior_else_the_ranges_else_none(tiny_raw, write_scenario):
    from quartiersim.app.robustness import source_of
    from quartiersim.config.loading import load_scenario as load

    from quartiersim.config.uncertainty import UncertainRange, Uncertainty

    tiny = load(write_scenario(tiny_raw))
    assert source_of(tiny) is None
    ranged = tiny.model_copy(update={"uncertainty": Uncertainty(
        ranges={"access.decay_length_m": UncertainRange(low=300.0, high=900.0)})})
    assert source_of(ranged) == "ranges"
    assert source_of(load(ROOT / "scenarios" / "herten-innenstadt.toml")) == "posterior"
