"""Helpers shared by the commands: the registry's table rows, model names, --geo."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from quartiersim.errors import QuartiersimError
from quartiersim.sim.registry import Outcome, View, tree_rows


def __getattr__(name: str) -> Any:
    if name == "COOPERATION_NAMES":  # imported on first use: the parser does not need it
        from quartiersim.config.cooperation import COOPERATION_PARAMS

        #: Cooperation model names, in the order ``compare`` shows them.
        globals()[name] = tuple(COOPERATION_PARAMS)
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def table_rows(view: View) -> list[tuple[Outcome, str]]:
    """``(outcome, row label)`` of the registry's outcomes in ``view``, in table order
    (details indented under their parent)."""
    from quartiersim.sim.outcomes import REGISTRY

    return tree_rows(REGISTRY.select(view=view))


def model_names(text: str | None) -> list[str] | None:
    """``--models a,b`` as a list of names (None, when not given, for all).

    Raises:
        QuartiersimError: no name (``--models ,,``), a name twice, or an unknown name.
    """
    if text is None:
        return None
    from quartiersim.config.cooperation import COOPERATION_PARAMS

    names = [n.strip() for n in text.split(",") if n.strip()]
    allowed = ", ".join(sorted(COOPERATION_PARAMS))
    if not names:
        raise QuartiersimError(f"--models {text!r}: give at least one cooperation model name "
                               f"(comma-separated); allowed: {allowed}")
    if len(set(names)) < len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise QuartiersimError(f"--models {text!r}: {', '.join(twice)} named twice; name each "
                               "model once")
    for n in names:
        if n not in COOPERATION_PARAMS:
            raise QuartiersimError(f"--models: unknown cooperation model {n!r}; allowed: "
                                   f"{', '.join(sorted(COOPERATION_PARAMS))}")
    return names


def start_pool(workers: int | None, jobs: int,
               preload: Sequence[str] | None = None) -> contextlib.AbstractContextManager:
    """The worker processes of a command, started now: their forkserver imports the
    model while this process imports what the command needs and checks its input
    (:class:`~quartiersim.studies.pool.WarmPool`). A context manager giving the pool (ended
    on exit), or None where the jobs run in this process (one worker)."""
    from quartiersim.studies.pool import DEFAULT_PRELOAD, WarmPool

    n = workers if workers is not None else max(1, min(jobs, os.cpu_count() or 1))
    if n <= 1:
        return contextlib.nullcontext()
    return WarmPool(n, preload=preload or DEFAULT_PRELOAD).start()


def write_geo(path: str, scenario: Any, cells: dict, financing: str, quiet: bool = False) -> None:
    """Write the per-cell outcomes ``cells`` (by model) as a GeoPackage and say so (on
    stderr when ``quiet``, so that stdout keeps the table or ``--json``)."""
    from quartiersim.studies.geoexport import write_geopackage

    out = write_geopackage(path, scenario, cells, financing)
    stream = sys.stderr if quiet else sys.stdout
    crs = out.crs or "no CRS (local grid)"
    print(f"written: {out.path} (layers cells: {out.cells} rows, service_points: {out.points}; "
          f"{crs})", file=stream)
    if out.note:
        print(f"note: {out.note}", file=stream)
