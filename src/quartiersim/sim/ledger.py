"""The money ledger: every euro the quarter's provision costs, booked to exactly one payer.

A booking is (month, payer, category, item, amount in EUR). The ledger keeps running
totals by year x payer x category in a numpy array, so summing is cheap, and an
optional list of every booking for tests and audits (``keep_entries=True``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from quartiersim.config.domains import CostCategory, Payer

PAYERS: tuple[Payer, ...] = tuple(Payer)
CATEGORIES: tuple[CostCategory, ...] = tuple(CostCategory)
_PAYER_INDEX = {p: i for i, p in enumerate(PAYERS)}
_CATEGORY_INDEX = {c: i for i, c in enumerate(CATEGORIES)}


def _check_amount(item: str, amount_eur: float) -> None:
    """Raise ValueError unless ``amount_eur`` is finite and non-negative (NaN fails too)."""
    if not 0.0 <= amount_eur < math.inf:
        raise ValueError(f"booking {item!r} of {amount_eur!r} EUR: amounts must be finite "
                         "and non-negative")


@dataclass(frozen=True)
class Booking:
    month: int  # 1-based step
    payer: Payer
    category: CostCategory
    item: str  # what is paid, e.g. "municipal_staff", "carrier_subsidy", "mandatory_case"
    amount_eur: float


class Ledger:
    """Running totals of payments, shape (years, payers, categories), in EUR.

    Raises:
        ValueError: a negative or non-finite amount is booked.
    """

    def __init__(self, years: int, keep_entries: bool = False) -> None:
        self.totals = np.zeros((years, len(PAYERS), len(CATEGORIES)))
        self.month_totals = np.zeros((len(PAYERS), len(CATEGORIES)))
        self.entries: list[Booking] | None = [] if keep_entries else None

    def book(self, month: int, payer: Payer, category: CostCategory, item: str,
             amount_eur: float) -> None:
        _check_amount(item, amount_eur)
        if amount_eur == 0:
            return
        key = (month - 1) // 12, _PAYER_INDEX[payer], _CATEGORY_INDEX[category]
        self.totals[key] += amount_eur
        self.month_totals[key[1:]] += amount_eur
        if self.entries is not None:
            self.entries.append(Booking(month, payer, category, item, amount_eur))

    def book_many(self, month: int, payer: Payer, category: CostCategory, items: Sequence[str],
                  amounts: Sequence[float]) -> None:
        """Book ``amounts[i]`` for ``items[i]``, all to one payer and category, as
        :meth:`book` one after the other would (the same sums, added in the same order);
        nothing is booked if an amount is negative or not finite (ValueError)."""
        self.book_each(month, category, [(payer, item, amount_eur)
                                         for item, amount_eur in zip(items, amounts)])

    def book_each(self, month: int, category: CostCategory,
                  bookings: Sequence[tuple[Payer, str, float]]) -> None:
        """Book each (payer, item, amount in EUR) of ``bookings`` to ``category``, as
        :meth:`book` one after the other would (the same sums, added in the same order;
        the same entries); nothing is booked if an amount is negative or not finite
        (ValueError)."""
        for _, item, amount_eur in bookings:
            _check_amount(item, amount_eur)
        year, c = (month - 1) // 12, _CATEGORY_INDEX[category]
        sums: dict[int, list[float]] = {}  # payer index: [year total, month total]
        for payer, item, amount_eur in bookings:
            if amount_eur == 0:
                continue
            p = _PAYER_INDEX[payer]
            s = sums.get(p)
            if s is None:
                s = sums[p] = [float(self.totals[year, p, c]), float(self.month_totals[p, c])]
            s[0] += amount_eur
            s[1] += amount_eur
            if self.entries is not None:
                self.entries.append(Booking(month, payer, category, item, amount_eur))
        for p, (total, month_total) in sums.items():
            self.totals[year, p, c], self.month_totals[p, c] = total, month_total

    def start_month(self) -> None:
        self.month_totals[:] = 0.0

    def total(self, payer: Payer | None = None, category: CostCategory | None = None,
              year: int | None = None) -> float:
        """Sum in EUR, optionally restricted to a payer, a category and a 0-based year."""
        t = self.totals if year is None else self.totals[year:year + 1]
        if payer is not None:
            t = t[:, _PAYER_INDEX[payer]:_PAYER_INDEX[payer] + 1]
        if category is not None:
            t = t[:, :, _CATEGORY_INDEX[category]:_CATEGORY_INDEX[category] + 1]
        return float(t.sum())

    def month_total(self, payer: Payer | None = None,
                    category: CostCategory | None = None) -> float:
        t = self.month_totals
        if payer is not None:
            t = t[_PAYER_INDEX[payer]:_PAYER_INDEX[payer] + 1]
        if category is not None:
            t = t[:, _CATEGORY_INDEX[category]:_CATEGORY_INDEX[category] + 1]
        return float(t.sum())
