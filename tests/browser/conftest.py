"""Real headless Chromium for the app's end-to-end tests (Debian's /usr/bin/chromium via
playwright's ``executable_path``; never a playwright-downloaded browser).

One server for the session: ``quartiersim app`` started from an empty working directory
on a folder of scenario files elsewhere (copies of Herten and Wetter, a synthetic city of
12 quarters and, with the ``geo`` extra, the sample quarter imported from its Zensus
files, which has real coordinates). Each test gets a new page (a new browser context: a
new session of the app). Tests wait for conditions (Playwright's ``expect`` and
locators, the charts' ``data-rendered``), never for a fixed time.

Without /usr/bin/chromium (or without playwright / pytest-playwright) the tests are
skipped with the reason, except under CI (``CI=true``), where they fail instead. Install
everything with ``scripts/install-browser-deps.sh .venv``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from quartiersim.cli.app import serve_in_background, stop_background

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ROOT = Path(__file__).resolve().parents[2]
HERTEN = ROOT / "scenarios" / "herten-innenstadt.toml"
WETTER = ROOT / "scenarios" / "wetter-grundschoettel.toml"
SAMPLE = ROOT / "tests" / "data" / "sample-quarter"
#: Longest wait for one condition (a loaded machine: 4 busy processes on 2 cores);
#: QUARTIERSIM_BROWSER_TIMEOUT_MS shortens it (e.g. to see quickly what fails on old code).
TIMEOUT_MS = int(os.environ.get("QUARTIERSIM_BROWSER_TIMEOUT_MS", "120000"))

try:
    import pytest_playwright  # noqa: F401  (provides the `page` fixture)
    import solara  # noqa: F401
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    MISSING_DEPS = None
except ImportError as exc:
    MISSING_DEPS = f"{exc}: run scripts/install-browser-deps.sh .venv"

    @pytest.fixture
    def page():
        """Stands in for pytest-playwright's fixture when it is not installed."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require_browser() -> None:
    """Skip (fail under CI) without Chromium or the Python browser packages."""
    if not CHROMIUM.exists():
        reason = (f"{CHROMIUM} is absent: install it with scripts/install-browser-deps.sh "
                  "(Debian package chromium)")
    elif MISSING_DEPS is not None:
        reason = MISSING_DEPS
    else:
        return
    if in_ci():
        pytest.fail(f"CI=true: browser tests must run, but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright fixture: Debian's chromium, headless, for a closed network."""
    require_browser()
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "headless": True,
            "args": CHROMIUM_ARGS}


@dataclass(frozen=True)
class Served:
    """The app under test: its address and the scenario folder it offers."""

    url: str
    scenarios: Path
    geo: bool  # the imported sample quarter (real coordinates) is among them


def import_sample(out: Path) -> bool:
    """``quartiersim import`` of the sample quarter (needs the geo extra)."""
    if importlib.util.find_spec("geopandas") is None:
        return False
    grids = ["Zensus2022_Bevoelkerungszahl_100m-Gitter.csv",
             "Zensus2022_Alter_in_5_Altersklassen_100m-Gitter.csv",
             "Zensus2022_Durchschn_Haushaltsgroesse_100m-Gitter.csv"]
    cmd = [sys.executable, "-m", "quartiersim.cli", "import",
           *[a for g in grids for a in ("--grid", str(SAMPLE / g))],
           "--boundary", str(SAMPLE / "boundary.geojson"), "--points", str(SAMPLE / "points.geojson"),
           "--barriers", str(SAMPLE / "barriers.geojson"), "--municipality", "Musterstadt (synthetic)",
           "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    return True


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """``quartiersim app`` on a copy of Herten, started from an empty folder."""
    require_browser()
    from quartiersim.studies.synth import synthesize

    scenarios = tmp_path_factory.mktemp("scenarios")
    for f in (HERTEN, WETTER):
        shutil.copy(f, scenarios / f.name)
    (scenarios / "city-12.toml").write_text(synthesize(60_000, 12, name="Synthetic city of 12 quarters"))
    geo = import_sample(scenarios / "sample-quarter.toml")
    work = tmp_path_factory.mktemp("cwd")  # no scenarios/ here: nothing relative may be assumed
    proc, url = serve_in_background(scenarios / HERTEN.name, work, work / "server.log",
                                    timeout_s=TIMEOUT_MS / 1000)
    try:
        yield Served(url, scenarios, geo)
    finally:
        stop_background(proc)
