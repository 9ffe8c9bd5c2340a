"""Process 3, awareness (ODD 7.3): residents learn of offers through aware ties and the
cooperation model's outreach, and forget offers they do not use."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from quartiersim.config.domains import N_DOMAINS

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel


def aware_ties(model: QuarterModel) -> np.ndarray:
    """Number of aware ties of each slot in each domain, flat domain-major (6 * n,)."""
    return model.aware_tie_counter.count(model.residents.flat("aware"))


def spread_awareness(model: QuarterModel) -> None:
    """Residents learn of offers through aware ties (1 - (1 - p)^k for k aware ties),
    through the cooperation model's outreach, and forget unused offers. Reads awareness
    and last month's service; writes awareness."""
    a, rng, acc = model.residents, model.rng, model.config.access
    aware, served = a.flat("aware"), a.flat("served_hours")
    k_aware = aware_ties(model)
    outreach = model.cooperation.outreach_probability()
    # learning: unaware residents with an aware tie (or reached by outreach)
    can_learn = ~aware & np.tile(a.alive, N_DOMAINS)
    if outreach == 0:
        can_learn &= k_aware > 0
    cand = np.flatnonzero(can_learn)
    k = k_aware[cand]
    by_ties = 1.0 - (1.0 - acc.spread_probability_per_tie) ** np.arange(k.max(initial=0) + 1)
    p_learn = by_ties[k]
    if outreach > 0:
        p_learn = 1.0 - (1.0 - p_learn) * (1.0 - outreach)
    learn = cand[rng.random(len(cand)) < p_learn]
    # forgetting: each aware resident who used no offer last month, with one probability
    # (drawn as a binomial count and a uniform choice of who)
    unused = np.flatnonzero(aware & (served == 0))
    k = rng.binomial(len(unused), acc.forget_probability_per_month)
    forget = unused[rng.choice(len(unused), size=k, replace=False)] if k else unused[:0]
    aware[learn] = True
    aware[forget] = False
