"""SolaraViz ``model_params`` generated from the scenario schema's lever metadata.

Every lever (``P(..., lever=True)`` in :mod:`quartiersim.config.schema`, in a cooperation
model's or a financing instrument's ``Params``) becomes a slider whose value is the
scenario's and whose bounds come from the schema, so no default is typed twice. The
cooperation and financing selectors list the registries (``COOPERATION_MODELS``; the
scenario's financing models and ``BUILTIN_FINANCING``), so models added later appear
by themselves.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from quartiersim.config.schema import Scenario
from quartiersim.sim.cooperation import COOPERATION_MODELS
from quartiersim.studies.whatif import Lever, financing_names, levers

#: Horizon of the app's runs in years (SolaraViz control; also the what-if default).
DEFAULT_YEARS = 10


def nice(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is >= x (x > 0)."""
    exp = math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if m * 10 ** exp >= x * (1 - 1e-12):
            return m * 10 ** exp
    return 10 ** (exp + 1)


def slider_range(lever: Lever) -> tuple[float, float, float]:
    """(min, max, step) of a lever's slider: from the schema's lower bound up to five times
    the scenario's value (capped by the schema's upper bound), in about 100 steps, on a
    grid through the scenario's value (a slider snaps its value to its grid: 8,700
    residents on a grid 1, 501, ... would silently become 8,501)."""
    lo = float(lever.minimum) if lever.minimum is not None else 0.0
    v = float(lever.value)
    hi = nice(max(5 * v, lo + 1e-9)) if v > 0 else lo + 1.0
    if lever.maximum is not None:
        hi = min(hi, float(lever.maximum))
    step = nice((hi - lo) / 100) if hi > lo else 1.0
    if lever.kind == "int":
        step = max(1.0, round(step))
    lo = v - math.floor((v - lo) / step + 1e-9) * step  # the grid passes through v
    hi = lo + math.floor((hi - lo) / step + 1e-9) * step
    return round(lo, 9), round(max(hi, v), 9), step  # rounding: no float noise on the grid


def short_unit(unit: str) -> str:
    """``EUR per year`` -> ``EUR/yr``, ``share of residents 14+`` -> ``share``."""
    u = unit.split(" of ")[0]
    for long, short in ((" per year", "/yr"), (" per month", "/mo"), ("probability", "prob.")):
        u = u.replace(long, short)
    return u


def lever_label(lever: Lever) -> str:
    """The control's label: short, so the sidebar slider keeps its width."""
    unit = short_unit(lever.unit)
    return f"{lever.label} ({unit})" if unit else lever.label


def lever_params(scenario: Scenario) -> dict[str, dict[str, Any]]:
    """One SolaraViz user parameter per lever, keyed by the lever's dotted key."""
    out: dict[str, dict[str, Any]] = {}
    for lv in levers(scenario):
        lo, hi, step = slider_range(lv)
        typ = "SliderInt" if lv.kind == "int" else "SliderFloat"
        value = lv.value
        if typ == "SliderInt":
            lo, hi, step = int(lo), int(hi), int(step)
        out[lv.key] = {"type": typ, "label": lever_label(lv), "value": value, "min": lo,
                       "max": max(hi, value), "step": step}
    return out


def model_params(scenario: Scenario, scenario_file: str | Path) -> dict[str, Any]:
    """All SolaraViz ``model_params`` of :class:`viz.model.AppModel` for a scenario."""
    return {
        "scenario_file": str(scenario_file),
        "cooperation": {"type": "Select", "label": "Cooperation model",
                        "value": scenario.default_cooperation, "values": list(COOPERATION_MODELS)},
        "financing": {"type": "Select", "label": "Financing model",
                      "value": scenario.default_financing, "values": financing_names(scenario)},
        "seed": {"type": "SliderInt", "label": "Random seed", "value": 0, "min": 0, "max": 99,
                 "step": 1},
        "years": {"type": "SliderInt", "label": "Horizon [years]", "value": DEFAULT_YEARS,
                  "min": 1, "max": 30, "step": 1},
        **lever_params(scenario),
    }
