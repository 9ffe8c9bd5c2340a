"""Stopping ``quartiersim app`` (issue 18): SIGTERM, SIGINT and SIGHUP end the server and
all it started, with exit status 128 + the signal, and the port is free at once.

Two parts: :func:`supervise` against small fake servers (exact, a few seconds), and the
real app served in a subprocess (each start takes 5-30 s on a loaded machine). The checks
(``/proc``, ``/proc/net/tcp``) come from scripts/app_restarts.py, not from the code under
test.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from quartiersim.cli import app as app_cli
from quartiersim.cli import main

ROOT = Path(__file__).resolve().parents[1]
HERTEN = ROOT / "scenarios" / "herten-innenstadt.toml"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

_spec = importlib.util.spec_from_file_location("app_restarts", ROOT / "scripts" / "app_restarts.py")
restarts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(restarts)

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(),
                                reason="the checks read Linux /proc")

try:
    import pytest_playwright  # noqa: F401  (provides the `page` fixture)
    HAVE_PLAYWRIGHT = True
except ImportError:
    HAVE_PLAYWRIGHT = False

    @pytest.fixture
    def page():
        """Stands in for pytest-playwright's fixture when it is not installed."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require(ok: bool, reason: str) -> None:
    """Skip without ``ok`` (fail under CI, where everything must run)."""
    if not ok:
        if in_ci():
            pytest.fail(f"CI=true: this test must run, but {reason}", pytrace=False)
        pytest.skip(reason)


def require_solara() -> None:
    require(importlib.util.find_spec("solara") is not None,
            "solara is not installed: run scripts/install-browser-deps.sh .venv")


@pytest.fixture(autouse=True)
def no_leftovers(monkeypatch, request):
    """Tag every process a test starts (an environment variable its descendants inherit)
    and kill what is left of them afterwards, so a failing test leaves nothing running."""
    tag = f"{os.getpid()}-{request.node.nodeid}"
    monkeypatch.setenv("QUARTIERSIM_TEST_PROCESS", tag)
    yield
    needle = f"QUARTIERSIM_TEST_PROCESS={tag}".encode()
    for d in Path("/proc").glob("[0-9]*"):
        try:
            if int(d.name) != os.getpid() and needle in (d / "environ").read_bytes().split(b"\0"):
                os.kill(int(d.name), signal.SIGKILL)
        except (OSError, ValueError):
            pass


# --------------------------------------------------------------------------- fake servers
#: A stand-in for the server: starts a grandchild (as the what-if pool's forkserver and
#: workers are), writes "<pid> <grandchild pid>" to READY, then sleeps. ``stubborn``:
#: both ignore SIGTERM (a hung shutdown); else the server dies on SIGTERM and the
#: grandchild outlives it unless someone signals the group.
FAKE_SERVER = textwrap.dedent("""\
    import os, signal, subprocess, sys, time
    ready, mode = sys.argv[1], sys.argv[2]
    ignore = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen([sys.executable, "-c", (ignore if mode == "stubborn" else "")
                              + "print('up', flush=True); import time; time.sleep(600)"],
                             stdout=subprocess.PIPE)
    child.stdout.readline()  # the grandchild runs (and ignores SIGTERM if stubborn)
    with open(ready + ".tmp", "w") as f:
        f.write(f"{os.getpid()} {child.pid}")
    os.replace(ready + ".tmp", ready)
    time.sleep(600)
""")

#: ``supervise`` as ``quartiersim app`` runs it: argv = stop timeout, then the server command.
SUPERVISOR = ("import sys; from quartiersim.cli.app import supervise; "
              "sys.exit(supervise(sys.argv[2:], stop_timeout_s=float(sys.argv[1])))")


def start_supervised(tmp_path: Path, mode: str, stop_timeout_s: float) -> tuple[subprocess.Popen, list[int], Path]:
    """``supervise(fake server)`` in a new session; returns it, [server, grandchild] pids, log."""
    fake, ready, log = tmp_path / "fake.py", tmp_path / "ready", tmp_path / "supervisor.log"
    fake.write_text(FAKE_SERVER)
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", SUPERVISOR, str(stop_timeout_s),
                                 sys.executable, str(fake), str(ready), mode],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    assert restarts.wait_for(lambda: ready.exists() or proc.poll() is not None, 60), "no READY"
    assert proc.poll() is None, log.read_text()
    return proc, [int(x) for x in ready.read_text().split()], log


def stop(proc: subprocess.Popen, sig: int, timeout_s: float = 60) -> tuple[int, float]:
    t0 = time.monotonic()
    os.kill(proc.pid, sig)
    rc = proc.wait(timeout=timeout_s)
    return rc, time.monotonic() - t0


@pytest.mark.parametrize("sig", app_cli.STOP_SIGNALS, ids=lambda s: s.name)
def test_stop_signal_ends_server_and_what_it_started(tmp_path, sig):
    proc, (server, grandchild), log = start_supervised(tmp_path, "cooperative", 5.0)
    members = {p["pid"]: p["pgrp"] for p in restarts.session_processes(proc.pid)}
    # the server leads its own process group (the terminal's Ctrl+C reaches only us)
    assert members == {proc.pid: proc.pid, server: server, grandchild: server}
    rc, _ = stop(proc, sig)
    assert rc == 128 + sig
    assert restarts.wait_for(lambda: not restarts.session_processes(proc.pid), 5), \
        restarts.session_processes(proc.pid)
    assert f"quartiersim app: {sig.name}: stopping the server" in log.read_text()


def test_ctrl_c_in_a_terminal_with_tostop(tmp_path):
    """Ctrl+C typed in a terminal reaches only our process group; the server, a background
    group of that terminal, still writes to it under ``stty tostop`` (no SIGTTOU stop)."""
    import pty
    import select

    fake, ready = tmp_path / "fake.py", tmp_path / "ready"
    fake.write_text("import os, sys, time\nprint('fake server writes to the terminal', flush=True)\n"
                    f"open({str(ready)!r}, 'w').write(str(os.getpid()))\ntime.sleep(600)\n")
    supervisor = [sys.executable, "-c", SUPERVISOR, "5", sys.executable, str(fake)]
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal session, as a shell runs a foreground job
        os.system("stty tostop")
        os.execv(sys.executable, supervisor)
    out, status = bytearray(), []

    def read_some() -> None:
        if select.select([fd], [], [], 0.05)[0]:
            try:
                out.extend(os.read(fd, 65536))
            except OSError:  # the terminal closed: the session ended
                pass

    def exited() -> bool:
        read_some()
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status.append(os.waitstatus_to_exitcode(st))
        return bool(status)

    try:
        assert restarts.wait_for(lambda: read_some() or ready.exists(), 60), bytes(out)
        os.write(fd, b"\x03")  # Ctrl+C: the line discipline sends SIGINT to the foreground group
        assert restarts.wait_for(exited, 30), bytes(out)
    finally:
        for p in restarts.session_processes(pid):
            os.kill(p["pid"], signal.SIGKILL)
    text = bytes(out).decode(errors="replace")
    assert status == [130], text
    assert "fake server writes to the terminal" in text
    assert "quartiersim app: SIGINT: stopping the server" in text
    assert restarts.wait_for(lambda: not restarts.session_processes(pid), 5)


def test_exit_statuses_are_conventional():
    assert [128 + s for s in app_cli.STOP_SIGNALS] == [143, 130, 129]


def test_server_that_ignores_sigterm_is_killed_after_the_bound(tmp_path):
    proc, _, log = start_supervised(tmp_path, "stubborn", 0.5)
    rc, took = stop(proc, signal.SIGTERM)
    assert rc == 143
    # waited the stop timeout, then SIGKILL to the group; under load a bit more
    assert 0.5 <= took < 0.5 + 20
    assert restarts.wait_for(lambda: not restarts.session_processes(proc.pid), 5)
    assert "the server did not stop within 0.5 s: killing it" in log.read_text()


def test_second_signal_kills_at_once(tmp_path):
    proc, _, log = start_supervised(tmp_path, "stubborn", 600.0)
    os.kill(proc.pid, signal.SIGTERM)
    assert restarts.wait_for(lambda: "stopping the server" in log.read_text(), 30)
    rc, took = stop(proc, signal.SIGINT)
    assert rc == 143  # the first signal counts
    assert took < 30  # far below the 600 s stop timeout
    assert restarts.wait_for(lambda: not restarts.session_processes(proc.pid), 5)


@pytest.mark.parametrize("code, expected", [(0, 0), (3, 3), (-signal.SIGUSR1, 128 + signal.SIGUSR1)])
def test_server_exit_status_is_passed_on(code, expected):
    body = f"import os, signal; os.kill(os.getpid(), {-code})" if code < 0 else f"raise SystemExit({code})"
    assert app_cli.supervise([sys.executable, "-c", body]) == expected


def test_leftovers_of_a_server_that_exited_are_ended(tmp_path):
    # the server exits by itself; the grandchild it leaves (as a forkserver would) goes too
    ready = tmp_path / "gc"
    body = textwrap.dedent(f"""\
        import subprocess, sys
        c = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        open({str(ready)!r}, "w").write(str(c.pid))
        raise SystemExit(4)
    """)
    assert app_cli.supervise([sys.executable, "-c", body]) == 4
    grandchild = int(ready.read_text())
    assert restarts.wait_for(lambda: not Path(f"/proc/{grandchild}").exists()
                             or "Z" == Path(f"/proc/{grandchild}/stat").read_text()
                             .rsplit(")", 1)[1].split()[0], 5)


def test_busy_port_is_reported_before_starting(capsys):
    require_solara()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["app", str(HERTEN), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"error: port {port} on 127.0.0.1 is in use (another server, perhaps a quartiersim " \
           "app still running): stop it or choose another --port" in err


# --------------------------------------------------------------------------- the real app
@pytest.fixture(scope="module")
def port():
    """One port for all real-app tests of this module: each start follows a stop on it."""
    return restarts.free_port()


@pytest.mark.parametrize("sig", app_cli.STOP_SIGNALS, ids=lambda s: s.name)
def test_app_stops_on_signal_and_frees_port(tmp_path, port, sig):
    require_solara()
    log = tmp_path / "server.log"
    proc = restarts.start_app(port, log)
    try:
        restarts.wait_served(proc, port)
    except RuntimeError as exc:
        restarts.stop_and_check(proc, port, signal.SIGKILL)
        pytest.fail(f"{exc}: {log.read_text()[-2000:]}")
    procs = restarts.session_processes(proc.pid)
    servers = [p for p in procs if " solara run " in p["cmd"]]
    assert len(servers) == 1 and servers[0]["pgrp"] != proc.pid, procs
    r = restarts.stop_and_check(proc, port, sig)
    assert (r["returncode"], r["left"], r["listening"], r["can_listen"]) == (128 + sig, [], False, True), r
    assert r["stop_s"] < app_cli.STOP_TIMEOUT_S + app_cli.GROUP_GRACE_S + 10, r


def test_restarts_on_one_port_leave_nothing_running(tmp_path):
    """scripts/app_restarts.py (10 cycles by default) with 2 cycles."""
    require_solara()
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "app_restarts.py"), "--count", "2",
                          "--signals", "TERM,INT", "--json", "--log", str(tmp_path / "server.log")],
                         capture_output=True, text=True, timeout=900, check=False)
    report = json.loads(out.stdout)
    assert [(c["signal"], c["returncode"], c["left"], c["can_listen"]) for c in report["cycles"]] \
        == [("SIGTERM", 143, [], True), ("SIGINT", 130, [], True)], report
    assert out.returncode == 0 and report["ok"]


def test_server_ends_when_quartiersim_is_killed(tmp_path, port):
    """SIGKILL cannot be caught: the server's parent-death signal (Linux) ends it."""
    require_solara()
    log = tmp_path / "server.log"
    proc = restarts.start_app(port, log)
    try:
        restarts.wait_served(proc, port)
        r = restarts.stop_and_check(proc, port, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (r["returncode"], r["left"], r["listening"], r["can_listen"]) == (-9, [], False, True), r


# --------------------------------------------------------------------------- with a what-if running
@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright fixture: Debian's chromium, headless (as tests/browser does)."""
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "headless": True,
            "args": CHROMIUM_ARGS}


@pytest.mark.browser
def test_sigterm_during_a_whatif_ends_its_pool(tmp_path, port, page):
    """The what-if pool (forkserver, workers, resource tracker) outlived a bare
    ``solara run`` on SIGTERM (measured); ``quartiersim app`` ends it."""
    require_solara()
    require(CHROMIUM.exists() and HAVE_PLAYWRIGHT,
            f"needs {CHROMIUM} and pytest-playwright: run scripts/install-browser-deps.sh .venv")
    log = tmp_path / "server.log"
    proc = restarts.start_app(port, log, cwd=tmp_path)
    try:
        restarts.wait_served(proc, port)
        page.set_default_timeout(180_000)
        page.goto(f"http://127.0.0.1:{port}/?lang=en")
        budget = page.locator(".qs-lever-municipality-voluntary_budget_eur_per_year input[type=number]")
        budget.fill("600000")
        budget.press("Enter")  # a variant: a what-if needs one
        page.locator(".qs-reset.qs-pending").click()
        page.locator(".qs-on-screen-levers").get_by_text("€600,000/year").wait_for()
        page.get_by_role("button", name="Run what-if").click()
        page.get_by_text("runs finished").first.wait_for()  # "k of N runs finished": running
        assert restarts.wait_for(lambda: any("forkserver" in p["cmd"] for p in
                                             restarts.session_processes(proc.pid)), 60)
        r = restarts.stop_and_check(proc, port, signal.SIGTERM)
    finally:
        if proc.poll() is None:
            restarts.stop_and_check(proc, port, signal.SIGKILL)
    assert (r["returncode"], r["left"], r["listening"], r["can_listen"]) == (143, [], False, True), r
