"""Process-tree helpers for the tests of worker processes (Linux /proc).

Tests wait for conditions with a deadline (:func:`wait_for`), never for a fixed time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[1]

needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(),
                                reason="needs Linux /proc")

T = TypeVar("T")


@dataclass(frozen=True)
class Proc:
    """A process as seen once: pid, parent pid, start time (clock ticks), command line."""

    pid: int
    ppid: int
    start: int
    cmdline: str


def _read(pid: int) -> tuple[Proc, str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    rest = stat.rsplit(")", 1)[1].split()  # fields after "(comm)"
    state, ppid, start = rest[0], int(rest[1]), int(rest[19])
    return Proc(pid, ppid, start, cmd.strip()), state


def processes() -> list[Proc]:
    """Every live (not zombie) process."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            got = _read(int(entry))
            if got is not None and got[1] != "Z":
                out.append(got[0])
    return out


def descendants(pid: int) -> list[Proc]:
    """The live processes below ``pid`` (children, grandchildren...)."""
    procs = processes()
    kids: dict[int, list[Proc]] = {}
    for p in procs:
        kids.setdefault(p.ppid, []).append(p)
    out, todo = [], [pid]
    while todo:
        for child in kids.get(todo.pop(), []):
            out.append(child)
            todo.append(child.pid)
    return out


def pool_workers(pid: int) -> list[Proc]:
    """Worker processes of multiprocessing pools below ``pid``: children of a forkserver
    or spawned workers (not the forkserver or the resource tracker themselves)."""
    below = descendants(pid)
    forkservers = {p.pid for p in below if "multiprocessing.forkserver" in p.cmdline}
    return [p for p in below if p.ppid in forkservers or "spawn_main" in p.cmdline]


def alive(p: Proc) -> bool:
    """True while the process ``p`` (same pid and start time) runs (zombies are dead)."""
    got = _read(p.pid)
    return got is not None and got[0].start == p.start and got[1] != "Z"


def wait_for[T](condition: Callable[[], T], what: str, deadline_s: float = 120.0) -> T:
    """Poll ``condition`` every 20 ms until it returns something true; fail after the
    deadline (generous: the machine may be loaded)."""
    end = time.monotonic() + deadline_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            pytest.fail(f"timed out after {deadline_s:.0f} s waiting for {what}")
        time.sleep(0.02)


def start_cli(*args: str, cwd: Path = ROOT, new_session: bool = True,
              output: int | None = subprocess.PIPE) -> subprocess.Popen:
    """``python -m quartiersim.cli ARGS`` in a subprocess (its own session and process
    group); stdout and stderr piped (``output=subprocess.DEVNULL`` for a process to be
    killed: orphaned workers would hold the pipes open).

    Ctrl-C works in the child as at a terminal even when the tests run as a background
    job, whose processes inherit SIGINT ignored (Python then installs no KeyboardInterrupt
    handler): the child restores it before it runs the command line."""
    boot = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            f"sys.argv = ['quartiersim', *{list(args)!r}]; "
            "runpy.run_module('quartiersim.cli', run_name='__main__', alter_sys=True)")
    return subprocess.Popen([sys.executable, "-c", boot], cwd=cwd,
                            stdout=output, stderr=output, text=True,
                            start_new_session=new_session)


def kill_all(procs: list[Proc]) -> None:
    """Clean-up after a failed test: SIGKILL whatever of ``procs`` still runs."""
    for p in procs:
        if alive(p):
            try:
                os.kill(p.pid, 9)
            except ProcessLookupError:
                pass
