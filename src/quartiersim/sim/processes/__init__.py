"""The processes of a month, one module each, in the order of ``QuarterModel.step()``
(docs/ODD.md, section 3 "Process overview and scheduling"):

1. :mod:`~quartiersim.sim.processes.demography` — ageing, deaths, births, moves.
2. :mod:`~quartiersim.sim.processes.needs` — needs arise and escalate into mandatory cases.
3. :mod:`~quartiersim.sim.processes.awareness` — awareness spreads over ties and is forgotten.
4. :mod:`~quartiersim.sim.processes.volunteering` — volunteer activation; placing volunteers.
5. :mod:`~quartiersim.sim.processes.staffing` — vacancies fill, notice runs out, experience grows.
6. :mod:`~quartiersim.sim.processes.matching` — capacity, seeking by trust and distance,
   match and serve, cross-referral.
7. :mod:`~quartiersim.sim.processes.trust` — trust moves with what residents got and
   spreads by word of mouth; then
   :func:`~quartiersim.sim.processes.recording.count_need_and_service`.
8. :mod:`~quartiersim.sim.processes.resolution` — needs resolve.
9. :mod:`~quartiersim.sim.processes.payments` — payments booked to payers.
10. :mod:`~quartiersim.sim.processes.carriers` — carriers settle, cut staff, close.
11. :mod:`~quartiersim.sim.processes.attrition` — volunteers quit (results, burnout).
12. every 12th month :mod:`~quartiersim.sim.processes.year` — the year closes; then the
    next year is planned: fiscal shocks, :mod:`~quartiersim.sim.processes.cofinancing`
    (grant co-financing), the funds, the provision.
13. :mod:`~quartiersim.sim.processes.recording` — the month's statistics.

Each process is a function handed the model; its docstring says what it reads and
writes. State passed between processes lives in ``model.month``
(:class:`~quartiersim.sim.state.MonthState`), sums over the run in ``model.totals``.
"""

from __future__ import annotations

import numpy as np


def monthly(p_year: np.ndarray | float) -> np.ndarray | float:
    """Convert an annual probability to a monthly one: 1 - (1 - min(p, 1))^(1/12)."""
    return 1.0 - (1.0 - np.minimum(p_year, 1.0)) ** (1.0 / 12.0)
