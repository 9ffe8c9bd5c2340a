"""Cooperation models: how the quarter's social offers are organised.

One class per model behind one protocol, :class:`CooperationModel`. A cooperation model
turns the year's voluntary funds into provision: who employs staff in which domain at
which service point, who coordinates volunteers and where they serve, which monthly
payments flow to whom, and how access is shaped (outreach, cross-referral). The core
model (:mod:`quartiersim.model`) only calls the protocol; adding a model means adding a
class decorated with :func:`register` and, optionally, a ``[cooperation.<name>]``
section in the scenario files.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import Field

from quartiersim.domains import DOMAINS, Domain, PointKind
from quartiersim.errors import ScenarioError
from quartiersim.scenario import P, Strict

if TYPE_CHECKING:
    from quartiersim.agents import Carrier
    from quartiersim.model import QuarterModel

COOPERATION_MODELS: dict[str, type[CooperationModel]] = {}


def register(cls: type[CooperationModel]) -> type[CooperationModel]:
    """Class decorator: make a cooperation model available under ``cls.name``."""
    COOPERATION_MODELS[cls.name] = cls
    return cls


@dataclass(frozen=True)
class Payment:
    """A monthly voluntary payment of the quarter's funds, EUR per month.

    ``payee`` is the carrier receiving it, or None for the municipality's own spending
    (own staff, office rent, planning time)."""

    item: str
    amount_eur: float
    payee: Carrier | None = None


class CooperationModel(ABC):
    """Protocol of a cooperation model (Kooperationsmodell).

    Subclasses set ``name`` (API), ``label`` and ``Params`` (a pydantic section of the
    scenario file) and implement :meth:`plan_year`. The hooks with defaults may be
    overridden.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    Params: ClassVar[type[Strict]]

    def __init__(self, model: QuarterModel, params: Strict) -> None:
        self.model = model
        self.params = params
        self.payments: list[Payment] = []

    # --- structure -----------------------------------------------------------------
    def setup(self) -> None:
        """Check the scenario fits the model (raise ScenarioError otherwise)."""

    @abstractmethod
    def plan_year(self, funds_eur: float) -> None:
        """Spend ``funds_eur`` (EUR for the coming year) on provision: set staff FTE at
        points and the monthly :attr:`payments`. Called at the start and every year end."""

    def volunteer_points(self) -> list[int]:
        """Indices of service points where volunteers can serve. Default: open carriers'
        premises (a carrier coordinates its volunteers)."""
        return [c.point.index for c in self.model.open_carriers()]

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
        self.shares = np.array(self.model.config.municipality.domain_share_array())

    def plan_year(self, funds_eur: float) -> None:
        m = self.model
        monthly = funds_eur / 12.0
        rent = min(monthly, len(set(self.office_of)) * self.params.rent_eur_per_month_per_office)
        staff_money = monthly - rent
        hour_cost = m.config.municipality.staff_cost_eur_per_hour * (1 + m.config.municipality.overhead_share)
        fte = staff_money / hour_cost / m.hours_per_fte
        m.municipality.staff_fte[:] = 0.0
        for k, p in enumerate(self.office_of):
            m.municipality.staff_fte[p, k] += fte * self.shares[k]
        self.payments = [Payment("municipal_office_rent", rent), Payment("municipal_staff", staff_money)]


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
        if not self.model.carriers_list:
            raise ScenarioError(f"{self.model.config.path}: cooperation model 'coproduction' "
                                "needs at least one carrier ([[carriers]])")
        self.shares = np.array(self.model.config.municipality.domain_share_array())

    @property
    def cross_referral_probability(self) -> float:
        return self.params.cross_referral

    def observe_year(self, need_hours_by_domain: np.ndarray) -> None:
        total = need_hours_by_domain.sum()
        if total > 0:
            r = self.params.reallocation_rate
            self.shares = (1 - r) * self.shares + r * need_hours_by_domain / total

    def plan_year(self, funds_eur: float) -> None:
        m = self.model
        carriers = m.open_carriers()
        self.payments = []
        for c in m.carriers_list:
            c.funded_fte[:] = 0.0
            c.funded_coordination_fte = 0.0
        if not carriers:
            return  # nobody left to fund: the money stays with the payers
        monthly = funds_eur / 12.0
        planning = self.params.planning_share * monthly
        self.payments.append(Payment("joint_planning", planning))
        rest = monthly - planning
        per_carrier = {id(c): 0.0 for c in carriers}
        # paid coordination, shared equally among open carriers
        coord_each = self.params.coordination_fte / len(carriers)
        for c in carriers:
            cost = min(rest / len(carriers), coord_each * m.hours_per_fte * c.hour_cost_eur)
            c.funded_coordination_fte = cost / (m.hours_per_fte * c.hour_cost_eur)
            per_carrier[id(c)] += cost
        rest -= sum(per_carrier.values())
        # staff subsidies by domain, to carriers active in the domain (else to all)
        own = np.array([c.own_fte for c in carriers])  # (carriers, 6)
        for k in range(len(DOMAINS)):
            money = rest * self.shares[k]
            w = own[:, k] if own[:, k].sum() > 0 else np.ones(len(carriers))
            for c, wc in zip(carriers, w / w.sum()):
                c.funded_fte[k] += money * wc / (m.hours_per_fte * c.hour_cost_eur)
                per_carrier[id(c)] += money * wc
        for c in carriers:
            self.payments.append(Payment("carrier_subsidy", per_carrier[id(c)], c))
