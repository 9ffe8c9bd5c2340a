"""Structures with memory (issue 10, items 1-3 and defects of item 7): staff as a stock,
carriers living on their income mix, volunteers bound to coordination, each in a tiny
world with exact expectations."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest

import quartiersim as qs
from quartiersim.config.behaviour import Staffing
from quartiersim.config.domains import CostCategory, Payer
from quartiersim.sim.model import QuarterModel
from quartiersim.sim.processes import monthly
from quartiersim.sim.processes.attrition import quit_probability
from quartiersim.sim.processes.volunteering import activation_probability, visible_results
from quartiersim.sim.staff import MUNICIPALITY, NO_DOMAIN, PostKey, Role, StaffStock

SERVICE = PostKey(0, Role.SERVICE, 5, True)  # carrier 0's funded counselling post
MUNICIPAL = PostKey(MUNICIPALITY, Role.SERVICE, 5, True)


def _stock(**params: Any) -> StaffStock:
    return StaffStock.empty(Staffing(**params))


# --------------------------------------------------------------------------- the stock
def test_a_vacancy_fills_with_the_lag():
    st = _stock(vacancy_months=4.0, ramp_up_months=0.0)
    st.set_target(SERVICE, 0, 1.0)
    hired = [st.month()[0] for _ in range(3)]
    f = 1.0 - math.exp(-1.0 / 4.0)  # the monthly chance a vacancy fills
    assert hired == pytest.approx([f, f * (1 - f), f * (1 - f) ** 2])
    assert st.fte[0] == pytest.approx(1.0 - math.exp(-3.0 / 4.0))


def test_a_carrier_post_whose_money_ends_is_worked_through_the_notice_then_left():
    st = _stock(notice_months=3)
    st.set_target(SERVICE, 0, 1.0)
    st.establish()
    st.begin_plan()  # next year's plan does not fund the post again
    employed, paid = [], []
    for _ in range(5):
        st.month()
        employed.append(float(st.fte[0]))
        paid.append(st.paid_share(0))
    assert employed == [1.0, 1.0, 1.0, 0.0, 0.0]  # three months of notice
    assert paid == [0.0] * 5  # the funder pays nothing after the money ended
    assert st.experience[0] == 0.0  # the experience left with the staff


def test_the_municipality_redeploys_its_staff_at_once():
    st = _stock(notice_months=3)
    st.set_target(MUNICIPAL, 0, 2.0)
    st.establish()
    st.begin_plan()
    assert st.month() == (0.0, 2.0)
    assert st.fte[0] == 0.0


def test_money_back_within_the_notice_keeps_the_staff_without_hiring():
    st = _stock(notice_months=3, vacancy_months=4.0)
    st.set_target(SERVICE, 0, 1.0)
    st.establish()
    st.begin_plan()
    st.month()  # notice given
    assert st.notice_fte(0) == 1.0
    st.set_target(SERVICE, 0, 1.0)  # the money is back
    hired, left = st.month()
    assert (hired, left) == (0.0, 0.0)
    assert st.fte[0] == 1.0 and st.leaving.sum() == 0.0 and st.experience[0] == 1.0


def test_posts_persist_from_year_to_year():
    st = _stock()
    st.set_target(SERVICE, 0, 1.0)
    st.establish()
    for _ in range(3):  # three yearly plans funding the same post
        st.begin_plan()
        st.set_target(SERVICE, 0, 1.0)
        assert st.month() == (0.0, 0.0)
    assert st.fte[0] == 1.0 and st.experience[0] == 1.0


def test_new_staff_start_below_full_productivity_and_learn():
    st = _stock(vacancy_months=0.0, new_hire_productivity=0.5, ramp_up_months=12.0)
    st.set_target(SERVICE, 0, 1.0)
    st.month()  # hired and a month of experience
    e1 = 1.0 - math.exp(-1.0 / 12.0)
    assert st.productivity()[0] == pytest.approx(0.5 + 0.5 * e1)
    for _ in range(11):
        st.month()
    assert st.productivity()[0] == pytest.approx(0.5 + 0.5 * (1.0 - math.exp(-1.0)))
    # a second FTE hired now dilutes the experience: the mean of 1 experienced and 1 new
    st.set_target(SERVICE, 0, 2.0)
    st.month()
    e12 = 1.0 - math.exp(-1.0)
    assert st.experience[0] == pytest.approx(1.0 - (1.0 - e12 / 2.0) * math.exp(-1.0 / 12.0))


# --------------------------------------------------------------------------- tiny quarters
def _carrier_world(tiny_raw: dict[str, Any], **carrier: Any) -> dict[str, Any]:
    """The tiny quarter with an office M and one carrier A (50 EUR/h, no overhead, no
    rent, no own staff or funds unless given); co-production without planning share,
    coordination or reallocation; the quarter's budget all to counselling."""
    raw = copy.deepcopy(tiny_raw)
    raw["space"] = {"layout": ["MA."], "service_points": {
        "M": {"kind": "municipal_office", "name": "office"},
        "A": {"kind": "carrier_premises", "name": "carrier A"}}}
    c = {"name": "A", "point": "A", "own_funds_eur_per_year": 0.0, "reserve_eur": 100_000.0,
         "rent_eur_per_month": 0.0, "cost_eur_per_staff_hour": 50.0, "overhead_share": 0.0}
    c.update(carrier)
    raw["carriers"] = [c]
    raw["cooperation"]["coproduction"] = {"planning_share": 0.0, "coordination_fte": 0.0,
                                          "reallocation_rate": 0.0, "cross_referral": 0.0}
    return raw


def _grant(continued: bool) -> dict[str, Any]:
    """A grant of 60,000 EUR in 2020 only, fully funded, approved for sure."""
    g = {"project_eur_per_year": 60_000.0, "funding_rate": 1.0, "start_year": 2020,
         "end_year": 2020, "application_staff_fte": 1.0, "success_probability_max": 1.0,
         "half_saturation_fte": 1e-9}
    fin: dict[str, Any] = {"grant_programme": g}
    if continued:
        fin["continuation"] = {"share": 1.0}
    return fin


def test_a_carrier_bears_the_notice_of_grant_posts_unless_they_are_continued(tiny_raw,
                                                                           write_scenario):
    """The grant funds 60,000 / (12 x 133 h x 50 EUR) FTE at carrier A in 2020. When it
    ends the post ends: A keeps the staff for its three months' notice and pays them,
    5,000 EUR a month, from its reserve (booked to donors as spent); then they are gone.
    Continued into the budget, the post and its staff stay and A pays nothing."""
    raw = _carrier_world(tiny_raw)
    raw["municipality"]["voluntary_budget_eur_per_year"] = 0.0
    raw["staffing"]["notice_months"] = 3
    raw["financing"] = {"ended": _grant(False), "continued": _grant(True)}
    sc = qs.load_scenario(write_scenario(raw))
    fte = 60_000.0 / (12 * 133 * 50.0)
    runs = {}
    for name in ("ended", "continued"):
        m = QuarterModel(sc, "coproduction", name, rng=1, years=2, keep_bookings=True)
        employed = []
        for _ in range(24):
            m.step()
            employed.append(float(m.carriers_list[0].funded_fte[5]))
        runs[name] = (m, employed)
    m, employed = runs["ended"]
    carrier = m.carriers_list[0]
    assert employed == pytest.approx([fte] * 15 + [0.0] * 9)
    assert carrier.reserve_eur == pytest.approx(100_000.0 - 3 * 5_000.0)
    own = [e for e in m.ledger.entries if e.item == "carrier_own_funds"]
    assert {e.month for e in own} == {13, 14, 15}
    assert sum(e.amount_eur for e in own) == pytest.approx(15_000.0)
    assert carrier.income_by_payer == pytest.approx({Payer.STATE_FEDERAL: 60_000.0})
    m, employed = runs["continued"]
    assert employed == pytest.approx([fte] * 24)
    assert m.carriers_list[0].reserve_eur == pytest.approx(100_000.0)
    assert m.carriers_list[0].income_by_payer == pytest.approx(
        {Payer.STATE_FEDERAL: 60_000.0, Payer.MUNICIPALITY: 60_000.0})


def test_own_funds_are_booked_when_spent_and_the_rest_stays_in_the_reserve(tiny_raw,
                                                                           write_scenario):
    """Defect of issue 10: own funds were booked to donors in full while reserves piled up.
    A (no staff of its own, so nothing to spend its surplus on) receives own funds of
    120,000 EUR a year and pays 1,000 EUR rent a month: the 12,000 EUR it spends are
    booked, the other 108,000 EUR stay in its reserve."""
    raw = _carrier_world(tiny_raw, own_funds_eur_per_year=120_000.0, rent_eur_per_month=1000.0)
    m = QuarterModel(qs.load_scenario(write_scenario(raw)), "municipal", rng=1, years=1,
                     keep_bookings=True)
    m.run_months(12)
    donors = m.ledger.total(Payer.DONORS, CostCategory.VOLUNTARY, year=0)
    assert donors == pytest.approx(12_000.0)
    assert m.carriers_list[0].reserve_eur == pytest.approx(100_000.0 + 108_000.0)


def test_a_carrier_spends_a_lasting_surplus_on_its_own_staff(tiny_raw, write_scenario):
    """Timely use of funds (§ 55 AO): own funds of 120,000 EUR a year against own staff
    of 0.5 FTE (39,900 EUR a year) and no rent; its reserve is at its buffer. At the
    year's planning it raises its own posts until they use the money: 120,000 / (12 x 133
    h x 50 EUR) = 1.504 FTE; the reserve stays at the buffer."""
    raw = _carrier_world(tiny_raw, own_funds_eur_per_year=120_000.0,
                         staff_fte={"counselling": 0.5})
    m = QuarterModel(qs.load_scenario(write_scenario(raw)), "municipal", rng=1, years=1,
                     keep_bookings=True)
    carrier = m.carriers_list[0]
    assert carrier.own_target_fte[5] == pytest.approx(120_000.0 / (12 * 133 * 50.0))
    m.run_months(12)
    assert carrier.reserve_eur == pytest.approx(100_000.0)
    assert m.ledger.total(Payer.DONORS, CostCategory.VOLUNTARY, year=0) == pytest.approx(120_000.0)


def test_a_carrier_in_deficit_cuts_what_it_needs_once_per_notice_period(tiny_raw, write_scenario):
    """Own funds 6,000 EUR a month against 1 FTE at 6,650 EUR: month 1 ends 650 EUR in
    deficit. The carrier plans its cut: balance its posts (650 EUR a month) and repay
    the deficit it will have when the notice has run out (650 + 3 x 650 = 2,600 EUR) in
    the 12 - 1 - 3 - 1 = 7 months then left: 650 + 2,600 / 7 = 1,021.43 EUR a month, a
    cut of 15.36 %. The cut staff work their notice (months 2-4); no further cut meanwhile."""
    raw = _carrier_world(tiny_raw, staff_fte={"counselling": 1.0}, reserve_eur=0.0,
                         own_funds_eur_per_year=72_000.0)
    raw["staffing"]["notice_months"] = 3
    m = QuarterModel(qs.load_scenario(write_scenario(raw)), "municipal", rng=1, years=2)
    carrier = m.carriers_list[0]
    targets, employed = [], []
    for _ in range(5):
        m.step()
        targets.append(float(carrier.own_target_fte[5]))
        employed.append(float(carrier.own_fte[5]))
    first = 1.0 - (650.0 + 2_600.0 / 7) / 6_650.0
    assert targets[:4] == pytest.approx([first] * 4)
    assert employed == pytest.approx([1.0, 1.0, 1.0, 1.0, first])
    assert targets[4] < first  # month 5, the notice over and still in deficit: cuts again
    m.run_months(19)
    # out of deficit in time; its buffer (0) whole, it keeps what its income pays
    assert carrier.is_open and carrier.deficit_months == 0
    assert carrier.own_fte[5] == pytest.approx(6_000.0 / 6_650.0)


def test_a_carrier_whose_reserve_is_whole_again_restores_its_own_posts(tiny_raw, write_scenario):
    """Own funds of 79,800 EUR a year pay exactly its 1 FTE (12 x 133 h x 50 EUR). A
    deficit of 5,000 EUR makes it cut 5,000 / 7 / 6,650 = 10.74 % (repaid in the 7
    months left after notice); set back to 0 EUR, the reserve grows by the 714 EUR a month
    the cut saves once the notice has run out, and at its buffer of 1,000 EUR the post is
    restored in full: its income pays it."""
    raw = _carrier_world(tiny_raw, staff_fte={"counselling": 1.0}, reserve_eur=1_000.0,
                         own_funds_eur_per_year=79_800.0)
    raw["staffing"]["notice_months"] = 3
    m = QuarterModel(qs.load_scenario(write_scenario(raw)), "municipal", rng=1, years=1)
    carrier = m.carriers_list[0]
    carrier.reserve_eur = -5_000.0  # a deficit: the month cuts
    m.step()
    cut = 1.0 - 5_000.0 / 7 / 6_650.0
    assert carrier.own_target_fte[5] == pytest.approx(cut)
    carrier.reserve_eur = 0.0
    targets, reserves = [], []
    for _ in range(6):
        m.step()
        targets.append(float(carrier.own_target_fte[5]))
        reserves.append(carrier.reserve_eur)
    saved = (1.0 - cut) * 6_650.0
    assert reserves == pytest.approx([0.0, 0.0, 0.0, saved, 2 * saved, 2 * saved])
    assert targets == pytest.approx([cut] * 4 + [1.0, 1.0])


def test_a_closed_carrier_loses_its_staff_and_its_volunteers_their_place(tiny_raw, write_scenario):
    raw = _carrier_world(tiny_raw, staff_fte={"counselling": 1.0},
                         coordination_fte=0.5, own_funds_eur_per_year=1e6)
    raw["population"]["residents"] = 200
    raw["volunteering"].update(rate=0.1, counselling=1.0, elderly_support=0.0,
                               youth_education=0.0, integration=0.0, health_prevention=0.0,
                               social_participation=0.0, attrition_per_year_coordinated=0.0,
                               attrition_per_year_uncoordinated=0.0,
                               rebind_probability_per_month=1.0)
    m = QuarterModel(qs.load_scenario(write_scenario(raw)), "municipal", rng=1, years=1)
    a, carrier = m.residents, m.carriers_list[0]
    vols = np.flatnonzero(a.volunteer_hours > 0)
    assert len(vols) > 0 and np.all(a.volunteer_point[vols] == carrier.point.index)
    carrier.close()
    from quartiersim.sim.processes.volunteering import unplace_volunteers

    unplace_volunteers(m)
    assert np.all(a.volunteer_point[vols] == -1)  # no place, no coordination
    assert m.staff.fte[m.staff.rows(employer=0)].sum() == 0.0
    m.step()  # no volunteer point is left: nowhere to go, nothing delivered
    assert np.all(a.volunteer_point[vols] == -1) and m.month.volunteer_hours == 0.0
    assert visible_results(m)[vols].sum() == 0.0


# --------------------------------------------------------------------------- volunteers
def _volunteer_world(tiny_raw: dict[str, Any], uncoordinated: float) -> dict[str, Any]:
    """Carrier A coordinates nobody (no coordination posts); 10 of 100 residents volunteer
    in counselling there; the need (10 h each, 1,000 h) far exceeds what they offer."""
    raw = _carrier_world(tiny_raw, own_funds_eur_per_year=1e6)
    raw["population"]["residents"] = 100
    raw["volunteering"].update(rate=0.1, counselling=1.0, elderly_support=0.0,
                               youth_education=0.0, integration=0.0, health_prevention=0.0,
                               social_participation=0.0, attrition_per_year_coordinated=0.0,
                               attrition_per_year_uncoordinated=0.0,
                               uncoordinated_productivity=uncoordinated)
    raw["access"]["trust_carrier"] = 1.0
    raw["municipality"]["voluntary_budget_eur_per_year"] = 0.0
    return raw


def test_uncoordinated_volunteers_deliver_a_share_not_nothing(tiny_raw, write_scenario):
    m = QuarterModel(qs.load_scenario(write_scenario(_volunteer_world(tiny_raw, 0.3))),
                     "municipal", rng=3, years=1)
    m.step()
    offered = m.residents.volunteer_hours.sum()
    assert offered > 0 and m.month.coordinated_share.max() == 0.0
    assert m.month.volunteer_hours == pytest.approx(0.3 * offered)
    # their hours were all used, but only 30 % of them could be deployed: results 0.3
    vols = np.flatnonzero(m.residents.volunteer_hours > 0)
    assert visible_results(m)[vols] == pytest.approx(np.full(len(vols), 0.3))


def test_volunteers_quit_by_the_results_of_their_hours(tiny_raw, write_scenario):
    raw = _volunteer_world(tiny_raw, 0.3)
    raw["volunteering"].update(attrition_per_year_coordinated=0.2,
                               attrition_per_year_uncoordinated=0.35,
                               overload_quit_multiplier=1.0)
    m = QuarterModel(qs.load_scenario(write_scenario(raw)), "municipal", rng=3, years=1)
    m.step()
    a = m.residents
    vols = np.flatnonzero(a.volunteer_hours > 0)
    expected = monthly(0.3 * 0.2 + 0.7 * 0.35)
    assert quit_probability(m, vols) == pytest.approx(np.full(len(vols), expected))
    a.volunteer_point[vols[:3]] = -1  # without a place: no results
    assert quit_probability(m, vols[:3]) == pytest.approx(np.full(3, monthly(0.35)))


def test_ties_recruit_by_what_their_volunteers_achieve(tiny_raw, write_scenario):
    raw = _volunteer_world(tiny_raw, 0.3)
    raw["volunteering"].update(activation_probability_per_month=0.001,
                               activation_per_volunteer_tie=0.1)
    m = QuarterModel(qs.load_scenario(write_scenario(raw)), "municipal", rng=3, years=1)
    m.step()
    a = m.residents
    p, base = activation_probability(m)
    assert base == pytest.approx(0.001)
    k = m.adjacency @ visible_results(m)  # each volunteer tie counts 0.3
    cand = a.alive & (a.age >= 14) & (a.volunteer_hours <= 0)
    assert p[cand] == pytest.approx(0.001 + 0.1 * k[cand])
    assert np.all(p[~cand] == 0.0)
    assert set(np.round(k[cand] / 0.3, 9)) <= set(range(20))  # whole ties x 0.3
    # volunteers whose hours go unused show nothing and recruit nobody
    m.month.volunteer_results[:] = 0.0
    p, _ = activation_probability(m)
    assert np.all(p[cand] == 0.001)


# --------------------------------------------------------------------------- defects
APPLICATION_EUR = 12 * 133 * 50.0 + 12 * 500.0  # 1 FTE of municipal staff for a year


def test_grant_application_staff_cost_the_municipality(tiny_raw, write_scenario):
    """Defect of issue 10: grant-application staff were never costed. 1 FTE applies in
    2020 (approved) and reports in 2020-21 (funded): its cost, with its workplace, is booked
    to the municipality in those years and not after."""
    raw = copy.deepcopy(tiny_raw)
    raw["financing"] = {"g": {"municipal_budget": {}, "grant_programme": {
        "project_eur_per_year": 10_000.0, "funding_rate": 0.6, "start_year": 2020,
        "end_year": 2021, "application_staff_fte": 1.0, "success_probability_max": 1.0,
        "half_saturation_fte": 1e-9}}}
    m = qs.run(write_scenario(raw), model="municipal", financing="g", seed=1, years=3,
               keep_model=True, keep_bookings=True).model
    by_year = [sum(e.amount_eur for e in m.ledger.entries
                   if e.item == "grant_applications" and (e.month - 1) // 12 == y) for y in range(3)]
    assert by_year == pytest.approx([APPLICATION_EUR, APPLICATION_EUR, 0.0])
    assert {e.payer for e in m.ledger.entries if e.item == "grant_applications"} == {Payer.MUNICIPALITY}


@pytest.mark.parametrize("model, item, param", [
    ("innovation_lab", "volunteer_agency", "agency_fte"),
    ("integration_centre", "centre_management", "management_fte")])
def test_municipal_posts_outside_offices_cost_a_workplace(tiny_raw, write_scenario, model,
                                                          item, param):
    """Defect of issue 10: imputed rooms were costed only in the municipal model. The
    volunteer agency and the centre management (0.5 FTE each) cost their hours and a
    workplace: 0.5 x (12 x 133 h x 50 EUR + 12 x 500 EUR) a year."""
    raw = copy.deepcopy(tiny_raw)
    raw["space"] = {"layout": ["MAZ."], "service_points": {
        "M": {"kind": "municipal_office", "name": "office"},
        "A": {"kind": "carrier_premises", "name": "A"},
        "Z": {"kind": "centre_site", "name": "centre"}}}
    raw["carriers"] = [{"name": "A", "point": "A", "own_funds_eur_per_year": 1e5}]
    raw["cooperation"][model] = {param: 0.5}
    raw["municipality"]["voluntary_budget_eur_per_year"] = 100_000.0  # the post is affordable
    m = qs.run(write_scenario(raw), model=model, seed=1, years=1, keep_model=True,
               keep_bookings=True).model
    booked = sum(e.amount_eur for e in m.ledger.entries if e.item == item)
    assert booked == pytest.approx(0.5 * APPLICATION_EUR)
    post = m.staff.index[PostKey(MUNICIPALITY, Role.MANAGEMENT, NO_DOMAIN, True)]
    assert m.staff.target[post] == pytest.approx(0.5)
