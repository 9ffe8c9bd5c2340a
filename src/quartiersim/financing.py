"""Financing models: where the quarter's voluntary funds come from, and who pays each euro.

A named financing model is a set of instruments (``[financing.<name>.<instrument>]`` in
the scenario: one sub-table per instrument with its parameters). Each year every
instrument brings money by payer (:meth:`Instrument.funds`), either *free* or *earmarked*
to one purpose (:attr:`Instrument.earmark`: a domain value such as ``"health_prevention"``,
or :data:`RESIDENT_RUN` for offers run by residents). The cooperation model spends the
year's :class:`YearFunds`, tagging every payment with its purpose; the financing model
books each payment first to the money earmarked for its purpose and the rest to the free
money, each pro rata to the payers' shares, so each euro has exactly one payer. Money
that is not spent is not booked. Instruments may also have costs of their own (e.g. the
post of a central grant manager, :meth:`Instrument.costs`). Mandatory cases are always
paid by the municipality.

Built in: ``budget`` = the municipal budget alone (``municipal_budget``). Instrument
mechanisms follow seed 004 (digest: notes/seed004-digest.md) and CALIBRATION.md; every
magnitude is a scenario parameter with its source or ``assumption``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from quartiersim.domains import DOMAINS, CostCategory, Payer
from quartiersim.errors import UnknownNameError
from quartiersim.scenario import P, Strict, _validate_section

if TYPE_CHECKING:
    from quartiersim.cooperation import Payment
    from quartiersim.model import QuarterModel
    from quartiersim.scenario import Scenario

INSTRUMENTS: dict[str, type[Instrument]] = {}

#: Earmark of money for offers run by residents themselves (neighbourhood fund).
RESIDENT_RUN = "resident_run"
#: Every purpose money can be earmarked to: the six domains and resident-run offers.
PURPOSES: tuple[str, ...] = (*(d.value for d in DOMAINS), RESIDENT_RUN)

#: Financing models every scenario has without declaring them.
BUILTIN_FINANCING: dict[str, dict[str, dict[str, Any]]] = {"budget": {"municipal_budget": {}}}


def register_instrument(cls: type[Instrument]) -> type[Instrument]:
    """Class decorator: make an instrument available under ``cls.name``."""
    if cls.earmark is not None and cls.earmark not in PURPOSES:
        raise ValueError(f"instrument {cls.name}: earmark {cls.earmark!r} not in {PURPOSES}")
    INSTRUMENTS[cls.name] = cls
    return cls


@dataclass(frozen=True)
class YearFunds:
    """The quarter's money for one year, EUR.

    Attributes:
        free_eur: money the cooperation model may spend on anything.
        earmarked_eur: purpose -> money only for that purpose (see :data:`PURPOSES`).
    """

    free_eur: float
    earmarked_eur: Mapping[str, float] = field(default_factory=dict)

    @property
    def total_eur(self) -> float:
        return self.free_eur + sum(self.earmarked_eur.values())

    def earmark(self, purpose: str) -> float:
        return float(self.earmarked_eur.get(purpose, 0.0))

    def by_domain(self, free_eur: float, shares: np.ndarray) -> np.ndarray:
        """EUR per domain, shape (6,): ``free_eur`` split by ``shares`` plus each domain's
        earmarked money."""
        return free_eur * np.asarray(shares) + np.array([self.earmark(d.value) for d in DOMAINS])


class Instrument(ABC):
    """Protocol of a financing instrument (Finanzierungsinstrument).

    Subclasses set ``name`` (API) and ``Params``; ``earmark`` (None = free money) and
    ``order`` (instruments are asked in ascending order each year; grants come before
    the municipal budget because a co-financing share may be taken out of it).
    """

    name: ClassVar[str]
    Params: ClassVar[type[Strict]]
    earmark: ClassVar[str | None] = None
    order: ClassVar[int] = 1

    def __init__(self, financing: FinancingModel, params: Strict) -> None:
        self.financing = financing
        self.model = financing.model
        self.params = params

    @abstractmethod
    def funds(self, year_index: int, calendar_year: int) -> dict[Payer, float]:
        """EUR this instrument contributes to the quarter's offers in that year, by payer."""

    def costs(self, year_index: int, calendar_year: int) -> list[tuple[str, Payer, float]]:
        """The instrument's own costs in that year: (item, payer, EUR per year)."""
        return []


# --------------------------------------------------------------------------- municipal budget
class MunicipalBudgetParams(Strict):
    pass


@register_instrument
class MunicipalBudget(Instrument):
    """The municipality's voluntary budget for the quarter (after consolidation cuts),
    less any grant co-financing share the municipality had to take out of it."""

    name = "municipal_budget"
    Params = MunicipalBudgetParams

    def funds(self, year_index: int, calendar_year: int) -> dict[Payer, float]:
        budget = self.model.municipality.voluntary_budget_eur
        return {Payer.MUNICIPALITY: max(0.0, budget - self.financing.offset_from_budget_eur)}


# --------------------------------------------------------------------------- grants
class GrantProgrammeParams(Strict):
    project_eur_per_year: float = P(400_000.0, unit="EUR per year", ge=0, le=1e9, lever=True,
                                    description="Eligible annual cost of the grant-funded structures.")
    funding_rate: float = P(0.6, unit="share of eligible cost", ge=0, le=1, lever=True,
                            source="Städtebauförderrichtlinie NRW 2023: 60 % +- 10 (CALIBRATION.md)")
    degression_per_year: float = P(0.0, unit="share per year", ge=0, le=1,
                                   description="The funding rate falls by this share each year "
                                               "after approval (degressive funding, seed 004).")
    start_year: int = P(2020, unit="year", ge=1990, le=2200,
                        description="First programme year in which applications are possible.")
    end_year: int = P(2024, unit="year", ge=1990, le=2200,
                      description="Last programme year that is funded.")
    application_staff_fte: float = P(0.1, unit="FTE", ge=0, le=100,
                                     description="Municipal staff time for writing applications.")
    success_probability_max: float = P(0.8, unit="probability", ge=0, le=1,
                                       description="Approval chance of an application with "
                                                   "unlimited staff capacity.")
    half_saturation_fte: float = P(0.1, unit="FTE", gt=0, le=100,
                                   description="Staff capacity at which the approval chance "
                                               "is half its maximum.")


@register_instrument
class GrantProgramme(Instrument):
    """A time-limited grant programme (Soziale Stadt, ESF, federal programmes).

    Each programme year until approval the municipality applies if it can afford the
    co-financing share (:meth:`~quartiersim.agents.Municipality.cofinancing_route`);
    each of ``n`` applications succeeds with ``success_probability_max x c / (c +
    half_saturation_fte)`` for staff capacity ``c`` FTE (``n`` and ``c`` are raised by
    central grant management). Once approved, each year up to ``end_year`` the state /
    federal level pays ``rate_t x project`` with ``rate_t = funding_rate x (1 -
    degression)^years since approval`` and the municipality the rest, in addition to
    its budget if it has room, else out of the quarter's voluntary budget; a year whose
    share it cannot afford at all is not funded (the grant is missed).
    """

    name = "grant_programme"
    Params = GrantProgrammeParams
    params: GrantProgrammeParams
    order = 0

    def __init__(self, financing: FinancingModel, params: Strict) -> None:
        super().__init__(financing, params)
        self.approved_year: int | None = None
        self.funded_years: list[int] = []
        self.missed_years: list[int] = []

    def approval_probability(self) -> float:
        """Chance that this year's applications succeed (0 without staff capacity)."""
        p = self.params
        zfm = self.financing.instrument(GrantManagement)
        fte = p.application_staff_fte + (zfm.params.staff_fte if zfm else 0.0)
        n = zfm.params.applications_per_year if zfm else 1
        boost = zfm.params.success_boost if zfm else 0.0
        single = min(1.0, p.success_probability_max * fte / (fte + p.half_saturation_fte) + boost)
        return 1.0 - (1.0 - single) ** n

    def funds(self, year_index: int, calendar_year: int) -> dict[Payer, float]:
        p = self.params
        if not (p.start_year <= calendar_year <= p.end_year):
            return {}
        mun = self.model.municipality
        if self.approved_year is None:
            own = (1.0 - p.funding_rate) * p.project_eur_per_year
            if mun.cofinancing_route(own, year_index, calendar_year) is None:
                self.missed_years.append(calendar_year)
                return {}
            if self.model.rng.random() >= self.approval_probability():
                return {}
            self.approved_year = calendar_year
        rate = p.funding_rate * (1.0 - p.degression_per_year) ** (calendar_year - self.approved_year)
        state, own = rate * p.project_eur_per_year, (1.0 - rate) * p.project_eur_per_year
        route = mun.cofinancing_route(own, year_index, calendar_year)
        if route is None:
            self.missed_years.append(calendar_year)
            return {}
        if route == "offset":
            self.financing.offset_from_budget_eur += own
        self.funded_years.append(calendar_year)
        return {Payer.STATE_FEDERAL: state, Payer.MUNICIPALITY: own}


class ContinuationParams(Strict):
    share: float = P(1.0, unit="share of the grant-funded annual cost", ge=0, le=1, lever=True,
                     description="How much of the grant-funded structures the municipality "
                                 "takes over into its regular budget after the grant ends.")


@register_instrument
class Continuation(Instrument):
    """Continuation into the regular budget (Verstetigung, seed 004 a4): after the last
    funded year of the grant programme of the same financing model, the municipality
    pays ``share x project`` a year, as far as its budget has room (under a
    consolidation regime the projected surplus; structures it cannot afford are lost).
    Nothing is continued when no grant was received."""

    name = "continuation"
    Params = ContinuationParams
    params: ContinuationParams

    def funds(self, year_index: int, calendar_year: int) -> dict[Payer, float]:
        grant = self.financing.instrument(GrantProgramme)
        if grant is None or not grant.funded_years or calendar_year <= grant.params.end_year:
            return {}
        want = self.params.share * grant.params.project_eur_per_year
        room = self.model.municipality.room_eur(year_index, calendar_year)
        return {Payer.MUNICIPALITY: min(want, room)}


class GrantManagementParams(Strict):
    cost_eur_per_year: float = P(30_000.0, unit="EUR per year", ge=0, le=1e8,
                                 description="The quarter's share of the post's cost.")
    staff_fte: float = P(0.5, unit="FTE", ge=0, le=100,
                         description="Application capacity the post adds.")
    applications_per_year: int = P(2, unit="applications per year", ge=1, le=50,
                                   description="Applications per programme year (one without).")
    success_boost: float = P(0.05, unit="probability", ge=0, le=1,
                             description="Fewer formal errors: added approval chance per application.")


@register_instrument
class GrantManagement(Instrument):
    """Central grant management (Zentrales Fördermanagement, seed 004 a3): a paid post
    that raises the number of applications and their success (see
    :class:`GrantProgramme`). Brings no money of its own; costs the municipality."""

    name = "grant_management"
    Params = GrantManagementParams
    params: GrantManagementParams

    def funds(self, year_index: int, calendar_year: int) -> dict[Payer, float]:
        return {}

    def costs(self, year_index: int, calendar_year: int) -> list[tuple[str, Payer, float]]:
        return [("grant_management", Payer.MUNICIPALITY, self.params.cost_eur_per_year)]


# --------------------------------------------------------------------------- pooling, partners
class PoolingParams(Strict):
    pots_eur_per_year: float = P(50_000.0, unit="EUR per year", ge=0, le=1e9, lever=True,
                                 description="Other departments' budgets for the quarter's "
                                             "residents (urban development, school, health "
                                             "office) pooled into the quarter's offers.")
    coordination_share_start: float = P(0.2, unit="share of the pots", ge=0, le=1,
                                        description="Cross-departmental coordination cost in "
                                                    "the first year (seed 004 b6: extra effort first).")
    coordination_share_established: float = P(0.05, unit="share of the pots", ge=0, le=1)
    build_up_years: int = P(3, unit="years", ge=1, le=50,
                            description="Years until cross-departmental work is established.")


@register_instrument
class Pooling(Instrument):
    """Pooling of funds across departments (Mittelbündelung, seed 004 a5): other
    departments' pots become free money for the quarter; cross-departmental coordination
    costs a share that falls linearly from the start to the established level over the
    build-up years (the J-curve of seed 004 b6). Municipal money throughout: the model
    does not follow what the pots would have bought outside the quarter."""

    name = "pooling"
    Params = PoolingParams
    params: PoolingParams

    def coordination_share(self, year_index: int) -> float:
        p = self.params
        t = min(1.0, year_index / p.build_up_years)
        return p.coordination_share_start + (p.coordination_share_established - p.coordination_share_start) * t

    def funds(self, year_index: int, calendar_year: int) -> dict[Payer, float]:
        pots = self.params.pots_eur_per_year
        return {Payer.MUNICIPALITY: pots * (1.0 - self.coordination_share(year_index))}

    def costs(self, year_index: int, calendar_year: int) -> list[tuple[str, Payer, float]]:
        pots = self.params.pots_eur_per_year
        return [("pooling_coordination", Payer.MUNICIPALITY, pots * self.coordination_share(year_index))]


class HousingPartnershipParams(Strict):
    share_of_dwellings: float = P(0.3, unit="share", ge=0, le=1,
                                  description="Share of the quarter's dwellings the partner owns.")
    turnover_cost_eur_per_move: float = P(5_000.0, unit="EUR per tenant change", ge=0, le=1e6,
                                          description="Vacancy, refurbishment and letting per move.")
    expected_turnover_reduction: float = P(0.1, unit="share of moves", ge=0, le=1,
                                           description="Moves the partner expects good offers to avoid.")
    invested_share_of_gain: float = P(0.5, unit="share", ge=0, le=1,
                                      description="Share of the expected gain the partner invests.")


@register_instrument
class HousingPartnership(Instrument):
    """Public-private partnership with the housing company (seed 004 a6): the company
    co-finances the quarter's offers with a share of the gain it expects from fewer
    tenant changes: households x share of dwellings x move-out rate x cost per move x
    expected reduction x invested share."""

    name = "ppp_housing_company"
    Params = HousingPartnershipParams
    params: HousingPartnershipParams

    def funds(self, year_index: int, calendar_year: int) -> dict[Payer, float]:
        p, sc = self.params, self.model.config
        households = self.model.residents.alive.sum() / sc.network.household_size_mean
        gain = (households * p.share_of_dwellings * sc.population.move_out_rate_per_year
                * p.turnover_cost_eur_per_move * p.expected_turnover_reduction)
        return {Payer.HOUSING_COMPANY: float(gain * p.invested_share_of_gain)}


class SponsoringParams(Strict):
    eur_per_year: float = P(10_000.0, unit="EUR per year", ge=0, le=1e9, lever=True,
                            description="Sponsoring by local firms and donations by foundations.")


@register_instrument
class Sponsoring(Instrument):
    """Sponsoring and donations (local firms, foundations such as Aktion Mensch or
    Stiftung Wohlfahrtspflege named in seed 004): a fixed yearly amount, paid by donors."""

    name = "sponsoring"
    Params = SponsoringParams
    params: SponsoringParams

    def funds(self, year_index: int, calendar_year: int) -> dict[Payer, float]:
        return {Payer.DONORS: self.params.eur_per_year}


class CrowdfundingParams(Strict):
    backer_share_of_ties: float = P(0.1, unit="share", ge=0, le=1,
                                    description="Share of volunteers' ties who back a campaign.")
    eur_per_backer: float = P(25.0, unit="EUR", ge=0, le=1e5)
    campaigns_per_year: float = P(1.0, unit="per year", ge=0, le=12)


@register_instrument
class Crowdfunding(Instrument):
    """Crowdfunding among residents: engaged residents (the volunteers at planning time)
    campaign in their networks; yield = campaigns x ties of volunteers x backer share x
    EUR per backer, paid by residents. Grows and shrinks with engagement."""

    name = "crowdfunding"
    Params = CrowdfundingParams
    params: CrowdfundingParams

    def funds(self, year_index: int, calendar_year: int) -> dict[Payer, float]:
        m, p = self.model, self.params
        vols = np.flatnonzero(m.residents.volunteer_hours > 0)
        ties = float(m.adjacency[vols].sum()) if len(vols) else 0.0
        return {Payer.RESIDENTS: p.campaigns_per_year * ties * p.backer_share_of_ties * p.eur_per_backer}


class NeighbourhoodFundParams(Strict):
    eur_per_resident_per_year: float = P(5.0, unit="EUR per resident and year", ge=0, le=1000,
                                         source="NRW rule, 5 EUR per resident and year "
                                                "(soziale-stadt.nrw.de; CALIBRATION.md)")
    state_federal_share: float = P(0.5, unit="share", ge=0, le=1,
                                   description="Share paid from urban development funds; the "
                                               "rest is the municipality's own share.")
    until_year: int = P(2200, unit="year", ge=1990, le=2200,
                        description="Last year of the fund (e.g. the programme's end).")


@register_instrument
class NeighbourhoodFund(Instrument):
    """Neighbourhood fund (Verfügungsfonds, seed 004 a8): EUR per resident and year,
    earmarked to offers run by residents (residents allocate it; see
    :meth:`~quartiersim.cooperation.CooperationModel.plan_resident_run`)."""

    name = "neighbourhood_fund"
    Params = NeighbourhoodFundParams
    params: NeighbourhoodFundParams
    earmark = RESIDENT_RUN

    def funds(self, year_index: int, calendar_year: int) -> dict[Payer, float]:
        p = self.params
        if calendar_year > p.until_year:
            return {}
        total = p.eur_per_resident_per_year * float(self.model.residents.alive.sum())
        return {Payer.STATE_FEDERAL: total * p.state_federal_share,
                Payer.MUNICIPALITY: total * (1.0 - p.state_federal_share)}


class PreventionActParams(Strict):
    eur_per_insured_per_year: float = P(2.0, unit="EUR per insured and year", ge=0, le=1000,
                                        source="§ 20 SGB V target: >= 2 EUR per insured for "
                                               "settings (Haufe commentary; CALIBRATION.md)")
    insured_share: float = P(0.88, unit="share of residents", ge=0, le=1,
                             description="Residents in statutory health insurance (assumption).")
    uptake_share: float = P(0.5, unit="share", ge=0, le=1,
                            description="Share of the settings money per head the quarter's "
                                        "projects actually obtain (assumption).")


@register_instrument
class PreventionAct(Instrument):
    """Prevention Act money from health insurers (seed 004 a9): per insured resident,
    earmarked to health prevention; paid by insurers."""

    name = "prevention_act"
    Params = PreventionActParams
    params: PreventionActParams
    earmark = "health_prevention"

    def funds(self, year_index: int, calendar_year: int) -> dict[Payer, float]:
        p = self.params
        insured = float(self.model.residents.alive.sum()) * p.insured_share
        return {Payer.INSURERS: insured * p.eur_per_insured_per_year * p.uptake_share}


class QuarterLevyParams(Strict):
    eur_per_dwelling_per_year: float = P(20.0, unit="EUR per dwelling and year", ge=0, le=1e5,
                                         description="Paid by the landlords (housing company).")
    eur_per_household_per_year: float = P(0.0, unit="EUR per household and year", ge=0, le=1e5,
                                          description="Paid by residents (partly, in the Dutch model).")
    businesses_eur_per_year: float = P(0.0, unit="EUR per year", ge=0, le=1e9,
                                       description="Paid by local businesses (booked to donors).")


@register_instrument
class QuarterLevy(Instrument):
    """A quarter levy paid by the actors in the quarter (the Dutch model, seed 004 a10):
    landlords per dwelling, households, local businesses."""

    name = "quarter_levy"
    Params = QuarterLevyParams
    params: QuarterLevyParams

    def funds(self, year_index: int, calendar_year: int) -> dict[Payer, float]:
        p, sc = self.params, self.model.config
        households = float(self.model.residents.alive.sum()) / sc.network.household_size_mean
        return {Payer.HOUSING_COMPANY: households * p.eur_per_dwelling_per_year,
                Payer.RESIDENTS: households * p.eur_per_household_per_year,
                Payer.DONORS: p.businesses_eur_per_year}


# --------------------------------------------------------------------------- lookup
def financing_spec(scenario: Scenario, name: str) -> dict[str, dict[str, Any]]:
    """The instrument tables of financing model ``name``.

    Raises:
        UnknownNameError: ``name`` is neither declared in the scenario nor built in.
    """
    if name in scenario.financing:
        return scenario.financing[name]
    if name in BUILTIN_FINANCING:
        return BUILTIN_FINANCING[name]
    allowed = sorted(set(scenario.financing) | set(BUILTIN_FINANCING))
    raise UnknownNameError(f"{scenario.path}: unknown financing model {name!r}; allowed: "
                           f"{', '.join(allowed)}")


def financing_names(scenario: Scenario) -> list[str]:
    """Every financing model name the scenario offers (built in first)."""
    return [*BUILTIN_FINANCING, *(n for n in scenario.financing if n not in BUILTIN_FINANCING)]


def validate_financing(scenario: Scenario, name: str) -> list[tuple[type[Instrument], Strict]]:
    """Validate every instrument table of financing model ``name``."""
    out = []
    for inst_name, raw in financing_spec(scenario, name).items():
        if inst_name not in INSTRUMENTS:
            raise UnknownNameError(
                f"{scenario.path}: 'financing.{name}.{inst_name}': unknown instrument; allowed: "
                f"{', '.join(sorted(INSTRUMENTS))}")
        cls = INSTRUMENTS[inst_name]
        out.append((cls, _validate_section(cls.Params, raw if isinstance(raw, dict) else {},
                                           ("financing", name, inst_name), scenario.path)))
    return out


# --------------------------------------------------------------------------- the model
class FinancingModel:
    """A named set of instruments; collects each year's funds and books every payment.

    Attributes:
        instruments: in the order they are asked each year.
        funds: the current year's :class:`YearFunds`.
        offset_from_budget_eur: co-financing taken out of the municipal budget this year.
    """

    def __init__(self, model: QuarterModel, name: str) -> None:
        self.model = model
        self.name = name
        self.instruments = sorted((cls(self, params) for cls, params in
                                   validate_financing(model.config, name)),
                                  key=lambda i: i.order)
        self.funds = YearFunds(0.0)
        self.offset_from_budget_eur = 0.0
        self._pools: dict[str | None, dict[Payer, float]] = {}
        self._costs: list[tuple[str, Payer, float]] = []
        self._split: dict[str | None, list[tuple[Payer, float]]] = {}

    def instrument(self, cls: type[Instrument]) -> Any:
        """The instrument of class ``cls`` in this financing model, or None."""
        return next((i for i in self.instruments if isinstance(i, cls)), None)

    def grant_end_year(self) -> int | None:
        """Last funded year of the grant programme, None if no grant was received."""
        grant = self.instrument(GrantProgramme)
        return max(grant.funded_years) if grant is not None and grant.funded_years else None

    def funds_for_year(self, year_index: int, calendar_year: int) -> YearFunds:
        """Ask every instrument for the year's money; returns free and earmarked funds."""
        self.offset_from_budget_eur = 0.0
        pools: dict[str | None, dict[Payer, float]] = {}
        costs = []
        for inst in self.instruments:
            pool = pools.setdefault(inst.earmark, {})
            for payer, eur in inst.funds(year_index, calendar_year).items():
                if eur > 0:
                    pool[payer] = pool.get(payer, 0.0) + eur
            costs += [c for c in inst.costs(year_index, calendar_year) if c[2] > 0]
        self._pools, self._costs = pools, costs
        free = sum(pools.get(None, {}).values())
        earmarked = {k: sum(v.values()) for k, v in pools.items() if k is not None and v}
        self.funds = YearFunds(free, earmarked)
        return self.funds

    def plan_bookings(self, payments: list[Payment]) -> None:
        """Fix, for the year, how a payment of each purpose is split among payers: the
        earmarked money of its purpose pays ``min(1, earmarked / planned spending)`` of it,
        the free money the rest (pro rata to payers); with no free money, the municipality."""
        planned: dict[str | None, float] = {}
        for pay in payments:
            if pay.payer is None:
                planned[pay.purpose] = planned.get(pay.purpose, 0.0) + pay.amount_eur
        free = self._pools.get(None, {})
        free_total = sum(free.values())
        free_split = ([(p, v / free_total) for p, v in free.items()] if free_total > 0
                      else [(Payer.MUNICIPALITY, 1.0)])
        self._split = {}
        for purpose, monthly in planned.items():
            pool = self._pools.get(purpose, {}) if purpose is not None else {}
            ear = sum(pool.values())
            f = min(1.0, ear / (12.0 * monthly)) if monthly > 0 and ear > 0 else 0.0
            split = [(p, f * v / ear) for p, v in pool.items()] if f > 0 else []
            split += [(p, (1.0 - f) * s) for p, s in free_split] if f < 1.0 else []
            self._split[purpose] = split

    def book_month(self, payments: list[Payment]) -> None:
        """Book this month's payments and instrument costs; carriers receive theirs.
        A payment to a carrier that has closed is not made."""
        for pay in payments:
            if pay.payee is not None and not pay.payee.is_open:
                continue
            if pay.payer is not None:  # contribution in kind by a named payer
                self._book(pay.payer, pay.item, pay.amount_eur)
            else:
                for payer, share in self._split[pay.purpose]:
                    self._book(payer, pay.item, pay.amount_eur * share)
            if pay.payee is not None:
                pay.payee.receive(pay.amount_eur)
        for item, payer, annual in self._costs:
            self._book(payer, item, annual / 12.0)

    def _book(self, payer: Payer, item: str, amount_eur: float) -> None:
        m = self.model
        if amount_eur == 0:
            return
        m.ledger.book(m.steps, payer, CostCategory.VOLUNTARY, item, amount_eur)
        if payer is Payer.MUNICIPALITY:
            m.municipality.pay(CostCategory.VOLUNTARY, amount_eur)
