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
mechanisms follow seed 004 and docs/sources.md; every
magnitude is a scenario parameter with its source or ``assumption``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from quartiersim.config.domains import DOMAINS, CostCategory, Payer
from quartiersim.config.fields import Strict
from quartiersim.config.financing import PURPOSES, RESIDENT_RUN, validate_financing

if TYPE_CHECKING:
    from quartiersim.sim.cooperation import Payment
    from quartiersim.sim.model import QuarterModel

INSTRUMENTS: dict[str, type[Instrument]] = {}

__all__ = ["RESIDENT_RUN", "FinancingModel", "Instrument", "YearFunds", "register_instrument"]

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

    def earmark(self, purpose: str) -> float:
        return float(self.earmarked_eur.get(purpose, 0.0))

    def by_domain(self, free_eur: float, shares: np.ndarray) -> np.ndarray:
        """EUR per domain, shape (6,): ``free_eur`` split by ``shares`` plus each domain's
        earmarked money."""
        return free_eur * np.asarray(shares) + np.array([self.earmark(d.value) for d in DOMAINS])


class Instrument(ABC):
    """Protocol of a financing instrument (Finanzierungsinstrument).

    Subclasses set ``name`` (API), ``Params`` and ``earmark`` (None = free money).
    Instruments are asked each year in the order the scenario lists them; what must be
    decided before (a grant's co-financing) is decided by its own process,
    :mod:`quartiersim.sim.processes.cofinancing`.
    """

    name: ClassVar[str]
    Params: ClassVar[type[Strict]]
    earmark: ClassVar[str | None] = None

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


# --------------------------------------------------------------------------- the model
class FinancingModel:
    """A named set of instruments; collects each year's funds and books every payment.

    Attributes:
        instruments: in the scenario's order, the order they are asked each year.
        funds: the current year's :class:`YearFunds`.
        offset_from_budget_eur: co-financing taken out of the municipal budget this year.
        budget_relief_eur: municipal budget money for the quarter replaced this year by
            the overhead compensation (the state pays that part instead). Both are set by
            :mod:`quartiersim.sim.processes.cofinancing` before the funds are collected.
    """

    def __init__(self, model: QuarterModel, name: str) -> None:
        self.model = model
        self.name = name
        self.instruments = [INSTRUMENTS[inst](self, params) for inst, params in
                            validate_financing(model.config, name)]
        self.funds = YearFunds(0.0)
        self.offset_from_budget_eur = 0.0
        self.budget_relief_eur = 0.0
        self._pools: dict[str | None, dict[Payer, float]] = {}
        self._costs: list[tuple[str, Payer, float]] = []
        self._split: dict[str | None, list[tuple[Payer, float]]] = {}

    def instrument(self, cls: type[Instrument]) -> Any:
        """The instrument of class ``cls`` in this financing model, or None."""
        return next((i for i in self.instruments if isinstance(i, cls)), None)

    def grant_end_year(self) -> int | None:
        """Last funded year of the grant programme, None if no grant was received."""
        grant = next((i for i in self.instruments if i.name == "grant_programme"), None)
        return max(grant.funded_years) if grant is not None and grant.funded_years else None

    def funds_for_year(self, year_index: int, calendar_year: int) -> YearFunds:
        """Ask every instrument for the year's money; returns free and earmarked funds.
        The grant co-financing of the year is decided before (``offset_from_budget_eur``)."""
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
        """Book this month's payments and instrument costs; carriers receive theirs, by
        payer (their income mix). A payment to a carrier that has closed is not made; a
        payment for a staff post is made in proportion to the post's staff employed
        (money for a vacancy is not spent)."""
        m = self.model
        paid_share = m.staff.paid_shares()  # by post
        bookings: list[tuple[Payer, str, float]] = []  # (payer, item, EUR), in payment order
        for pay in payments:
            payee = pay.payee
            if payee is not None and not payee.is_open:
                continue
            amount = pay.amount_eur * (paid_share[pay.post] if pay.post >= 0 else 1.0)
            if amount <= 0:
                continue
            split = ((pay.payer, 1.0),) if pay.payer is not None else self._split[pay.purpose]
            for payer, share in split:
                if amount * share != 0:
                    bookings.append((payer, pay.item, amount * share))
                if payee is not None:
                    payee.receive(amount * share, payer)
        bookings += [(payer, item, annual / 12.0) for item, payer, annual in self._costs
                     if annual / 12.0 != 0]
        # all in one go (the same sums as booking them one after the other)
        m.ledger.book_each(m.steps, CostCategory.VOLUNTARY, bookings)
        for payer, _, amount_eur in bookings:
            if payer is Payer.MUNICIPALITY:
                m.municipality.pay(CostCategory.VOLUNTARY, amount_eur)
