"""One formatter for the numbers of every table (CLI, report, what-if, app).

How a value prints depends on its :class:`~quartiersim.sim.registry.Kind` (the registry
says which an outcome has): shares with 3 decimals, euros and hours whole with thousands
separators, counts whole (a mean over seeds that is not whole: 1 decimal), rates and
months with 1 decimal, years whole. None, NaN and infinities print as ``n/a``.
"""

from __future__ import annotations

import math
from typing import Any

from quartiersim.sim.registry import Kind

#: What prints for a value that does not apply or is not a number.
NOT_AVAILABLE = "n/a"


def is_missing(value: Any) -> bool:
    """True for None, NaN and infinities (values a table shows as ``n/a``)."""
    if value is None:
        return True
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return True


def format_value(value: Any, kind: Kind | str, signed: bool = False) -> str:
    """A number as tables print it.

    Args:
        value: the number (int, float, numpy scalar) or None.
        kind: a :class:`Kind` (or its value, e.g. ``"share"``).
        signed: print a ``+`` before positive numbers and zero (changes, differences).

    Returns:
        E.g. ``0.213`` (share), ``1,728,546`` (eur, hours), ``98`` / ``104.5`` (count),
        ``5.7`` (rate), ``2`` (years), ``+0.004`` (signed share), ``n/a``.

    Raises:
        ValueError: an unknown kind.
    """
    kind = Kind(kind)
    if is_missing(value):
        return NOT_AVAILABLE
    sign = "+" if signed else ""
    value = value + 0  # -0.0 prints as 0
    if kind is Kind.SHARE:
        return f"{value:{sign}.3f}"
    if kind in (Kind.RATE, Kind.MONTHS):
        return f"{value:{sign},.1f}"
    if kind is Kind.COUNT and not float(value).is_integer():
        return f"{value:{sign},.1f}"
    return f"{value:{sign},.0f}"


def format_interval(mean: Any, low: Any, high: Any, kind: Kind | str, signed: bool = False) -> str:
    """``mean [low, high]`` (a 95 % interval), each part by :func:`format_value`."""
    return (f"{format_value(mean, kind, signed)} [{format_value(low, kind, signed)}, "
            f"{format_value(high, kind, signed)}]")
