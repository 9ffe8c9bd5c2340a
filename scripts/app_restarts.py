"""Start and stop ``quartiersim app`` N times in a row on one port; check that each stop
leaves nothing running and the port free.

    .venv/bin/python scripts/app_restarts.py [--count 10] [--port P] [--signals TERM,INT,HUP]
        [--scenario scenarios/herten-innenstadt.toml] [--json]

Each cycle: start ``quartiersim app SCENARIO --port P`` in a new session, wait until the
page answers 200, send the next signal of ``--signals`` (cycling) to the ``quartiersim``
process, then check that it exits with 128 + the signal number, that no process of its
session is left, that nothing listens on P and that a socket can listen on P at once (with
``SO_REUSEADDR``, as the server binds). Prints one line per cycle (``--json``: one JSON
object at the end); exit status 0 if every cycle passed, 1 otherwise.

The checks read Linux ``/proc``; they do not use quartiersim's own helpers, so they can
catch its mistakes. tests/test_app_server.py imports this module and runs it with a
smaller ``--count``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERTEN = ROOT / "scenarios" / "herten-innenstadt.toml"
#: Seconds the app may take to answer (a loaded 2-core machine: 10-25 s measured).
SERVE_DEADLINE_S = 180.0
#: Seconds from the stop signal to the exit of ``quartiersim`` (its bound is 5 + 2 s).
EXIT_DEADLINE_S = 30.0
#: Seconds after that exit within which its session must be empty.
EMPTY_DEADLINE_S = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session_processes(sid: int) -> list[dict]:
    """Live (not zombie) processes of session ``sid``: pid, process group, command line."""
    out = []
    for d in Path("/proc").glob("[0-9]*"):
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] not in ("Z", "X"):
            out.append({"pid": int(d.name), "pgrp": int(fields[2]), "cmd": cmd.strip()})
    return out


def listening(port: int) -> bool:
    """True if a TCP socket (IPv4 or IPv6) listens on ``port`` (``/proc/net/tcp*``)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == "0A":  # 0A = LISTEN
                return True
    return False


def can_listen(port: int, host: str = "127.0.0.1") -> bool:
    """True if a new server could listen on ``host:port`` now (bind with SO_REUSEADDR)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            s.listen()
        except OSError:
            return False
    return True


def wait_for(condition, timeout_s: float, interval_s: float = 0.1) -> bool:
    """Poll ``condition()`` until true or ``timeout_s``; return its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return bool(condition())
        time.sleep(interval_s)


def quartiersim_command() -> list[str]:
    """``quartiersim`` of this interpreter's environment (its console script if present)."""
    script = Path(sys.executable).with_name("quartiersim")
    return [str(script)] if script.exists() else [sys.executable, "-m", "quartiersim.cli"]


def start_app(port: int, log_path: Path, scenario: Path = HERTEN, cwd: Path | None = None,
              command: list[str] | None = None, env: dict[str, str] | None = None,
              ) -> subprocess.Popen:
    """``quartiersim app SCENARIO --port PORT`` in a new session (its pid is the session id);
    ``command``: the ``quartiersim`` to run (default :func:`quartiersim_command`), ``env``
    its environment (default this one's)."""
    env = {**(os.environ if env is None else env), "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    with open(log_path, "ab") as log:
        return subprocess.Popen([*(command or quartiersim_command()), "app", str(scenario),
                                 "--port", str(port)], cwd=cwd or log_path.parent, env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def wait_served(proc: subprocess.Popen, port: int, timeout_s: float = SERVE_DEADLINE_S) -> float:
    """Seconds until ``http://127.0.0.1:PORT/`` answers 200.

    Raises:
        RuntimeError: the app exited or did not answer within ``timeout_s``.
    """
    t0 = time.monotonic()
    url = f"http://127.0.0.1:{port}/"
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with status {proc.returncode} before serving")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return time.monotonic() - t0
        except OSError:
            pass
        if time.monotonic() - t0 > timeout_s:
            raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")
        time.sleep(0.2)


def stop_and_check(proc: subprocess.Popen, port: int, sig: int) -> dict:
    """Send ``sig`` to ``quartiersim app`` and check what is left; kills leftovers.

    Returns a dict: ``signal``, ``returncode`` (None if it did not exit within
    :data:`EXIT_DEADLINE_S`), ``expected_returncode``, ``stop_s``, ``left`` (live
    processes of its session :data:`EMPTY_DEADLINE_S` s after the exit), ``listening``,
    ``can_listen`` and ``ok``.
    """
    sid = proc.pid
    t0 = time.monotonic()
    os.kill(proc.pid, sig)
    try:
        rc = proc.wait(timeout=EXIT_DEADLINE_S)
    except subprocess.TimeoutExpired:
        rc = None
    stop_s = time.monotonic() - t0
    wait_for(lambda: not session_processes(sid), EMPTY_DEADLINE_S)
    left = session_processes(sid)
    lst, free = listening(port), can_listen(port)
    for p in left:  # leave nothing behind, whatever the outcome
        try:
            os.kill(p["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
    if rc is None:
        proc.kill()
        proc.wait()
    result = {"signal": signal.Signals(sig).name, "returncode": rc,
              "expected_returncode": 128 + sig, "stop_s": round(stop_s, 2), "left": left,
              "listening": lst, "can_listen": free}
    result["ok"] = rc == 128 + sig and not left and not lst and free
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--port", type=int, default=None, help="default: a free port")
    ap.add_argument("--signals", default="TERM,INT,HUP")
    ap.add_argument("--scenario", type=Path, default=HERTEN)
    ap.add_argument("--log", type=Path, default=None, help="server log (default: a temp file)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    sigs = [signal.Signals["SIG" + s.strip().upper().removeprefix("SIG")]
            for s in args.signals.split(",")]
    port = args.port or free_port()
    log = args.log or Path(os.environ.get("TMPDIR", "/tmp")) / f"app_restarts-{os.getpid()}.log"
    cycles = []
    for i in range(args.count):
        proc = start_app(port, log, scenario=args.scenario.resolve())
        try:
            serve_s = wait_served(proc, port)
        except RuntimeError as exc:
            r = stop_and_check(proc, port, signal.SIGKILL)
            cycles.append({"cycle": i + 1, "error": str(exc), **r, "ok": False})
            if not args.json:
                print(f"{i + 1:2d}: FAILED: {exc} (log: {log})", flush=True)
            break
        r = {"cycle": i + 1, "serve_s": round(serve_s, 2), **stop_and_check(proc, port, sigs[i % len(sigs)])}
        cycles.append(r)
        if not args.json:
            print(f"{i + 1:2d}: served after {r['serve_s']:5.1f} s; {r['signal']}: exit "
                  f"{r['returncode']} in {r['stop_s']:.2f} s; left {len(r['left'])}; port "
                  f"{'free' if r['can_listen'] and not r['listening'] else 'BUSY'}"
                  f"{'' if r['ok'] else '  FAILED'}", flush=True)
    ok = len(cycles) == args.count and all(c["ok"] for c in cycles)
    if args.json:
        print(json.dumps({"port": port, "ok": ok, "log": str(log), "cycles": cycles}))
    else:
        print(f"{'ok' if ok else 'FAILED'}: {len(cycles)} of {args.count} cycles on port {port}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
