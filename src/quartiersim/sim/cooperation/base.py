"""Cooperation models: how the quarter's social offers are organised.

One class per model behind one protocol, :class:`CooperationModel`. A cooperation model
turns the year's funds (:class:`~quartiersim.sim.financing.YearFunds`: free money and money
earmarked to a domain or to resident-run offers) into provision: who employs staff in
which domain at which service point, who coordinates volunteers and where they serve,
which monthly payments flow to whom (each tagged with its purpose, so that earmarked
money pays only for its purpose), and how access is shaped (outreach, cross-referral,
activation). The model's processes (:mod:`quartiersim.sim.processes`) only call the protocol; adding a
model means adding a class decorated with :func:`register` and, optionally, a
``[cooperation.<name>]`` section in the scenario files.

The six models of docs/ODD.md, in the order ``compare`` shows them: ``municipal``,
``contracting``, ``coproduction``, ``integration_centre``, ``meeting_point``,
``innovation_lab``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from quartiersim.config.domains import DOMAINS, N_DOMAINS, Payer, PointKind
from quartiersim.config.fields import Strict
from quartiersim.errors import ScenarioError
from quartiersim.sim.financing import RESIDENT_RUN, YearFunds
from quartiersim.sim.staff import MUNICIPALITY, NO_DOMAIN, PostKey, Role

if TYPE_CHECKING:
    from quartiersim.sim.agents import Carrier
    from quartiersim.sim.model import QuarterModel

COOPERATION_MODELS: dict[str, type[CooperationModel]] = {}


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
        post: the staff post (row of ``model.staff``) the payment pays for, or -1. Such
            a payment is made in proportion to the post's staff employed that month
            (:meth:`~quartiersim.sim.staff.StaffStock.paid_share`): money for a vacant
            post is not spent.
    """

    item: str
    amount_eur: float
    payee: Carrier | None = None
    purpose: str | None = None
    payer: Payer | None = None
    post: int = -1


class CooperationModel(ABC):
    """Protocol of a cooperation model (Kooperationsmodell).

    Subclasses set ``name`` (API), ``label`` and ``Params`` (a pydantic section of the
    scenario file) and implement :meth:`plan`. The hooks with defaults may be overridden.

    Attributes:
        payments: this year's monthly payments (set by :meth:`plan_year`).
        self_run_hours: shape (points,), volunteer hours a month each point can deploy
            without paid coordination (resident-run offers paid from resident-run money).
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

    # --- structure -----------------------------------------------------------------
    def setup(self) -> None:
        """Check the scenario fits the model (raise ScenarioError otherwise)."""

    def plan_year(self, funds: YearFunds) -> None:
        """Spend the coming year's ``funds``: :meth:`plan` by the model, then the money
        earmarked to resident-run offers (:meth:`plan_resident_run`). Called at the start
        and every year end. The funded posts' targets are set anew
        (:meth:`~quartiersim.sim.staff.StaffStock.begin_plan`): a post the plan does not
        fund again ends, the staff of a post it keeps stay."""
        self.payments = []
        self.self_run_hours = np.zeros_like(self.self_run_hours)
        self.model.staff.begin_plan()
        self.plan(funds)
        self.plan_resident_run(funds.earmark(RESIDENT_RUN))

    @abstractmethod
    def plan(self, funds: YearFunds) -> None:
        """Set staff FTE at points and append the monthly payments (via :meth:`pay`)."""

    def pay(self, item: str, annual_eur: float, payee: Carrier | None = None,
            purpose: str | None = None, payer: Payer | None = None, post: int = -1) -> None:
        """Add a payment of ``annual_eur`` a year (paid monthly; for a ``post``, in
        proportion to its staff employed)."""
        if annual_eur > 0:
            self.payments.append(Payment(item, annual_eur / 12.0, payee, purpose, payer, post))

    def fund_municipal_post(self, role: Role, point: int, annual_eur: float, item: str,
                            domain: int = NO_DOMAIN, purpose: str | None = None,
                            workplace: bool = True) -> float:
        """Fund a municipal post at ``point`` with ``annual_eur`` a year: its target FTE
        = money / :meth:`~quartiersim.sim.agents.Municipality.post_cost_eur_per_year`
        (``workplace``: with the imputed workplace; without where the model pays the
        rooms). Returns the target FTE."""
        m = self.model
        if annual_eur <= 0:
            return 0.0
        fte = annual_eur / m.municipality.post_cost_eur_per_year(workplace)
        post = m.staff.add_target(PostKey(MUNICIPALITY, role, domain, True), point, fte)
        self.pay(item, annual_eur, purpose=purpose, post=post)
        return fte

    def plan_resident_run(self, money_eur: float) -> None:
        """Residents allocate money earmarked to resident-run offers (neighbourhood fund)
        to the offers volunteers run at the volunteer points, in proportion to the hours
        volunteers offer there; each point can then deploy ``money / 12 /
        volunteering.resident_run_eur_per_hour`` volunteer hours a month without paid
        coordination."""
        points = self.volunteer_points()
        if money_eur <= 0 or not points:
            return
        a = self.model.residents
        offered = np.bincount(a.volunteer_point[a.volunteer_hours > 0] + 1,
                              weights=a.volunteer_hours[a.volunteer_hours > 0],
                              minlength=len(self.self_run_hours) + 1)[1:][points]
        w = offered / offered.sum() if offered.sum() > 0 else np.full(len(points), 1.0 / len(points))
        eur_per_hour = self.model.config.volunteering.resident_run_eur_per_hour * self.model.price_index
        self.self_run_hours[points] += w * money_eur / 12.0 / eur_per_hour
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
        active in the domain in proportion to their own-funded posts there, else to all
        equally. A carrier's funded post (target FTE) = money / (hours per FTE x 12 x
        price), the price being its own full hour cost or ``price_eur_per_hour`` (a
        contract price in start-year prices, indexed by ``model.price_index``); the
        payment follows the staff employed on the post.
        Returns the money planned (0 when no carrier is open)."""
        m = self.model
        carriers = m.open_carriers()
        if not carriers:
            return 0.0
        own = np.array([c.own_target_fte for c in carriers])  # (carriers, 6)
        paid = 0.0
        for k, d in enumerate(DOMAINS):
            money = float(money_by_domain[k])
            if money <= 0:
                continue
            w = own[:, k] if own[:, k].sum() > 0 else np.ones(len(carriers))
            for c, wc in zip(carriers, w / w.sum()):
                if wc <= 0:
                    continue
                price = price_eur_per_hour * m.price_index if price_eur_per_hour else c.hour_cost_eur
                post = m.staff.add_target(PostKey(c.number, Role.SERVICE, k, True), c.point.index,
                                          money * wc / (12.0 * m.hours_per_fte * price))
                self.pay(item, money * wc, c, purpose=d.value, post=post)
                paid += money * wc
        return paid

    def fund_coordination(self, fte: float, free_eur: float) -> float:
        """Fund ``fte`` of paid volunteer coordination, shared equally among open
        carriers, within ``free_eur`` a year. Returns the money planned."""
        m = self.model
        carriers = m.open_carriers()
        if not carriers or fte <= 0 or free_eur <= 0:
            return 0.0
        used = 0.0
        for c in carriers:
            cost = min(free_eur / len(carriers), fte / len(carriers) * 12 * m.hours_per_fte * c.hour_cost_eur)
            post = m.staff.add_target(PostKey(c.number, Role.COORDINATION, NO_DOMAIN, True),
                                      c.point.index, cost / (12 * m.hours_per_fte * c.hour_cost_eur))
            self.pay("carrier_subsidy", cost, c, post=post)
            used += cost
        return used

    def coordination_hours(self) -> np.ndarray:
        """Paid coordination of volunteers this month by point, hours, shape (points,):
        every coordination post's effective hours (employed FTE x productivity) at its
        point, plus what management posts give (:meth:`management_coordination`)."""
        m = self.model
        st = m.staff
        rows = ((st.role == Role.COORDINATION) & (st.point >= 0)).nonzero()[0]
        hours = np.bincount(st.point[rows], weights=st.effective_fte()[rows] * m.hours_per_fte,
                            minlength=len(m.space.points))
        return hours + self.management_coordination() * m.hours_per_fte

    def outside_volunteer_hours(self) -> np.ndarray:
        """Volunteer-type hours this month from outside the resident population (e.g.
        corporate volunteers), shape (points, 6). Default: none."""
        return np.zeros((len(self.model.space.points), N_DOMAINS))

    def management_coordination(self) -> np.ndarray:
        """Effective FTE of the model's management posts spent coordinating volunteers,
        by point, shape (points,). Default: none."""
        return np.zeros(len(self.model.space.points))

    def management_fte(self) -> float:
        """Effective FTE (employed x productivity) of the model's management post (quarter
        manager, centre management, volunteer agency); 0 without one."""
        return self.model.staff.effective_of(PostKey(MUNICIPALITY, Role.MANAGEMENT, NO_DOMAIN, True))

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

    def outreach_place(self) -> int | None:
        """The service point whose staff do the outreach (a known address, the quarter
        manager's rooms); residents they reach get to know it (trust,
        :func:`~quartiersim.sim.processes.trust.outreach_builds_trust`). None: no outreach."""
        return None

    def activation_boost(self) -> float:
        """Extra monthly chance of an adult to start volunteering."""
        return 0.0

    def observe_year(self, need_hours_by_domain: np.ndarray) -> None:
        """See the closing year's need hours by domain (shape (6,)) before planning."""


def office_letters(model: QuarterModel) -> list[str]:
    return [p.letter for p in model.space.points_of_kind(PointKind.MUNICIPAL_OFFICE)]
