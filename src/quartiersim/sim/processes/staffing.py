"""Process 5, staffing (ODD 7.7): paid posts fill with a lag, notice runs out, new staff
gain experience (:class:`~quartiersim.sim.staff.StaffStock`, ``[staffing]``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel


def staff_come_and_go(model: QuarterModel) -> None:
    """One month of the staff stock: staff whose notice ran out leave, vacancies fill
    with the monthly probability ``1 - exp(-1 / staffing.vacancy_months)``, posts whose
    target fell give notice (carriers) or are left at once (municipality: redeployed),
    experience grows. Reads and writes ``model.staff``; writes ``model.month.hired_fte``
    and ``left_fte``."""
    model.month.hired_fte, model.month.left_fte = model.staff.month()
