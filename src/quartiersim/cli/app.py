"""``quartiersim app [SCENARIO] [--host H] [--port N]``: serve the interactive app.

Starts ``solara run viz/app.py`` (production mode) with the scenario passed in the
environment variable ``QUARTIERSIM_SCENARIO``. The server listens on 127.0.0.1 unless
``--host`` says otherwise. The app needs the ``viz`` extra (``pip install -e '.[viz]'``)
and a source checkout (``viz/`` next to ``src/``).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from quartiersim.config.files import (
    DEFAULT_SCENARIO,
    SCENARIO_ENV,
    default_scenario,
    default_scenario_dir,
    scenario_files,
)
from quartiersim.config.loading import load_scenario
from quartiersim.errors import QuartiersimError, ScenarioError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def app_path() -> Path:
    """The app's Solara page, ``quartiersim/app/app.py`` (package data of the ``viz`` extra).

    Raises:
        QuartiersimError: the file is missing from this installation.
    """
    import importlib.util

    spec = importlib.util.find_spec("quartiersim.app")  # located, not imported (no solara here)
    path = Path(spec.origin).resolve().parent / "app.py" if spec and spec.origin else Path("app.py")
    if not path.is_file():
        raise QuartiersimError(f"the app ({path}) is missing from this installation")
    return path


def check_scenario(path: str | Path | None) -> Path:
    """The scenario file to open: ``path`` validated, or :func:`default_scenario`.

    Raises:
        ScenarioError: the file is missing (the message lists the scenario files that
            exist) or invalid.
    """
    if path is None:
        path = default_scenario()
        if path is None:
            raise ScenarioError(f"no scenario given and no *.toml in {default_scenario_dir()}")
    p = Path(path)
    if not p.is_file():
        existing = scenario_files(p.parent) or scenario_files(default_scenario_dir())
        listing = ", ".join(str(f) for f in existing) or "none found"
        raise ScenarioError(f"{p}: no such scenario file; scenario files: {listing}")
    load_scenario(p)
    return p.resolve()


def check_viz_installed() -> None:
    """Raise QuartiersimError with the install command when the app's packages are missing."""
    import importlib.util

    missing = [m for m in ("solara",) if importlib.util.find_spec(m) is None]
    if missing:
        raise QuartiersimError(
            f"the app needs the 'viz' extra ({', '.join(missing)} not installed): run "
            "`make test` once, or scripts/install-browser-deps.sh .venv, or "
            "pip install -e '.[viz]' on a machine with internet access")


def cmd_app(args: argparse.Namespace) -> int:
    check_viz_installed()
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


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def serve_in_background(scenario: str | Path, cwd: str | Path, log_path: str | Path,
                        port: int | None = None, timeout_s: float = 60.0,
                        ) -> tuple[subprocess.Popen, str]:
    """Start ``quartiersim app SCENARIO`` as a subprocess in its own process group and
    return ``(process, url)`` once the page answers 200 (for tests and benchmarks).

    Raises:
        QuartiersimError: the server exits (the log's tail is in the message) or does not
            answer within ``timeout_s`` seconds (it is stopped then).
    """
    port = port or free_port()
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    log = open(log_path, "wb")  # noqa: SIM115 (the server writes to it until stopped)
    proc = subprocess.Popen(
        [sys.executable, "-m", "quartiersim.cli", "app", str(scenario), "--port", str(port)],
        cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    url = f"http://{DEFAULT_HOST}:{port}/"
    t0 = time.monotonic()
    while True:
        if proc.poll() is not None:
            tail = Path(log_path).read_text(errors="replace")[-2000:]
            raise QuartiersimError(f"the app exited with status {proc.returncode}: {tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            pass
        if time.monotonic() - t0 > timeout_s:
            stop_background(proc)
            raise QuartiersimError(f"the app did not answer on {url} within {timeout_s:.0f} s")
        time.sleep(0.25)


def stop_background(proc: subprocess.Popen) -> None:
    """Stop a server started by :func:`serve_in_background` (its process group only)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def register_app(sub: Any) -> None:
    """Add ``quartiersim app`` to the CLI's subparsers."""
    a = sub.add_parser("app", help="serve the interactive app (Solara) in the browser")
    a.add_argument("scenario", nargs="?", default=None,
                   help=f"scenario TOML file to open (default: scenarios/{DEFAULT_SCENARIO})")
    a.add_argument("--host", default=DEFAULT_HOST, help=f"interface to listen on (default {DEFAULT_HOST})")
    a.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    a.set_defaults(func=cmd_app)
