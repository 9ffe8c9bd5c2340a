"""Helpers of the browser tests: open the app, type into a lever, pick from a select,
wait until the model on screen is built and drawn (conditions, never a fixed time)."""

from __future__ import annotations

import os
import re

from playwright.sync_api import expect

#: Longest wait for one condition (a loaded machine: 4 busy processes on 2 cores);
#: QUARTIERSIM_BROWSER_TIMEOUT_MS shortens it (e.g. to see quickly what fails on old code).
TIMEOUT_MS = int(os.environ.get("QUARTIERSIM_BROWSER_TIMEOUT_MS", "120000"))


def lever_field(page, key: str):
    """The number field of a lever (dotted key) or of a run control (``years``, ``seed``,
    ``whatif-seeds``, ``whatif-years``)."""
    return page.locator(f".qs-lever-{key.replace('.', '-')} input[type=number]")


def set_number(page, key: str, value: object) -> None:
    """Type a number into a field and leave it with Enter (as a planner does)."""
    f = lever_field(page, key)
    f.fill(str(value))
    f.press("Enter")


def choose(page, select_class: str, option: str) -> None:
    """Pick ``option`` in the select with class ``select_class``."""
    page.locator(f".{select_class}").click()
    page.get_by_role("option", name=option, exact=True).click()


def map_drawn(page):
    """The map's chart once drawn (SVG)."""
    return page.locator(".quarter-map .qs-vega[data-rendered^='s'] svg").first


def open_app(page, served, lang: str = "en", console: list | None = None):
    """Open a new session of the app and wait until its model is built and drawn."""
    page.set_default_timeout(TIMEOUT_MS)
    if console is not None:
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.goto(f"{served.url}?lang={lang}")
    map_drawn(page).wait_for()
    return page


STEP = re.compile(r"^\s*(Step|Schritt)\s*$")


def open_any(page, url: str) -> None:
    """Open the app and wait for its Step button only: what any version of the page has
    (tests that use it fail on an old page for the defect they check, not for a missing
    element of the new one)."""
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.get_by_role("button", name=STEP).first.wait_for()


def built(page, name: str | None = None) -> None:
    """Wait until the model on screen is built (after Reset or a scenario switch) and its
    map drawn; ``name``: the scenario's, in the map's title (the page of the scenario
    before a switch may still be on screen for a moment)."""
    expect(page.locator(".qs-building")).to_have_count(0)
    expect(page.locator(".qs-building-card")).to_have_count(0)
    if name is not None:
        map_drawn(page).get_by_text(name, exact=True).wait_for()
    map_drawn(page).wait_for()


def switch_scenario(page, file_name: str, name: str) -> None:
    """Pick a scenario file and wait for its page (``name``: its ``meta.name``)."""
    choose(page, "qs-toolbar .qs-scenario", file_name)
    built(page, name)


def visible_text(locator) -> str:
    return re.sub(r"\s+", " ", locator.inner_text()).replace("\u00a0", " ")
