"""Process 11, volunteer attrition and burnout (ODD 7.8): volunteers quit with a monthly
hazard set by what their work achieves (their hours coordinated and used) and how
overloaded their offer is."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from quartiersim.sim.processes import monthly
from quartiersim.sim.processes.volunteering import stop_volunteering

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel


def quit_probability(model: QuarterModel, vols: np.ndarray) -> np.ndarray:
    """Monthly quit probability of the volunteers ``vols`` (slots), shape (len(vols),):
    the annual attrition between ``volunteering.attrition_per_year_coordinated`` and
    ``attrition_per_year_uncoordinated`` by the results of their hours (the share of the
    hours offered at their point and domain that served residents this month,
    ``model.month.volunteer_results``; 0 without a place), converted to monthly, times
    the overload factor (demand over capacity at their point and domain, rising linearly
    to ``volunteering.overload_quit_multiplier`` at twice the capacity)."""
    a, vol, month = model.residents, model.config.volunteering, model.month
    pt, dom = a.volunteer_point[vols], a.volunteer_domain[vols]
    placed = pt >= 0
    results = np.where(placed, month.volunteer_results[np.maximum(pt, 0), dom], 0.0)
    annual = results * vol.attrition_per_year_coordinated + \
        (1 - results) * vol.attrition_per_year_uncoordinated
    load = np.where(placed, month.load[np.maximum(pt, 0), dom], 0.0)
    overload = 1.0 + (vol.overload_quit_multiplier - 1.0) * (load - 1.0).clip(0.0, 1.0)
    return monthly(annual) * overload


def volunteers_quit_or_stay(model: QuarterModel) -> None:
    """Volunteers quit with :func:`quit_probability`: hours neither coordinated (a lapse
    of coordination deploys only a share of them) nor asked for count as no result, so
    their volunteers quit at the uncoordinated rate (seed 004: participation must show
    results quickly); overload adds burnout. Reads ``model.month`` (this month's
    matching); writes the volunteers and ``model.totals``."""
    a = model.residents
    vols = (a.volunteer_hours > 0).nonzero()[0]
    model.totals.volunteer_months += len(vols)
    if len(vols) == 0:
        return
    quitting = vols[model.rng.random(len(vols)) < quit_probability(model, vols)]
    stop_volunteering(model, quitting)
    model.totals.volunteers_quit += len(quitting)
