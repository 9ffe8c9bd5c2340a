"""The app's lever controls, generated from the scenario schema's lever metadata.

Every lever (``P(..., lever=True)`` in :mod:`quartiersim.config.schema`, in a cooperation
model's or a financing instrument's ``Params``; listed by
:func:`quartiersim.studies.whatif.levers` with unit, bounds and the scenario's value)
becomes a :class:`LeverControl`: a slider beside a number field, its value with its unit,
its range, in one of the groups budget, staff, volunteering, financing and quarter. Only
the levers of the chosen cooperation and financing model are shown
(:func:`visible_levers`). Shares are shown in per cent. No default is typed twice: values
and bounds are the schema's and the scenario's, labels the catalogue's
(:mod:`quartiersim.app.i18n`) with the schema's wording as the fallback.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from quartiersim.app.i18n import UI
from quartiersim.config.schema import Scenario
from quartiersim.sim.cooperation import COOPERATION_MODELS
from quartiersim.studies.whatif import Lever, financing_names, levers

#: Horizon of the app's runs in years (default of the run controls and the what-if).
DEFAULT_YEARS = 10
#: Bounds of the run controls: seed and horizon in years.
SEED_RANGE = (0, 9_999)
YEARS_RANGE = (1, 30)


class LeverGroup(StrEnum):
    """Where a lever is shown; the panel shows the groups in this order."""

    BUDGET = "budget"
    STAFF = "staff"
    VOLUNTEERING = "volunteering"
    FINANCING = "financing"
    QUARTER = "quarter"


def nice(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is >= x (x > 0)."""
    exp = math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if m * 10 ** exp >= x * (1 - 1e-12):
            return m * 10 ** exp
    return 10 ** (exp + 1)


def slider_range(lever: Lever) -> tuple[float, float, float]:
    """(min, max, step) of a lever's slider in the lever's unit: from the schema's lower
    bound up to five times the scenario's value (capped by the schema's upper bound), in
    about 100 steps, on a grid through the scenario's value (a slider snaps its value to
    its grid: 8,700 residents on a grid 1, 501, ... would silently become 8,501)."""
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


def lever_group(lever: Lever) -> LeverGroup:
    """The group of a lever, from its key and unit (so a lever added later finds one)."""
    key, unit = lever.key, lever.unit
    if key.startswith("financing."):
        return LeverGroup.FINANCING
    if unit == "FTE" or key.endswith("_fte") or "staff" in key:
        return LeverGroup.STAFF
    if "volunteer" in key:
        return LeverGroup.VOLUNTEERING
    if "EUR" in unit or "_eur" in key:
        return LeverGroup.BUDGET
    return LeverGroup.QUARTER


def is_share(lever: Lever) -> bool:
    """Shares (units ``share ...``, ``probability``) are shown in per cent."""
    return lever.unit.startswith("share") or lever.unit == "probability"


def _fallback_label(lever: Lever) -> str:
    """The schema's wording: the description's first clause if short, else the label."""
    first = lever.description.split(". ")[0].split(", ")[0].rstrip(".")
    return first if 0 < len(first) <= 48 else lever.label


@dataclass(frozen=True)
class LeverControl:
    """One lever as the app shows it.

    Attributes:
        lever: the schema's lever (key, unit, bounds, the scenario's value).
        group: where it is shown.
        scale: display value = model value x scale (100 for shares, shown in %).
        low, high, step: the slider's range and step, in display units.
        digits: decimals of the display value.
    """

    lever: Lever
    group: LeverGroup
    scale: float
    low: float
    high: float
    step: float
    digits: int

    @property
    def key(self) -> str:
        return self.lever.key

    @property
    def is_int(self) -> bool:
        return self.lever.kind == "int"

    def label(self, ui: UI) -> str:
        return ui.lever(self.key, _fallback_label(self.lever))

    def to_display(self, value: float) -> float:
        """Model value -> display value (rounded to the display's decimals + 3)."""
        return round(float(value) * self.scale, self.digits + 3)

    def from_display(self, shown: float) -> float | int:
        """Display value -> model value (ints stay ints)."""
        v = shown / self.scale
        return int(round(v)) if self.is_int else round(v, self.digits + 5)

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        """The schema's inclusive bounds in display units (None: unbounded)."""
        lo, hi = self.lever.minimum, self.lever.maximum
        return (None if lo is None else lo * self.scale, None if hi is None else hi * self.scale)

    def check(self, shown: float) -> str | None:
        """None if ``shown`` (display units) is within the schema's bounds, else which."""
        lo, hi = self.bounds
        if (lo is not None and shown < lo - 1e-9) or (hi is not None and shown > hi + 1e-9):
            return "out_of_range"
        return None

    def format(self, value: float, ui: UI) -> str:
        """A model value with its unit: ``450.000 €/Jahr``, ``4,0 %``, ``0,5 Vollzeitstellen``."""
        if self.scale == 100:
            return ui.percent(float(value), self.digits)
        unit = self.lever.unit
        if unit.startswith("EUR"):
            rest = ui.unit(unit).replace("€", "", 1)
            return ui.eur(float(value)) + rest
        shown = ui.number(float(value), self.digits)
        u = ui.unit(unit)
        return f"{shown} {u}" if u else shown

    def unit_text(self, ui: UI) -> str:
        """The unit beside the number field: ``%``, ``€/Jahr``, ``VZÄ``."""
        return "%" if self.scale == 100 else ui.unit_short(self.lever.unit)


def _digits(step: float) -> int:
    """Decimals needed to show values on a grid of ``step``."""
    if step >= 1:
        return 0
    return min(6, max(0, -math.floor(math.log10(step) + 1e-9)))


def control(lever: Lever) -> LeverControl:
    """The control of one lever."""
    lo, hi, step = slider_range(lever)
    scale = 100.0 if is_share(lever) else 1.0
    lo, hi, step = (round(x * scale, 9) for x in (lo, hi, step))
    digits = _digits(step)
    if scale == 100:
        digits = max(1, digits)
    return LeverControl(lever, lever_group(lever), scale, lo, hi, step, digits)


def all_controls(scenario: Scenario) -> dict[str, LeverControl]:
    """Every lever of the scenario (all cooperation and financing models), by key."""
    return {lv.key: control(lv) for lv in levers(scenario)}


def is_visible(key: str, cooperation: str, financing: str) -> bool:
    """Whether a lever belongs to the chosen models: a cooperation model's lever only with
    that model, a financing model's only with that financing model, the rest always."""
    parts = key.split(".")
    if parts[0] == "cooperation":
        return parts[1] == cooperation
    if parts[0] == "financing":
        return parts[1] == financing
    return True


def visible_levers(controls: dict[str, LeverControl], cooperation: str,
                   financing: str) -> dict[LeverGroup, list[LeverControl]]:
    """The levers of the chosen models, by group (groups in :class:`LeverGroup` order,
    empty groups left out)."""
    out: dict[LeverGroup, list[LeverControl]] = {}
    for g in LeverGroup:
        chosen = [c for c in controls.values()
                  if c.group is g and is_visible(c.key, cooperation, financing)]
        if chosen:
            out[g] = chosen
    return out


def cooperation_choices() -> list[str]:
    """Every registered cooperation model (the registry's order)."""
    return list(COOPERATION_MODELS)


def financing_choices(scenario: Scenario) -> list[str]:
    """The scenario's financing models and the built-in ones."""
    return list(financing_names(scenario))


def applied_levers(values: dict[str, Any], controls: dict[str, LeverControl], cooperation: str,
                   financing: str) -> dict[str, Any]:
    """The lever values the model is built with: those of the chosen models that differ
    from the scenario's (a hidden lever of another model is not part of the variant)."""
    return {k: v for k, v in values.items()
            if k in controls and is_visible(k, cooperation, financing)
            and v != controls[k].lever.value}
