"""The quarter map as a Vega-Lite spec (drawn by the browser as SVG).

Cells are coloured by unmet need, coverage, residents or volunteers of the month on
screen (aggregated per cell from the model's arrays with ``np.bincount``: the cost of a
draw does not grow with the residents). Barriers and crossings are grey, service points
symbols by kind with their letters placed where they overlap neither another letter nor a
symbol (:func:`place_labels`; a letter that fits nowhere is left to the tooltip). All
legends sit below the map, inside its width.

A georeferenced scenario (``[space.georeference]``, e.g. made by ``quartiersim import``)
is drawn in its real coordinates (metres east and north in its CRS, with axes); others on
a local grid without axes. A large layout (more than :data:`CELL_VIEW_MAX` cells, e.g. the
600,000-resident city) is drawn per quarter: the blocks of the layout between roads and
barriers (:func:`quarter_blocks`), each one rectangle with its totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import ndimage

from quartiersim.app.i18n import UI
from quartiersim.config.domains import LandUse, PointKind

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel
    from quartiersim.sim.space import QuarterSpace

VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
#: Largest layout drawn cell by cell; larger ones are drawn per quarter.
CELL_VIEW_MAX = 6_000
#: A layout of more cells in at least :data:`MIN_QUARTERS` blocks is a city: it opens
#: per quarter.
CITY_CELLS = 1_600
MIN_QUARTERS = 4
#: The map's largest side in pixels.
MAP_PX = 340
#: Pixels the axes of a georeferenced map take beside it.
AXES_PX = 70
#: Map colour modes: key -> (legend text id, Vega colour scheme, value is a share).
MODES: dict[str, tuple[str, str, bool]] = {
    "unmet": ("map.legend.unmet", "reds", True),
    "coverage": ("map.legend.coverage", "greens", True),
    "residents": ("map.legend.residents", "blues", False),
    "volunteers": ("map.legend.volunteers", "purples", False),
}
POINT_STYLE: dict[PointKind, tuple[str, str]] = {
    PointKind.MUNICIPAL_OFFICE: ("square", "#1f4e9c"),
    PointKind.CARRIER_PREMISES: ("diamond", "#8a3ea8"),
    PointKind.CENTRE_SITE: ("cross", "#d17a00"),
    PointKind.MEETING_POINT_SITE: ("triangle-up", "#1b8a5a"),
}
#: Pixels: service point symbol radius, letter font size, letter width.
SYMBOL_R, FONT_PX, LETTER_W = 7.0, 11, 8.0
#: Candidate letter offsets from the symbol's centre, in pixels (first that fits wins).
LABEL_OFFSETS: tuple[tuple[float, float], ...] = (
    (13, -10), (13, 10), (-13, -10), (-13, 10), (14, 0), (-14, 0), (0, -15), (0, 15))
#: Pixels: a legend's title and one entry's height, the gap between legends (legends sit
#: below the map, one under the other, so none is wider than the map's card).
LEGEND_TITLE_PX, LEGEND_ENTRY_PX, LEGEND_GAP_PX, GRADIENT_LEGEND_PX = 16, 16, 8, 44


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


def quarter_blocks(land_use: np.ndarray, width: int) -> tuple[np.ndarray, int]:
    """The quarters of a layout: connected blocks of cells (four-neighbour) that are not
    road, barrier, crossing or outside.

    Args:
        land_use: flat array (n_cells,) of :class:`LandUse` values.
        width: cells per row.

    Returns:
        ``(labels, n)``: labels (n_cells,) 1..n per cell, 0 for roads, barriers,
        crossings and outside cells; n the number of quarters.
    """
    grid = land_use.reshape(-1, width)
    mask = ~np.isin(grid, [LandUse.ROAD, LandUse.BARRIER, LandUse.CROSSING, LandUse.OUTSIDE])
    labels, n = ndimage.label(mask)
    return labels.ravel(), int(n)


def view_choices(space: QuarterSpace) -> list[str]:
    """The map views a layout offers, the default first: a layout too large to draw cell
    by cell only per quarter; a city (more than :data:`CITY_CELLS` cells in at least
    :data:`MIN_QUARTERS` blocks) per quarter or per cell; a quarter per cell."""
    if space.n_cells > CELL_VIEW_MAX:
        return ["quarters"]
    if space.n_cells > CITY_CELLS and quarter_blocks(space.land_use, space.width)[1] >= MIN_QUARTERS:
        return ["quarters", "cells"]
    return ["cells"]


def default_view(space: QuarterSpace) -> str:
    """The view a map opens with (:func:`view_choices`)."""
    return view_choices(space)[0]


@dataclass(frozen=True)
class Frame:
    """Where the layout lies: cell (row, col) spans x in [x0 + col*s, x0 + (col+1)*s] and
    y in [y0 - (row+1)*s, y0 - row*s] (metres; y north); ``px`` pixels per metre."""

    x0: float
    y0: float
    size: float
    width: int
    height: int
    px: float
    crs: str | None

    @classmethod
    def of(cls, space: QuarterSpace) -> Frame:
        geo = space.georeference
        s = float(space.cell_size_m)
        room = MAP_PX - (AXES_PX if geo else 0)  # real coordinates: axes beside the map
        cell_px = max(2.0, min(26.0, room / max(space.width, space.height)))
        return cls(float(geo.origin_x) if geo else 0.0, float(geo.origin_y) if geo else 0.0,
                   s, space.width, space.height, cell_px / s, geo.crs if geo else None)

    def x(self, col: np.ndarray | float) -> Any:
        return self.x0 + np.asarray(col) * self.size

    def y(self, row: np.ndarray | float) -> Any:
        return self.y0 - np.asarray(row) * self.size

    @property
    def extent(self) -> tuple[list[float], list[float]]:
        return ([self.x0, self.x0 + self.width * self.size],
                [self.y0 - self.height * self.size, self.y0])


def place_labels(centres_px: list[tuple[float, float]], texts: list[str], width_px: float,
                 height_px: float) -> list[tuple[float, float] | None]:
    """Offsets (dx, dy) in pixels for a label beside each symbol, or None where no
    candidate of :data:`LABEL_OFFSETS` keeps the label clear of every other label and
    symbol and inside the map. Greedy, in the given order."""
    boxes: list[tuple[float, float, float, float]] = []
    symbols = [(x - SYMBOL_R, y - SYMBOL_R, x + SYMBOL_R, y + SYMBOL_R) for x, y in centres_px]

    def overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
        return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]

    out: list[tuple[float, float] | None] = []
    for (x, y), text in zip(centres_px, texts):
        w, h = LETTER_W * max(1, len(text)) + 2, FONT_PX + 2
        placed = None
        for dx, dy in LABEL_OFFSETS:
            cx, cy = x + dx, y + dy
            box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            inside = box[0] >= 0 and box[1] >= 0 and box[2] <= width_px and box[3] <= height_px
            if inside and not any(overlaps(box, b) for b in boxes + symbols):
                placed = (dx, dy)
                boxes.append(box)
                break
        out.append(placed)
    return out


def _colour(mode: str, ui: UI) -> dict[str, Any]:
    text_id, scheme, share = MODES[mode]
    scale: dict[str, Any] = {"scheme": scheme, "zero": True}
    if share:
        scale["domain"] = [0, 100]
    return {"field": "value", "type": "quantitative", "title": ui.t(text_id), "scale": scale,
            "legend": {"orient": "bottom", "direction": "horizontal", "gradientLength": 160}}


def _values(agg: dict[str, np.ndarray], mode: str) -> np.ndarray:
    if mode == "unmet":
        return 100.0 * agg["unmet_share"]
    if mode == "coverage":
        return 100.0 * agg["coverage"]
    return agg[mode]


def map_spec(quarter: QuarterModel, ui: UI, mode: str = "unmet",
             view: str | None = None) -> dict[str, Any]:
    """The map of the model's month on screen as a Vega-Lite spec.

    Args:
        quarter: the model.
        ui: language (legend and tooltip texts, number formats).
        mode: a key of :data:`MODES`.
        view: ``"cells"`` or ``"quarters"`` (default :func:`default_view`).

    Returns:
        The spec; the month's values are its dataset ``cells`` (``datasets``), the rest
        depends only on the layout, mode, view and language, so the browser updates the
        drawn map's data after a step instead of drawing it anew.

    Raises:
        KeyError: an unknown mode.
    """
    if mode not in MODES:
        raise KeyError(f"map mode {mode!r}: allowed: {', '.join(MODES)}")
    sp = quarter.space
    view = view or default_view(sp)
    frame = Frame.of(sp)
    agg = cell_aggregates(quarter)
    if view == "quarters":
        data, n_q = _quarter_rows(sp, frame, agg, mode, ui)
        scope = ui.t("map.quarters", n=n_q)
    else:
        data = _cell_rows(sp, frame, agg, mode, ui)
        scope = ui.t("map.cells", size=f"{sp.cell_size_m:.0f}")
    (xd, yd) = frame.extent
    axes = frame.crs is not None
    x = {"field": "x", "type": "quantitative", "scale": {"domain": xd, "nice": False, "zero": False},
         "axis": ({"title": ui.t("map.east", crs=frame.crs), "format": "d", "tickCount": 4,
                   "labelFlush": True} if axes else None)}
    y = {"field": "y", "type": "quantitative", "scale": {"domain": yd, "nice": False, "zero": False},
         "axis": ({"title": ui.t("map.north", crs=frame.crs), "format": "d", "tickCount": 4,
                   "labelFlush": True} if axes else None)}
    pos = {"x": x, "x2": {"field": "x2"}, "y": y, "y2": {"field": "y2"}}
    colour = _colour(mode, ui)
    tip_value = {"field": "shown", "type": "nominal", "title": ui.t(MODES[mode][0])}
    tips = [{"field": "where", "type": "nominal", "title": ui.t("tip.quarter" if view == "quarters"
                                                                else "tip.cell")},
            {"field": "residents_text", "type": "nominal", "title": ui.t("map.legend.residents")},
            {"field": "need_text", "type": "nominal", "title": ui.t("tip.need")},
            {"field": "served_text", "type": "nominal", "title": ui.t("tip.served")},
            tip_value]
    layers: list[dict[str, Any]] = [
        {"transform": [{"filter": "datum.kind == 'area'"}],
         "mark": {"type": "rect", "color": "#e6e6e6"}, "encoding": {**pos, "tooltip": tips}},
        {"transform": [{"filter": "datum.kind == 'area' && datum.value != null"}],
         "mark": {"type": "rect"}, "encoding": {**pos, "color": colour, "tooltip": tips}},
    ]
    land_domain = [ui.t("land.barrier"), ui.t("land.crossing")]
    if any(d["kind"] == "land" for d in data):
        layers.append(
            {"transform": [{"filter": "datum.kind == 'land'"}], "mark": {"type": "rect"},
             "encoding": {**pos, "tooltip": [{"field": "land", "type": "nominal",
                                                "title": ui.t("map.legend.land")}],
                          "fill": {"field": "land", "type": "nominal", "title": ui.t("map.legend.land"),
                                   "scale": {"domain": land_domain, "range": ["#3a3a3a", "#b5b5b5"]},
                                   "legend": {"orient": "bottom", "direction": "vertical"}}}})
    layers += _point_layers(sp, frame, ui, letters=view != "quarters")
    w_px = round(frame.width * frame.size * frame.px)
    h_px = round(frame.height * frame.size * frame.px)
    _stack_legends(layers, h_px + (40 if axes else 10))
    title = quarter.config.meta.name
    return {"$schema": VEGA_LITE_SCHEMA, "data": {"name": "cells"}, "datasets": {"cells": data},
            "layer": layers,
            "resolve": {"scale": {"color": "independent", "fill": "independent",
                                  "shape": "independent"}},
            "width": w_px, "height": h_px,
            "title": {"text": title, "subtitle": scope, "anchor": "start", "fontSize": 13,
                      "subtitleFontSize": 12, "limit": w_px},
            "config": {"view": {"stroke": None},
                       "legend": {"labelFontSize": 11, "titleFontSize": 11, "titleLimit": w_px,
                                  "labelLimit": w_px},
                       "axis": {"labelFontSize": 10, "titleFontSize": 11}}}


def _stack_legends(layers: list[dict[str, Any]], top: float) -> None:
    """Place the legends below the map, one under the other, from ``top`` pixels (Vega
    would put several bottom legends side by side, wider than the map's card). Channels
    with the same title share one legend (the service points' shape and colour)."""
    y, seen = top, {}
    for layer in layers:
        for enc in layer.get("encoding", {}).values():
            legend = enc.get("legend") if isinstance(enc, dict) else None
            if not isinstance(legend, dict):
                continue
            title = enc.get("title")
            if title not in seen:
                seen[title] = y
                y += (GRADIENT_LEGEND_PX if enc.get("type") == "quantitative" else
                      LEGEND_TITLE_PX + LEGEND_ENTRY_PX * len(enc["scale"]["domain"])) + LEGEND_GAP_PX
            legend.update(orient="none", legendX=0, legendY=seen[title])


def _texts(ui: UI, res: float, need: float, served: float, value: float | None,
           share: bool) -> dict[str, str]:
    shown = ui.t("map.no_need") if value is None else (
        ui.number(value, 1) + ("\u00a0%" if share else "") if share else ui.number(value))
    return {"residents_text": ui.number(res), "need_text": ui.number(need, 1),
            "served_text": ui.number(served, 1), "shown": shown}


def _cell_rows(sp: QuarterSpace, frame: Frame, agg: dict[str, np.ndarray], mode: str,
               ui: UI) -> list[dict[str, Any]]:
    share = MODES[mode][2]
    values = _values(agg, mode)
    rows, cols = np.divmod(np.arange(sp.n_cells), sp.width)
    xs, ys = frame.x(cols), frame.y(rows)
    land_name = {int(LandUse.BARRIER): ui.t("land.barrier"), int(LandUse.CROSSING): ui.t("land.crossing")}
    out: list[dict[str, Any]] = []
    for i in range(sp.n_cells):
        use = int(sp.land_use[i])
        if use == LandUse.OUTSIDE:
            continue
        d: dict[str, Any] = {"x": float(xs[i]), "x2": float(xs[i] + frame.size), "y": float(ys[i]),
                             "y2": float(ys[i] - frame.size)}
        if use in land_name:
            d.update(kind="land", land=land_name[use])
        else:
            v = values[i]
            val = None if np.isnan(v) else round(float(v), 2)
            d.update(kind="area", value=val, where=f"{rows[i] + 1} / {cols[i] + 1}",
                     **_texts(ui, agg["residents"][i], agg["need_hours"][i],
                              agg["served_hours"][i], val, share))
        out.append(d)
    return out


def _quarter_rows(sp: QuarterSpace, frame: Frame, agg: dict[str, np.ndarray], mode: str,
                  ui: UI) -> tuple[list[dict[str, Any]], int]:
    """One value per quarter: drawn on its cells (their exact shape) when the layout is
    small enough, else as its bounding rectangle (a synthetic city's blocks are
    rectangles)."""
    labels, n = quarter_blocks(sp.land_use, sp.width)
    share_mode = MODES[mode][2]
    sums = {k: np.bincount(labels, weights=agg[k], minlength=n + 1)
            for k in ("residents", "volunteers", "need_hours", "served_hours")}
    need, served = sums["need_hours"], sums["served_hours"]
    if share_mode:
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = np.where(need > 0, np.minimum(served / np.where(need > 0, need, 1.0), 1.0), np.nan)
        values = 100.0 * (cov if mode == "coverage" else 1.0 - cov)
    else:
        values = sums[mode]
    texts = [None] + [_texts(ui, sums["residents"][q], need[q], served[q],
                             None if np.isnan(values[q]) else float(values[q]), share_mode)
                      for q in range(1, n + 1)]
    rows, cols = np.divmod(np.arange(sp.n_cells), sp.width)
    out: list[dict[str, Any]] = []
    if sp.n_cells <= CELL_VIEW_MAX:
        for i in np.flatnonzero(labels):
            q = int(labels[i])
            val = None if np.isnan(values[q]) else round(float(values[q]), 2)
            x, y = float(frame.x(cols[i])), float(frame.y(rows[i]))
            out.append({"kind": "area", "x": x, "x2": x + frame.size, "y": y, "y2": y - frame.size,
                        "value": val, "where": str(q), **texts[q]})
        return out, n
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n + 2))
    for q in range(1, n + 1):
        idx = order[bounds[q]:bounds[q + 1]]
        r0, r1, c0, c1 = rows[idx].min(), rows[idx].max(), cols[idx].min(), cols[idx].max()
        val = None if np.isnan(values[q]) else round(float(values[q]), 2)
        out.append({"kind": "area", "x": float(frame.x(c0)), "x2": float(frame.x(c1 + 1)),
                    "y": float(frame.y(r0)), "y2": float(frame.y(r1 + 1)), "value": val,
                    "where": str(q), **texts[q]})
    return out, n


def _point_layers(sp: QuarterSpace, frame: Frame, ui: UI, letters: bool) -> list[dict[str, Any]]:
    if not sp.points:
        return []
    kinds = [k for k in POINT_STYLE if any(p.kind is k for p in sp.points)]
    pts = []
    for p in sp.points:
        r, c = divmod(p.cell, sp.width)
        pts.append({"x": float(frame.x(c + 0.5)), "y": float(frame.y(r + 0.5)), "letter": p.letter,
                    "name": p.name, "kind": ui.point_kind(p.kind.value)})
    kind_names = [ui.point_kind(k.value) for k in kinds]
    shape = {"field": "kind", "type": "nominal", "title": ui.t("map.legend.points"),
             "scale": {"domain": kind_names, "range": [POINT_STYLE[k][0] for k in kinds]},
             "legend": {"orient": "bottom", "direction": "vertical"}}
    colour = {"field": "kind", "type": "nominal", "title": ui.t("map.legend.points"),
              "scale": {"domain": kind_names, "range": [POINT_STYLE[k][1] for k in kinds]},
              "legend": {"orient": "bottom", "direction": "vertical"}}
    tips = [{"field": "letter", "type": "nominal", "title": ui.t("tip.letter")},
            {"field": "name", "type": "nominal", "title": ui.t("tip.name")},
            {"field": "kind", "type": "nominal", "title": ui.t("tip.kind")}]
    size = 150 if letters else 40
    layers: list[dict[str, Any]] = [
        {"data": {"values": pts},
         "mark": {"type": "point", "filled": True, "size": size, "stroke": "white",
                  "strokeWidth": 1, "opacity": 1},
         "encoding": {"x": {"field": "x", "type": "quantitative"},
                      "y": {"field": "y", "type": "quantitative"},
                      "shape": shape, "color": colour, "tooltip": tips}}]
    if letters:
        w_px, h_px = frame.width * frame.size * frame.px, frame.height * frame.size * frame.px
        centres = [((d["x"] - frame.x0) * frame.px, (frame.y0 - d["y"]) * frame.px) for d in pts]
        offsets = place_labels(centres, [d["letter"] for d in pts], w_px, h_px)
        labelled = [{**d, "x": d["x"] + dx / frame.px, "y": d["y"] - dy / frame.px}
                    for d, off in zip(pts, offsets) if off is not None for dx, dy in [off]]
        if labelled:
            layers.append({"data": {"values": labelled},
                           "mark": {"type": "text", "fontWeight": "bold", "fontSize": FONT_PX,
                                    "baseline": "middle", "align": "center"},
                           "encoding": {"x": {"field": "x", "type": "quantitative"},
                                        "y": {"field": "y", "type": "quantitative"},
                                        "text": {"field": "letter", "type": "nominal"},
                                        "tooltip": tips}})
    return layers
