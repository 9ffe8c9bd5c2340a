"""The configuration layer: the scenario schema, loading, overrides and messages.
Imports nothing of quartiersim above it. ``Scenario`` and ``load_scenario`` are imported
on first use (PEP 562): importing one module of this layer does not load the whole
schema."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quartiersim.config.loading import load_scenario
    from quartiersim.config.schema import Scenario

_WHERE = {"load_scenario": "quartiersim.config.loading", "Scenario": "quartiersim.config.schema"}

__all__ = ["Scenario", "load_scenario"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'quartiersim.config' has no attribute {name!r}")
