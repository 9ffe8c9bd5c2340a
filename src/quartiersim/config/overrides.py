"""Overrides: dotted scenario keys set from the command line, the app or an experiment
(``--set municipality.voluntary_budget_eur_per_year=300000``)."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

from quartiersim.errors import QuartiersimError, ScenarioError


def parse_value(text: str) -> Any:
    """Parse an override value as a TOML value (``5``, ``0.1``, ``true``, ``[1, 2]``,
    ``"x"``); anything that is not valid TOML is taken as a plain string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_pairs(pairs: list[str] | None) -> dict[str, Any]:
    """``["KEY=VALUE", ...]`` (the command line's ``--set``) as a dict of overrides.

    Raises:
        QuartiersimError: an item without ``=``.
    """
    out = {}
    for item in pairs or []:
        if "=" not in item:
            raise QuartiersimError(f"--set {item!r}: expected KEY=VALUE, e.g. "
                                   "--set municipality.voluntary_budget_eur_per_year=300000")
        key, value = item.split("=", 1)
        out[key.strip()] = parse_value(value.strip())
    return out


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any],
                    path: str | None = None) -> dict[str, Any]:
    """Set dotted keys (``population.residents``) in a raw scenario dict (a copy).

    List elements are addressed by index: ``carriers.0.own_funds_eur_per_year``.
    Raises :class:`ScenarioError` when a path runs through a non-table value or a list
    index that does not exist; the message starts with ``path`` (the scenario file) when
    given.
    """
    where = f"{path}: " if path else ""
    out = copy.deepcopy(raw)
    for key, value in overrides.items():
        parts = key.split(".")
        cur: Any = out
        for i, part in enumerate(parts[:-1]):
            if isinstance(cur, list):
                if not part.isdigit() or int(part) >= len(cur):
                    raise ScenarioError(f"{where}override '{key}': '{part}' is not an index of "
                                        f"a list of {len(cur)} items")
                cur = cur[int(part)]
            elif isinstance(cur, dict):
                cur = cur.setdefault(part, {})
            else:
                raise ScenarioError(f"{where}override '{key}': '{'.'.join(parts[:i + 1])}' is "
                                    "a value, not a table")
        last = parts[-1]
        if isinstance(cur, list):
            if not last.isdigit() or int(last) >= len(cur):
                raise ScenarioError(f"{where}override '{key}': '{last}' is not an index of a "
                                    f"list of {len(cur)} items")
            cur[int(last)] = value
        elif isinstance(cur, dict):
            cur[last] = value
        else:
            raise ScenarioError(f"{where}override '{key}': '{'.'.join(parts[:-1])}' is a "
                                "value, not a table")
    return out
