"""Exogenous fiscal shocks (the stress test's ``[[shocks]]``): a change of the city's tax
revenue for some years and a change of the number of transfer recipients in the quarter.
Ordinary runs apply none; :mod:`quartiersim.studies.stress` runs with and without them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from quartiersim.config.schema import Shock
    from quartiersim.sim.model import QuarterModel


def revenue_factors(shocks: Sequence[Shock]) -> dict[int, float]:
    """Calendar year -> factor on the city's revenue (product over active shocks)."""
    out: dict[int, float] = {}
    for s in shocks:
        for y in range(s.year, s.year + s.duration_years):
            out[y] = out.get(y, 1.0) * (1.0 + s.tax_revenue_change)
    return out


def apply_transfer_shocks(model: QuarterModel, calendar_year: int) -> None:
    """At the start of ``calendar_year``: residents become (or stop being) transfer
    recipients by each shock's ``transfer_recipient_change`` (relative to the current
    number of recipients), chosen at random among the alive residents.

    The draws come from ``model.shock_rng``, a child generator spawned from ``model.rng``
    on the first such shock (common random numbers: the model's own random stream stays
    the same as in the unshocked run)."""
    a = model.residents
    for s in model.shocks:
        if s.year != calendar_year or s.transfer_recipient_change == 0:
            continue
        if model.shock_rng is None:
            model.shock_rng = model.rng.spawn(1)[0]
        rec = np.flatnonzero(a.alive & a.transfer)
        k = int(round(abs(s.transfer_recipient_change) * len(rec)))
        pool = np.flatnonzero(a.alive & ~a.transfer) if s.transfer_recipient_change > 0 else rec
        k = min(k, len(pool))
        if k:
            a.transfer[model.shock_rng.choice(pool, size=k, replace=False)] = s.transfer_recipient_change > 0
