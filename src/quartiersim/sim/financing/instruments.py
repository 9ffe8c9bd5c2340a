"""The twelve financing instruments (mechanisms); their parameters are in
:mod:`quartiersim.config.financing`."""

from __future__ import annotations

import numpy as np

from quartiersim.config.domains import Payer
from quartiersim.config.fields import Strict
from quartiersim.config.financing import (
    RESIDENT_RUN,
    ContinuationParams,
    CrowdfundingParams,
    GrantManagementParams,
    GrantProgrammeParams,
    HousingPartnershipParams,
    MunicipalBudgetParams,
    NeighbourhoodFundParams,
    OverheadCompensationParams,
    PoolingParams,
    PreventionActParams,
    QuarterLevyParams,
    SponsoringParams,
)
from quartiersim.sim.financing.base import (
    FinancingModel,
    Instrument,
    register_instrument,
)

# --------------------------------------------------------------------------- municipal budget


@register_instrument
class MunicipalBudget(Instrument):
    """The municipality's voluntary budget for the quarter (after consolidation cuts),
    less any grant co-financing share the municipality had to take out of it and less
    the part the overhead compensation pays instead (:class:`OverheadCompensation`); both
    are decided by :mod:`quartiersim.sim.processes.cofinancing` before the funds."""

    name = "municipal_budget"
    Params = MunicipalBudgetParams

    def funds(self, year_index: int, calendar_year: int) -> dict[Payer, float]:
        budget = self.model.municipality.voluntary_budget_eur
        fin = self.financing
        return {Payer.MUNICIPALITY: max(0.0, budget - fin.offset_from_budget_eur
                                        - fin.budget_relief_eur)}


# --------------------------------------------------------------------------- grants


@register_instrument
class GrantProgramme(Instrument):
    """A time-limited grant programme (Soziale Stadt, ESF, federal programmes).

    Whether and how the municipality co-finances it, and so what it brings each year,
    is decided by the process :mod:`quartiersim.sim.processes.cofinancing` at the
    year's planning, before the funds are collected; this instrument keeps the
    programme's state and reports the year's ``award``. Each of ``n`` applications
    succeeds with ``success_probability_max x c / (c + half_saturation_fte)`` for staff
    capacity ``c`` FTE (``n`` and ``c`` are raised by central grant management).

    The municipality's staff for the applications (``application_staff_fte``) cost it
    their time in every year it applies and, for the reports and accounts a grant
    requires, in every funded year (:meth:`costs`: municipal staff cost with a
    workplace, booked as ``grant_applications``).

    Attributes:
        award: this year's money by payer, EUR (empty: nothing this year).
        approved_year: calendar year of approval, None before.
        applied_years: calendar years in which the municipality applied.
        funded_years, missed_years: calendar years funded, and years the municipality
            could not afford the share.
        state_eur_by_year: calendar year -> EUR the state / federal level paid.
    """

    name = "grant_programme"
    Params = GrantProgrammeParams
    params: GrantProgrammeParams

    def __init__(self, financing: FinancingModel, params: Strict) -> None:
        super().__init__(financing, params)
        self.award: dict[Payer, float] = {}
        self.approved_year: int | None = None
        self.applied_years: list[int] = []
        self.funded_years: list[int] = []
        self.missed_years: list[int] = []
        self.state_eur_by_year: dict[int, float] = {}

    def state_paid_eur(self, calendar_year: int) -> float:
        """What the state / federal level pays in that year (0 in a year not funded)."""
        return self.state_eur_by_year.get(calendar_year, 0.0)

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
        """The year's award, as decided by the co-financing process."""
        return dict(self.award)

    def costs(self, year_index: int, calendar_year: int) -> list[tuple[str, Payer, float]]:
        """The application staff's time in a year of application or funding."""
        if calendar_year not in self.applied_years and calendar_year not in self.funded_years:
            return []
        cost = self.params.application_staff_fte * self.model.municipality.post_cost_eur_per_year()
        return [("grant_applications", Payer.MUNICIPALITY, cost)]


@register_instrument
class OverheadCompensation(Instrument):
    """Overhead compensation for programme administration (seed 004, workshop 1: "dass
    die Kommunen bei der Umsetzung von Förderprogrammen (Overheadkosten) eine finanzielle
    Unterstützung in Höhe von 10 % der Fördersumme erhalten"): in every year the grant
    programme of the same financing model is funded, the state / federal level pays the
    municipality ``share x`` the grant it pays that year (the state's part, not the
    municipal co-financing). The model has no separate administration cost: the money
    pays for the municipality's own work on the quarter, so it relieves the municipal
    budget for the quarter by the same amount (:attr:`FinancingModel.budget_relief_eur`)
    and the offers stay as they were; the municipality pays that much less, the state
    that much more, every euro is booked once. Relief beyond the municipal budget's
    contribution (or without ``municipal_budget`` in the financing model) is additional
    money. Nothing without a grant. The year's amount (``award``) and the relief are set
    by :mod:`quartiersim.sim.processes.cofinancing` with the grant's decision."""

    name = "overhead_compensation"
    Params = OverheadCompensationParams
    params: OverheadCompensationParams

    def __init__(self, financing: FinancingModel, params: Strict) -> None:
        super().__init__(financing, params)
        self.award: dict[Payer, float] = {}

    def funds(self, year_index: int, calendar_year: int) -> dict[Payer, float]:
        """The year's compensation, as decided with the grant."""
        return dict(self.award)


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


@register_instrument
class Sponsoring(Instrument):
    """Sponsoring and donations (local firms, foundations such as Aktion Mensch or
    Stiftung Wohlfahrtspflege named in seed 004): a fixed yearly amount, paid by donors."""

    name = "sponsoring"
    Params = SponsoringParams
    params: SponsoringParams

    def funds(self, year_index: int, calendar_year: int) -> dict[Payer, float]:
        return {Payer.DONORS: self.params.eur_per_year}


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


@register_instrument
class NeighbourhoodFund(Instrument):
    """Neighbourhood fund (Verfügungsfonds, seed 004 a8): EUR per resident and year,
    earmarked to offers run by residents (residents allocate it; see
    :meth:`~quartiersim.sim.cooperation.CooperationModel.plan_resident_run`)."""

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


