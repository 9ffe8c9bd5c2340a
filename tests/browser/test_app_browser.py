"""End to end in headless Chromium: `quartiersim app` served, used as a planner would.

Each test names the defect of issue 13 it guards against; each failed on main (before
the app was rebuilt) and passes now. The what-if, sessions and exports are in
test_whatif_browser.py.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .pages import (
    STEP,
    built,
    choose,
    lever_field,
    map_drawn,
    open_any,
    open_app,
    set_number,
    switch_scenario,
    visible_text,
)

pytestmark = pytest.mark.browser

BOXES_JS = """(sel) => Array.from(document.querySelectorAll(sel)).map(e => {
    const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })"""


def boxes(page, selector: str) -> list[list[float]]:
    return page.evaluate(BOXES_JS, selector)


def inside(inner: list[float], outer: list[float], slack: float = 0.5) -> bool:
    return (inner[0] >= outer[0] - slack and inner[1] >= outer[1] - slack
            and inner[2] <= outer[2] + slack and inner[3] <= outer[3] + slack)


def overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5


def test_all_browser_assets_are_served(served, page):
    """Offline, a missing vega/katex bundle leaves the charts empty: every /_solara/ asset
    the page asks for is answered."""
    failed, pending = [], set()
    page.on("request", lambda r: pending.add(r.url) if "/_solara/cdn/" in r.url else None)

    def answered(r):
        pending.discard(r.url)
        if r.status >= 400 and "/_solara/" in r.url:
            failed.append(f"{r.status} {r.url}")

    page.on("response", answered)
    page.on("requestfailed", lambda r: failed.append(f"failed {r.url}") if "/_solara/" in r.url else None)
    open_app(page, served)
    page.wait_for_load_state("networkidle")
    assert not failed and not pending, \
        f"assets missing (run scripts/install-browser-deps.sh): {failed} {sorted(pending)}"


def test_switching_scenario_then_reset_keeps_the_chosen_one(served, page):
    """Critical: pick Wetter, press Reset -> the header, map and what-if baseline were
    Herten (SolaraViz rebuilt AppModel's default file), or a traceback when the server
    was started from another folder (as here). Written against what any version of the
    page has (a "Scenario file" select, Reset and Step buttons), so on the old page it
    fails for the defect itself."""
    open_any(page, f"{served.url}?lang=en")
    page.locator(".v-select").filter(has_text="Scenario file").first.click()
    page.get_by_role("option", name="wetter-grundschoettel.toml").click()
    page.get_by_text("quartiersim · Wetter (Ruhr), Grundschöttel").first.wait_for()
    page.get_by_role("button", name=re.compile(r"^\s*Reset\s*$")).click()
    page.get_by_text("Traceback").or_(page.get_by_role("button", name=STEP)).first.wait_for()
    assert page.get_by_text("Traceback").count() == 0, visible_text(page.locator("body"))[:300]
    page.get_by_role("button", name=STEP).first.click()
    page.get_by_text(re.compile("Month 1 |Time: 1")).first.wait_for()
    body = visible_text(page.locator("body"))
    assert "Traceback" not in body and "no such scenario file" not in body, body[:500]
    assert "Herten" not in body, "the Herten model is on screen after picking Wetter"
    built(page, "Wetter (Ruhr), Grundschöttel")
    assert "Baseline: wetter-grundschoettel.toml as written" in \
        visible_text(page.locator(".qs-whatif-intro"))
    # and with a changed lever, applied by Reset
    set_number(page, "municipality.voluntary_budget_eur_per_year", 200000)
    page.locator(".qs-reset.qs-pending").click()
    page.locator(".qs-on-screen-levers").get_by_text("€200,000/year").wait_for()
    built(page, "Wetter (Ruhr), Grundschöttel")
    expect(page.locator(".qs-on-screen")).to_contain_text("Wetter (Ruhr), Grundschöttel: Municipal provision")
    assert page.get_by_text("Herten").count() == 0


def test_changed_lever_is_pending_with_reset_highlighted(served, page):
    """A moved lever was silently ignored by Step (the old model kept running) and nothing
    said Reset was needed."""
    open_app(page, served)
    set_number(page, "municipality.voluntary_budget_eur_per_year", 600000)
    page.locator(".qs-pending-list").get_by_text("€450,000/year → €600,000/year").wait_for()
    page.get_by_text("Changes not applied yet").wait_for()
    assert "warning" in page.locator(".qs-reset").get_attribute("class")
    expect(page.locator(".qs-on-screen-levers")).to_contain_text("Changed levers: none")
    expect(page.locator(".qs-run")).to_be_disabled()
    page.locator(".qs-reset").click()
    built(page)
    page.locator(".qs-on-screen-levers").get_by_text("€600,000/year").wait_for()
    page.locator(".qs-pending-list").wait_for(state="detached")
    expect(page.locator(".qs-reset")).not_to_have_class(re.compile("qs-pending"))


def test_no_developer_controls_and_months_with_dates(served, page):
    """Play Interval, Render Interval, Use Threads and a "PAGE 0" tab were shown to
    planners; "Time: 6.0" instead of a month and year. (Opened as any version of the
    page can be: on the old page it fails for the developer controls.)"""
    open_any(page, f"{served.url}?lang=en")
    body = visible_text(page.locator("body"))
    for word in ("Play Interval", "Render Interval", "Use Threads", "PAGE 0", "Page 0", "Time:"):
        assert word not in body, word
    map_drawn(page).wait_for()
    assert "Start · January 2020" in visible_text(page.locator(".qs-month"))
    drawn = page.locator(".quarter-map .qs-vega").get_attribute("data-rendered")
    page.get_by_role("button", name=STEP).first.click()
    page.locator(".qs-month").get_by_text("Month 1 of 120 · January 2020").wait_for()
    page.locator(".qs-map-when").get_by_text("Month 1 · January 2020").wait_for()
    # the map is drawn again with the month's values (its data-rendered id changes)
    page.locator(f".quarter-map .qs-vega:not([data-rendered='{drawn}'])").wait_for()
    map_drawn(page).get_by_text("cells of 50 m").wait_for()


def test_levers_show_value_unit_range_field_and_group(served, page):
    """No lever showed its value, minimum or maximum; the bubble clipped "550000"; long
    labels squeezed sliders to ~30 px; every model's levers were shown."""
    open_app(page, served)
    budget = page.locator(".qs-lever-municipality-voluntary_budget_eur_per_year")
    text = visible_text(budget)
    assert "Municipal budget for voluntary services" in text and "€450,000/year" in text
    assert "range €0/year – €2,500,000/year" in text
    assert lever_field(page, "municipality.voluntary_budget_eur_per_year").input_value() == "450000"
    slider = budget.locator(".v-slider").bounding_box()
    assert slider["width"] > 200, slider  # the label sits above, the slider keeps its width
    assert page.locator(".qs-group-budget").get_by_text("Budget").count() >= 1
    assert page.get_by_text("Paid volunteer coordination").count() == 0
    choose(page, "qs-cooperation", "Co-production")
    staff = page.locator(".qs-group-staff")
    staff.get_by_text("Paid volunteer coordination").wait_for()
    expect(staff).to_contain_text("0.50 full-time posts")
    set_number(page, "volunteering.rate", 6)  # a share, typed in per cent
    page.locator(".qs-lever-volunteering-rate").get_by_text("6.0%").wait_for()
    set_number(page, "volunteering.rate", 150)
    page.get_by_text("150: must be between 0.0 and 100.0").wait_for()


def test_map_legend_inside_its_card_and_letters_apart(served, page):
    """The map canvas (506 px) was taller than its card (390 px): the colour bar was cut,
    the volunteer legend never visible; letters C/R/Z/D overlapped."""
    open_app(page, served)
    svg = map_drawn(page)
    svg.get_by_text("Unmet need this month (%)").wait_for()
    svg.get_by_text("Service points").wait_for()
    card = boxes(page, ".quarter-map")[0]
    legends = boxes(page, ".quarter-map svg .role-legend")
    assert len(legends) == 3  # colour, barriers, service points
    for lg in legends:
        assert inside(lg, card), (lg, card)
    letters = boxes(page, ".quarter-map svg .mark-text.role-mark text")
    assert len(letters) == 9  # Herten's letters S A B C R Z D T E, each placed
    for i, a in enumerate(letters):
        for b in letters[i + 1:]:
            assert not overlap(a, b), (a, b)
    symbols = boxes(page, ".quarter-map svg .mark-symbol.role-mark path")
    for a in letters:
        for s in symbols:
            assert not overlap(a, s), (a, s)
    page.locator(".qs-map-mode").get_by_text("Volunteers").click()
    svg.get_by_text("Active volunteers living here").wait_for()


def test_month_zero_and_charts_with_units_and_dates(served, page):
    """Month 0 showed empty charts (10 "Infinite extent" console warnings); raw names in
    legends (active_mandatory_cases); fractional months on the x axis."""
    console: list[str] = []
    open_app(page, served, console=console)
    page.locator(".chart-coverage").get_by_text("No month simulated yet").wait_for()
    for _ in range(3):
        page.locator(".qs-step").click()
    page.locator(".qs-month").get_by_text("Month 3 of 120 · March 2020").wait_for()
    cases = page.locator(".chart-cases .qs-vega svg")
    cases.get_by_text("Mandatory cases running").wait_for()
    cases.get_by_text("Mandatory cases started in the month").wait_for()
    coverage = page.locator(".chart-coverage .qs-vega svg")
    coverage.get_by_text("Coverage (% of need-hours)").wait_for()
    coverage.get_by_text("03/2020").wait_for()
    assert coverage.get_by_text("Month", exact=True).count() == 1
    body = visible_text(page.locator(".qs-views"))
    assert "active_mandatory_cases" not in body and "need_hours" not in body
    assert not [m for m in console if "Infinite extent" in m], console


def test_city_opens_per_quarter(served, page):
    """On a city of many quarters the map was unusable: circles over every cell, repeated
    letters, seconds per step."""
    open_app(page, served)
    switch_scenario(page, "city-12.toml", "Synthetic city of 12 quarters")
    svg = map_drawn(page)
    svg.get_by_text(re.compile(r"^\d+ quarters$")).wait_for()
    assert svg.locator(".mark-text.role-mark text").count() == 0  # no letters in the quarter view
    page.locator(".qs-map-view").get_by_text("Cells").click()
    svg.get_by_text("cells of 50 m").wait_for()
    page.locator(".qs-step").click()
    page.locator(".qs-month").get_by_text("Month 1 of 120").wait_for()


def test_imported_quarter_is_drawn_in_real_coordinates(served, page):
    """Scenarios made by `quartiersim import` store cell coordinates: the map draws them."""
    if not served.geo:
        pytest.skip("the geo extra (geopandas) is not installed: no imported sample quarter")
    open_app(page, served)
    switch_scenario(page, "sample-quarter.toml", "Musterquartier (synthetic)")
    svg = map_drawn(page)
    svg.get_by_text("East (m, EPSG:3035)").wait_for()
    svg.get_by_text("North (m, EPSG:3035)").wait_for()
    assert svg.get_by_text("4143500").count() + svg.get_by_text("4144000").count() >= 1


def test_german_by_default_with_german_numbers_and_a_switch(served, page):
    """English only, although the users are German municipal staff; "550,000.0"."""
    open_any(page, served.url)  # no ?lang: the default
    assert page.get_by_role("button", name="Schritt").count() == 1, "not German"
    map_drawn(page).wait_for()
    budget = page.locator(".qs-lever-municipality-voluntary_budget_eur_per_year")
    assert "450.000 €/Jahr" in visible_text(budget)
    assert "Bereich 0 €/Jahr – 2.500.000 €/Jahr" in visible_text(budget)
    assert page.locator(".qs-step").inner_text().strip().lower() == "schritt"
    page.locator(".qs-step").click()
    page.locator(".qs-month").get_by_text("Monat 1 von 120 · Januar 2020").wait_for()
    page.locator(".chart-cases svg").get_by_text("Laufende Pflichtleistungsfälle").wait_for()
    page.get_by_role("button", name="Sprache: en").click()
    page.locator(".qs-month").get_by_text("Month 1 of 120 · January 2020").wait_for()  # same model
    expect(budget).to_contain_text("€450,000/year")
    page.locator(".chart-cases svg").get_by_text("Mandatory cases running").wait_for()


@pytest.mark.parametrize("width, height", [(1280, 720), (800, 1000)], ids=["desktop", "tablet"])
def test_layout_keeps_step_in_view_beside_the_map(served, page, width, height):
    """At 1280x720 only the map was above the fold; at 800 px the sidebar was a modal that
    hid Step whenever the map was visible."""
    page.set_viewport_size({"width": width, "height": height})
    open_app(page, served)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the window"
    if width >= 1280:
        assert boxes(page, ".quarter-map")[0][1] < height
        assert boxes(page, ".chart-coverage")[0][1] < height  # a chart above the fold too
    page.locator(".quarter-map svg").first.scroll_into_view_if_needed()
    for _ in range(2):
        step = page.locator(".qs-step").bounding_box()
        assert 0 <= step["y"] and step["y"] + step["height"] <= height, step
        on_top = page.evaluate(
            "([x, y]) => !!document.elementFromPoint(x, y).closest('.qs-step')",
            [step["x"] + step["width"] / 2, step["y"] + step["height"] / 2])
        assert on_top, "Step is covered"
        page.locator(".qs-step").click()
        page.locator(".chart-coverage svg").first.scroll_into_view_if_needed()
    page.locator(".qs-month").get_by_text("Month 2 of 120").wait_for()
