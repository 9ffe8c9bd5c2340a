"""Invariants: money in = money out, coverage in [0, 1], fewer offers -> more mandatory cases."""

from __future__ import annotations

import numpy as np
import pytest

import quartiersim as qs
from quartiersim.config.domains import CostCategory, Payer
from quartiersim.sim.ledger import PAYERS

from conftest import HERTEN, SCENARIOS, WETTER


@pytest.fixture(scope="module", params=["municipal", "coproduction"])
def finished(request):
    return qs.run(HERTEN, model=request.param, seed=5, years=3, keep_model=True,
                  keep_bookings=True)


def test_every_euro_booked_to_exactly_one_payer(finished):
    m, s = finished.model, finished.summary
    entries = m.ledger.entries
    assert entries, "a run books money"
    assert all(isinstance(e.payer, Payer) and e.amount_eur > 0 for e in entries)
    total = sum(e.amount_eur for e in entries)
    assert total == pytest.approx(s["total_cost_eur"], rel=1e-12)
    assert sum(s[f"cost_{p.value}_eur"] for p in PAYERS) == pytest.approx(total, rel=1e-12)
    for p in PAYERS:
        assert sum(e.amount_eur for e in entries if e.payer is p) == pytest.approx(
            s[f"cost_{p.value}_eur"], rel=1e-12, abs=1e-6)


def test_budget_balance_is_revenue_minus_expenses_each_year(finished):
    m = finished.model
    assert len(m.municipality.history) == 3
    for i, y in enumerate(m.municipality.history):
        # the quarter's spending in the budget equals what the ledger booked to the municipality
        assert y.quarter_voluntary_eur == pytest.approx(
            m.ledger.total(Payer.MUNICIPALITY, CostCategory.VOLUNTARY, year=i))
        assert y.quarter_mandatory_eur == pytest.approx(
            m.ledger.total(Payer.MUNICIPALITY, CostCategory.MANDATORY, year=i))
        assert y.balance_eur == pytest.approx(y.revenue_eur - y.other_expenses_eur
                                              - y.quarter_voluntary_eur - y.quarter_mandatory_eur)
        assert finished.summary[f"budget_balance_{y.year}_eur"] == y.balance_eur


def test_carriers_income_equals_spending_plus_reserve_change(finished):
    m = finished.model
    for c in m.carriers_list:
        assert c.received_eur == pytest.approx(c.spent_eur + c.reserve_eur - c.reserve_start_eur)
    # public money to carriers is booked to its payers as paid, and is the carriers' income
    # by payer; their own money is booked to donors only as they spend it
    public = sum(e.amount_eur for e in m.ledger.entries if e.item == "carrier_subsidy")
    assert public == pytest.approx(sum(sum(c.income_by_payer.values()) for c in m.carriers_list))
    own_spent = sum(e.amount_eur for e in m.ledger.entries if e.item == "carrier_own_funds")
    assert own_spent == pytest.approx(sum(c.own_spent_eur for c in m.carriers_list))
    # what carriers spent came from public money or from their own
    for c in m.carriers_list:
        assert c.spent_eur <= sum(c.income_by_payer.values()) + c.own_spent_eur + 1e-6


def test_coverage_within_unit_interval(finished):
    s, series = finished.summary, finished.series
    cov_keys = [k for k in s if k.startswith("coverage") and k != "coverage_after_grant"]
    assert len(cov_keys) == 11
    assert all(0.0 <= s[k] <= 1.0 for k in cov_keys)
    assert s["coverage_after_grant"] is None  # financing "budget" has no grant
    cols = [c for c in series.columns if c.startswith("coverage")]
    assert ((series[cols] >= 0) & (series[cols] <= 1)).all().all()
    assert s["served_hours"] <= s["need_hours"]


def test_used_hours_within_capacity_and_served_hours_match():
    from quartiersim.sim.model import QuarterModel

    m = QuarterModel(qs.load_scenario(HERTEN), cooperation="coproduction", rng=3, years=1)
    while m.running:  # every month of the horizon
        m.step()
        assert (m.used_hours <= m.capacity_hours + 1e-9).all()
        assert (m.used_volunteer_hours <= m.used_hours + 1e-9).all()
        # what residents were served is what the points delivered
        assert m.residents.served_hours.sum() == pytest.approx(m.used_hours.sum())


@pytest.mark.parametrize("path", [HERTEN, WETTER], ids=lambda p: p.stem)
def test_no_offers_gives_more_mandatory_cases(path):
    none = {"municipality.voluntary_budget_eur_per_year": 0.0, "carriers": [],
            "volunteering.rate": 0.0, "volunteering.activation_probability_per_month": 0.0,
            "volunteering.activation_per_volunteer_tie": 0.0}
    with_offers = sum(qs.run(path, model="municipal", seed=s, years=3).summary["mandatory_cases"]
                      for s in range(3))
    without = [qs.run(path, model="municipal", seed=s, years=3, overrides=none).summary
               for s in range(3)]
    assert all(x["coverage"] == 0.0 for x in without)
    assert sum(x["mandatory_cases"] for x in without) > with_offers


def test_population_stays_on_trend():
    r = qs.run(HERTEN, seed=2, years=5, keep_model=True)
    expected = 8700 * (1 - 0.004) ** 5
    assert r.summary["residents_end"] == pytest.approx(expected, rel=0.01)
    a = r.model.residents
    # Resident agents and the arrays agree
    from quartiersim.sim.agents import Resident, Volunteer

    residents = r.model.agents_by_type[Resident]
    assert len(residents) == a.alive.sum()
    assert {x.slot for x in residents} == set(np.flatnonzero(a.alive).tolist())
    assert {v.slot for v in r.model.agents_by_type[Volunteer]} == \
        set(np.flatnonzero(a.volunteer_hours > 0).tolist())
