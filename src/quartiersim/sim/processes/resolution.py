"""Process 8, resolution (ODD 7.5): needs resolve faster the more of them was served;
months in which a need stays mostly unmet count towards its escalation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from quartiersim.sim import episodes

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel


def resolve_needs(model: QuarterModel) -> None:
    """Needs resolve with a probability between the unserved and the served rate, by the
    served share; the unmet-months counter grows while less than
    ``needs.unmet_below_served_share`` of the need is served and restarts otherwise.
    Reads this month's needs and service; writes needs and unmet months; resolved need
    episodes end (:mod:`quartiersim.sim.episodes`)."""
    a, t = model.residents, model.need_tables
    need, served, unmet = a.flat("need_hours"), a.flat("served_hours"), a.flat("unmet_months")
    idx = (need > 0).nonzero()[0]  # open needs, flat domain-major entries k * n + i
    dom = idx // a.n
    share = served[idx] / need[idx]
    p = t.resolve_unserved[dom] + (t.resolve_served[dom] - t.resolve_unserved[dom]) * share
    resolved = model.rng.random(len(idx)) < p
    gone = idx[resolved]
    need[gone] = 0.0
    episodes.end(model, gone, "resolved", recorded_this_month=True)
    # one more unmet month if still open and mostly unmet, else the count restarts
    unmet[idx] = np.where(~resolved & (share < t.unmet_below), unmet[idx] + 1, 0)
