"""Invariants of the array internals behind the performance work (issue #6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from quartiersim.sim.model import QuarterModel
from quartiersim.sim.processes.awareness import aware_ties
from quartiersim.sim.processes.needs import onset_probabilities
from quartiersim.sim.population import ResidentArrays, onset_by_code, onset_table, status_codes
from quartiersim.config.loading import load_scenario

HERTEN = Path(__file__).resolve().parents[1] / "scenarios" / "herten-innenstadt.toml"


@pytest.fixture(scope="module")
def model() -> QuarterModel:
    m = QuarterModel(load_scenario(HERTEN), cooperation="coproduction", rng=3, years=2)
    m.run_months(18)
    return m


def test_incremental_aware_ties_equal_full_count(model: QuarterModel) -> None:
    full = model.adjacency @ model.residents.aware.astype(float)  # (n, 6)
    assert np.array_equal(aware_ties(model), np.ascontiguousarray(full.T).reshape(-1))


def test_per_domain_arrays_stay_domain_major(model: QuarterModel) -> None:
    a = model.residents
    for name in ("need_hours", "served_hours", "unmet_months", "aware", "case_months_left"):
        assert getattr(a, name).flags.f_contiguous, name


def test_flat_view_writes_through_and_restores_layout() -> None:
    a = ResidentArrays.empty(4)
    a.need_hours = np.ascontiguousarray(a.need_hours)  # someone assigns a C-ordered array
    flat = a.flat("need_hours")
    flat[2 * 4 + 1] = 5.0  # domain 2, slot 1
    assert a.need_hours[1, 2] == 5.0 and a.need_hours.flags.f_contiguous


def test_onset_lookup_matches_direct_rule(model: QuarterModel) -> None:
    """The table look-up gives the scenario's rule: base x multipliers, 0 when ineligible."""
    a, needs = model.residents, model.config.needs
    onset = onset_probabilities(model)
    s = int(np.flatnonzero(a.alive & a.transfer & (a.age >= 18) & (a.age < 60))[0])
    assert onset[s, 5] == pytest.approx(needs.counselling.onset_probability_per_month
                                        * needs.counselling.multiplier_transfer
                                        * (needs.counselling.multiplier_migration if a.migration[s] else 1)
                                        * (needs.counselling.multiplier_language_barrier
                                           if a.language_barrier[s] else 1)
                                        * (needs.counselling.multiplier_mobility_limited
                                           if a.mobility_limited[s] else 1))
    assert onset[s, 1] == 0.0  # youth education: ages 6-17 only
    assert not onset[~a.alive].any()
    table = onset_table(needs)
    assert onset_by_code(needs).shape == (6, 4096)
    assert np.array_equal(onset_by_code(needs)[:, status_codes(a, np.array([s]))[0]], np.zeros(6))
    assert table[0, 2] == 0.0 and table[4, 2] == needs.integration_onset_language_barrier


def test_growth_keeps_layout_counts_and_agents() -> None:
    """A growing population adds slots (demography.grow): arrays stay domain-major, incremental tie
    counts equal the full products, and there is one Resident agent per living slot."""
    from quartiersim.sim.agents import Resident
    from quartiersim.sim.processes.volunteering import visible_results

    sc = load_scenario(HERTEN, {"population.population_change_per_year": 0.2})
    m = QuarterModel(sc, cooperation="meeting_point", rng=2, years=3)
    n0 = m.residents.n
    m.run_months(36)
    a = m.residents
    assert a.n > n0 and a.need_hours.flags.f_contiguous and a.aware.flags.f_contiguous
    full = m.adjacency @ a.aware.astype(float)
    assert np.array_equal(aware_ties(m), np.ascontiguousarray(full.T).reshape(-1))
    is_vol = a.volunteer_hours > 0
    # what volunteers achieved is defined for every (grown) slot and only for volunteers
    results = visible_results(m)
    assert results.shape == (a.n,) and np.all(results[~is_vol] == 0.0)
    assert (m.adjacency @ results).shape == (a.n,)
    assert len(m.agents_by_type[Resident]) == int(a.alive.sum())
    assert len(m.volunteer_of_slot) == int(is_vol.sum())
