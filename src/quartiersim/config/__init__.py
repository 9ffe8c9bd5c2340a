"""The configuration layer: the scenario schema, loading, overrides and messages.
Imports nothing of quartiersim above it."""

from quartiersim.config.loading import load_scenario
from quartiersim.config.schema import Scenario

__all__ = ["Scenario", "load_scenario"]
