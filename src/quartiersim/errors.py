"""One exception hierarchy with a single root, as in SimPy."""

from __future__ import annotations


class QuartiersimError(Exception):
    """Root of every error quartiersim raises on purpose."""


class ScenarioError(QuartiersimError, ValueError):
    """A scenario file, an override or a lever value is invalid.

    The message names the file, the dotted key and what is allowed, e.g.
    ``scenarios/x.toml: population.residents = -5: must be >= 1``.
    """


class UnknownNameError(ScenarioError):
    """A cooperation or financing model name that is not registered."""


class HorizonError(QuartiersimError):
    """A step past the model's horizon (``QuarterModel(..., years=N)``: 12 N months).

    ``model.running`` turns False at the horizon's last month, so Mesa's
    ``while model.running: model.step()`` stops there; a step after it raises this error
    before it changes anything."""
