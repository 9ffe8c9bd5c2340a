"""Process 1, demography (ODD 7.1): ageing, deaths (Gompertz), births, moves out
(age-dependent) and moves in; and the bookkeeping of residents arriving and leaving
(their rows and their Mesa agents)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from quartiersim.sim import episodes
from quartiersim.sim.agents import Resident
from quartiersim.sim.population import ResidentArrays, newcomer_ages
from quartiersim.sim.processes import monthly
from quartiersim.sim.processes.needs import init_needs
from quartiersim.sim.processes.trust import residents_arrived, residents_left
from quartiersim.sim.processes.volunteering import stop_volunteering

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel


def demography(model: QuarterModel) -> None:
    """Ageing, deaths, births, moves out and moves in.

    Births and arrivals keep the population on its trend (``model.target_residents``;
    held in the spin-up). Who arrives (``population.composition``): "stationary" keeps
    the start's age and status composition (:func:`stationary_ages`, status at the
    start's shares) plus a declared ageing trend; "newcomer_shares" replaces movers by
    newcomers of the same ages, then draws ages by the newcomer age bands, status by the
    newcomer shares (a declared trend of the composition). Reads and writes the resident
    rows, agents and volunteering of leavers."""
    a, rng, pop, demo = model.residents, model.rng, model.config.population, model.config.demography
    living = a.alive.nonzero()[0]
    age = a.age[living] + 1.0 / 12.0
    a.age[living] = age
    q_year = pop.mortality_at_80_per_year * np.exp2(
        (age - demo.mortality_reference_age) / demo.mortality_doubling_years)
    dies = rng.random(len(living)) < monthly(q_year)
    band = (age >= 18).astype(np.intp) + (age >= 35) + (age >= 65)  # move-out factor bands
    by_band = np.bincount(band, minlength=4)
    factor = np.array(demo.move_out_factors())
    factor /= max(by_band @ factor / max(len(living), 1), 1e-12)
    p_move = monthly(pop.move_out_rate_per_year * factor)[band]
    moves = ~dies & (rng.random(len(living)) < p_move)
    mover_ages = age[moves]
    leaving = dies | moves
    remove_residents(model, living[leaving])
    n_alive = int(np.count_nonzero(a.alive))
    births = int(rng.poisson(pop.births_per_1000_per_year / 1000.0 / 12.0 * n_alive))
    if not model.spinning_up:  # the spin-up holds the start's population
        model.target_residents *= (1.0 + pop.population_change_per_year) ** (1.0 / 12.0)
    arrivals = max(0, int(round(model.target_residents)) - n_alive)
    births = min(births, arrivals)
    if pop.composition == "stationary":
        # the stayers by stationary age band (under 18, 18-64, 65+) from the move-out
        # bands at hand (under 18, 18-34, 35-64, 65+): no second pass over the residents
        stay = by_band - np.bincount(band[leaving], minlength=4)
        counts = np.array([stay[0], stay[1] + stay[2], stay[3]])
        ages = np.concatenate([np.zeros(births),
                               stationary_ages(model, arrivals - births, births, counts)])
    else:  # declared trend: movers' ages, then the newcomer age bands
        ages = np.concatenate([np.zeros(births), rng.permutation(mover_ages)])
        if arrivals > len(ages):
            ages = np.concatenate([ages, newcomer_ages(arrivals - len(ages), demo, rng)])
    if arrivals:
        move_in(model, ages[:arrivals])


#: Age bands of the stationary composition: under 18, 18-64, 65+.
AGE_BAND_EDGES = (18.0, 65.0)


def age_band(age: np.ndarray) -> np.ndarray:
    """0 under 18, 1 at 18-64, 2 at 65+, shape of ``age``."""
    return np.searchsorted(np.array(AGE_BAND_EDGES), age, side="right")


@dataclass(frozen=True)
class StartComposition:
    """The residents at the start, which newcomers keep under ``population.composition
    = "stationary"``: the share of each age band (3,), the ages in each band, and the
    shares of transfer recipients and of migration background."""

    band_share: np.ndarray
    ages_by_band: tuple[np.ndarray, ...]
    share_transfer: float
    share_migration: float

    @classmethod
    def of(cls, a: ResidentArrays) -> StartComposition:
        age = a.age[a.alive]
        band = age_band(age)
        n = max(len(age), 1)
        return cls(np.bincount(band, minlength=3) / n,
                   tuple(np.sort(age[band == b]) for b in range(3)),
                   float(a.transfer[a.alive].sum()) / n, float(a.migration[a.alive].sum()) / n)


def target_band_shares(model: QuarterModel) -> np.ndarray:
    """The age bands' target shares now: the start's, the 65+ share moved by the declared
    trend (``population.share_65_plus_change_per_year`` x years of the horizon) at the
    expense of 18-64; (3,)."""
    comp, trend = model.start_composition, model.config.population.share_65_plus_change_per_year
    years = 0.0 if model.spinning_up else model.steps / 12.0
    shift = min(max(trend * years, -comp.band_share[2]), comp.band_share[1])  # clipped
    return comp.band_share + np.array([0.0, -shift, shift])


def stationary_ages(model: QuarterModel, k: int, births: int,
                    counts: np.ndarray | None = None) -> np.ndarray:
    """Ages of ``k`` newcomers (after ``births`` newborns) under a stationary
    composition: each newcomer's band is drawn in proportion to the bands' shortfalls
    against their target shares (:func:`target_band_shares`) once all have arrived (the
    target shares if no band is short), the age from the start's residents of that band.
    ``counts``: the residents by band (:func:`age_band`), (3,), if the caller has them."""
    if k <= 0:
        return np.zeros(0)
    a, rng = model.residents, model.rng
    if counts is None:
        counts = np.bincount(age_band(a.age[a.alive]), minlength=3)
    counts = counts.astype(float)
    counts[0] += births
    target = target_band_shares(model)
    short = np.maximum(0.0, target * (counts.sum() + k) - counts)
    p = short / short.sum() if short.sum() > 0 else target / target.sum()
    band = choice_by_probability(rng, p, k)
    ages = np.empty(k)
    for b, pool in enumerate(model.start_composition.ages_by_band):
        where = (band == b).nonzero()[0]
        if len(where):  # as rng.choice(pool, size=len(where)), without its checks
            ages[where] = (pool[rng.integers(0, len(pool), size=len(where))] if len(pool)
                           else AGE_BAND_EDGES[min(b, 1)] * (b > 0))
    return ages


def choice_by_probability(rng: np.random.Generator, p: np.ndarray, k: int) -> np.ndarray:
    """``k`` indices drawn with probabilities ``p`` (sum 1), int64 (k,): the same draws as
    ``rng.choice(len(p), size=k, p=p)`` (numpy's method: one uniform each, looked up in
    the normalised cumulative sum), without its checks of ``p``."""
    cdf = p.cumsum()
    cdf /= cdf[-1]
    return cdf.searchsorted(rng.random(k), side="right")


def remove_residents(model: QuarterModel, slots: np.ndarray) -> None:
    """Residents in ``slots`` leave (death or move): their rows are cleared (trust
    included), their volunteering ends and their agents are removed from the model."""
    if not len(slots):
        return
    a = model.residents
    leaving_volunteers = slots[a.volunteer_hours[slots] > 0]
    episodes.leave(model, slots)  # their open need episodes end, censored
    a.alive[slots] = False
    a.need_hours[slots] = 0.0
    a.case_months_left[slots] = 0
    a.aware[slots] = False
    residents_left(model, slots)
    stop_volunteering(model, leaving_volunteers)
    Resident.remove_from(model, slots)


def move_in(model: QuarterModel, ages: np.ndarray) -> None:
    """Newcomers of ``ages`` take free slots (chosen at random; more are added when none
    are left) with attributes from the newcomer shares, needs like everybody else and
    the places' start trust (:func:`~quartiersim.sim.processes.trust.residents_arrived`)."""
    a, pop = model.residents, model.config.population
    k = len(ages)
    free = (~a.alive).nonzero()[0]
    if len(free) < k:
        grow(model, k - len(free))
        free = (~a.alive).nonzero()[0]
    slots = model.rng.choice(free, size=k, replace=False)
    if pop.composition == "stationary":  # status like the start's residents
        shares = (model.start_composition.share_transfer, model.start_composition.share_migration)
    else:
        shares = (pop.newcomer_share_transfer_recipients, pop.newcomer_share_migration_background)
    a.draw_attributes(slots, ages, pop, model.config.demography, model.rng, *shares)
    init_needs(model, slots)  # newcomers bring needs like everybody else
    residents_arrived(model, slots)  # and trust the places as one without experience does
    add_residents(model, slots)


def add_residents(model: QuarterModel, slots: np.ndarray) -> None:
    """Create the Resident agents (Mesa interface) for newly occupied ``slots``."""
    Resident.add_to(model, slots)


def grow(model: QuarterModel, extra: int) -> None:
    """Add vacant dwelling slots (without ties) when the population outgrows them: at
    least ``extra`` and a tenth of the slots, on housing cells drawn uniformly or by the
    space's ``housing_weight``."""
    a = model.residents
    more = ResidentArrays.empty(max(extra, a.n // 10))
    weight = model.space.housing_weight
    if weight is None:
        more.home_cell[:] = model.rng.choice(model.space.housing_cells, size=more.n)
    else:  # the quarter's residents per cell
        more.home_cell[:] = model.rng.choice(model.space.housing_cells, size=more.n, p=weight)
    a.extend(more)
    model.adjacency.resize((a.n, a.n))
