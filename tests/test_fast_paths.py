"""Rewrites for speed (issue 15 item 4, the 1.5-million-resident city) compared with the
computations they replace, bit for bit: the same random draws in the same order (and
the generator left in the same state), the same floating-point sums in the same order."""

from __future__ import annotations

from functools import reduce
from operator import add

import numpy as np
import pytest

from quartiersim.sim.population import household_sizes


def _household_sizes_loop(n: int, mean_size: float, rng: np.random.Generator) -> np.ndarray:
    """The former household sizes: one scalar Poisson draw per household until ``n``."""
    sizes, total = [], 0
    while total < n:
        s = 1 + int(rng.poisson(max(mean_size - 1.0, 0.0)))
        s = min(s, n - total)
        sizes.append(s)
        total += s
    return np.array(sizes, dtype=np.int64)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n,mean_size", [(1, 2.0), (2, 1.0), (7, 3.5), (500, 2.0), (5000, 1.9),
                                         (3000, 1.0), (4000, 0.5), (10_000, 6.0)])
def test_household_sizes_draws_as_the_scalar_loop(seed, n, mean_size):
    old_rng, new_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    old = _household_sizes_loop(n, mean_size, old_rng)
    new = household_sizes(n, mean_size, new_rng)
    assert new.dtype == old.dtype and np.array_equal(new, old)
    assert int(new.sum()) == n and new.min() >= 1
    # the draws after it are the same: the generator is where the loop left it
    assert np.array_equal(old_rng.random(5), new_rng.random(5))


@pytest.mark.parametrize("batch", [1, 7, 100])
def test_household_sizes_in_several_batches(batch):
    """Batches too small to reach ``n`` (several are drawn before the generator is set
    back): still the same draws."""
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    old = _household_sizes_loop(1000, 2.5, rng_a)
    new = household_sizes(1000, 2.5, rng_b, batch=batch)
    assert np.array_equal(new, old)
    assert np.array_equal(rng_a.random(3), rng_b.random(3))


def _random_ties(n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """Undirected ties without duplicates or loops, (ties, 2), as build_ties gives them."""
    e = rng.integers(0, n, (m, 2))
    e = e[e[:, 0] != e[:, 1]]
    key = np.unique(np.minimum(e[:, 0], e[:, 1]) * n + np.maximum(e[:, 0], e[:, 1]))
    return np.stack([key // n, key % n], axis=1)


@pytest.mark.parametrize("seed", range(8))
def test_tie_sum_is_the_sparse_product_bit_for_bit(seed):
    """Volunteering's tie sum over the nonzero partners only equals ``adjacency @
    values``; the values span magnitudes, so that another order of the terms would give
    other sums (checked: the same sums added in reverse order differ somewhere)."""
    from quartiersim.sim.population import adjacency
    from quartiersim.sim.processes.volunteering import tie_sum

    rng = np.random.default_rng(seed)
    n = 3000
    adj = adjacency(_random_ties(n, 40_000, rng), n)
    values = np.zeros(n)
    some = rng.random(n) < 0.3
    values[some] = rng.random(some.sum()) * 10.0 ** rng.integers(-8, 3, some.sum())
    expected = adj @ values
    got = tie_sum(adj, values)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)
    rev = np.array([reduce(add, values[adj.indices[adj.indptr[i]:adj.indptr[i + 1]]][::-1].tolist(), 0.0)
                    for i in range(n)])
    assert not np.array_equal(rev, expected)  # the order matters for these values
    # grown slots (demography.grow): the matrix is resized, the new rows are empty
    adj.resize((n + 50, n + 50))
    more = np.concatenate([values, np.ones(50)])
    assert np.array_equal(tie_sum(adj, more), adj @ more)
    # all zero, and unsorted indices (the product itself)
    assert np.array_equal(tie_sum(adj, np.zeros(n + 50)), np.zeros(n + 50))
    unsorted = adj.copy()
    unsorted.indices = unsorted.indices.copy()
    unsorted.has_sorted_indices = False
    assert np.array_equal(tie_sum(unsorted, more), adj @ more)


@pytest.mark.parametrize("dtype", [np.int8, np.int16])
def test_trust_positions_is_the_2d_index(dtype):
    """Trust.positions (the flat gather of word of mouth) equals ``position[cells, points]``."""
    from quartiersim.sim.processes.trust import Trust

    rng = np.random.default_rng(1)
    position = rng.integers(-1, 100, (500, 37)).astype(dtype)
    empty = np.zeros(0)
    t = Trust(point=np.zeros((500, 4), np.int32), weight=empty, level=empty, start=empty,
              status=empty, kind=empty, position=position)
    cells = rng.integers(0, 500, 10_000).astype(np.int32)
    points = rng.integers(0, 37, 10_000)
    got = t.positions(cells, points)
    assert got.dtype == position.dtype and np.array_equal(got, position[cells, points])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("layers,hub", [(6, False), (1, False), (7, False), (6, True)])
def test_tie_counter_counts_as_the_product(seed, layers, hub):
    """The tie counts (layers packed into one product; more than 6 layers or a slot with
    256 ties or more, ``hub``, one product per layer) equal ``adjacency @ state`` per
    layer, also after the slots grew."""
    from quartiersim.sim.population import TieCounter, adjacency

    rng = np.random.default_rng(seed)
    n = 2000
    ties = _random_ties(n, 12_000, rng)
    if hub:  # slot 0 tied to 400 others (those ties it lacks)
        more = np.setdiff1d(np.arange(1, 401), ties[ties[:, 0] == 0, 1])
        ties = np.concatenate([ties, np.stack([np.zeros_like(more), more], axis=1)])
    adj = adjacency(ties, n)
    counter = TieCounter(adj)
    state = rng.random(layers * n) < 0.9  # most partners in the state: counts near the degree

    def expected(st: np.ndarray, size: int) -> np.ndarray:
        return np.concatenate([adj @ st[k * size:(k + 1) * size].astype(float) for k in range(layers)])

    for month in range(4):
        got = counter.count(state)
        assert got.dtype.kind in "ui" and np.array_equal(got, expected(state, adj.shape[0]))
        state = state ^ (rng.random(len(state)) < 0.05)
    if hub:
        assert counter.count(state).max() >= 256
    adj.resize((n + 100, n + 100))  # grown slots
    state = np.concatenate([s for k in range(layers)
                            for s in (state[k * n:(k + 1) * n], rng.random(100) < 0.5)])
    for _ in range(3):
        assert np.array_equal(counter.count(state), expected(state, n + 100))
        state = state ^ (rng.random(len(state)) < 0.05)


# ------------------------------------------------------------------ perf round, area a
def _herten_model(months: int = 0, seed: int = 0):
    from pathlib import Path

    from quartiersim.config.loading import load_scenario
    from quartiersim.sim.model import QuarterModel

    herten = Path(__file__).resolve().parents[1] / "scenarios" / "herten-innenstadt.toml"
    m = QuarterModel(load_scenario(herten, {"population.residents": 600}), rng=seed, years=2,
                     spin_up_months=0)
    m.run_months(months)
    return m


@pytest.mark.parametrize("seed", range(6))
def test_choice_by_probability_draws_as_rng_choice(seed):
    from quartiersim.sim.processes.demography import choice_by_probability

    gen = np.random.default_rng(100 + seed)
    for k in (0, 1, 7, 500):
        p = gen.random(3) * (gen.random(3) < 0.8) + 1e-9
        p /= p.sum()
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        assert np.array_equal(a.choice(3, size=k, p=p), choice_by_probability(b, p, k))
        pool = np.sort(gen.uniform(0, 100, 50))
        assert np.array_equal(a.choice(pool, size=k), pool[b.integers(0, len(pool), size=k)])
        assert a.random() == b.random()


def _onset_direct(model, slots=None):
    """The former onset look-up: full status code, eligibility bit by bit."""
    from quartiersim.sim.population import status_codes

    a, tables = model.residents, model.need_tables
    if slots is None:
        code, age, alive = status_codes(a), a.age, a.alive
    else:
        code, age, alive = status_codes(a, slots), a.age[slots], a.alive[slots]
    for lo, hi, bits in tables.eligibility:
        code |= (alive & (age >= lo) & (age <= hi)) * (bits << 6)
    return np.take(tables.onset_by_code, code, axis=1).T


@pytest.mark.parametrize("seed", range(4))
def test_onset_by_flags_and_age_band_is_the_code_lookup(seed):
    """Random flags and ages, those at every age limit (and one float either side)
    included: the same probabilities as the full status code."""
    from quartiersim.sim.processes.needs import onset_probabilities

    m = _herten_model(seed=seed)
    a, rng = m.residents, np.random.default_rng(seed)
    limits = np.array([x for lo, hi, _ in m.need_tables.eligibility for x in (lo, hi)]
                      + [65.0, 75.0])
    near = np.concatenate([limits, np.nextafter(limits, 0), np.nextafter(limits, 200)])
    a.age[:] = rng.uniform(0, 105, a.n)
    a.age[:len(near)] = near
    for name in ("transfer", "migration", "language_barrier", "single", "mobility_limited", "alive"):
        getattr(a, name)[:] = rng.random(a.n) < 0.5
    assert np.array_equal(onset_probabilities(m), _onset_direct(m))
    slots = rng.choice(a.n, 50, replace=False)
    assert np.array_equal(onset_probabilities(m, slots), _onset_direct(m, slots))


# --------------------------------------------------------------------------- perf-c: money, staff, matching
def _cross_refer_nonzero(aware, slots, points, cap, probability, rng):
    """The former cross-referral: a 2-D nonzero over the broadcast probabilities."""
    from quartiersim.config.domains import N_DOMAINS

    probability = np.broadcast_to(np.asarray(probability, dtype=float), np.shape(slots))
    if len(slots) == 0 or not (probability > 0).any():
        return
    n = len(aware) // N_DOMAINS
    draw = rng.random((len(slots), N_DOMAINS)) < probability[:, None]
    refer_i, refer_k = np.nonzero((cap[points] > 0) & draw)
    aware[refer_k * n + slots[refer_i]] = True


@pytest.mark.parametrize("seed", range(8))
def test_cross_refer_as_the_2d_nonzero(seed):
    from quartiersim.sim.processes.matching import cross_refer

    rng = np.random.default_rng(seed)
    n, n_p = 300, 5
    cap = rng.random((n_p, 6)) * (rng.random((n_p, 6)) < 0.6)
    for m in (0, 1, 40, 250):
        slots, points = rng.choice(n, m, replace=False), rng.integers(0, n_p, m)
        for probability in (rng.random(m) * (rng.random(m) < 0.7), 0.3, 0.0, np.zeros(m)):
            old_aware = rng.random(6 * n) < 0.2
            new_aware = old_aware.copy()
            old_rng, new_rng = np.random.default_rng(seed + 100), np.random.default_rng(seed + 100)
            _cross_refer_nonzero(old_aware, slots, points, cap, probability, old_rng)
            cross_refer(new_aware, slots, points, cap, probability, new_rng)
            assert np.array_equal(old_aware, new_aware)
            assert np.array_equal(old_rng.random(3), new_rng.random(3))


@pytest.mark.parametrize("seed", range(6))
def test_book_many_books_as_book_one_by_one(seed):
    from quartiersim.config.domains import CostCategory, Payer
    from quartiersim.sim.ledger import Ledger

    rng = np.random.default_rng(seed)
    one, many = Ledger(3, keep_entries=True), Ledger(3, keep_entries=True)
    for month in range(1, 37):
        amounts = (rng.random(6) * 10.0 ** rng.integers(-3, 7, 6) * (rng.random(6) < 0.7)).tolist()
        items = [f"item_{k}" for k in range(6)]
        for led in (one, many):
            led.start_month()
            led.book(month, Payer.MUNICIPALITY, CostCategory.MANDATORY, "before", 0.1 * month)
        for item, amount in zip(items, amounts):
            one.book(month, Payer.MUNICIPALITY, CostCategory.MANDATORY, item, amount)
        many.book_many(month, Payer.MUNICIPALITY, CostCategory.MANDATORY, items, amounts)
        assert np.array_equal(one.month_totals, many.month_totals)
    assert np.array_equal(one.totals, many.totals) and one.entries == many.entries
    with pytest.raises(ValueError, match="'bad' of nan EUR: amounts must be finite"):
        many.book_many(1, Payer.MUNICIPALITY, CostCategory.MANDATORY, ["ok", "bad"], [1.0, float("nan")])
    assert np.array_equal(one.totals, many.totals)  # nothing booked


@pytest.mark.parametrize("seed", range(6))
def test_staff_paid_shares_and_cached_rows(seed):
    from quartiersim.config.behaviour import Staffing
    from quartiersim.sim.staff import PostKey, Role, StaffStock

    rng = np.random.default_rng(seed)
    st = StaffStock.empty(Staffing())
    for i in range(12):
        st.set_target(PostKey(int(rng.integers(-1, 3)), Role(int(rng.integers(0, 3))),
                              int(rng.integers(-1, 6)), bool(rng.random() < 0.5)), i % 4,
                      float(rng.random() * (rng.random() < 0.8)))
        if i == 6:  # queried before more posts are added: the cache must not go stale
            assert len(st.rows(employer=0)) == int(np.count_nonzero(st.employer == 0))
    st.fte[:] = st.target * rng.random(len(st)) * 2
    assert st.paid_shares() == [st.paid_share(i) for i in range(len(st))]
    for employer in (-1, 0, 1, 2, None):
        for funded in (True, False, None):
            mask = np.ones(len(st), bool) if employer is None else st.employer == employer
            if funded is not None:
                mask &= st.funded == funded
            assert np.array_equal(st.rows(employer=employer, funded=funded), np.flatnonzero(mask))
    with pytest.raises(ValueError, match="read-only"):
        st.rows(employer=0)[:] = 0


def _staff_month_always_with_notices(st):
    """The former StaffStock.month: notices summed and withdrawn whether or not any run."""
    from quartiersim.sim.staff import MUNICIPALITY

    p = st.params
    left = st.leaving[:, 0].copy()
    st.fte -= left
    st.leaving[:, :-1] = st.leaving[:, 1:]
    st.leaving[:, -1] = 0.0
    municipal = st.employer == MUNICIPALITY
    staying = st.fte - st.leaving.sum(axis=1)
    short = np.maximum(st.target - staying, 0.0)
    for m in range(st.leaving.shape[1] - 1, -1, -1):
        back = np.minimum(short, st.leaving[:, m])
        st.leaving[:, m] -= back
        short -= back
    fill = 1.0 - np.exp(-1.0 / p.vacancy_months) if p.vacancy_months > 0 else 1.0
    hired = short * fill
    grown = st.fte + hired
    st.experience = np.where(grown > 0, st.fte * st.experience / np.maximum(grown, 1e-12), 0.0)
    st.fte = grown
    excess = np.maximum(st.fte - st.leaving.sum(axis=1) - st.target, 0.0)
    gone = np.where(municipal | (p.notice_months <= 0), excess, 0.0)
    st.fte -= gone
    st.leaving[:, -1] += np.where(gone > 0, 0.0, excess)
    left += gone
    st.fte = np.maximum(st.fte, 0.0)
    if p.ramp_up_months > 0:
        st.experience = 1.0 - (1.0 - st.experience) * np.exp(-1.0 / p.ramp_up_months)
    else:
        st.experience[:] = 1.0
    st.experience[st.fte <= 0] = 0.0
    return float(hired.sum()), float(left.sum())


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("notice", [0, 1, 3])
def test_staff_month_as_with_notices_always_withdrawn(seed, notice):
    import copy

    from quartiersim.config.behaviour import Staffing
    from quartiersim.sim.staff import PostKey, Role, StaffStock

    rng = np.random.default_rng(seed)
    new = StaffStock.empty(Staffing(notice_months=notice, vacancy_months=2.0))
    for i in range(10):
        new.set_target(PostKey(i % 3 - 1, Role.SERVICE, i % 6, bool(i % 2)), 0, float(rng.random()))
    new.establish()
    old = copy.deepcopy(new)
    for month in range(60):
        if month % 7 == 0:  # targets move: notices given, withdrawn, hires
            target = rng.random(len(new)) * (rng.random(len(new)) < 0.8)
            new.target[:] = old.target[:] = target
        assert new.month() == _staff_month_always_with_notices(old)
        for name in ("fte", "experience", "leaving"):
            assert np.array_equal(getattr(new, name), getattr(old, name))


@pytest.mark.parametrize("seed", range(6))
def test_partners_are_the_adjacency_rows(seed):
    """``partners`` lists each slot's row of the adjacency, in order, for any slots
    (repeated, unordered, without ties, none)."""
    from quartiersim.sim.population import adjacency, partners

    rng = np.random.default_rng(seed)
    n = 800
    adj = adjacency(_random_ties(n, 2_000, rng), n)
    for slots in (rng.integers(0, n, 300), np.flatnonzero(np.diff(adj.indptr) == 0)[:5],
                  np.zeros(0, np.int64), np.array([7, 7, 3])):
        row, tie = partners(adj, slots)
        want_row = np.concatenate([np.full(adj.indptr[s + 1] - adj.indptr[s], i)
                                   for i, s in enumerate(slots)] + [np.zeros(0, int)])
        want_tie = np.concatenate([adj.indices[adj.indptr[s]:adj.indptr[s + 1]] for s in slots]
                                  + [np.zeros(0, np.int32)])
        assert np.array_equal(row, want_row) and np.array_equal(tie, want_tie)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("size,high", [(0, 5), (1, 5), (600, 50), (3000, 10**9)])
def test_group_is_unique_with_inverse(seed, size, high):
    """``group`` gives what ``np.unique(..., return_inverse=True)`` gives."""
    from quartiersim.sim.population import group

    keys = np.random.default_rng(seed).integers(0, high, size)
    got, inverse = group(keys)
    want, want_inverse = np.unique(keys, return_inverse=True)
    assert np.array_equal(got, want) and np.array_equal(inverse, want_inverse)
    assert inverse.dtype == np.intp


@pytest.mark.parametrize("seed", range(3))
def test_joining_chances_are_the_activation_probability(seed):
    """Activation's draw sets computed on the slots with a visibly active volunteer tie
    equal those read off the full :func:`activation_probability`, for random results
    (some 0), a base chance of 0, and a boost that makes tied chances equal the base."""
    from quartiersim.config.loading import load_scenario
    from quartiersim.sim.model import QuarterModel
    from quartiersim.sim.processes.volunteering import _joining_chances, activation_probability

    m = QuarterModel(load_scenario("scenarios/herten-innenstadt.toml"), "integration_centre",
                     rng=seed, years=1)
    rng = np.random.default_rng(seed)
    a = m.residents
    for trial in range(8):
        m.step()
        res = m.month.volunteer_results
        res[:] = np.where(rng.random(res.shape) < 0.3, 0.0, rng.random(res.shape))
        if trial % 4 == 1:
            m.cooperation.activation_boost = lambda: -1.0  # base 0
        elif trial % 4 == 2:
            m.cooperation.activation_boost = lambda: 1.0  # base 1: every chance is the base
        else:
            m.cooperation.activation_boost = lambda: 0.0
        p, base = activation_probability(m)
        cand = p > 0
        lone, tied, p_tied, got_base = _joining_chances(m, a.volunteer_hours > 0)
        assert got_base == base
        assert np.array_equal(lone, np.flatnonzero(cand & (p == base)))
        assert np.array_equal(tied, np.flatnonzero(cand & (p != base)))
        assert np.array_equal(p_tied, p[tied])
        assert len(tied) > 0 or trial % 4 == 2


@pytest.mark.parametrize("seed", range(4))
def test_book_each_books_as_book_one_by_one(seed):
    """Bookings to several payers in one call: the same totals (the same sums in the same
    order per payer) and the same entries, in order, as one ``book`` each."""
    from quartiersim.config.domains import CostCategory, Payer
    from quartiersim.sim.ledger import Ledger

    rng = np.random.default_rng(seed)
    payers = list(Payer)
    one, each = Ledger(3, keep_entries=True), Ledger(3, keep_entries=True)
    for month in range(1, 37):
        bookings = [(payers[rng.integers(len(payers))], f"item_{k}",
                     float(rng.random() * 10.0 ** rng.integers(-3, 7) * (rng.random() < 0.7)))
                    for k in range(rng.integers(0, 12))]
        for led in (one, each):
            led.start_month()
            led.book(month, Payer.MUNICIPALITY, CostCategory.VOLUNTARY, "before", 0.1 * month)
        for payer, item, amount in bookings:
            one.book(month, payer, CostCategory.VOLUNTARY, item, amount)
        each.book_each(month, CostCategory.VOLUNTARY, bookings)
        assert np.array_equal(one.month_totals, each.month_totals)
    assert np.array_equal(one.totals, each.totals) and one.entries == each.entries
    with pytest.raises(ValueError, match="'bad' of -1.0 EUR: amounts must be finite"):
        each.book_each(1, CostCategory.VOLUNTARY, [(Payer.STATE_FEDERAL, "ok", 1.0), (Payer.DONORS, "bad", -1.0)])
    assert np.array_equal(one.totals, each.totals)  # nothing booked


@pytest.mark.parametrize("seed", range(4))
def test_episode_counts_with_weight_columns_are_the_single_counts(seed):
    """``episodes._count`` with a weight matrix gives, per column, what one count with
    that column's weights gives (the counts by domain as a bincount)."""
    from quartiersim.sim.episodes import _count
    from quartiersim.sim.population import ResidentArrays

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    a = ResidentArrays.empty(n)
    a.age[:] = rng.random(n) * 100
    for flag in (a.transfer, a.migration, a.mobility_limited):
        flag[:] = rng.random(n) < 0.4
    for m in (0, 1, 5, 400):
        entries = rng.integers(0, 6 * n, m)
        w = np.where(rng.random((m, 3)) < 0.5, 0.0, rng.integers(0, 40, (m, 3)))
        by_domain, by_group = _count(entries, n, a, w)
        for c in range(3):
            d, g = _count(entries, n, a, w[:, c])
            assert np.array_equal(by_domain[:, c], d) and np.array_equal(by_group[:, c], g)
            assert np.array_equal(d, np.bincount(entries // n, weights=w[:, c], minlength=6))


@pytest.mark.parametrize("seed", range(3))
def test_mean_trust_by_kind_as_the_masked_sums(seed):
    """Mean trust by kind from the cached places in use equals the former computation
    (masked candidates, residents broadcast per cell), for changing patterns in use."""
    from quartiersim.config.domains import PointKind
    from quartiersim.config.loading import load_scenario
    from quartiersim.sim.model import QuarterModel
    from quartiersim.sim.processes.trust import mean_trust_by_kind

    m = QuarterModel(load_scenario("scenarios/herten-innenstadt.toml", {"population.residents": 800}),
                     "coproduction", rng=seed, years=1)
    rng = np.random.default_rng(seed)
    t, a = m.trust, m.residents
    for trial in range(6):
        m.step()
        in_use = rng.random(len(m.space.points)) < (0.0 if trial == 3 else 0.7)
        sums, counts = t.cell_sums(a.home_cell, a.alive)
        use = in_use[t.point]
        num = np.bincount(t.kind[use], weights=sums[use], minlength=len(PointKind))
        den = np.bincount(t.kind[use], weights=np.broadcast_to(counts[:, None], use.shape)[use],
                          minlength=len(PointKind))
        with np.errstate(invalid="ignore", divide="ignore"):
            want = np.where(den > 0, num / np.maximum(den, 1e-300), np.nan)
        got = mean_trust_by_kind(m, in_use)
        assert list(got) == list(PointKind)
        assert np.array_equal(np.array(list(got.values())), want, equal_nan=True)
        again = mean_trust_by_kind(m, in_use)  # from the cache
        assert np.array_equal(np.array(list(again.values())), want, equal_nan=True)
