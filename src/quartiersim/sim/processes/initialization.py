"""Initialization (ODD 5): organising provision by a cooperation and financing model, and
the spin-up under the status quo before the horizon starts (``[spin_up]``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa import DataCollector

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
    the end of the spin-up): what a previous cooperation model set up is undone
    (municipal staff, carriers' funded staff, premises and overhead), the new one is
    set up. Funds and payments follow at :meth:`plan_year`."""
    self.municipality.staff_fte[:] = 0.0
    self.municipality.coordination_fte[:] = 0.0
    for c in self.carriers_list:
        c.funded_fte[:] = 0.0
        c.funded_coordination_fte = 0.0
        c.point = self.space.point(c.spec.point)
        c.rent_eur_per_month, c.overhead_share = c.spec.rent_eur_per_month, c.spec.overhead_share
    self.cooperation = COOPERATION_MODELS[cooperation](
        self, self.config.cooperation_params(cooperation))
    self.cooperation.setup()
    self.financing = FinancingModel(self, financing)

def spin_up(self: QuarterModel, months: int, keep_bookings: bool = False) -> None:
    """Run ``months`` months before the horizon under the provision in place (the
    status quo), at start-year prices, without shocks, population trend or budget
    closes, so that the need stock, running cases and volunteers reach their
    steady state (docs/ODD.md, 5 "Initialization"). Then the horizon starts: the
    step counter, ledger, run totals, series and budget history begin anew."""
    self.spinning_up = True
    self.plan_year()
    self.run_months(months)
    self.spinning_up = False
    self.steps = 0  # the horizon's month 1 is the next step (Mesa's time runs on)
    self.ledger = Ledger(self.years + 1, keep_entries=keep_bookings)
    self.totals = RunTotals.empty()
    self.municipality.reset()
    for c in self.carriers_list:  # carriers' accounts count the horizon only
        c.received_eur = c.spent_eur = c.rent_paid_eur = c.overhead_paid_eur = 0.0
        c.reserve_start_eur = c.reserve_eur
    a, n_cells = self.residents, self.space.n_cells
    self.cell_residents_start = np.bincount(a.home_cell[a.alive], minlength=n_cells)
    if self.cells is not None:
        self.cells = CellTotals.empty(n_cells)
    self.month_stats = dict.fromkeys(SERIES_KEYS, 0.0)
    self.datacollector = DataCollector(model_reporters=recording.reporters())
