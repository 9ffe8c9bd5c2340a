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


def offered_nearby(model: QuarterModel) -> np.ndarray:
    """Whether each cell's residents can hear of offers in each domain: the domain was
    offered (had capacity) last month at one of the cell's candidate places; bool
    (n_cells, 6). Before the first month has been matched nothing was offered yet."""
    return _nearby(model, _offering(model))


def _offering(model: QuarterModel) -> np.ndarray | None:
    """Which points offered which domain last month (had capacity), (points, 6) bool;
    None before the first month has been matched or without candidate places."""
    t, month = model.trust, model.month
    if not month.matched or t.k == 0:
        return None
    return month.capacity_hours > 1e-9


def _nearby(model: QuarterModel, offering: np.ndarray | None) -> np.ndarray:
    """:func:`offered_nearby` for the points' ``offering`` (:func:`_offering`)."""
    if offering is None:
        return np.zeros((model.space.n_cells, N_DOMAINS), bool)
    return offering[model.trust.point].any(axis=1)  # (cells, K, 6) -> (cells, 6)


def _offered_entries(model: QuarterModel) -> np.ndarray:
    """:func:`offered_nearby` for each slot and domain, flat domain-major (6 n,); kept
    (on ``model.trust``) while the offer pattern and the slots stay the same (both change
    rarely). The pattern is what :func:`offered_nearby` is a function of (which points
    offer which domain, or none yet), so a month with the same offers costs one
    comparison."""
    t, offering = model.trust, _offering(model)
    key = (b"" if offering is None else offering.tobytes(), model.residents.n)
    if t.offered_memo is None or t.offered_memo[0] != key:
        offered = _nearby(model, offering)
        t.offered_memo = (key, offered.T[:, model.residents.home_cell].reshape(-1))
    return t.offered_memo[1]


def spread_awareness(model: QuarterModel) -> None:
    """Residents learn of offers through aware ties (1 - (1 - p)^k for k aware ties),
    through the cooperation model's outreach, and forget unused offers. Only offers that
    exist can be learnt of: a resident learns in a domain only when it is offered at one
    of its home cell's candidate places (:func:`offered_nearby`). Reads awareness, last
    month's service and capacity; writes awareness."""
    a, rng, acc = model.residents, model.rng, model.config.access
    aware, served = a.flat("aware"), a.flat("served_hours")
    k_aware = aware_ties(model)
    outreach = model.cooperation.outreach_probability()
    # learning: unaware living residents with an aware tie (or reached by outreach), in
    # domains offered within their reach
    can_learn = ~aware
    can_learn &= _offered_entries(model)
    can_learn.reshape(N_DOMAINS, -1)[:] &= a.alive  # living residents, in every domain
    if outreach == 0:
        can_learn &= k_aware > 0
    cand = can_learn.nonzero()[0]
    k = k_aware[cand]
    by_ties = 1.0 - (1.0 - acc.spread_probability_per_tie) ** np.arange(k.max(initial=0) + 1)
    if outreach > 0:  # per number of aware ties, like the ties' chance
        by_ties = 1.0 - (1.0 - by_ties) * (1.0 - outreach)
    p_learn = by_ties[k]
    learn = cand[rng.random(len(cand)) < p_learn]
    # forgetting: each aware resident who used no offer last month, with one probability
    # (drawn as a binomial count and a uniform choice of who)
    unused = (aware & (served == 0)).nonzero()[0]
    k = rng.binomial(len(unused), acc.forget_probability_per_month)
    forget = unused[rng.choice(len(unused), size=k, replace=False)] if k else unused[:0]
    aware[learn] = True
    aware[forget] = False
