"""Reading a scenario file: :func:`load_scenario`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from quartiersim.config.fileio import read_toml
from quartiersim.config.overrides import apply_overrides
from quartiersim.config.schema import Scenario, build_scenario
from quartiersim.errors import ScenarioError


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read and validate a scenario TOML file.

    Args:
        path: the scenario file, e.g. ``scenarios/herten-innenstadt.toml``.
        overrides: dotted keys to set before validation, e.g.
            ``{"municipality.voluntary_budget_eur_per_year": 300000}``.

    Returns:
        The frozen, validated :class:`Scenario`.

    Raises:
        ScenarioError: the file is missing, a directory, unreadable, not UTF-8 or not
            valid TOML, or a key is unknown, of the wrong type, out of range or breaks a
            rule between keys; the message names the file, key and what is allowed.
    """
    p = Path(path)
    if not os.path.lexists(p):
        here = p.parent if str(p.parent) not in ("", ".") else Path(".")
        existing = sorted(str(f) for f in here.glob("*.toml")) if here.is_dir() else []
        hint = f"; scenario files there: {', '.join(existing)}" if existing else ""
        raise ScenarioError(f"{p}: no such scenario file{hint}")
    raw = read_toml(p, "scenario file", ScenarioError)
    if overrides:
        raw = apply_overrides(raw, overrides, str(p))
    return build_scenario(raw, str(p))
