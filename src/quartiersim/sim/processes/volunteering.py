"""Process 4, volunteer activation (ODD 7.8): residents of volunteering age start
volunteering; and what starting and stopping means (hours, domain, service point, the
Volunteer agent), shared with demography, carriers and attrition."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from quartiersim.config.domains import N_DOMAINS
from quartiersim.sim.agents import Volunteer

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


def activate_volunteers(model: QuarterModel) -> None:
    """Residents of volunteering age start volunteering: the base chance, ties to
    volunteers and the cooperation model's boost. Reads and writes the residents'
    volunteering and the Volunteer agents."""
    a, vol, rng = model.residents, model.config.volunteering, model.rng
    is_vol = a.volunteer_hours > 0
    k = model.volunteer_tie_counter.count(is_vol)  # ties to volunteers
    base = vol.activation_probability_per_month + model.cooperation.activation_boost()
    cand = a.alive & (a.age >= vol.min_age) & ~is_vol
    # candidates without a volunteer tie share one probability: a binomial count of
    # joiners chosen uniformly; the others are drawn one by one
    lone, tied = np.flatnonzero(cand & (k == 0)), np.flatnonzero(cand & (k > 0))
    n_lone = rng.binomial(len(lone), min(max(base, 0.0), 1.0))
    p_tied = base + vol.activation_per_volunteer_tie * k[tied]
    joining = np.concatenate([lone[rng.choice(len(lone), size=n_lone, replace=False)],
                              tied[rng.random(len(tied)) < p_tied]])
    start_volunteering(model, np.sort(joining))


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
    """Every volunteer moves to the nearest volunteer point (after a carrier closed)."""
    a = model.residents
    vols = np.flatnonzero(a.volunteer_hours > 0)
    a.volunteer_point[vols] = nearest_volunteer_point(model, a.home_cell[vols])
