"""The best-point search of matching (ODD 7.4, issue 15 item 4): each seeking entry's best
place among its home cell's candidates. The search was rewritten for large cities (rows
gathered per entry instead of a (4, 6, cells, K) table per offer pattern); these tests
compare it with the former formula on a tiny world, ties and the candidate cut-off
included, bit for bit."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import quartiersim as qs
from quartiersim.config.domains import N_DOMAINS
from quartiersim.sim.model import QuarterModel
from quartiersim.sim.processes import matching, trust


def _reference(model: QuarterModel, slot, domain, access_class, offering):
    """The search as it was before issue 15 item 4: the product of trust and the
    (class, domain, cell) row of weight x offered, its first maximum (the nearer
    place on ties), -1 where no candidate scores above 0."""
    t = model.trust
    n_cells, k = t.point.shape
    offered = np.moveaxis(offering[t.point], 2, 0)  # (6, cells, K)
    table = (t.weight[:, None] * offered[None]).reshape(-1, k)  # (4 x 6 x cells, K)
    cells = model.residents.home_cell[slot]
    score = t.level[slot] * table[(access_class * N_DOMAINS + domain) * n_cells + cells]
    j = score.argmax(axis=1)
    best = score[np.arange(len(slot)), j].astype(np.float64)
    return np.where(best > 0, t.point[cells, j], -1), np.maximum(best, 0.0)


@pytest.fixture
def three_offices(tiny_raw, write_scenario) -> QuarterModel:
    """Offices M and N at both ends of a row and a meeting point S two rows below the
    middle: the top middle cell is 100 m from each (ties of distance, so of score where
    trust is equal); with two candidates per cell, one of the three places is cut off
    everywhere (S in the top middle cell, by layout order)."""
    raw = copy.deepcopy(tiny_raw)
    raw["space"] = {"layout": ["M...N", ".....", "..S.."],
                    "service_points": {"M": {"kind": "municipal_office", "name": "office M"},
                                       "N": {"kind": "municipal_office", "name": "office N"},
                                       "S": {"kind": "meeting_point_site", "name": "rooms"}}}
    raw["population"]["residents"] = 60
    raw["access"].update(decay_length_m=80.0, decay_length_limited_m=40.0, candidate_points=2,
                         language_factor_municipal_office=0.5)
    return QuarterModel(qs.load_scenario(write_scenario(raw)), rng=3)


def test_best_point_search_equals_the_former_table_search(three_offices):
    m = three_offices
    t, a = m.trust, m.residents
    assert t.k == 2 < len(m.space.points)  # the cut-off is in play
    rng = np.random.default_rng(7)
    alive = np.flatnonzero(a.alive)
    n_p = len(m.space.points)
    ties = 0
    for trial in range(200):
        # trust from a few levels, so that equal scores (ties) are frequent
        t.level[alive] = rng.choice(np.array([0.0, 0.25, 0.5, 1.0], np.float32),
                                    size=(len(alive), t.k))
        offering = rng.random((n_p, N_DOMAINS)) < (0.3 if trial % 3 else 0.9)
        slot = rng.choice(alive, size=300)
        domain = rng.integers(0, N_DOMAINS, size=300)
        cls = rng.integers(0, 4, size=300)
        got = matching.choose(m, slot, domain, cls, offering)
        want = _reference(m, slot, domain, cls, offering)
        np.testing.assert_array_equal(got[0], want[0])
        assert got[1].tobytes() == want[1].tobytes()  # bit for bit
        score = np.where(offering[t.point[a.home_cell[slot]], domain[:, None]],
                         t.level[slot] * t.weight[cls, a.home_cell[slot]], 0)
        ties += int(((score[:, 0] == score[:, 1]) & (score[:, 0] > 0)).sum())
    assert ties > 100  # ties did occur, and went the same way
    # nobody's best place is the place cut off from its cell's candidates
    cand = t.point[a.home_cell[slot]]
    assert ((got[0] == -1) | (cand == got[0][:, None]).any(axis=1)).all()


def test_a_city_month_keeps_its_first_and_second_choice_patterns(three_offices, monkeypatch):
    # however little memory is allowed, the offers of two patterns (first and second
    # choice of one month) are kept: the second month's search builds nothing new
    monkeypatch.setattr(trust, "OFFERED_BYTES", 1)
    t = three_offices.trust
    first = np.ones((3, N_DOMAINS), bool)
    second = first.copy()
    second[0] = False
    a, b = t.offered(first), t.offered(second)
    assert t.offered(first) is a and t.offered(second) is b
    assert a.shape == (N_DOMAINS, three_offices.space.n_cells, 2)
    third = first.copy()
    third[1] = False
    t.offered(third)  # a third pattern pushes out the least recently used (first)
    assert t.offered(second) is b and t.offered(first) is not a
