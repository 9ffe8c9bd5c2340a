"""Trust and awareness earned by experience (issue 10, item 4; docs/ODD.md 7.3, 7.4), each
in a tiny hand-built quarter with exact expectations."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

import quartiersim as qs
from quartiersim.errors import ScenarioError
from quartiersim.sim.model import QuarterModel
from quartiersim.sim.processes import demography, trust
from quartiersim.sim.processes.trust import PlaceStatus


def _model(write_scenario, raw: dict[str, Any], seed: int = 1, **kw: Any) -> QuarterModel:
    return QuarterModel(qs.load_scenario(write_scenario(raw)), rng=seed, **kw)


def _trust_in(m: QuarterModel, letter: str) -> np.ndarray:
    """Each slot's trust in the place ``letter`` (NaN where it is no candidate), (slots,)."""
    p = m.space.point(letter).index
    t = m.trust
    at = t.point[m.residents.home_cell] == p  # (slots, K)
    return np.where(at.any(axis=1), t.level[np.arange(len(at)), at.argmax(axis=1)], np.nan)


def _learning(raw: dict[str, Any], rate: float = 0.3, word_of_mouth: float = 0.0,
              **access: Any) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    raw["access"].update(trust_learning_rate=rate, trust_word_of_mouth_rate=word_of_mouth,
                         **access)
    return raw


def test_trust_rises_after_being_served(tiny_raw, write_scenario):
    # capacity far above the need: whoever seeks is served in full (outcome 1)
    raw = _learning(tiny_raw, trust_municipal_office=0.5)
    raw["municipality"]["voluntary_budget_eur_per_year"] = 1e7
    m = _model(write_scenario, raw)
    assert _trust_in(m, "M")[m.residents.alive] == pytest.approx([0.5] * 10)
    m.run_months(1)
    sought = m.residents.served_hours[:, 5] > 0
    assert 0 < sought[m.residents.alive].sum() < 10  # about half seek (trust 0.5)
    got = _trust_in(m, "M")[m.residents.alive]
    # 0.5 + 0.3 x (1 - 0.5) = 0.65 for those served, the prior for the others
    assert got == pytest.approx(np.where(sought[m.residents.alive], 0.65, 0.5))


def test_trust_falls_when_rationed(tiny_raw, write_scenario):
    # 50 staff hours for 100 h requested: everybody gets half (outcome 0.5); trust 1 first
    m = _model(write_scenario, _learning(tiny_raw))
    m.run_months(1)
    assert m.residents.served_hours[m.residents.alive, 5] == pytest.approx([5.0] * 10)
    assert _trust_in(m, "M")[m.residents.alive] == pytest.approx([0.85] * 10)  # 1 + 0.3 (0.5 - 1)
    m.run_months(1)  # clients return (continuation 1) and are rationed again
    assert _trust_in(m, "M")[m.residents.alive] == pytest.approx([0.85 + 0.3 * (0.5 - 0.85)] * 10)


def _one_seeker(raw: dict[str, Any], residents: int) -> dict[str, Any]:
    raw["population"]["residents"] = residents
    raw["needs"]["counselling"]["onset_probability_per_month"] = 0.0  # no needs but the one set
    raw["municipality"]["voluntary_budget_eur_per_year"] = 1e7
    return raw


def test_word_of_mouth_reaches_a_tie_and_not_a_stranger(tiny_raw, write_scenario):
    raw = _one_seeker(_learning(tiny_raw, word_of_mouth=0.05, trust_municipal_office=0.6,
                                client_continuation_probability=1.0), 60)
    m = _model(write_scenario, raw)
    a = m.residents
    a.need_hours[0, 5] = 10.0  # only slot 0 needs counselling
    # slot 0 seeks with probability 0.6: find a seed... or make its trust certain
    m.trust.level[0] = 1.0
    ties = set(m.adjacency.indices[m.adjacency.indptr[0]:m.adjacency.indptr[1]].tolist())
    assert ties and len(ties) < 59
    m.run_months(1)
    assert a.served_hours[0, 5] == pytest.approx(10.0)
    got = _trust_in(m, "M")
    assert got[0] == pytest.approx(1.0)  # 1 + 0.3 (1 - 1)
    for s in np.flatnonzero(a.alive)[1:]:
        # a tie: 0.6 + 0.05 (1 - 0.6) = 0.62; a stranger keeps the prior
        assert got[s] == pytest.approx(0.62 if s in ties else 0.6), s


def test_word_of_mouth_passes_by_a_tie_who_cannot_reach_the_place(tiny_raw, write_scenario):
    # two offices 20 cells apart; every resident weighs only its nearest one (K = 1)
    raw = _one_seeker(_learning(tiny_raw, word_of_mouth=0.5, candidate_points=1,
                                trust_municipal_office=0.6), 400)
    raw["space"] = {"layout": ["M" + "." * 20 + "N"], "service_points": {
        "M": {"kind": "municipal_office", "name": "west"},
        "N": {"kind": "municipal_office", "name": "east"}}}
    raw["network"] = {"neighbour_ties": 0.0, "friend_ties": 20.0}
    m = _model(write_scenario, raw)
    a, t = m.residents, m.trust
    west = np.flatnonzero(a.alive & (a.home_cell <= 5))
    s0 = int(west[0])
    a.need_hours[s0, 5] = 10.0
    t.level[s0] = 1.0
    ties = m.adjacency.indices[m.adjacency.indptr[s0]:m.adjacency.indptr[s0 + 1]]
    ties = ties[a.alive[ties]]
    near = ties[a.home_cell[ties] <= 10]  # nearest office M
    far = ties[a.home_cell[ties] >= 12]  # nearest office N: M is no candidate
    assert len(near) and len(far)
    m.run_months(1)
    assert t.point[a.home_cell[far], 0].tolist() == [m.space.point("N").index] * len(far)
    assert t.level[far, 0] == pytest.approx([0.6] * len(far))  # unaffected
    assert t.level[near, 0] == pytest.approx([0.6 + 0.5 * 0.4] * len(near))


def _sites_world(tiny_raw: dict[str, Any]) -> dict[str, Any]:
    raw = _learning(tiny_raw, trust_carrier=0.8, trust_new_place=0.3,
                    trust_municipal_office=0.6)
    raw["space"] = {"layout": ["MAZ", "..T"], "service_points": {
        "M": {"kind": "municipal_office", "name": "office"},
        "A": {"kind": "carrier_premises", "name": "A"},
        "Z": {"kind": "centre_site", "name": "centre"},
        "T": {"kind": "meeting_point_site", "name": "rooms"}}}
    raw["population"]["residents"] = 100
    # 20 FTE = 2,660 h a month: everybody's 10 h (1,000 h) served in full
    raw["carriers"] = [{"name": "A", "point": "A", "staff_fte": {"counselling": 20.0},
                        "own_funds_eur_per_year": 1e8, "rent_eur_per_month": 0.0}]
    raw["cooperation"]["integration_centre"] = {"management_fte": 0.0}
    return raw


def test_priors_for_places_in_use_at_the_start_and_low_trust_in_new_ones(tiny_raw, write_scenario):
    raw = _sites_world(tiny_raw)
    raw["spin_up"] = {"months": 3}  # the status quo (municipal provision) first
    m = _model(write_scenario, raw, cooperation="integration_centre")
    t, alive = m.trust, m.residents.alive
    z = m.space.point("Z").index
    assert [PlaceStatus(s) for s in t.status] == [PlaceStatus.OPEN, PlaceStatus.OPEN,
                                                   PlaceStatus.UNUSED, PlaceStatus.UNUSED]
    assert t.start.tolist() == pytest.approx([0.6, 0.8, 0.3, 0.3])
    # three months at the carrier (served in full) raised trust there; nobody was at Z yet
    assert np.nanmax(_trust_in(m, "A")[alive]) > 0.9
    assert _trust_in(m, "Z")[alive] == pytest.approx([0.3] * alive.sum())
    m.run_months(1)  # the centre opens: first month with capacity at Z
    assert t.status[z] == PlaceStatus.OPEN
    went = np.isin(np.arange(m.residents.n), m.month.requests[0][m.month.requests[1] == z])
    got = _trust_in(m, "Z")
    assert got[alive & ~went] == pytest.approx([0.3] * (alive & ~went).sum())
    assert (got[alive & went] > 0.3).all()  # served in full there


def test_centre_and_meeting_point_get_no_prior_above_the_carriers():
    from quartiersim.config.people import Access

    assert "trust_centre" not in Access.model_fields
    assert "trust_meeting_point" not in Access.model_fields
    assert Access().trust_new_place < Access().trust_carrier


@pytest.mark.parametrize("key", ["trust_centre", "trust_meeting_point"])
def test_removed_trust_keys_are_a_clear_error(tiny_raw, write_scenario, key):
    path = write_scenario(tiny_raw, "ok.toml")
    tiny_raw["access"][key] = 0.9
    with pytest.raises(ScenarioError, match=rf"'access': '{key}' was removed: .*"
                                            r"'access.trust_new_place'.*'trust_carrier'"):
        qs.load_scenario(write_scenario(tiny_raw))
    with pytest.raises(ScenarioError, match=rf"ok.toml: 'access': '{key}' was removed"):
        qs.load_scenario(path).with_overrides({f"access.{key}": 0.9})


def test_a_closed_place_loses_its_trust_and_reopens_as_new(tiny_raw, write_scenario):
    raw = _sites_world(tiny_raw)
    m = _model(write_scenario, raw)
    a_pt = m.space.point("A").index
    alive = m.residents.alive
    assert _trust_in(m, "A")[alive] == pytest.approx([0.8] * alive.sum())
    m.carriers_list[0].close()
    assert m.trust.status[a_pt] == PlaceStatus.CLOSED
    assert _trust_in(m, "A")[alive] == pytest.approx([0.0] * alive.sum())
    # a newcomer does not trust it either
    demography.remove_residents(m, np.array([0]))
    demography.move_in(m, np.array([40.0]))
    assert _trust_in(m, "A")[m.residents.alive] == pytest.approx([0.0] * alive.sum())
    # used again (capacity there): a new place
    cap = np.zeros((len(m.space.points), 6))
    cap[a_pt, 5] = 10.0
    trust.notice_openings(m, cap)
    assert m.trust.status[a_pt] == PlaceStatus.OPEN
    assert _trust_in(m, "A")[m.residents.alive] == pytest.approx([0.3] * alive.sum())


def test_a_shared_centre_keeps_its_trust_while_a_carrier_remains(tiny_raw, write_scenario):
    raw = _sites_world(tiny_raw)
    raw["carriers"].append({"name": "B", "point": "A", "own_funds_eur_per_year": 1e6,
                            "rent_eur_per_month": 0.0})
    m = _model(write_scenario, raw)
    m.carriers_list[0].close()
    assert m.trust.status[m.space.point("A").index] == PlaceStatus.OPEN
    assert _trust_in(m, "A")[m.residents.alive] == pytest.approx([0.8] * 100)


def test_newcomers_hold_the_places_start_values(tiny_raw, write_scenario):
    m = _model(write_scenario, _sites_world(tiny_raw))
    a, t = m.residents, m.trust
    t.level[a.alive] = 0.95  # everybody learnt something
    demography.remove_residents(m, np.array([3]))
    assert t.level[3].tolist() == [0.0] * t.k
    vacant = ~a.alive
    demography.move_in(m, np.array([30.0]))
    new = np.flatnonzero(a.alive & vacant)
    assert len(new) == 1
    assert t.level[new[0]] == pytest.approx(t.start[t.point[a.home_cell[new[0]]]])


def test_awareness_does_not_arise_in_a_domain_without_offer(tiny_raw, write_scenario):
    # only counselling is offered (the office's only department); ties spread fast
    tiny_raw["access"].update(initial_awareness=0.1, spread_probability_per_tie=0.5)
    tiny_raw["population"]["residents"] = 300
    m = _model(write_scenario, tiny_raw)
    a = m.residents
    before = a.aware[a.alive].copy()
    m.run_months(6)  # month 1 learns nothing: no offer has been seen yet
    after = a.aware[a.alive]
    assert (after[:, :5] == before[:, :5]).all()  # nobody forgets (rate 0), nobody learns
    assert after[:, 5].mean() > before[:, 5].mean() + 0.5


def test_outreach_makes_aware_only_of_offers_within_reach(tiny_raw, write_scenario):
    # a meeting point whose manager reaches everybody: but only counselling exists
    raw = _sites_world(tiny_raw)
    raw["access"].update(initial_awareness=0.0, spread_probability_per_tie=0.0)
    raw["cooperation"]["meeting_point"] = {"manager_fte": 1.0, "outreach_per_fte": 1.0,
                                           "manager_cost_eur_per_year_per_fte": 1000.0,
                                           "room_rent_eur_per_month": 0.0}
    m = _model(write_scenario, raw, cooperation="meeting_point")
    m.run_months(2)
    a = m.residents
    assert a.aware[a.alive, 5].all()
    assert not a.aware[a.alive, :5].any()


def test_trust_series_by_kind(tiny_raw, write_scenario):
    res = qs.run(write_scenario(_sites_world(tiny_raw)), model="municipal", seed=2, years=1)
    s = res.series
    assert s["trust_municipal_office"].between(0, 1).all()
    assert s["trust_carrier_premises"].between(0, 1).all()
    assert s["trust_centre_site"].isna().all()  # not in use
    # the carrier serves in full: trust rises from its prior 0.8
    assert s["trust_carrier_premises"].iloc[-1] > 0.8


def test_resident_agent_shows_its_trust_by_place(tiny_raw, write_scenario):
    m = _model(write_scenario, _sites_world(tiny_raw))
    r = next(iter(m.resident_of_slot.values()))
    assert r.trust == pytest.approx({"M": 0.6, "A": 0.8, "Z": 0.3, "T": 0.3})


def test_outreach_builds_trust_in_the_outreaching_place(tiny_raw, write_scenario):
    """A known address lowers the threshold: residents the centre's outreach reaches (all
    of them, outreach 1) move their trust in the centre towards full trust by the
    word-of-mouth rate, 0.3 + 0.1 x (1 - 0.3) = 0.37, though nobody needs anything and so
    nobody sought there. Without outreach it stays at the new place's 0.3."""
    raw = _sites_world(tiny_raw)
    raw["access"]["trust_word_of_mouth_rate"] = 0.1
    raw["needs"]["counselling"]["onset_probability_per_month"] = 0.0
    for outreach, expected in ((1.0, 0.37), (0.0, 0.3)):
        raw["cooperation"]["integration_centre"]["outreach"] = outreach
        m = _model(write_scenario, raw, cooperation="integration_centre")
        m.run_months(1)
        assert len(m.month.requests[0]) == 0
        alive = m.residents.alive
        assert _trust_in(m, "Z")[alive] == pytest.approx([expected] * alive.sum())
