"""The controls a planner changes: the cooperation and financing model, the levers (each
a slider beside a number field, with its value and unit, its range and the scenario's
value), the seed and the horizon. They edit the page's draft inputs; the model on screen
changes on Reset (the page marks the draft as pending until then).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reacton.ipyvuetify as v
import solara

from quartiersim.app.i18n import UI
from quartiersim.app.params import SEED_RANGE, YEARS_RANGE, LeverControl, LeverGroup


def parse_number(text: Any) -> float | None:
    """A number typed into a field (``1234.5``, ``1234,5``, ``1.234,5`` or ``1,234.5``),
    or None."""
    if isinstance(text, int | float):
        return float(text)
    s = str(text or "").strip().replace("\u00a0", "").replace(" ", "")
    if not s:
        return None
    if "," in s and "." in s:  # the last one is the decimal separator
        s = s.replace(".", "").replace(",", ".") if s.rindex(",") > s.rindex(".") else s.replace(",", "")
    else:
        s = s.replace(",", ".")
    try:
        return float(s)
    except ValueError:
        return None


def _field_text(value: float, digits: int) -> str:
    return f"{value:.{digits}f}" if digits else f"{round(value):d}"


@solara.component
def NumberControl(label: str, value: float, on_value: Callable[[float], None], low: float,
                  high: float, step: float, digits: int, unit: str, shown: str, range_text: str,
                  note: str = "", bounds: tuple[float | None, float | None] = (None, None),
                  ui: UI = UI(), ident: str = "", disabled: bool = False) -> None:
    """A labelled slider beside a number field, in display units.

    ``shown`` is the value with its unit as text; ``range_text`` the slider's range;
    ``note`` e.g. the scenario's value when it differs. The field accepts any value
    within ``bounds`` (the schema's), also beyond the slider's range; a value outside or
    not a number shows an error at the field and is not taken.
    """
    text, set_text = solara.use_state(_field_text(value, digits), key="text")
    error, set_error = solara.use_state(None, key="error")

    def sync() -> None:
        set_text(_field_text(value, digits))
        set_error(None)

    solara.use_effect(sync, [value])

    def take(raw: Any) -> None:
        x = parse_number(raw)
        if x is None:
            set_text(str(raw))  # what was typed stays beside its message
            set_error(ui.t("not_a_number", value=raw))
            return
        lo, hi = bounds
        if (lo is not None and x < lo - 1e-9) or (hi is not None and x > hi + 1e-9):
            set_text(str(raw))
            set_error(ui.t("out_of_range", value=raw, low=ui.number(lo, digits) if lo is not None else "−∞",
                           high=ui.number(hi, digits) if hi is not None else "∞"))
            return
        set_error(None)
        if round(x, digits + 3) == value:  # e.g. "6" for 6.0: show it as the value is shown
            set_text(_field_text(value, digits))
        on_value(round(x, digits + 3))

    slider_value = min(max(value, low), high)
    classes = ["qs-number"] + ([f"qs-lever-{ident.replace('.', '-')}"] if ident else [])
    with solara.Column(classes=classes, gap="0px"):
        with solara.Row(justify="space-between", classes=["qs-number-head"], gap="8px"):
            solara.Text(label, classes=["qs-number-label"])
            solara.Text(shown, classes=["qs-number-value"])
        slider = v.Slider(v_model=slider_value, min=low, max=high, step=step, hide_details=True,
                          dense=True, disabled=disabled, class_="qs-slider",
                          attributes={"aria-label": label})
        v.use_event(slider, "change", lambda *args: take(args[-1]))
        with solara.Row(classes=["qs-number-inputs"], gap="8px",
                        style={"align-items": "center", "justify-content": "space-between"}):
            field = v.TextField(v_model=text, type="number", dense=True, outlined=True,
                                hide_details="auto", suffix=unit, disabled=disabled,
                                error_messages=[error] if error else [],
                                class_="qs-field", attributes={"step": "any", "aria-label": label},
                                style_="max-width: 190px; min-width: 150px")
            v.use_event(field, "change", lambda *args: take(args[-1]))
            solara.Text(range_text, classes=["qs-number-range"])
        if note:
            solara.Text(note, classes=["qs-number-note"])


def lever_control(c: LeverControl, value: Any, on_value: Callable[[str, Any], None], ui: UI,
                  disabled: bool = False) -> None:
    """The :class:`NumberControl` of one lever (value in model units)."""
    scenario_value = c.lever.value
    note = "" if value == scenario_value else ui.t("changed_from", value=c.format(scenario_value, ui))
    low_text = c.format(c.from_display(c.low), ui)
    high_text = c.format(c.from_display(c.high), ui)
    NumberControl(label=c.label(ui), value=c.to_display(value),
                  on_value=lambda x: on_value(c.key, c.from_display(x)), low=c.low, high=c.high,
                  step=c.step, digits=c.digits, unit=c.unit_text(ui), shown=c.format(value, ui),
                  range_text=ui.t("range", low=low_text, high=high_text), note=note,
                  bounds=c.bounds, ui=ui, ident=c.key, disabled=disabled).key(c.key)


@solara.component
def ModelSelect(label: str, value: str, choices: list[str], names: Callable[[str], str],
                on_value: Callable[[str], None], classes: list[str] | None = None,
                disabled: bool = False) -> None:
    """A select whose options show plain names and return registry names."""
    items = [{"text": names(c), "value": c} for c in choices]
    select = v.Select(label=label, items=items, v_model=value, dense=True, outlined=True,
                      hide_details=True, disabled=disabled, class_=" ".join(classes or []))
    v.use_event(select, "change", lambda *args: on_value(args[-1]))


@solara.component
def LeverPanel(groups: dict[LeverGroup, list[LeverControl]], values: dict[str, Any],
               on_lever: Callable[[str, Any], None], ui: UI, seed: int, years: int,
               on_seed: Callable[[int], None], on_years: Callable[[int], None],
               start_year: int, disabled: bool = False) -> None:
    """The levers by group, then the run's seed and horizon."""
    for group, controls in groups.items():
        with solara.Card(ui.t(f"group.{group.value}"), classes=["qs-group", f"qs-group-{group.value}"],
                         margin=0):
            for c in controls:
                lever_control(c, values.get(c.key, c.lever.value), on_lever, ui, disabled)
    with solara.Card(ui.t("group.run"), classes=["qs-group", "qs-group-run"], margin=0):
        NumberControl(label=ui.t("years"), value=float(years), on_value=lambda x: on_years(int(round(x))),
                      low=YEARS_RANGE[0], high=YEARS_RANGE[1], step=1, digits=0,
                      unit=ui.t("unit.years"),
                      shown=f"{ui.years(years)} ({ui.span(start_year, years)})",
                      range_text=ui.t("range", low=str(YEARS_RANGE[0]), high=str(YEARS_RANGE[1])),
                      bounds=YEARS_RANGE, ui=ui, ident="years", disabled=disabled).key("years")
        NumberControl(label=ui.t("seed"), value=float(seed), on_value=lambda x: on_seed(int(round(x))),
                      low=SEED_RANGE[0], high=min(SEED_RANGE[1], 99), step=1, digits=0, unit="",
                      shown=str(seed), range_text=ui.t("range", low=str(SEED_RANGE[0]),
                                                        high=str(SEED_RANGE[1])),
                      bounds=SEED_RANGE, ui=ui, ident="seed", disabled=disabled).key("seed")
