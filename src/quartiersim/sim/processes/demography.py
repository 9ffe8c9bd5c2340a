"""Process 1, demography (ODD 7.1): ageing, deaths (Gompertz), births, moves out
(age-dependent) and moves in; and the bookkeeping of residents arriving and leaving
(their rows and their Mesa agents)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from quartiersim.sim.agents import Resident
from quartiersim.sim.population import ResidentArrays, newcomer_ages
from quartiersim.sim.processes import monthly
from quartiersim.sim.processes.needs import init_needs
from quartiersim.sim.processes.volunteering import stop_volunteering

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel


def demography(model: QuarterModel) -> None:
    """Ageing, deaths, births, moves out and moves in.

    Movers are replaced by newcomers of the same ages (dwelling turnover within the
    housing segment) whose status is drawn from the newcomer shares; births and
    further arrivals keep the population on its trend (``model.target_residents``).
    Reads and writes the resident rows, agents and volunteering of leavers."""
    a, rng, pop, demo = model.residents, model.rng, model.config.population, model.config.demography
    living = np.flatnonzero(a.alive)
    age = a.age[living] + 1.0 / 12.0
    a.age[living] = age
    q_year = pop.mortality_at_80_per_year * np.exp2(
        (age - demo.mortality_reference_age) / demo.mortality_doubling_years)
    dies = rng.random(len(living)) < monthly(q_year)
    band = (age >= 18).astype(np.intp) + (age >= 35) + (age >= 65)  # move-out factor bands
    factor = np.array(demo.move_out_factors())
    factor /= max(np.bincount(band, minlength=4) @ factor / max(len(living), 1), 1e-12)
    p_move = monthly(pop.move_out_rate_per_year * factor)[band]
    moves = ~dies & (rng.random(len(living)) < p_move)
    mover_ages = age[moves]
    remove_residents(model, living[dies | moves])
    n_alive = int(np.count_nonzero(a.alive))
    births = int(rng.poisson(pop.births_per_1000_per_year / 1000.0 / 12.0 * n_alive))
    if not model.spinning_up:  # the spin-up holds the start's population
        model.target_residents *= (1.0 + pop.population_change_per_year) ** (1.0 / 12.0)
    arrivals = max(0, int(round(model.target_residents)) - n_alive)
    births = min(births, arrivals)
    ages = np.concatenate([np.zeros(births), rng.permutation(mover_ages)])
    if arrivals > len(ages):
        ages = np.concatenate([ages, newcomer_ages(arrivals - len(ages), demo, rng)])
    if arrivals:
        move_in(model, ages[:arrivals])


def remove_residents(model: QuarterModel, slots: np.ndarray) -> None:
    """Residents in ``slots`` leave (death or move): their rows are cleared, their
    volunteering ends and their agents are removed from the model."""
    a = model.residents
    leaving_volunteers = slots[a.volunteer_hours[slots] > 0]
    a.alive[slots] = False
    a.need_hours[slots] = 0.0
    a.case_months_left[slots] = 0
    a.aware[slots] = False
    stop_volunteering(model, leaving_volunteers)
    pop = model.resident_of_slot.pop
    for s in slots.tolist():
        pop(s).remove()


def move_in(model: QuarterModel, ages: np.ndarray) -> None:
    """Newcomers of ``ages`` take free slots (chosen at random; more are added when none
    are left) with attributes from the newcomer shares and needs like everybody else."""
    a, pop = model.residents, model.config.population
    k = len(ages)
    free = np.flatnonzero(~a.alive)
    if len(free) < k:
        grow(model, k - len(free))
        free = np.flatnonzero(~a.alive)
    slots = model.rng.choice(free, size=k, replace=False)
    a.draw_attributes(slots, ages, pop, model.config.demography, model.rng,
                      pop.newcomer_share_transfer_recipients,
                      pop.newcomer_share_migration_background)
    init_needs(model, slots)  # newcomers bring needs like everybody else
    add_residents(model, slots)


def add_residents(model: QuarterModel, slots: np.ndarray) -> None:
    """Create the Resident agents (Mesa interface) for newly occupied ``slots``."""
    by_slot = model.resident_of_slot
    for s in slots.tolist():
        by_slot[s] = Resident(model, s)


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
