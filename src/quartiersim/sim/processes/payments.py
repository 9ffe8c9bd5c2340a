"""Process 9, payments (ODD 7.6): the cooperation model's monthly payments are booked to
payers by the financing model and carriers receive theirs; running mandatory cases are
booked to the municipality."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from quartiersim.config.domains import DOMAINS, CostCategory, Payer

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel


def pay_for_provision(model: QuarterModel) -> None:
    """Voluntary payments of the cooperation model, booked to payers by the financing
    model; mandatory cases, paid by the municipality. Reads the payments of the year's
    plan and the running cases; writes the ledger, the municipality's and carriers'
    income and ``model.month.active_cases``."""
    model.financing.book_month(model.cooperation.payments)
    cases = np.count_nonzero(model.residents.case_months_left, axis=0)
    cost = model.need_tables.case_cost * model.price_index  # start-year prices, indexed
    for k, d in enumerate(DOMAINS):
        amount = float(cases[k] * cost[k])
        model.ledger.book(model.steps, Payer.MUNICIPALITY, CostCategory.MANDATORY,
                          f"mandatory_case_{d.value}", amount)
        model.municipality.pay(CostCategory.MANDATORY, amount)
    model.month.active_cases = int(cases.sum())
