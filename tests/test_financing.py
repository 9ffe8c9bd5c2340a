"""Financing instruments: money conservation with every instrument on, earmarks, the
named financing models of the scenarios, and each instrument's formula."""

from __future__ import annotations

import copy

import pytest

import quartiersim as qs
from quartiersim.sim.cooperation import COOPERATION_MODELS, Payment
from quartiersim.config.domains import CostCategory, Payer
from quartiersim.errors import UnknownNameError
from quartiersim.sim.financing import INSTRUMENTS, RESIDENT_RUN
from quartiersim.config.financing import financing_names
from quartiersim.sim.outcomes import summarize
from quartiersim.sim.ledger import PAYERS
from quartiersim.sim.model import QuarterModel

from conftest import HERTEN, SCENARIOS

#: Every instrument with parameters that make each of them bring money.
EVERYTHING = {
    "municipal_budget": {},
    "grant_programme": {"start_year": 2020, "end_year": 2020, "application_staff_fte": 1.0,
                        "success_probability_max": 1.0, "half_saturation_fte": 1e-9},
    "continuation": {"share": 0.5},
    "grant_management": {},
    "pooling": {},
    "ppp_housing_company": {},
    "sponsoring": {},
    "crowdfunding": {},
    "neighbourhood_fund": {},
    "prevention_act": {},
    "quarter_levy": {"eur_per_household_per_year": 3.0, "businesses_eur_per_year": 1000.0},
    "overhead_compensation": {},
}


def test_every_instrument_is_exercised():
    assert set(EVERYTHING) == set(INSTRUMENTS)


def _with_everything(path=HERTEN):
    sc = qs.load_scenario(path)
    raw = sc.model_dump(mode="json")
    raw["financing"]["everything"] = copy.deepcopy(EVERYTHING)
    from quartiersim.config.schema import build_scenario as _build

    return _build(raw, str(path))


@pytest.mark.parametrize("coop", list(COOPERATION_MODELS))
def test_money_is_conserved_with_every_instrument(coop):
    sc = _with_everything()
    m = QuarterModel(sc, cooperation=coop, financing="everything", rng=11, years=2,
                     keep_bookings=True)
    made = 0.0
    book_month = m.financing.book_month
    due: list[float] = []

    def booking(payments):
        # what this month's payments and instrument costs must book, at booking time: a
        # payment for a post in proportion to the post's staff employed this month
        due.append(sum(p.amount_eur * (m.staff.paid_share(p.post) if p.post >= 0 else 1.0)
                       for p in payments if p.payee is None or p.payee.is_open)
                   + sum(annual / 12.0 for _, _, annual in m.financing._costs))
        book_month(payments)

    m.financing.book_month = booking
    for _ in range(24):
        m.step()
        expected = due[-1]
        booked = sum(e.amount_eur for e in m.ledger.entries
                     if e.month == m.steps and e.category is CostCategory.VOLUNTARY
                     and e.item != "carrier_own_funds")
        assert booked == pytest.approx(expected, rel=1e-9, abs=1e-6)
        made += booked
    s = summarize(m)
    entries = m.ledger.entries
    assert sum(s[f"cost_{p.value}_eur"] for p in PAYERS) == pytest.approx(s["total_cost_eur"], rel=1e-12)
    for p in PAYERS:
        assert sum(e.amount_eur for e in entries if e.payer is p) == pytest.approx(
            s[f"cost_{p.value}_eur"], rel=1e-12, abs=1e-6)
        assert s[f"cost_{p.value}_eur"] > 0, p  # every payer pays something
    for c in m.carriers_list:
        assert c.received_eur == pytest.approx(c.spent_eur + c.reserve_eur - c.reserve_start_eur)
    # the municipality's budget sees exactly what the ledger booked to it
    for i, y in enumerate(m.municipality.history):
        assert y.quarter_voluntary_eur == pytest.approx(
            m.ledger.total(Payer.MUNICIPALITY, CostCategory.VOLUNTARY, year=i))


def test_earmarked_money_pays_only_its_purpose():
    sc = _with_everything()
    m = QuarterModel(sc, cooperation="coproduction", financing="everything", rng=1, years=1)
    split = m.financing._split
    payers_of = {purpose: {p for p, share in parts if share > 0} for purpose, parts in split.items()}
    assert Payer.INSURERS in payers_of["health_prevention"]
    assert all(Payer.INSURERS not in v for k, v in payers_of.items() if k != "health_prevention")
    # state money of the neighbourhood fund is earmarked; state grant money is free
    assert payers_of[RESIDENT_RUN] == {Payer.STATE_FEDERAL, Payer.MUNICIPALITY}
    # every split sums to 1
    for parts in split.values():
        assert sum(share for _, share in parts) == pytest.approx(1.0)
    # health spending exceeds the earmark, so the insurers' whole contribution is used
    health = 12 * sum(p.amount_eur for p in m.cooperation.payments if p.purpose == "health_prevention")
    assert health > m.financing.funds.earmark("health_prevention") > 0
    insurers_share = sum(s for p, s in split["health_prevention"] if p is Payer.INSURERS)
    assert insurers_share * health == pytest.approx(m.financing.funds.earmark("health_prevention"))


def test_plan_bookings_by_hand(tiny_raw, write_scenario):
    tiny_raw["financing"] = {"f": {"municipal_budget": {},
                                   "prevention_act": {"eur_per_insured_per_year": 120.0,
                                                      "insured_share": 1.0, "uptake_share": 1.0}}}
    m = QuarterModel(qs.load_scenario(write_scenario(tiny_raw)), financing="f", rng=1, years=1)
    # 10 residents x 120 EUR = 1,200 EUR for health prevention; budget 30,000 free
    assert m.financing.funds.free_eur == pytest.approx(30_000.0)
    assert m.financing.funds.earmark("health_prevention") == pytest.approx(1_200.0)
    fin = m.financing
    fin.plan_bookings([Payment("x", 200.0, purpose="health_prevention"),  # 2,400 a year
                       Payment("y", 100.0, purpose="counselling"),
                       Payment("z", 50.0)])
    assert dict(fin._split["health_prevention"]) == {Payer.INSURERS: pytest.approx(0.5),
                                                     Payer.MUNICIPALITY: pytest.approx(0.5)}
    assert dict(fin._split["counselling"]) == {Payer.MUNICIPALITY: 1.0}
    assert dict(fin._split[None]) == {Payer.MUNICIPALITY: 1.0}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenarios_ship_the_named_financing_models(path):
    sc = qs.load_scenario(path)
    assert {"budget", "grant", "grant_continued", "pooled"} <= set(financing_names(sc))
    assert "continuation" not in sc.financing["grant"]
    assert "continuation" in sc.financing["grant_continued"]
    assert sc.financing["grant"]["grant_programme"] == sc.financing["grant_continued"]["grant_programme"]
    # the grant ends mid-horizon of a 10-year run
    end = sc.financing["grant"]["grant_programme"]["end_year"]
    assert sc.meta.start_year < end < sc.meta.start_year + 9
    for name in financing_names(sc):
        QuarterModel.check_names(sc, None, name)


def test_unknown_instrument_is_named_with_the_allowed_ones(tiny_raw, write_scenario):
    tiny_raw["financing"] = {"f": {"lottery": {}}}
    with pytest.raises(UnknownNameError, match=r"'financing\.f\.lottery': unknown instrument; "
                                               r"allowed: continuation, crowdfunding"):
        qs.load_scenario(write_scenario(tiny_raw))


def test_instrument_parameter_out_of_range(tiny_raw, write_scenario):
    tiny_raw["financing"] = {"f": {"grant_programme": {"funding_rate": 1.5}}}
    with pytest.raises(qs.ScenarioError, match=r"'financing\.f\.grant_programme\.funding_rate' "
                                               r"= 1\.5: must be <= 1\.0"):
        qs.load_scenario(write_scenario(tiny_raw))


def _inst(tiny_raw, write_scenario, name, params, **model_kw):
    tiny_raw["financing"] = {"f": {name: params}}
    m = QuarterModel(qs.load_scenario(write_scenario(tiny_raw)), financing="f", rng=1, years=4,
                     **model_kw)
    return m, m.financing.instruments[0]


def test_instrument_formulas(tiny_raw, write_scenario):
    # 10 residents, 1.9 persons per household
    hh = 10 / 1.9
    m, levy = _inst(tiny_raw, write_scenario, "quarter_levy",
                    {"eur_per_dwelling_per_year": 19.0, "eur_per_household_per_year": 3.8,
                     "businesses_eur_per_year": 500.0})
    assert levy.funds(0, 2020) == {Payer.HOUSING_COMPANY: pytest.approx(hh * 19.0),
                                   Payer.RESIDENTS: pytest.approx(hh * 3.8), Payer.DONORS: 500.0}
    m, ppp = _inst(copy.deepcopy(tiny_raw), write_scenario, "ppp_housing_company",
                   {"share_of_dwellings": 1.0, "turnover_cost_eur_per_move": 1000.0,
                    "expected_turnover_reduction": 0.5, "invested_share_of_gain": 0.5})
    # the tiny quarter has no moves: no expected gain, no contribution
    assert ppp.funds(0, 2020) == {Payer.HOUSING_COMPANY: 0.0}
    m, pool = _inst(copy.deepcopy(tiny_raw), write_scenario, "pooling",
                    {"pots_eur_per_year": 10_000.0, "coordination_share_start": 0.2,
                     "coordination_share_established": 0.05, "build_up_years": 3})
    assert [round(pool.coordination_share(t), 3) for t in range(5)] == [0.2, 0.15, 0.1, 0.05, 0.05]
    assert pool.funds(0, 2020)[Payer.MUNICIPALITY] + pool.costs(0, 2020)[0][2] == pytest.approx(10_000.0)
    m, nf = _inst(copy.deepcopy(tiny_raw), write_scenario, "neighbourhood_fund", {"until_year": 2021})
    assert nf.funds(0, 2020) == {Payer.STATE_FEDERAL: 25.0, Payer.MUNICIPALITY: 25.0}
    assert nf.funds(2, 2022) == {}
    m, cf = _inst(copy.deepcopy(tiny_raw), write_scenario, "crowdfunding", {})
    assert cf.funds(0, 2020) == {Payer.RESIDENTS: 0.0}  # no volunteers, no campaign


def test_crowdfunding_grows_with_engagement():
    sc = _with_everything()
    # the volunteers of the initialised population (no spin-up: it would settle both)
    few = QuarterModel(sc.with_overrides({"volunteering.rate": 0.01}), financing="everything", rng=1,
                       spin_up_months=0)
    many = QuarterModel(sc.with_overrides({"volunteering.rate": 0.08}), financing="everything", rng=1,
                        spin_up_months=0)
    from quartiersim.sim.financing.instruments import Crowdfunding

    f = few.financing.instrument(Crowdfunding).funds(0, 2020)[Payer.RESIDENTS]
    g = many.financing.instrument(Crowdfunding).funds(0, 2020)[Payer.RESIDENTS]
    assert g > 4 * f > 0


def test_grant_management_raises_approval_and_costs_the_municipality(tiny_raw, write_scenario):
    from quartiersim.sim.financing import GrantProgramme

    grant = {"application_staff_fte": 0.1, "success_probability_max": 0.8, "half_saturation_fte": 0.1}
    tiny_raw["financing"] = {"plain": {"grant_programme": grant},
                             "zfm": {"grant_programme": grant,
                                     "grant_management": {"cost_eur_per_year": 12_000.0,
                                                          "staff_fte": 0.5,
                                                          "applications_per_year": 2,
                                                          "success_boost": 0.05}}}
    sc = qs.load_scenario(write_scenario(tiny_raw))
    plain = QuarterModel(sc, financing="plain", rng=1).financing.instrument(GrantProgramme)
    zfm = QuarterModel(sc, financing="zfm", rng=1).financing.instrument(GrantProgramme)
    assert plain.approval_probability() == pytest.approx(0.4)
    single = 0.8 * 0.6 / 0.7 + 0.05
    assert zfm.approval_probability() == pytest.approx(1 - (1 - single) ** 2)
    r = qs.run(sc, model="municipal", financing="zfm", seed=1, years=1, keep_model=True,
               keep_bookings=True)
    posts = [e for e in r.model.ledger.entries if e.item == "grant_management"]
    assert len(posts) == 12 and {e.payer for e in posts} == {Payer.MUNICIPALITY}
    assert sum(e.amount_eur for e in posts) == pytest.approx(12_000.0)


def test_overhead_compensation_is_ten_percent_of_the_grant_paid(tiny_raw, write_scenario):
    """Seed 004's proposal: the municipality receives 10 % of the grant for programme
    administration. In the tiny quarter (no consolidation regime, so the co-financing is
    additional; a grant of 10,000 EUR a year at 60 % in 2020-21, approved for sure) the
    state pays 6,000 EUR a year and 600 EUR compensation; the compensation replaces 600
    EUR of the municipality's 30,000 EUR for the quarter, the offers stay the same."""
    from quartiersim.config.financing import OverheadCompensationParams

    assert OverheadCompensationParams().share == 0.10  # the seed's 10 %
    grant = {"project_eur_per_year": 10_000.0, "funding_rate": 0.6, "degression_per_year": 0.0,
             "start_year": 2020, "end_year": 2021, "application_staff_fte": 1.0,
             "success_probability_max": 1.0, "half_saturation_fte": 1e-9}
    tiny_raw["financing"] = {
        "plain": {"municipal_budget": {}, "grant_programme": grant},
        "compensated": {"municipal_budget": {}, "grant_programme": grant,
                        "overhead_compensation": {}},
        "no_grant": {"municipal_budget": {}, "overhead_compensation": {}}}
    sc = qs.load_scenario(write_scenario(tiny_raw))
    runs = {f: qs.run(sc, model="municipal", financing=f, seed=1, years=3, keep_model=True,
                      keep_bookings=True).model for f in ("plain", "compensated", "no_grant")}

    def booked(m, year, payer=None):
        return sum(e.amount_eur for e in m.ledger.entries if (e.month - 1) // 12 == year
                   and e.category is CostCategory.VOLUNTARY
                   and (payer is None or e.payer is payer))

    plain, comp = runs["plain"], runs["compensated"]
    from quartiersim.sim.financing import GrantProgramme

    assert comp.financing.instrument(GrantProgramme).funded_years == [2020, 2021]
    for year, grant_paid in enumerate([6_000.0, 6_000.0, 0.0]):
        assert comp.financing.instrument(GrantProgramme).state_paid_eur(2020 + year) == grant_paid
        compensation = 0.10 * grant_paid
        # money in = money out: the year's bookings are the year's funds, in both models,
        # plus the application staff (1 FTE x 12 x 133 h x 50 EUR + 12 x 500 EUR workplace)
        # in the years the municipality applies or reports
        staff = 12 * 133 * 50.0 + 12 * 500.0 if grant_paid else 0.0
        assert booked(plain, year) == pytest.approx(30_000.0 + (10_000.0 if grant_paid else 0.0) + staff)
        assert booked(comp, year) == pytest.approx(booked(plain, year), rel=1e-12)
        # the state pays the grant and exactly 10 % of it on top ...
        assert booked(comp, year, Payer.STATE_FEDERAL) == pytest.approx(grant_paid + compensation)
        assert booked(comp, year, Payer.STATE_FEDERAL) - booked(plain, year, Payer.STATE_FEDERAL) \
            == pytest.approx(compensation, abs=1e-6)
        # ... which the municipality no longer pays, in the ledger and in its budget year
        assert booked(plain, year, Payer.MUNICIPALITY) - booked(comp, year, Payer.MUNICIPALITY) \
            == pytest.approx(compensation, abs=1e-6)
        assert plain.municipality.history[year].quarter_voluntary_eur \
            - comp.municipality.history[year].quarter_voluntary_eur == pytest.approx(compensation, abs=1e-6)
    # the offers are the same: same coverage, same staff
    assert summarize(comp)["coverage"] == summarize(plain)["coverage"]
    # without a grant there is nothing to compensate
    assert booked(runs["no_grant"], 0, Payer.STATE_FEDERAL) == 0.0
    assert booked(runs["no_grant"], 0, Payer.MUNICIPALITY) == pytest.approx(30_000.0)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_pooled_models_compensate_the_overhead_where_a_grant_is_received(path):
    sc = qs.load_scenario(path)
    assert "overhead_compensation" in sc.financing["pooled"]
    assert "grant_programme" in sc.financing["pooled"]
    assert all("overhead_compensation" not in sc.financing[f] for f in ("grant", "grant_continued"))
