"""Real headless Chromium for the app's end-to-end tests (Debian's /usr/bin/chromium via
playwright's ``executable_path``; never a playwright-downloaded browser).

Without /usr/bin/chromium (or without playwright / pytest-playwright) the tests are
skipped with the reason, except under CI (``CI=true``), where they fail instead. Install everything with
``scripts/install-browser-deps.sh .venv``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from quartiersim.cli.app import serve_in_background, stop_background

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ROOT = Path(__file__).resolve().parents[2]
HERTEN = ROOT / "scenarios" / "herten-innenstadt.toml"


try:
    import pytest_playwright  # noqa: F401  (provides the `page` fixture)
    import solara  # noqa: F401
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


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """URL of the app serving Herten (cwd: a temporary directory for session files)."""
    require_browser()
    work = tmp_path_factory.mktemp("app")
    proc, url = serve_in_background(HERTEN, work, work / "server.log")
    try:
        yield url
    finally:
        stop_background(proc)
