"""Initialization (ODD 5): organising provision by a cooperation and financing model, and
the spin-up under the status quo before the horizon starts (``[spin_up]``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from quartiersim.sim.cooperation import COOPERATION_MODELS
from quartiersim.sim.financing import FinancingModel
from quartiersim.sim.ledger import Ledger
from quartiersim.sim.processes import recording
from quartiersim.sim.processes.recording import SERIES_KEYS
from quartiersim.sim.state import CellTotals, RunTotals

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel



def provide(self: QuarterModel, cooperation: str, financing: str) -> None:
    """Organise provision by ``cooperation`` and ``financing`` (at the start, and at
    the end of the spin-up): carriers are back at their own premises with their own
    rent and overhead, the new cooperation model is set up. Funds, posts and payments
    follow at :meth:`plan_year`: the posts the previous model funded and the new one
    does not end (a carrier's staff after their notice, the municipality's at once) and
    the new model's posts are hired with the vacancy lag (:mod:`quartiersim.sim.staff`)."""
    for c in self.carriers_list:
        c.point = self.space.point(c.spec.point)
        c.rent_eur_per_month, c.overhead_share = c.spec.rent_eur_per_month, c.spec.overhead_share
    self.cooperation = COOPERATION_MODELS[cooperation](
        self, self.config.cooperation_params(cooperation))
    self.cooperation.setup()
    for c in self.carriers_list:  # a carrier's staff work where it is (e.g. in the centre)
        self.staff.point[self.staff.rows(employer=c.number)] = c.point.index
    self.financing = FinancingModel(self, financing)

def spin_up(self: QuarterModel, months: int, keep_bookings: bool = False) -> None:
    """Run ``months`` months before the horizon under the provision in place (the
    status quo), at start-year prices, without shocks, population trend or budget
    closes, so that the need stock, running cases and volunteers reach their
    steady state (docs/ODD.md, 5 "Initialization"). Then the horizon starts: the
    step counter, ledger, run totals, series and budget history begin anew."""
    self.spinning_up = True
    self.plan_year()
    self.staff.establish()  # the status quo's posts are an established structure
    self.run_months(months)
    self.spinning_up = False
    self.steps = 0  # the horizon's month 1 is the next step (Mesa's time runs on)
    self.ledger = Ledger(self.years + 1, keep_entries=keep_bookings)
    self.totals = RunTotals.empty()
    self.municipality.reset()
    for c in self.carriers_list:  # carriers' accounts count the horizon only
        c.received_eur = c.spent_eur = c.rent_paid_eur = c.overhead_paid_eur = 0.0
        c.own_spent_eur = 0.0
        c.income_by_payer = {}
        c.reserve_start_eur = c.reserve_eur
    a, n_cells = self.residents, self.space.n_cells
    self.cell_residents_start = np.bincount(a.home_cell[a.alive], minlength=n_cells)
    if self.cells is not None:
        self.cells = CellTotals.empty(n_cells)
    self.month_stats = dict.fromkeys(SERIES_KEYS, 0.0)
    self.datacollector = recording.MonthlyCollector()
