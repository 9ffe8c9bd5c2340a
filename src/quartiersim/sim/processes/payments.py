"""Process 9, payments (ODD 7.6): the cooperation model's monthly payments are booked to
payers by the financing model and carriers receive theirs; running mandatory cases are
booked to the municipality."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from quartiersim.config.domains import DOMAINS, CostCategory, Payer

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel

#: The ledger items of mandatory cases, by domain.
CASE_ITEMS: tuple[str, ...] = tuple(f"mandatory_case_{d.value}" for d in DOMAINS)


def pay_for_provision(model: QuarterModel) -> None:
    """Voluntary payments of the cooperation model, booked to payers by the financing
    model; mandatory cases, paid by the municipality. Reads the payments of the year's
    plan and the running cases; writes the ledger, the municipality's and carriers'
    income and ``model.month.active_cases``."""
    model.financing.book_month(model.cooperation.payments)
    # running cases by domain
    cases = np.count_nonzero(model.residents.case_months_left, axis=0).tolist()
    cost = model.need_tables.case_cost * model.price_index  # start-year prices, indexed
    amounts = [float(n * c) for n, c in zip(cases, cost.tolist())]
    model.ledger.book_many(model.steps, Payer.MUNICIPALITY, CostCategory.MANDATORY, CASE_ITEMS,
                           amounts)
    for amount in amounts:
        model.municipality.pay(CostCategory.MANDATORY, amount)
    model.month.active_cases = sum(cases)
