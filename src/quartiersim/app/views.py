"""The model on screen, drawn: the map card (colour mode, cells or quarters) and the
charts of its monthly series. Both redraw after every step (their specs are memoised on
the model, its month, the mode and the language)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import solara

from quartiersim.app.charts import CHARTS, month_of_year, series_spec
from quartiersim.app.i18n import UI
from quartiersim.app.mapview import MODES, default_view, map_spec, view_choices
from quartiersim.app.vega import Chart

if TYPE_CHECKING:
    from quartiersim.app.model import AppModel


def month_text(model: AppModel, ui: UI) -> str:
    """``Monat 6 von 120 · Juni 2020``, or the start (month 0) with its date."""
    with model.lock:
        return _month_text(model, ui)


def _month_text(model: AppModel, ui: UI) -> str:
    q = model.quarter
    total = 12 * model.years
    start = q.config.meta.start_year
    if q.steps == 0:
        return ui.t("month.start", date=ui.month_name(start, 1))
    df = model.datacollector.get_model_vars_dataframe()
    year, month = ((int(df["year"].iloc[-1]), month_of_year(df["month"].iloc[-1])) if len(df)
                   else (start, 1))
    text = ui.t("month.status", month=q.steps, total=total, date=ui.month_name(year, month))
    return f"{text} · {ui.t('month.end')}" if not model.running else text


def short_month(model: AppModel, ui: UI) -> str:
    """``Monat 6 · Juni 2020`` (month 0: the start month)."""
    q = model.quarter
    df = model.datacollector.get_model_vars_dataframe()
    if q.steps == 0 or not len(df):
        year, month = q.config.meta.start_year, 1
    else:
        year, month = int(df["year"].iloc[-1]), month_of_year(df["month"].iloc[-1])
    return ui.t("month.short", month=q.steps, date=ui.month_name(year, month))


@solara.component
def MapCard(model: AppModel, steps: int, ui: UI) -> None:
    """The map of the model's month with the colour mode and (where offered) the view."""
    mode, set_mode = solara.use_state("unmet")
    views = solara.use_memo(lambda: view_choices(model.quarter.space), [id(model)])
    view, set_view = solara.use_state(default_view(model.quarter.space))
    if view not in views:
        view = views[0]
    def draw() -> dict:
        with model.lock:  # not while Play steps the model in its thread
            return map_spec(model.quarter, ui, mode, view)

    spec = solara.use_memo(draw, [id(model), steps, mode, view, ui.lang])
    with model.lock:
        when = short_month(model, ui)
    with solara.Card(classes=["qs-card", "quarter-map"], margin=0):
        with solara.Row(gap="8px", style={"flex-wrap": "wrap", "align-items": "center"}):
            with solara.ToggleButtonsSingle(value=mode, on_value=set_mode, dense=True,
                                            classes=["qs-map-mode"]):
                for key in MODES:
                    solara.Button(ui.t(f"map.mode.{key}"), value=key, text=True, small=True)
            if len(views) > 1:
                with solara.ToggleButtonsSingle(value=view, on_value=set_view, dense=True,
                                                classes=["qs-map-view"]):
                    for key in views:
                        solara.Button(ui.t(f"map.view.{key}"), value=key, text=True, small=True)
        solara.Text(when, classes=["qs-map-when"])
        Chart(spec, classes=["qs-map-chart"])


@solara.component
def SeriesCharts(model: AppModel, steps: int, ui: UI) -> None:
    """The charts of the model's monthly series; before the first month a note instead."""
    def series():
        with model.lock:
            return model.datacollector.get_model_vars_dataframe()

    df = solara.use_memo(series, [id(model), steps])
    specs = solara.use_memo(lambda: [series_spec(c, df, ui) for c in CHARTS], [id(model), steps, ui.lang])
    for chart, spec in zip(CHARTS, specs):
        with solara.Card(classes=["qs-card", "series-chart", f"chart-{chart.key}"], margin=0):
            if spec is None:
                solara.Text(ui.t(chart.title), classes=["qs-chart-title"])
                solara.Text(ui.t("chart.empty"), classes=["qs-chart-empty"])
            else:
                Chart(spec)
