"""End-of-run outcomes: pure functions of a finished model. Their names are API.

Units: coverage is a share in [0, 1]; hours are need-hours over the whole run; money is
EUR over the whole run unless the name says per year.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from quartiersim.config.domains import DOMAINS, CostCategory, Group, Payer
from quartiersim.sim.ledger import PAYERS

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel


def _share(num: float, den: float) -> float:
    return float(num / den) if den > 0 else 1.0


#: Outcome names every summary carries (besides identifiers and per-year balances).
OUTCOMES: tuple[str, ...] = (
    "coverage", *(f"coverage_{d.value}" for d in DOMAINS), *(f"coverage_{g.value}" for g in Group),
    "need_hours", "served_hours", "unmet_need_hours", "mandatory_cases",
    "mandatory_cases_per_1000_residents_year", "municipal_cost_eur",
    "municipal_cost_voluntary_eur", "municipal_cost_mandatory_eur",
    "municipal_cost_per_resident_year_eur", "cost_per_covered_hour_eur", "total_cost_eur",
    *(f"cost_{p.value}_eur" for p in Payer), "volunteer_hours", "volunteers_at_end",
    "volunteer_attrition", "carriers_surviving", "residents_end", "budget_balance_min_eur",
    "consolidation_cut_years", "coverage_after_grant", "npv_municipal_cost_eur",
)

#: Discount rate of ``npv_municipal_cost_eur``, per year (assumption: a real rate of the
#: order used in German public-sector economic appraisals).
DISCOUNT_RATE = 0.03


def summarize(model: QuarterModel) -> dict[str, Any]:
    """The end-of-run summary as one flat dict (the ``--json`` object).

    Definitions:
        coverage: served / needed need-hours over the run (overall, per domain, per group;
            1.0 where nothing was needed). A resident in a mandatory case keeps the need
            in the denominator, unmet by the offers.
        mandatory_cases: mandatory cases started during the run.
        municipal_cost_eur: everything booked to the municipality (voluntary + mandatory).
        municipal_cost_per_resident_year_eur: municipal cost / mean residents / years.
        cost_per_covered_hour_eur: voluntary spending of all payers / served hours.
        volunteer_attrition: volunteers who quit per volunteer-year (share per year).
        budget_balance_<year>_eur: the municipality's budget balance (revenue - expenses)
            of each closed calendar year.
        coverage_after_grant: coverage over the years after the last funded year of the
            financing model's grant programme; None (JSON null) without a received grant
            or when it runs to the end of the horizon.
        npv_municipal_cost_eur: municipal cost of each year discounted to the start year
            at ``DISCOUNT_RATE`` (year t, 0-based, divided by (1 + r)^t).
    """
    led = model.ledger
    months = model.steps
    years = months / 12.0 if months else 0.0
    series = model.datacollector.get_model_vars_dataframe()
    mean_residents = float(series["residents"].mean()) if len(series) else float(model.residents.alive.sum())
    need, served = float(model.acc_need.sum()), float(model.acc_served.sum())
    out: dict[str, Any] = {"coverage": _share(served, need)}
    for k, d in enumerate(DOMAINS):
        out[f"coverage_{d.value}"] = _share(model.acc_served[k], model.acc_need[k])
    for g, group in enumerate(Group):
        out[f"coverage_{group.value}"] = _share(model.acc_served_group[g], model.acc_need_group[g])
    out["need_hours"] = need
    out["served_hours"] = served
    out["unmet_need_hours"] = need - served
    cases = int(model.new_cases.sum())
    out["mandatory_cases"] = cases
    out["mandatory_cases_per_1000_residents_year"] = (
        cases / mean_residents * 1000.0 / years if years and mean_residents else 0.0)
    vol_m = led.total(Payer.MUNICIPALITY, CostCategory.VOLUNTARY)
    man_m = led.total(Payer.MUNICIPALITY, CostCategory.MANDATORY)
    out["municipal_cost_eur"] = vol_m + man_m
    out["municipal_cost_voluntary_eur"] = vol_m
    out["municipal_cost_mandatory_eur"] = man_m
    out["municipal_cost_per_resident_year_eur"] = (
        (vol_m + man_m) / mean_residents / years if years and mean_residents else 0.0)
    voluntary_all = led.total(category=CostCategory.VOLUNTARY)
    out["cost_per_covered_hour_eur"] = voluntary_all / served if served > 0 else float("nan")
    out["total_cost_eur"] = led.total()
    for p in PAYERS:
        out[f"cost_{p.value}_eur"] = led.total(p)
    out["volunteer_hours"] = float(model.volunteer_hours_total)
    out["volunteers_at_end"] = len(model.volunteer_of_slot)
    vol_years = model.volunteer_months / 12.0
    out["volunteer_attrition"] = model.volunteers_quit / vol_years if vol_years > 0 else 0.0
    out["carriers_surviving"] = len(model.open_carriers())
    out["residents_end"] = int(model.residents.alive.sum())
    balances = [y.balance_eur for y in model.municipality.history]
    out["budget_balance_min_eur"] = float(min(balances)) if balances else float("nan")
    out["consolidation_cut_years"] = sum(y.consolidation_cut for y in model.municipality.history)
    end = model.financing.grant_end_year()
    after = series[series["year"] > end] if end is not None and len(series) else series.iloc[:0]
    need_after = float(after["need_hours"].sum()) if len(after) else 0.0
    out["coverage_after_grant"] = (float(after["served_hours"].sum()) / need_after
                                   if need_after > 0 else None)
    municipal_by_year = led.totals[:, PAYERS.index(Payer.MUNICIPALITY), :].sum(axis=1)
    out["npv_municipal_cost_eur"] = float(sum(v / (1.0 + DISCOUNT_RATE) ** t
                                              for t, v in enumerate(municipal_by_year)))
    for y in model.municipality.history:
        out[f"budget_balance_{y.year}_eur"] = y.balance_eur
    return out


def coverage_by_distance_band(model: QuarterModel, bands_m: tuple[float, ...] = (250, 500, 1000)) -> dict[str, float]:
    """Last month's coverage by walking distance from home to the nearest service point."""
    a = model.residents
    if len(model.space.points) == 0:
        return {}
    nearest = model.space.distance_m.min(axis=0)[a.home_cell]
    need, served = a.need_hours.sum(axis=1), a.served_hours.sum(axis=1)
    edges = (0.0, *bands_m, np.inf)
    out = {}
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = a.alive & (nearest >= lo) & (nearest < hi)
        out[f"{int(lo)}-{'inf' if hi == np.inf else int(hi)}m"] = _share(served[m].sum(), need[m].sum())
    return out


@dataclass(frozen=True)
class CellOutcomes:
    """Outcomes per cell of the layout (flat index row * width + column), over a run or
    the mean over several runs (``runs``) of one cooperation model.

    Attributes:
        need_hours, served_hours: need-hours of the cell's residents over the run (as the
            summary's ``need_hours`` / ``served_hours``, which are their sums), shape
            (n_cells, 6) in ``DOMAINS`` order.
        distance_m: walking distance from the cell to its best point offering each
            domain at the end of the run (trust x distance decay, residents without a
            limitation or language barrier), inf where none; shape (n_cells, 6).
        best_point: that point's index in ``points``, -1 where none; (n_cells, 6).
        residents_start, residents_end: residents living in the cell; (n_cells,).
        land_use: :class:`LandUse` value per cell; (n_cells,).
        points: service points as (letter, kind, name, flat cell index).
    """

    height: int
    width: int
    land_use: np.ndarray
    need_hours: np.ndarray
    served_hours: np.ndarray
    distance_m: np.ndarray
    best_point: np.ndarray
    residents_start: np.ndarray
    residents_end: np.ndarray
    points: tuple[tuple[str, str, str, int], ...]
    runs: int = 1

    @staticmethod
    def mean(runs: Sequence[CellOutcomes]) -> CellOutcomes:
        """The mean over runs of the same layout (distances: over the runs with a point;
        best point: the first run's)."""
        first = runs[0]

        def avg(name: str) -> np.ndarray:
            return np.mean([getattr(r, name) for r in runs], axis=0)

        dist = np.stack([r.distance_m for r in runs])
        finite = np.isfinite(dist)
        with np.errstate(invalid="ignore"):
            mean_dist = np.where(finite.any(axis=0),
                                 np.where(finite, dist, 0.0).sum(axis=0) / finite.sum(axis=0), np.inf)
        return CellOutcomes(first.height, first.width, first.land_use, avg("need_hours"),
                            avg("served_hours"), mean_dist, first.best_point,
                            avg("residents_start"), avg("residents_end"), first.points,
                            sum(r.runs for r in runs))


def cell_outcomes(model: QuarterModel) -> CellOutcomes:
    """Per-cell outcomes of a finished model built with ``track_cells=True``.

    Raises:
        ValueError: the model did not track cells.
    """
    if model.cell_need is None:
        raise ValueError("cell_outcomes needs a model built with track_cells=True")
    sp, a = model.space, model.residents
    n = sp.n_cells
    best = model.best_points_by_domain().T  # (cells, 6)
    cells = np.arange(n)[:, None]
    dist = (np.where(best >= 0, sp.distance_m[np.maximum(best, 0), cells], np.inf)
            if len(sp.points) else np.full((n, len(DOMAINS)), np.inf))
    points = tuple((p.letter, p.kind.value, p.name, p.cell) for p in sp.points)
    return CellOutcomes(
        height=sp.height, width=sp.width, land_use=sp.land_use.astype(np.int64),
        need_hours=model.cell_need.reshape(len(DOMAINS), n).T.copy(),
        served_hours=model.cell_served.reshape(len(DOMAINS), n).T.copy(),
        distance_m=dist, best_point=best, residents_start=model.cell_residents_start.astype(float),
        residents_end=np.bincount(a.home_cell[a.alive], minlength=n).astype(float), points=points)
