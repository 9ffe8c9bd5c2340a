"""``quartiersim app [SCENARIO] [--host H] [--port N]``: serve the interactive app.

Starts ``solara run viz/app.py`` (production mode) with the scenario passed in the
environment variable ``QUARTIERSIM_SCENARIO``. The server listens on 127.0.0.1 unless
``--host`` says otherwise. The app needs the ``viz`` extra (``pip install -e '.[viz]'``)
and a source checkout (``viz/`` next to ``src/``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from quartiersim.errors import QuartiersimError, ScenarioError
from quartiersim.scenario import load_scenario

#: Environment variable naming the scenario file the app opens first.
SCENARIO_ENV = "QUARTIERSIM_SCENARIO"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def app_path() -> Path:
    """``viz/app.py`` of the working directory, else of the source checkout of this package.

    Raises:
        QuartiersimError: neither exists (e.g. a wheel install without the repository).
    """
    candidates = [Path.cwd() / "viz" / "app.py",
                  Path(__file__).resolve().parents[2] / "viz" / "app.py"]
    for c in candidates:
        if c.is_file():
            return c
    raise QuartiersimError("the app (viz/app.py) is not found; run from a source checkout of "
                           f"quartiersim; looked in: {', '.join(str(c) for c in candidates)}")


def scenario_files(directory: str | Path) -> list[Path]:
    """Scenario files (``*.toml``) in a directory, sorted; empty if it does not exist."""
    d = Path(directory)
    return sorted(d.glob("*.toml")) if d.is_dir() else []


def default_scenario_dir() -> Path:
    """``scenarios/`` of the working directory, else of the source checkout."""
    here = Path.cwd() / "scenarios"
    return here if here.is_dir() else Path(__file__).resolve().parents[2] / "scenarios"


def check_scenario(path: str | Path | None) -> Path:
    """The scenario file to open: ``path`` validated, or the first in ``scenarios/``.

    Raises:
        ScenarioError: the file is missing (the message lists the scenario files that
            exist) or invalid.
    """
    if path is None:
        files = scenario_files(default_scenario_dir())
        if not files:
            raise ScenarioError(f"no scenario given and no *.toml in {default_scenario_dir()}")
        path = files[0]
    p = Path(path)
    if not p.is_file():
        existing = scenario_files(p.parent) or scenario_files(default_scenario_dir())
        listing = ", ".join(str(f) for f in existing) or "none found"
        raise ScenarioError(f"{p}: no such scenario file; scenario files: {listing}")
    load_scenario(p)
    return p.resolve()


def cmd_app(args: argparse.Namespace) -> int:
    scenario = check_scenario(args.scenario)
    app = app_path()
    env = {**os.environ, SCENARIO_ENV: str(scenario), "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    cmd = [sys.executable, "-m", "solara", "run", str(app), "--host", args.host,
           "--port", str(args.port), "--production"]
    print(f"quartiersim app: {scenario.name} at http://{args.host}:{args.port}/ (Ctrl+C stops)",
          flush=True)
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 130


def register_app(sub: Any) -> None:
    """Add ``quartiersim app`` to the CLI's subparsers."""
    a = sub.add_parser("app", help="serve the interactive app (Solara) in the browser")
    a.add_argument("scenario", nargs="?", default=None,
                   help="scenario TOML file to open (default: the first in scenarios/)")
    a.add_argument("--host", default=DEFAULT_HOST, help=f"interface to listen on (default {DEFAULT_HOST})")
    a.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    a.set_defaults(func=cmd_app)
