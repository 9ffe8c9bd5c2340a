"""Drawing components of the app: the quarter map and the time series (Vega-Lite,
drawn by the browser).

The map aggregates the model's arrays per grid cell (``np.bincount`` over the residents'
home cells): no marker per resident, so one draw costs the same for 800 or 80,000
residents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import solara
from mesa.visualization.utils import update_counter

from quartiersim.config.domains import LandUse, PointKind

if TYPE_CHECKING:
    from quartiersim.app.model import AppModel
    from quartiersim.sim.model import QuarterModel

#: What the map colours cells by: label -> (key of cell_aggregates, Vega colour scheme).
MAP_MODES: dict[str, tuple[str, str]] = {
    "Unmet need": ("unmet_share", "reds"),
    "Coverage": ("coverage", "greens"),
}

POINT_STYLE: dict[PointKind, tuple[str, str]] = {
    PointKind.MUNICIPAL_OFFICE: ("square", "#1f4e9c"),
    PointKind.CARRIER_PREMISES: ("diamond", "#8a3ea8"),
    PointKind.CENTRE_SITE: ("cross", "#d17a00"),
    PointKind.MEETING_POINT_SITE: ("triangle-up", "#1b8a5a"),
}


def cell_aggregates(quarter: QuarterModel) -> dict[str, np.ndarray]:
    """Per-cell totals of the living residents, each shape (n_cells,).

    Keys: ``residents`` (persons), ``volunteers`` (active volunteers by home cell),
    ``need_hours`` and ``served_hours`` (this month, all domains), ``coverage``
    (served / needed, NaN where nothing is needed) and ``unmet_share`` (1 - coverage).
    """
    a = quarter.residents
    n = quarter.space.n_cells
    alive = a.alive
    cells = a.home_cell[alive]
    residents = np.bincount(cells, minlength=n).astype(float)
    need = np.bincount(cells, weights=a.need_hours[alive].sum(axis=1), minlength=n)
    served = np.bincount(cells, weights=a.served_hours[alive].sum(axis=1), minlength=n)
    vol = alive & (a.volunteer_hours > 0)
    volunteers = np.bincount(a.home_cell[vol], minlength=n).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        coverage = np.where(need > 0, np.minimum(served / np.where(need > 0, need, 1.0), 1.0), np.nan)
    return {"residents": residents, "volunteers": volunteers, "need_hours": need,
            "served_hours": served, "coverage": coverage, "unmet_share": 1.0 - coverage}


LAND_NAMES = {int(LandUse.BARRIER): "barrier", int(LandUse.CROSSING): "crossing"}
VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"


def map_spec(quarter: QuarterModel, mode: str = "Unmet need") -> dict[str, Any]:
    """The quarter as a Vega-Lite spec (drawn by the browser): cells coloured by ``mode``
    (a key of :data:`MAP_MODES`; grey where nothing is needed), barriers and crossings,
    volunteers' density (circle area ~ volunteers living in the cell) and the service
    points with their letters. Hovering a cell shows its totals.

    Written as a plain dict: building the same chart with Altair objects costs ~90 ms per
    step on a 2-core machine, this ~2 ms.
    """
    key, scheme = MAP_MODES[mode]
    agg = cell_aggregates(quarter)
    sp = quarter.space
    rows, cols = np.divmod(np.arange(sp.n_cells), sp.width)
    value = agg[key]
    land = [LAND_NAMES.get(int(u), "") for u in sp.land_use]
    cells = [{"row": int(r), "col": int(c), "value": None if np.isnan(v) else round(float(v), 3),
              "residents": int(n), "volunteers": int(k), "need_hours": round(float(nh), 1),
              "served_hours": round(float(sh), 1), "land": lu}
             for r, c, v, n, k, nh, sh, lu in zip(rows, cols, value, agg["residents"],
                                                  agg["volunteers"], agg["need_hours"],
                                                  agg["served_hours"], land)]
    points = [{"row": p.cell // sp.width, "col": p.cell % sp.width, "letter": p.letter,
               "kind": p.kind.value.replace("_", " "), "name": p.name} for p in sp.points]
    size = max(6, min(18, 288 // max(sp.width, sp.height)))  # pixels per cell: fits a grid card
    x = {"field": "col", "type": "ordinal", "axis": None}
    y = {"field": "row", "type": "ordinal", "axis": None}
    kinds = [k.value.replace("_", " ") for k in POINT_STYLE]
    label = mode.lower()
    layers: list[dict[str, Any]] = [
        {"mark": {"type": "rect", "color": "#eeeeee"}, "encoding": {"x": x, "y": y}},
        {"transform": [{"filter": "datum.value != null"}], "mark": "rect",
         "encoding": {"x": x, "y": y,
                      "color": {"field": "value", "type": "quantitative", "title": f"{label} (share)",
                                "scale": {"scheme": scheme, "domain": [0, 1]}},
                      "tooltip": [{"field": f, "type": "quantitative"} for f in
                                  ("row", "col", "residents", "volunteers", "need_hours",
                                   "served_hours")] +
                                 [{"field": "value", "type": "quantitative", "title": label}]}},
        {"transform": [{"filter": "datum.land != ''"}], "mark": "rect",
         "encoding": {"x": x, "y": y, "tooltip": [{"field": "land", "type": "nominal"}],
                      "fill": {"field": "land", "type": "nominal", "title": "",
                               "scale": {"domain": ["barrier", "crossing"],
                                         "range": ["#333333", "#bbbbbb"]}}}},
        {"transform": [{"filter": "datum.volunteers > 0"}],
         "mark": {"type": "circle", "fill": None, "stroke": "#0a6ebd", "strokeWidth": 1.2},
         "encoding": {"x": x, "y": y,
                      "size": {"field": "volunteers", "type": "quantitative",
                               "title": "volunteers living here", "scale": {"range": [10, 300]}},
                      "tooltip": [{"field": "volunteers", "type": "quantitative"}]}},
    ]
    if points:
        layers += [
            {"data": {"values": points},
             "mark": {"type": "point", "filled": True, "size": 160, "stroke": "white",
                      "strokeWidth": 1, "opacity": 1},
             "encoding": {"x": x, "y": y,
                          "shape": {"field": "kind", "type": "nominal", "title": "service point",
                                    "scale": {"domain": kinds,
                                              "range": [s for s, _ in POINT_STYLE.values()]}},
                          "color": {"field": "kind", "type": "nominal", "legend": None,
                                    "scale": {"domain": kinds,
                                              "range": [c for _, c in POINT_STYLE.values()]}},
                          "tooltip": [{"field": f, "type": "nominal"} for f in ("letter", "name", "kind")]}},
            {"data": {"values": points},
             "mark": {"type": "text", "dx": 9, "dy": -9, "fontWeight": "bold", "fontSize": 11},
             "encoding": {"x": x, "y": y, "text": {"field": "letter", "type": "nominal"}}},
        ]
    return {"$schema": VEGA_LITE_SCHEMA, "data": {"values": cells}, "layer": layers,
            "resolve": {"scale": {"color": "independent", "size": "independent"}},
            "width": size * sp.width, "height": size * sp.height,
            "title": f"{quarter.config.meta.name}: month {quarter.steps} "
                     f"(cells of {sp.cell_size_m:.0f} m)"}


@solara.component
def QuarterMap(model: AppModel) -> None:
    """The map card: a colour-mode toggle and the chart (redrawn after every step).

    The spec goes to the widget in an effect, not as an element argument: reacton would
    otherwise walk its ~2,000 values on every render looking for child elements.
    """
    counter = update_counter.get()
    mode, set_mode = solara.use_state("Unmet need")
    chart = solara.use_memo(lambda: solara.widgets.VegaLite(spec={}), [])

    def draw() -> None:
        chart.spec = map_spec(model.quarter, mode)

    solara.use_effect(draw, [model, model.quarter.steps, counter, mode])
    with solara.Column(classes=["quarter-map"]):
        solara.ToggleButtonsSingle(value=mode, values=list(MAP_MODES), on_value=set_mode)
        solara.Column(children=[chart])


def series_spec(model: AppModel, measures: dict[str, str], title: str, ylabel: str,
                share: bool = False) -> dict[str, Any]:
    """A Vega-Lite line chart of DataCollector series (one line per measure, by month)."""
    df = model.datacollector.get_model_vars_dataframe()
    values = [{"month": i + 1, "measure": m, "value": float(v)}
              for m in measures if m in df for i, v in enumerate(df[m].to_numpy())]
    y: dict[str, Any] = {"field": "value", "type": "quantitative", "title": ylabel}
    if share:
        y["scale"] = {"domain": [0, 1]}
    elif values:  # head room above the highest value (a constant budget is no border line)
        y["scale"] = {"domain": [0, 1.15 * max(max(d["value"] for d in values), 1.0)]}
    return {"$schema": VEGA_LITE_SCHEMA, "data": {"values": values}, "title": title,
            "width": 340, "height": 180, "mark": {"type": "line", "point": len(values) < 40},
            "encoding": {
                "x": {"field": "month", "type": "quantitative", "title": "month",
                      "axis": {"tickMinStep": 1}},
                "y": y,
                "color": {"field": "measure", "type": "nominal", "title": "",
                          "scale": {"domain": list(measures), "range": list(measures.values())},
                          "legend": {"orient": "bottom"}},
                "tooltip": [{"field": "month", "type": "quantitative"},
                            {"field": "measure", "type": "nominal"},
                            {"field": "value", "type": "quantitative", "format": ",.3~f"}]}}


@solara.component
def SeriesChart(model: AppModel, measures: dict[str, str], title: str, ylabel: str,
                share: bool = False) -> None:
    """A time series of the model's DataCollector, redrawn after every step.

    Like Mesa's ``make_plot_component(..., backend="altair")`` but the spec is a plain
    dict set on the widget in an effect: Mesa's component builds Altair objects and
    passes the spec through reacton, ~60 ms per chart and step here, which alone would
    exceed the app's 300 ms budget per step with three charts.
    """
    counter = update_counter.get()
    chart = solara.use_memo(lambda: solara.widgets.VegaLite(spec={}), [])

    def draw() -> None:
        chart.spec = series_spec(model, measures, title, ylabel, share)

    solara.use_effect(draw, [model, counter])
    solara.Column(children=[chart], classes=["series-chart"])


# Components (not plain functions), so SolaraViz does not wrap them in a second
# component that re-renders on every step as well.
@solara.component
def CoverageChart(model: AppModel) -> None:
    SeriesChart(model, {"coverage": "#2a9d4b"}, "Demand coverage (served / needed need-hours)",
                "share", share=True)


@solara.component
def MandatoryCasesChart(model: AppModel) -> None:
    SeriesChart(model, {"active_mandatory_cases": "#c0392b", "new_mandatory_cases": "#e67e22"},
                "Mandatory cases (Pflichtleistungen)", "cases")


@solara.component
def BudgetChart(model: AppModel) -> None:
    SeriesChart(model, {"voluntary_budget_eur": "#1f4e9c"},
                "Municipal voluntary budget for the quarter", "EUR per year")


#: The time-series components, in page order.
PLOTS = [CoverageChart, MandatoryCasesChart, BudgetChart]
