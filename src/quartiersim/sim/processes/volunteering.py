"""Process 4, volunteer activation (ODD 7.8): residents of volunteering age start
volunteering, drawn by the volunteers they know whose work shows results; volunteers
whose place closed find a new one. And what starting and stopping means (hours, domain,
service point, the Volunteer agent), shared with demography, carriers and attrition."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import csr_matrix

from quartiersim.config.domains import N_DOMAINS
from quartiersim.sim.agents import Volunteer
from quartiersim.sim.population import partner_positions

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel


def setup_volunteers(model: QuarterModel) -> None:
    """At the start: ``volunteering.rate`` of the residents aged ``volunteering.min_age``
    or more, chosen at random, volunteer (ODD 5)."""
    a, vol = model.residents, model.config.volunteering
    eligible = np.flatnonzero(a.alive & (a.age >= vol.min_age))
    k = int(round(vol.rate * len(eligible)))
    chosen = model.rng.choice(eligible, size=k, replace=False) if k else eligible[:0]
    start_volunteering(model, chosen)


def visible_results(model: QuarterModel) -> np.ndarray:
    """What each slot's volunteering visibly achieved last month, shape (n,): for a
    volunteer with a place, the share of the volunteer hours offered at its point and
    domain that served residents (``model.month.volunteer_results``); 0 for everybody
    else."""
    a = model.residents
    out = np.zeros(a.n)
    vols = np.flatnonzero((a.volunteer_hours > 0) & (a.volunteer_point >= 0))
    out[vols] = model.month.volunteer_results[a.volunteer_point[vols], a.volunteer_domain[vols]]
    return out


def tie_sum(adjacency: csr_matrix, values: np.ndarray) -> np.ndarray:
    """``adjacency @ values`` for a symmetric ``adjacency`` (undirected ties, (n, n)):
    each slot's sum of ``values`` (float64, (n,)) over its tie partners, float64 (n,), added
    only over the partners whose value is not 0 (volunteers with results: a few percent
    of the slots), bit for bit as the product. scipy adds row i's terms ``A[i, j] x
    values[j]`` in the order of its column indices, from 0.0; here the rows of the
    nonzero ``j`` (= their columns, by symmetry) are read in ascending ``j`` and a
    ``bincount`` adds in input order, so each sum gets the same terms in the same order
    when the indices are sorted (else, or for other dtypes, it is the product); a term 0
    changes no sum."""
    if values.dtype != np.float64 or not adjacency.has_sorted_indices:
        return adjacency @ values
    src = np.flatnonzero(values)
    return _sum_over_partners(adjacency, src, values[src])


def _sum_over_partners(adjacency: csr_matrix, src: np.ndarray, values: np.ndarray) -> np.ndarray:
    """:func:`tie_sum` of the values ``values`` (float64) at the ascending slots ``src``
    (0 elsewhere), for a symmetric ``adjacency`` with sorted indices."""
    row, offset = partner_positions(adjacency, src)
    terms = adjacency.data[offset].astype(np.float64) * values[row]
    return np.bincount(adjacency.indices[offset], weights=terms, minlength=adjacency.shape[0])


def activation_probability(model: QuarterModel) -> tuple[np.ndarray, float]:
    """Each slot's chance to start volunteering this month, shape (n,), and the base
    chance of a candidate without a visibly active volunteer tie: 0 for the dead, the
    young (under ``volunteering.min_age``) and volunteers; else
    ``activation_probability_per_month`` + the cooperation model's boost +
    ``activation_per_volunteer_tie`` x (ties to volunteers, each weighted by
    :func:`visible_results`), at most 1."""
    base = _base_chance(model)
    k = tie_sum(model.adjacency, visible_results(model))  # ties to volunteers, by their results
    return _chance(model, _candidates(model), k, base), base


def _base_chance(model: QuarterModel) -> float:
    """The chance of a candidate without a visibly active volunteer tie, in [0, 1]."""
    vol = model.config.volunteering
    return min(max(vol.activation_probability_per_month + model.cooperation.activation_boost(), 0.0), 1.0)


def _candidates(model: QuarterModel) -> np.ndarray:
    """Who may start volunteering: living residents of volunteering age who do not
    volunteer, (n,) bool."""
    a = model.residents
    return a.alive & (a.age >= model.config.volunteering.min_age) & (a.volunteer_hours <= 0)


def _chance(model: QuarterModel, cand: np.ndarray, k: np.ndarray, base: float) -> np.ndarray:
    """The chance of each entry (0 for a non-candidate) from its ties to volunteers
    weighted by their results ``k`` (same shape as ``cand``): ``base`` +
    ``activation_per_volunteer_tie`` x k, at most 1, and ``base`` where ``k`` <= 0."""
    p = np.where(cand, np.minimum(base + model.config.volunteering.activation_per_volunteer_tie * k,
                                  1.0), 0.0)
    return np.where(cand & (k <= 0), base, p) if base > 0 else p


def activate_volunteers(model: QuarterModel) -> None:
    """Residents of volunteering age start volunteering: the base chance, the
    cooperation model's boost, and ``volunteering.activation_per_volunteer_tie`` for each
    tie to a volunteer weighted by what that volunteer's work visibly achieved last month
    (:func:`visible_results`: a tie to a volunteer whose hours go unused recruits nobody;
    seed 004, participation must show results). Then volunteers without a place (theirs
    closed) find the nearest volunteer point with ``volunteering.rebind_probability_per_month``.
    Reads and writes the residents' volunteering and the Volunteer agents."""
    a, vol, rng = model.residents, model.config.volunteering, model.rng
    is_vol = a.volunteer_hours > 0
    lone, tied, p_tied, base = _joining_chances(model, is_vol)
    # candidates without a visibly active volunteer tie share one probability (``base``):
    # a binomial count of joiners chosen uniformly; the others are drawn one by one
    n_lone = rng.binomial(len(lone), base) if len(lone) else 0
    joining = np.concatenate([lone[rng.choice(len(lone), size=n_lone, replace=False)],
                              tied[rng.random(len(tied)) < p_tied]])
    start_volunteering(model, np.sort(joining))
    unplaced = (is_vol & (a.volunteer_point < 0)).nonzero()[0]
    if len(unplaced) and vol.rebind_probability_per_month > 0:
        found = unplaced[rng.random(len(unplaced)) < vol.rebind_probability_per_month]
        a.volunteer_point[found] = nearest_volunteer_point(model, a.home_cell[found])


def _joining_chances(model: QuarterModel,
                     is_vol: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Who may start volunteering this month and with which chance, as
    :func:`activate_volunteers` draws it from :func:`activation_probability` ``p``:
    (the candidates with ``p == base``, ascending; the other candidates (``p > 0``),
    ascending; their ``p``; ``base``). Computed on the few slots with a visibly active
    volunteer tie instead of all slots: every other candidate has ``p == base``.
    ``is_vol`` = ``volunteer_hours > 0``, (n,) bool."""
    a = model.residents
    base = _base_chance(model)
    if not model.adjacency.has_sorted_indices:  # tie_sum's product: the full computation
        p, base = activation_probability(model)
        cand = p > 0
        tied = np.flatnonzero(cand & (p != base))
        return np.flatnonzero(cand & (p == base)), tied, p[tied], base
    placed = (is_vol & (a.volunteer_point >= 0)).nonzero()[0]
    results = model.month.volunteer_results[a.volunteer_point[placed], a.volunteer_domain[placed]]
    shows = results != 0  # visible_results' nonzero entries
    k = _sum_over_partners(model.adjacency, placed[shows], results[shows].astype(np.float64))
    cand = _candidates(model)
    tie = k.nonzero()[0]  # activation_probability's p, where k != 0 (elsewhere p = base)
    p = _chance(model, cand[tie], k[tie], base)
    if base <= 0:
        cand[:] = False  # p = base = 0: nobody draws it
    cand[tie] = (p > 0) & (p == base)
    tied = (p > 0) & (p != base)
    return cand.nonzero()[0], tie[tied], p[tied], base


def start_volunteering(model: QuarterModel, slots: np.ndarray) -> None:
    """Residents in ``slots`` start: hours from the Freiwilligensurvey bands, a domain by
    the volunteering shares, the nearest volunteer point; a Volunteer agent each."""
    if len(slots) == 0:
        return
    a, vol, rng = model.residents, model.config.volunteering, model.rng
    band = rng.choice(3, size=len(slots), p=[vol.share_low_hours,
                                             1 - vol.share_low_hours - vol.share_high_hours,
                                             vol.share_high_hours])
    a.volunteer_hours[slots] = np.array([vol.low_hours_per_month, vol.mid_hours_per_month,
                                         vol.high_hours_per_month])[band]
    a.volunteer_domain[slots] = rng.choice(N_DOMAINS, size=len(slots), p=vol.domain_shares())
    a.volunteer_point[slots] = nearest_volunteer_point(model, a.home_cell[slots])
    Volunteer.add_to(model, slots)


def stop_volunteering(model: QuarterModel, slots: np.ndarray) -> None:
    """Volunteers in ``slots`` stop: their hours end and their agents are removed."""
    if len(slots) == 0:
        return
    a = model.residents
    a.volunteer_hours[slots] = 0.0
    a.volunteer_point[slots] = -1
    Volunteer.remove_from(model, slots)


def nearest_volunteer_point(model: QuarterModel, cells: np.ndarray) -> np.ndarray:
    """Index of the cooperation model's volunteer point nearest to each of ``cells``
    (walking distance), shape (len(cells),); -1 where there is none."""
    points = model.cooperation.volunteer_points()
    if not points:
        return np.full(len(cells), -1)
    d = model.space.distance_m[points][:, cells]  # (points, k)
    return np.asarray(points)[np.argmin(d, axis=0)]


def reassign_volunteers(model: QuarterModel) -> None:
    """Every volunteer moves to the nearest volunteer point (a new provision: the
    cooperation model places its volunteers)."""
    a = model.residents
    vols = np.flatnonzero(a.volunteer_hours > 0)
    a.volunteer_point[vols] = nearest_volunteer_point(model, a.home_cell[vols])


def unplace_volunteers(model: QuarterModel) -> None:
    """Volunteers whose point is no longer a volunteer point (its carrier closed) lose
    their place and coordination: they deliver nothing until they find a new one
    (:func:`activate_volunteers`) or quit (attrition)."""
    a = model.residents
    points = np.asarray(model.cooperation.volunteer_points(), np.int64)
    lost = (a.volunteer_hours > 0) & (a.volunteer_point >= 0) & ~np.isin(a.volunteer_point, points)
    a.volunteer_point[lost] = -1
