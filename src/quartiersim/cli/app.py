"""``quartiersim app [SCENARIO] [--host H] [--port N] [--lang de|en] [--stop-timeout S]``:
serve the interactive app.

Starts ``python -m solara run quartiersim/app/app.py --production`` (the app is package
data of the ``viz`` extra) with the scenario passed in the environment variable
``QUARTIERSIM_SCENARIO`` and the language of a new page in ``QUARTIERSIM_LANG`` (German by
default; ``?lang=en`` in the address and the page's switch change it). The server listens
on 127.0.0.1 unless ``--host`` says otherwise.

Stopping: the server runs as a child in its own process group, together with what it
starts (the what-if panel's forkserver, pool workers and multiprocessing's resource
tracker). On SIGTERM, SIGINT (Ctrl+C) or SIGHUP ``quartiersim app`` sends the server
SIGTERM (uvicorn's graceful shutdown), waits up to ``--stop-timeout`` seconds (default
:data:`STOP_TIMEOUT_S`), then ends the rest of the group (SIGTERM, and SIGKILL after
:data:`GROUP_GRACE_S` seconds) and exits with 128 + the signal number (143, 130, 129).
A second signal while stopping kills the group at once. On Linux the server also gets
SIGTERM if ``quartiersim app`` itself dies (``PR_SET_PDEATHSIG``), e.g. by SIGKILL.
The server binds with ``SO_REUSEADDR`` (asyncio's default on POSIX), so a new start on
the same port works at once, also with connections of the last one in TIME_WAIT.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from quartiersim.cli.args import int_range
from quartiersim.config.files import (
    DEFAULT_SCENARIO,
    SCENARIO_ENV,
    default_scenario,
    default_scenario_dir,
    scenario_files,
)
from quartiersim.errors import QuartiersimError, ScenarioError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
#: Languages of the app (its catalogue's, quartiersim.app.i18n.LANGUAGES; not imported:
#: the command line works without the viz extra) and the environment variable a new
#: page's language comes from.
LANGUAGES = ("de", "en")
LANG_ENV = "QUARTIERSIM_LANG"

#: The signals that stop the app (a service manager, ``docker stop``, Ctrl+C, a closed terminal).
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name))
#: Seconds the server has for its graceful shutdown before its process group is ended.
#: Measured: 0.1-1.7 s with a browser connected and a what-if running (2 cores, loaded).
STOP_TIMEOUT_S = 5.0
#: Seconds the rest of the server's process group has after SIGTERM before SIGKILL.
GROUP_GRACE_S = 2.0
#: Poll interval while waiting for the server or its group, in seconds.
POLL_S = 0.05


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
        ScenarioError: no scenario given and none in ``scenarios/`` (the message says how
            to name or write one); the file is missing (the message lists the scenario
            files that exist) or invalid.
    """
    if path is None:
        path = default_scenario()
        if path is None:
            d = default_scenario_dir()
            where = (f"no *.toml in {d}" if d.is_dir()
                     else f"no scenarios/ folder in {Path.cwd()}")
            raise ScenarioError(
                f"no scenario given and {where}: name a scenario file, e.g. `quartiersim app "
                f"scenarios/{DEFAULT_SCENARIO}`, or write one with `quartiersim synth "
                "--residents 20000 --quarters 2 --out city.toml`")
    p = Path(path)
    if not p.is_file():
        existing = scenario_files(p.parent) or scenario_files(default_scenario_dir())
        listing = ", ".join(str(f) for f in existing) or "none found"
        raise ScenarioError(f"{p}: no such scenario file; scenario files: {listing}")
    from quartiersim.config.loading import load_scenario

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


def check_port_free(host: str, port: int) -> None:
    """Raise QuartiersimError if something listens on ``host:port`` already.

    Binds with ``SO_REUSEADDR`` as the server does, so connections of a stopped server
    in TIME_WAIT do not count; only a listening socket (another server) does.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise QuartiersimError(f"--host {host}: {exc.strerror}") from None
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise QuartiersimError(
                    f"port {port} on {host} is in use (another server, perhaps a quartiersim "
                    "app still running): stop it or choose another --port") from None
            raise QuartiersimError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def server_command(app: Path, host: str, port: int) -> list[str]:
    """The command line of the server process."""
    return [sys.executable, "-m", "solara", "run", str(app), "--host", host,
            "--port", str(port), "--production"]


def cmd_app(args: argparse.Namespace) -> int:
    check_viz_installed()
    scenario = check_scenario(args.scenario)
    app = app_path()
    check_port_free(args.host, args.port)
    env = {**os.environ, SCENARIO_ENV: str(scenario), "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    if args.lang:
        env[LANG_ENV] = args.lang
    print(f"quartiersim app: {scenario.name} at http://{args.host}:{args.port}/ (Ctrl+C stops)",
          flush=True)
    return supervise(server_command(app, args.host, args.port), env=env,
                     stop_timeout_s=args.stop_timeout)


# --------------------------------------------------------------------------- the server process
def _say(text: str) -> None:
    try:  # after SIGHUP the terminal may be gone
        print(f"quartiersim app: {text}", file=sys.stderr, flush=True)
    except OSError:
        pass


def _parent_death_signal(parent: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the child get SIGTERM when ``parent`` dies (Linux only;
    None elsewhere, and None if this process runs other threads: a ``preexec_fn`` after
    ``fork`` of a multi-threaded process may deadlock)."""
    if not sys.platform.startswith("linux") or threading.active_count() > 1:
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def setup() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: nobody will stop us
            os._exit(1)

    return setup


def _exited(proc: subprocess.Popen) -> bool:
    """True once ``proc`` has exited. Where ``os.waitid`` exists it stays unreaped (a
    zombie), so its pid and process group id cannot be reused while we signal the group."""
    if proc.returncode is not None:
        return True
    if not hasattr(os, "waitid"):  # macOS
        return proc.poll() is not None
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _processes() -> list[tuple[int, str, int, int]]:
    """``(pid, state, process group, session)`` of every process, from Linux ``/proc``."""
    out = []
    for d in Path("/proc").glob("[0-9]*"):
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        out.append((int(d.name), fields[0], int(fields[2]), int(fields[3])))
    return out


def group_members(pgid: int) -> list[int]:
    """Pids of the live (not zombie) processes in process group ``pgid``.

    Reads ``/proc`` on Linux; elsewhere ``[pgid]`` while ``killpg(pgid, 0)`` succeeds.
    """
    if not Path("/proc/self/stat").exists():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    return [pid for pid, state, pgrp, _ in _processes() if pgrp == pgid and state not in "ZX"]


def _wait(done: Callable[[], bool], seconds: float, force: Callable[[], bool]) -> bool:
    """Poll ``done`` for up to ``seconds`` (or until ``force``); return ``done()``."""
    deadline = time.monotonic() + seconds
    while not done():
        if force() or time.monotonic() >= deadline:
            return done()
        time.sleep(POLL_S)
    return True


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_group(proc: subprocess.Popen, stop_timeout_s: float = STOP_TIMEOUT_S,
               force: Callable[[], bool] = lambda: False) -> None:
    """End the server ``proc`` (leader of its own process group) and all of its group.

    SIGTERM to the server and up to ``stop_timeout_s`` seconds for it to exit; if it does
    not, SIGKILL to the whole group. If it does, SIGTERM to the rest of the group (what-if
    workers, forkserver; the resource tracker ignores it and exits once they are gone), up
    to :data:`GROUP_GRACE_S` seconds, then SIGKILL to whatever is left. Finally the server
    is reaped. ``force()`` true (a second stop signal) skips the waiting.
    """
    pgid = proc.pid
    if not _exited(proc):
        try:
            os.kill(proc.pid, signal.SIGTERM)  # not proc.send_signal: it would reap the zombie
        except ProcessLookupError:
            pass
        if not _wait(lambda: _exited(proc), stop_timeout_s, force):
            _say(f"the server did not stop within {stop_timeout_s:g} s: killing it")
            _killpg(pgid, signal.SIGKILL)
    if group_members(pgid):
        _killpg(pgid, signal.SIGTERM)
        if not _wait(lambda: not group_members(pgid), GROUP_GRACE_S, force):
            _killpg(pgid, signal.SIGKILL)
    proc.wait()


def supervise(cmd: Sequence[str], env: dict[str, str] | None = None,
              stop_timeout_s: float = STOP_TIMEOUT_S) -> int:
    """Run the server ``cmd`` in its own process group until it exits or a stop signal
    (:data:`STOP_SIGNALS`) arrives; then end it and its group (:func:`stop_group`).
    POSIX only; call it from the main thread (it installs signal handlers, and restores
    the previous ones on return).

    Returns:
        128 + the signal number after a stop signal (SIGTERM 143, SIGINT 130, SIGHUP 129);
        else the server's exit status (128 + n if it died by signal n).
    """
    received: list[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        received.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in STOP_SIGNALS}
    proc = None
    try:
        # SIGTTOU ignored (inherited through exec): as a background process group of the
        # terminal, the server may still write to it under `stty tostop`
        ttou = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        try:
            proc = subprocess.Popen(list(cmd), env=env, stdin=subprocess.DEVNULL, process_group=0,
                                    preexec_fn=_parent_death_signal(os.getpid()))  # noqa: PLW1509
        finally:
            signal.signal(signal.SIGTTOU, ttou)
        while not received and not _exited(proc):
            time.sleep(POLL_S)
        if received:
            _say(f"{signal.Signals(received[0]).name}: stopping the server")
        stop_group(proc, stop_timeout_s, force=lambda: len(received) > 1)
        if received:
            return 128 + received[0]
        return proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
    except BaseException:
        if proc is not None and proc.returncode is None:
            stop_group(proc, 0.0)
        raise
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


# --------------------------------------------------------------------------- for tests and benchmarks
def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def serve_in_background(scenario: str | Path, cwd: str | Path, log_path: str | Path,
                        port: int | None = None, timeout_s: float = 60.0,
                        ) -> tuple[subprocess.Popen, str]:
    """Start ``quartiersim app SCENARIO`` as a subprocess in its own session and return
    ``(process, url)`` once the page answers 200 (for tests and benchmarks).

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
            import urllib.request

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
    """Stop a server started by :func:`serve_in_background`: SIGTERM to ``quartiersim
    app``, which ends its server (:func:`supervise`); if it does not exit in time, SIGKILL
    to every process of its session (Linux) or its process group."""
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=STOP_TIMEOUT_S + GROUP_GRACE_S + 10)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        for pid in session_members(proc.pid) or [proc.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()


def session_members(sid: int) -> list[int]:
    """Pids of the live (not zombie) processes in session ``sid`` (Linux ``/proc``; else ``[]``)."""
    return [pid for pid, state, _, sess in _processes() if sess == sid and state not in "ZX"]


def register_app(sub: Any) -> None:
    """Add ``quartiersim app`` to the CLI's subparsers."""
    a = sub.add_parser("app", help="serve the interactive app (Solara) in the browser")
    a.add_argument("scenario", nargs="?", default=None,
                   help=f"scenario TOML file to open (default: scenarios/{DEFAULT_SCENARIO})")
    a.add_argument("--host", default=DEFAULT_HOST, help=f"interface to listen on (default {DEFAULT_HOST})")
    a.add_argument("--port", type=int_range(1, 65535), default=DEFAULT_PORT,
                   help=f"TCP port, 1-65535 (default {DEFAULT_PORT})")
    a.add_argument("--lang", choices=LANGUAGES, default=None,
                   help="language of a new page: de (default) or en; ?lang=en in the address "
                        "and the page's switch change it")
    a.add_argument("--stop-timeout", type=float, default=STOP_TIMEOUT_S, metavar="S",
                   help="seconds the server has to shut down on SIGTERM/SIGINT/SIGHUP before "
                        f"it is killed (default {STOP_TIMEOUT_S:g})")
    a.set_defaults(func=cmd_app)
