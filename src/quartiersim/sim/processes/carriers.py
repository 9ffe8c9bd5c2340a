"""Process 10, carriers (ODD 7.7): carriers receive their own funds, pay their costs and,
in deficit, cut own staff and finally close (:meth:`~quartiersim.sim.agents.Carrier.settle_month`,
by ``[carrier_behaviour]``); the volunteers of a closed carrier lose their place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quartiersim.sim.processes.volunteering import unplace_volunteers

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel


def carriers_settle(model: QuarterModel) -> None:
    """Every carrier settles the month, in creation order; if one closed, its volunteers
    lose their place. Writes the carriers, the staff stock (cuts, closure), the ledger
    (own funds spent) and volunteer points."""
    was_open = model.open_carriers()
    for c in model.carriers_list:  # model.agents_by_type[Carrier]'s order
        c.settle_month()
    if any(not c.is_open for c in was_open):
        unplace_volunteers(model)
