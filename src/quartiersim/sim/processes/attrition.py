"""Process 9, volunteer attrition and burnout (ODD 7.8): volunteers quit with a monthly
hazard set by how well their point coordinates them and how overloaded their offer is."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from quartiersim.sim.processes import monthly
from quartiersim.sim.processes.volunteering import stop_volunteering

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel


def volunteers_quit_or_stay(model: QuarterModel) -> None:
    """Volunteers quit with a monthly hazard between the coordinated and the
    uncoordinated attrition rate (by the coordinated share of hours at their point),
    raised by overload (burnout: demand over capacity at their point and domain, the
    factor rising linearly to ``volunteering.overload_quit_multiplier`` at twice the
    capacity). Reads ``model.month.coordinated_share`` and ``model.month.load`` (this
    month's matching); writes the volunteers and ``model.totals``."""
    a, vol, month = model.residents, model.config.volunteering, model.month
    vols = np.flatnonzero(a.volunteer_hours > 0)
    model.totals.volunteer_months += len(vols)
    if len(vols) == 0:
        return
    pt, dom = a.volunteer_point[vols], a.volunteer_domain[vols]
    coordinated = np.where(pt >= 0, month.coordinated_share[np.maximum(pt, 0)], 0.0)
    annual = coordinated * vol.attrition_per_year_coordinated + \
        (1 - coordinated) * vol.attrition_per_year_uncoordinated
    load = np.where(pt >= 0, month.load[np.maximum(pt, 0), dom], 0.0)
    overload = 1.0 + (vol.overload_quit_multiplier - 1.0) * np.clip(load - 1.0, 0.0, 1.0)
    p = monthly(annual) * overload
    quitting = vols[model.rng.random(len(vols)) < p]
    stop_volunteering(model, quitting)
    model.totals.volunteers_quit += len(quitting)
