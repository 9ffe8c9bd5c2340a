"""Cooperation models: how the quarter's social offers are organised.

One class per model behind one protocol, :class:`CooperationModel`. A cooperation model
turns the year's funds (:class:`~quartiersim.financing.YearFunds`: free money and money
earmarked to a domain or to resident-run offers) into provision: who employs staff in
which domain at which service point, who coordinates volunteers and where they serve,
which monthly payments flow to whom (each tagged with its purpose, so that earmarked
money pays only for its purpose), and how access is shaped (outreach, cross-referral,
activation). The core model (:mod:`quartiersim.model`) only calls the protocol; adding a
model means adding a class decorated with :func:`register` and, optionally, a
``[cooperation.<name>]`` section in the scenario files.

The six models of DOMAIN.md, in the order ``compare`` shows them: ``municipal``,
``contracting``, ``coproduction``, ``integration_centre``, ``meeting_point``,
``innovation_lab``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import Field

from quartiersim.domains import DOMAINS, N_DOMAINS, Domain, Payer, PointKind
from quartiersim.errors import ScenarioError
from quartiersim.financing import RESIDENT_RUN, YearFunds
from quartiersim.scenario import P, Strict

if TYPE_CHECKING:
    from quartiersim.agents import Carrier
    from quartiersim.model import QuarterModel

COOPERATION_MODELS: dict[str, type[CooperationModel]] = {}

#: EUR a resident-run offer needs per volunteer hour it deploys without paid
#: coordination: material, room use and expense allowances (assumption).
RESIDENT_RUN_EUR_PER_HOUR = 5.0


def register(cls: type[CooperationModel]) -> type[CooperationModel]:
    """Class decorator: make a cooperation model available under ``cls.name``."""
    COOPERATION_MODELS[cls.name] = cls
    return cls


@dataclass(frozen=True)
class Payment:
    """A monthly voluntary payment, EUR per month.

    Attributes:
        item: what is paid (ledger item), e.g. ``"carrier_subsidy"``.
        payee: the carrier receiving it, or None (municipal staff and rooms, a quarter
            manager, resident groups).
        purpose: a domain value or ``"resident_run"``; earmarked money of that purpose
            pays for it first. None: overhead, paid from free money.
        payer: a payer contributing in kind (e.g. the housing company's rent discount),
            booked directly to it and not from the year's funds; None otherwise.
    """

    item: str
    amount_eur: float
    payee: Carrier | None = None
    purpose: str | None = None
    payer: Payer | None = None


class CooperationModel(ABC):
    """Protocol of a cooperation model (Kooperationsmodell).

    Subclasses set ``name`` (API), ``label`` and ``Params`` (a pydantic section of the
    scenario file) and implement :meth:`plan`. The hooks with defaults may be overridden.

    Attributes:
        payments: this year's monthly payments (set by :meth:`plan_year`).
        self_run_hours: shape (points,), volunteer hours a month each point can deploy
            without paid coordination (resident-run offers paid from resident-run money).
        extra_volunteer_hours: shape (points, 6), volunteer-type hours a month from
            outside the resident population (e.g. corporate volunteers).
    """

    name: ClassVar[str]
    label: ClassVar[str]
    Params: ClassVar[type[Strict]]

    def __init__(self, model: QuarterModel, params: Strict) -> None:
        self.model = model
        self.params = params
        self.payments: list[Payment] = []
        n_p = len(model.space.points)
        self.self_run_hours = np.zeros(n_p)
        self.extra_volunteer_hours = np.zeros((n_p, N_DOMAINS))

    # --- structure -----------------------------------------------------------------
    def setup(self) -> None:
        """Check the scenario fits the model (raise ScenarioError otherwise)."""

    def plan_year(self, funds: YearFunds) -> None:
        """Spend the coming year's ``funds``: :meth:`plan` by the model, then the money
        earmarked to resident-run offers (:meth:`plan_resident_run`). Called at the start
        and every year end."""
        self.payments = []
        self.self_run_hours = np.zeros_like(self.self_run_hours)
        self.plan(funds)
        self.plan_resident_run(funds.earmark(RESIDENT_RUN))

    @abstractmethod
    def plan(self, funds: YearFunds) -> None:
        """Set staff FTE at points and append the monthly payments (via :meth:`pay`)."""

    def pay(self, item: str, annual_eur: float, payee: Carrier | None = None,
            purpose: str | None = None, payer: Payer | None = None) -> None:
        """Add a payment of ``annual_eur`` a year (paid monthly)."""
        if annual_eur > 0:
            self.payments.append(Payment(item, annual_eur / 12.0, payee, purpose, payer))

    def plan_resident_run(self, money_eur: float) -> None:
        """Residents allocate money earmarked to resident-run offers (neighbourhood fund)
        to the offers volunteers run at the volunteer points, in proportion to the hours
        volunteers offer there; each point can then deploy ``money / 12 /
        RESIDENT_RUN_EUR_PER_HOUR`` volunteer hours a month without paid coordination."""
        points = self.volunteer_points()
        if money_eur <= 0 or not points:
            return
        a = self.model.residents
        offered = np.bincount(a.volunteer_point[a.volunteer_hours > 0] + 1,
                              weights=a.volunteer_hours[a.volunteer_hours > 0],
                              minlength=len(self.self_run_hours) + 1)[1:][points]
        w = offered / offered.sum() if offered.sum() > 0 else np.full(len(points), 1.0 / len(points))
        self.self_run_hours[points] += w * money_eur / 12.0 / RESIDENT_RUN_EUR_PER_HOUR
        self.pay("resident_run_offers", money_eur, purpose=RESIDENT_RUN)

    def volunteer_points(self) -> list[int]:
        """Indices of service points where volunteers can serve. Default: open carriers'
        premises (a carrier coordinates its volunteers)."""
        return sorted({c.point.index for c in self.model.open_carriers()})

    # --- helpers for the models ------------------------------------------------------
    def domain_shares(self) -> np.ndarray:
        """The departments' budget shares by domain, shape (6,)."""
        return np.array(self.model.config.municipality.domain_share_array())

    def fund_carriers(self, money_by_domain: np.ndarray, item: str = "carrier_subsidy",
                      price_eur_per_hour: float | None = None) -> float:
        """Pay open carriers for staff by domain (EUR per year, shape (6,)): to carriers
        active in the domain in proportion to their own staff there, else to all equally.
        A carrier's funded FTE = money / (hours per FTE x 12 x price), the price being
        its own full hour cost or ``price_eur_per_hour`` (a contract price).
        Returns the money paid (0 when no carrier is open)."""
        m = self.model
        carriers = m.open_carriers()
        if not carriers:
            return 0.0
        own = np.array([c.own_fte for c in carriers])  # (carriers, 6)
        paid = 0.0
        for k, d in enumerate(DOMAINS):
            money = float(money_by_domain[k])
            if money <= 0:
                continue
            w = own[:, k] if own[:, k].sum() > 0 else np.ones(len(carriers))
            for c, wc in zip(carriers, w / w.sum()):
                if wc <= 0:
                    continue
                price = price_eur_per_hour or c.hour_cost_eur
                c.funded_fte[k] += money * wc / (12.0 * m.hours_per_fte * price)
                self.pay(item, money * wc, c, purpose=d.value)
                paid += money * wc
        return paid

    def reset_carriers(self) -> None:
        for c in self.model.carriers_list:
            c.funded_fte[:] = 0.0
            c.funded_coordination_fte = 0.0

    def fund_coordination(self, fte: float, free_eur: float) -> float:
        """Fund ``fte`` of paid volunteer coordination, shared equally among open
        carriers, within ``free_eur`` a year. Returns the money used."""
        m = self.model
        carriers = m.open_carriers()
        if not carriers or fte <= 0 or free_eur <= 0:
            return 0.0
        used = 0.0
        for c in carriers:
            cost = min(free_eur / len(carriers), fte / len(carriers) * 12 * m.hours_per_fte * c.hour_cost_eur)
            c.funded_coordination_fte = cost / (12 * m.hours_per_fte * c.hour_cost_eur)
            self.pay("carrier_subsidy", cost, c)
            used += cost
        return used

    def site(self, kind: PointKind, letter: str | None, what: str) -> int:
        """Index of the service point for ``what``: the one with ``letter`` or the first
        of ``kind`` on the layout. Raises ScenarioError when there is none."""
        sp = self.model.space
        path = self.model.config.path
        if letter is not None:
            pts = [p for p in sp.points if p.letter == letter]
            if not pts:
                raise ScenarioError(f"{path}: 'cooperation.{self.name}.site' = {letter!r}: not a "
                                    f"service point; declared: {', '.join(p.letter for p in sp.points)}")
            return pts[0].index
        pts = sp.points_of_kind(kind)
        if not pts:
            raise ScenarioError(f"{path}: cooperation model {self.name!r} needs {what}: a service "
                                f"point of kind '{kind.value}' on the layout (or 'cooperation."
                                f"{self.name}.site')")
        return pts[0].index

    def require_carriers(self) -> None:
        if not self.model.carriers_list:
            raise ScenarioError(f"{self.model.config.path}: cooperation model {self.name!r} "
                                "needs at least one carrier ([[carriers]])")

    # --- access --------------------------------------------------------------------
    @property
    def cross_referral_probability(self) -> float:
        """Chance that a resident served in one domain is referred to (made aware of) the
        other domains offered at the same point, per month of service."""
        return 0.0

    def outreach_probability(self) -> float:
        """Monthly chance of an unaware resident to learn of offers without a tie."""
        return 0.0

    def activation_boost(self) -> float:
        """Extra monthly chance of an adult to start volunteering."""
        return 0.0

    def observe_year(self, need_hours_by_domain: np.ndarray) -> None:
        """See the closing year's need hours by domain (shape (6,)) before planning."""


def _office_letters(model: QuarterModel) -> list[str]:
    return [p.letter for p in model.space.points_of_kind(PointKind.MUNICIPAL_OFFICE)]


# ================================================================== 1 municipal provision
class MunicipalParams(Strict):
    offices: dict[Domain, str] = Field(
        default_factory=dict,
        description="Layout letter of the office of each domain's department; a domain "
                    "not named is served at the first municipal office.")
    rent_eur_per_month_per_office: float = P(1200.0, unit="EUR per month", ge=0, le=1e7,
                                             description="Imputed cost of an office's rooms.")


@register
class MunicipalProvision(CooperationModel):
    """Municipal provision (Säulenstruktur): each department serves its domain from its
    own office with municipal staff, on fixed budget lines. Volunteers serve only where a
    carrier coordinates them from its own funds. Reference model."""

    name = "municipal"
    label = "Municipal provision"
    Params = MunicipalParams
    params: MunicipalParams

    def setup(self) -> None:
        offices = _office_letters(self.model)
        if not offices:
            raise ScenarioError(f"{self.model.config.path}: cooperation model 'municipal' "
                                "needs a service point of kind 'municipal_office' on the layout")
        for d, letter in self.params.offices.items():
            if letter not in offices:
                raise ScenarioError(
                    f"{self.model.config.path}: 'cooperation.municipal.offices.{d.value}' = "
                    f"{letter!r}: allowed: municipal office letters {', '.join(offices)}")
        self.office_of = [self.model.space.point(self.params.offices.get(d, offices[0])).index
                          for d in DOMAINS]
        self.shares = self.domain_shares()

    def plan(self, funds: YearFunds) -> None:
        m = self.model
        rent = min(funds.free_eur, 12 * len(set(self.office_of)) * self.params.rent_eur_per_month_per_office)
        self.pay("municipal_office_rent", rent)
        money = funds.by_domain(funds.free_eur - rent, self.shares)
        hour_cost = m.config.municipality.staff_cost_eur_per_hour * (1 + m.config.municipality.overhead_share)
        m.municipality.staff_fte[:] = 0.0
        for k, p in enumerate(self.office_of):
            m.municipality.staff_fte[p, k] += money[k] / 12.0 / hour_cost / m.hours_per_fte
            self.pay("municipal_staff", money[k], purpose=DOMAINS[k].value)


# ================================================================== 2 contracting out
class ContractingParams(Strict):
    contract_price_eur_per_hour: float = P(
        69.80, unit="EUR per h", gt=0, le=1000,
        source="Fachleistungsstunde 69.80 EUR (City of Fürth 2024; CALIBRATION.md)",
        description="Price the municipality pays carriers per contracted service hour.")
    contract_management_share: float = P(0.03, unit="share of funds", ge=0, le=0.5,
                                         description="Tendering and contract monitoring by "
                                                     "municipal staff.")


@register
class Contracting(CooperationModel):
    """Contracting out (Auftragsvergabe): each department buys service hours in its
    domain from carriers at a contract price, on fixed budget lines. Carriers deliver
    with their own cost structure (a carrier cheaper than the price builds reserves, a
    dearer one runs down its reserve). Contracts buy professional hours only: no paid
    volunteer coordination, no joint planning, no referral between domains; volunteers
    serve only where carriers coordinate them from their own funds."""

    name = "contracting"
    label = "Contracting out"
    Params = ContractingParams
    params: ContractingParams

    def setup(self) -> None:
        self.require_carriers()
        self.shares = self.domain_shares()

    def plan(self, funds: YearFunds) -> None:
        self.reset_carriers()
        if not self.model.open_carriers():
            return
        mgmt = self.params.contract_management_share * funds.free_eur
        self.pay("contract_management", mgmt)
        self.fund_carriers(funds.by_domain(funds.free_eur - mgmt, self.shares),
                           item="carrier_contract",
                           price_eur_per_hour=self.params.contract_price_eur_per_hour)


# ================================================================== 3 co-production
class CoproductionParams(Strict):
    planning_share: float = P(0.05, unit="share of funds", ge=0, le=0.5,
                              description="Joint planning and network time of municipal staff.")
    coordination_fte: float = P(0.5, unit="FTE", ge=0, le=100, lever=True,
                                description="Paid volunteer coordination, funded at carriers.")
    reallocation_rate: float = P(0.5, unit="share per year", ge=0, le=1,
                                 description="How far joint planning moves the domain budget "
                                             "shares towards the observed need shares each year.")
    cross_referral: float = P(0.05, unit="probability per month", ge=0, le=1)


@register
class Coproduction(CooperationModel):
    """Co-production (Koproduktion i.e.S., seed 002): municipality, carriers and citizens
    plan and deliver together. The funds go to carriers as subsidies for staff and paid
    volunteer coordination; joint planning costs a share of the funds and moves the
    domain shares towards observed needs each year (integrated task and finance planning
    instead of fixed departmental budget lines); volunteers serve coordinated at carriers."""

    name = "coproduction"
    label = "Co-production"
    Params = CoproductionParams
    params: CoproductionParams

    def setup(self) -> None:
        self.require_carriers()
        self.shares = self.domain_shares()

    @property
    def cross_referral_probability(self) -> float:
        return self.params.cross_referral

    def observe_year(self, need_hours_by_domain: np.ndarray) -> None:
        total = need_hours_by_domain.sum()
        if total > 0:
            r = self.params.reallocation_rate
            self.shares = (1 - r) * self.shares + r * need_hours_by_domain / total

    def plan(self, funds: YearFunds) -> None:
        self.reset_carriers()
        if not self.model.open_carriers():
            return  # nobody left to fund: the money stays with the payers
        free = funds.free_eur
        planning = self.params.planning_share * free
        self.pay("joint_planning", planning)
        free -= planning
        free -= self.plan_structure(free)
        free -= self.fund_coordination(self.params.coordination_fte, free)
        self.fund_carriers(funds.by_domain(free, self.shares))

    def plan_structure(self, free_eur: float) -> float:
        """Hook for models built on co-production: pay their own structure out of
        ``free_eur`` first; returns the money used."""
        return 0.0


# ================================================================== 4 integration centre
class IntegrationCentreParams(CoproductionParams):
    site: str | None = Field(None, description="Layout letter of the centre (default: the "
                                               "first 'centre_site' point).")
    centre_rent_eur_per_month: float = P(3000.0, unit="EUR per month", ge=0, le=1e7,
                                         description="Rent of the shared centre, split among "
                                                     "the carriers by their own staff.")
    overhead_synergy: float = P(0.3, unit="share of overhead", ge=0, le=1,
                                description="Overhead saved by shared administration, "
                                            "reception and rooms.")
    management_fte: float = P(0.5, unit="FTE", ge=0, le=100,
                              description="Centre management (reception, house, network), "
                                          "municipal staff, coordinating volunteers at the centre.")
    outreach: float = P(0.01, unit="probability per month", ge=0, le=1,
                        description="One known address: monthly chance of an unaware "
                                    "resident to learn of the offers.")


@register
class IntegrationCentre(Coproduction):
    """Spatial bundling in an integration centre (Herten's plan, seed 002): co-production
    with all carriers moved into one centre (the layout's ``centre_site``). They share
    its rent (instead of their own premises) and save overhead; all domains at one
    place let staff refer residents between domains (cross-referral); one known address
    raises awareness (outreach); a municipal centre management coordinates volunteers at
    the centre."""

    name = "integration_centre"
    label = "Integration centre"
    Params = IntegrationCentreParams
    params: IntegrationCentreParams

    def setup(self) -> None:
        super().setup()
        m = self.model
        self.centre = self.site(PointKind.CENTRE_SITE, self.params.site, "a centre site")
        point = m.space.points[self.centre]
        weight = np.array([c.own_fte.sum() + c.own_coordination_fte for c in m.carriers_list])
        weight = weight / weight.sum() if weight.sum() > 0 else np.full(len(weight), 1 / len(weight))
        for c, w in zip(m.carriers_list, weight):
            c.point = point
            c.rent_eur_per_month = self.params.centre_rent_eur_per_month * float(w)
            c.overhead_share = c.spec.overhead_share * (1.0 - self.params.overhead_synergy)

    def plan_structure(self, free_eur: float) -> float:
        m = self.model
        mun = m.config.municipality
        hour_cost = mun.staff_cost_eur_per_hour * (1 + mun.overhead_share)
        cost = min(free_eur, self.params.management_fte * 12 * m.hours_per_fte * hour_cost)
        m.municipality.coordination_fte[:] = 0.0
        m.municipality.coordination_fte[self.centre] = cost / (12 * m.hours_per_fte * hour_cost)
        self.pay("centre_management", cost)
        return cost

    def outreach_probability(self) -> float:
        return self.params.outreach if self.model.open_carriers() else 0.0


# ================================================================== 5 meeting point
class MeetingPointParams(Strict):
    site: str | None = Field(None, description="Layout letter of the meeting point (default: "
                                               "the first 'meeting_point_site' point).")
    manager_fte: float = P(1.0, unit="FTE", ge=0, le=20, lever=True,
                           description="Quarter manager (Quartiersmanagement).")
    manager_cost_eur_per_year_per_fte: float = P(
        60_000.0, unit="EUR per year", ge=0, le=1e6,
        source="StGB NRW notice 160/2015: ~60,000 EUR/yr per full-time post (CALIBRATION.md)")
    manager_coordination_share: float = P(0.5, unit="share of the manager's time", ge=0, le=1,
                                          description="Time spent coordinating volunteers at the "
                                                      "meeting point; the rest brokers and informs.")
    outreach_per_fte: float = P(0.02, unit="probability per month per FTE", ge=0, le=1,
                                description="The manager's outreach: monthly chance of an "
                                            "unaware resident to learn of the offers.")
    activation_per_fte: float = P(0.0005, unit="probability per month per FTE", ge=0, le=1,
                                  description="The manager's activation: extra monthly chance "
                                              "of an adult to start volunteering.")
    room_rent_eur_per_month: float = P(420.0, unit="EUR per month", ge=0, le=1e6,
                                       description="Market rent of the rooms (60 m2 x 7 EUR/m2).")
    rent_discount: float = P(0.5, unit="share of the rent", ge=0, le=1,
                             description="Discount the housing company grants, borne by it "
                                         "(booked to the housing company in kind).")


@register
class MeetingPoint(CooperationModel):
    """Community meeting point with a quarter manager (Grundschöttel, seeds 000/001): a
    meeting point in housing-company rooms at a reduced rent (the discount is the housing
    company's contribution in kind); a quarter manager who raises awareness (outreach),
    activates volunteers and coordinates volunteer-run offers at the meeting point
    (repair café, tutoring); the remaining money subsidises carriers' staff by the
    departments' shares. Volunteers serve at the meeting point or at carriers."""

    name = "meeting_point"
    label = "Meeting point + quarter manager"
    Params = MeetingPointParams
    params: MeetingPointParams

    def setup(self) -> None:
        self.point = self.site(PointKind.MEETING_POINT_SITE, self.params.site, "a meeting point site")
        self.shares = self.domain_shares()
        self.manager_fte = 0.0

    def volunteer_points(self) -> list[int]:
        return sorted({self.point, *super().volunteer_points()})

    def plan(self, funds: YearFunds) -> None:
        m, p = self.model, self.params
        self.reset_carriers()
        free = funds.free_eur
        rent = min(free, 12 * p.room_rent_eur_per_month * (1 - p.rent_discount))
        self.pay("meeting_point_rent", rent)
        self.pay("meeting_point_rent_in_kind", 12 * p.room_rent_eur_per_month * p.rent_discount,
                 payer=Payer.HOUSING_COMPANY)
        free -= rent
        cost = min(free, p.manager_fte * p.manager_cost_eur_per_year_per_fte)
        self.manager_fte = cost / p.manager_cost_eur_per_year_per_fte if p.manager_cost_eur_per_year_per_fte else p.manager_fte
        self.pay("quarter_manager", cost)
        free -= cost
        m.municipality.coordination_fte[:] = 0.0
        m.municipality.coordination_fte[self.point] = self.manager_fte * p.manager_coordination_share
        self.fund_carriers(funds.by_domain(free, self.shares))

    def outreach_probability(self) -> float:
        return min(1.0, self.params.outreach_per_fte * self.manager_fte)

    def activation_boost(self) -> float:
        return self.params.activation_per_fte * self.manager_fte


# ================================================================== 6 innovation lab
class InnovationLabParams(Strict):
    agency_fte: float = P(1.0, unit="FTE", ge=0, le=20, lever=True,
                          description="Staff of the volunteer agency (municipal staff cost).")
    agency_coordination_share: float = P(0.6, unit="share of agency time", ge=0, le=1,
                                         description="Time the agency spends coordinating placed "
                                                     "volunteers (at carriers, by their volunteers).")
    matching_rate: float = P(0.3, unit="share of volunteers per year", ge=0, le=1,
                             description="Volunteers the agency re-matches each year to the "
                                         "domains with the most unmet need.")
    activation_boost_per_month: float = P(0.0005, unit="probability per month", ge=0, le=1,
                                          description="Recruitment: extra monthly chance of an "
                                                      "adult to start volunteering.")
    business_hours_per_month: float = P(40.0, unit="h per month", ge=0, le=10_000,
                                        description="Skill exchange (marketplace for good "
                                                    "business): corporate volunteers' hours "
                                                    "for the carriers' offers.")


@register
class InnovationLab(CooperationModel):
    """Social innovation lab with a volunteer agency (KosiLab Wuppertal, seed 003:
    "Zentrum für gute Taten" and the marketplace for good business). The agency (paid
    from the funds) recruits volunteers (activation), re-matches volunteers across
    domains to unmet needs each year and coordinates them at the carriers where they are
    placed; the marketplace brings corporate volunteers' hours to the carriers' offers
    (in exchange for services to firms, no money flows). The remaining money subsidises
    carriers' staff by the departments' shares."""

    name = "innovation_lab"
    label = "Innovation lab / volunteer agency"
    Params = InnovationLabParams
    params: InnovationLabParams

    def setup(self) -> None:
        self.require_carriers()
        self.shares = self.domain_shares()
        self.agency_fte = 0.0

    def plan(self, funds: YearFunds) -> None:
        m, p = self.model, self.params
        self.reset_carriers()
        m.municipality.coordination_fte[:] = 0.0
        self.extra_volunteer_hours = np.zeros_like(self.extra_volunteer_hours)
        points = self.volunteer_points()
        if not points:
            self.agency_fte = 0.0
            return
        mun = m.config.municipality
        hour_cost = mun.staff_cost_eur_per_hour * (1 + mun.overhead_share)
        free = funds.free_eur
        cost = min(free, p.agency_fte * 12 * m.hours_per_fte * hour_cost)
        self.agency_fte = cost / (12 * m.hours_per_fte * hour_cost)
        self.pay("volunteer_agency", cost)
        free -= cost
        self.rematch_volunteers()
        a = m.residents
        vol = a.volunteer_hours > 0
        offered = np.bincount(a.volunteer_point[vol] + 1, weights=a.volunteer_hours[vol],
                              minlength=len(m.space.points) + 1)[1:][points]
        w = offered / offered.sum() if offered.sum() > 0 else np.full(len(points), 1 / len(points))
        m.municipality.coordination_fte[points] = self.agency_fte * p.agency_coordination_share * w
        unmet = self._unmet_share()
        self.extra_volunteer_hours[points] = (p.business_hours_per_month * self.agency_fte / max(p.agency_fte, 1e-12)
                                              / len(points)) * unmet[None, :]
        self.fund_carriers(funds.by_domain(free, self.shares))

    def _unmet_share(self) -> np.ndarray:
        """Current unmet need hours by domain where volunteers may serve, as shares (6,)."""
        a = self.model.residents
        unmet = np.maximum(a.need_hours - a.served_hours, 0.0).sum(axis=0)
        allowed = np.array(self.model.config.volunteering.domain_shares()) > 0
        unmet = np.where(allowed, unmet, 0.0)
        if unmet.sum() <= 0:
            unmet = allowed.astype(float)
        return unmet / unmet.sum()

    def rematch_volunteers(self) -> None:
        m = self.model
        a = m.residents
        vols = np.flatnonzero(a.volunteer_hours > 0)
        if len(vols) == 0 or self.params.matching_rate <= 0 or self.agency_fte <= 0:
            return
        moved = vols[m.rng.random(len(vols)) < self.params.matching_rate]
        a.volunteer_domain[moved] = m.rng.choice(N_DOMAINS, size=len(moved), p=self._unmet_share())

    def activation_boost(self) -> float:
        return self.params.activation_boost_per_month * self.agency_fte / max(self.params.agency_fte, 1e-12) \
            if self.params.agency_fte > 0 else 0.0
