"""Process 12, the year (ODD 7.9, 7.6): every 12th month the municipal budget year closes
and the consolidation rule applies, the cooperation model sees the year's needs; and the
coming year is planned (at the start and after each close): the financing model states
the funds, the cooperation model spends them, the financing model fixes who pays what.
The model runs the steps of planning in order (``QuarterModel.plan_year``): fiscal
shocks (:mod:`quartiersim.sim.shocks`), grant co-financing
(:mod:`~quartiersim.sim.processes.cofinancing`), then :func:`plan_provision`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from quartiersim.config.domains import N_DOMAINS
from quartiersim.sim.agents import YearClose

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel


def close_year(model: QuarterModel) -> YearClose | None:
    """Close the municipal budget year (:meth:`~quartiersim.sim.agents.Municipality.close_year`:
    balance, consolidation cut or restoration; not in the spin-up, which returns None)
    and let the cooperation model see the year's need-hours by domain
    (``model.totals.year_need_hours``, then zeroed)."""
    year_index = model.steps // 12 - 1
    close = None
    if not model.spinning_up:  # the spin-up keeps the start year's budget
        close = model.municipality.close_year(year_index, model.start_year + year_index)
    model.cooperation.observe_year(model.totals.year_need_hours)
    model.totals.year_need_hours = np.zeros(N_DOMAINS)
    return close


def plan_provision(model: QuarterModel, year_index: int, calendar_year: int) -> None:
    """Carriers plan their own-funded posts for the year
    (:meth:`~quartiersim.sim.agents.Carrier.plan_own_posts`), each instrument states its
    money for the year (grants: as decided by co-financing), the cooperation model
    spends it, and the financing model fixes how a payment of each purpose is split
    among payers."""
    for c in model.carriers_list:
        c.plan_own_posts()
    funds = model.financing.funds_for_year(year_index, calendar_year)
    model.cooperation.plan_year(funds)
    model.financing.plan_bookings(model.cooperation.payments)
