"""Process 13, recording (ODD 4 "Observation"): the month's need and service counted right
after matching, and the month's statistics for the DataCollector (``SERIES_KEYS``)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from mesa import DataCollector

from quartiersim.config.domains import (
    DOMAINS,
    GROUPS,
    N_DOMAINS,
    POINT_KINDS,
    CostCategory,
    Group,
    Payer,
)
from quartiersim.sim import episodes
from quartiersim.sim.ledger import CATEGORIES, PAYERS
from quartiersim.sim.population import ResidentArrays
from quartiersim.sim.processes.trust import mean_trust_by_kind

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel

_COVERAGE_KEYS = tuple(f"coverage_{d.value}" for d in DOMAINS)
_TRUST_KEYS = tuple(f"trust_{k.value}" for k in POINT_KINDS)  # mean_trust_by_kind's order

#: The monthly series (DataCollector model variables), one value each per month.
SERIES_KEYS: tuple[str, ...] = (
    "year", "month", "residents", "coverage", *_COVERAGE_KEYS,
    "need_hours", "served_hours", "unmet_need_hours", "staff_hours", "volunteer_hours",
    "new_mandatory_cases", "active_mandatory_cases", "volunteers", "volunteers_deployed",
    "carriers_open", "municipal_cost_eur", "municipal_cost_voluntary_eur", "municipal_cost_mandatory_eur",
    "total_cost_eur", "voluntary_budget_eur", "awareness", "staff_fte", "staff_productivity",
    "carrier_reserves_eur",
    *_TRUST_KEYS,
)
# the ledger's month totals of the municipality, voluntary and mandatory
_MUNICIPALITY = PAYERS.index(Payer.MUNICIPALITY)
_BY_CATEGORY = [CATEGORIES.index(CostCategory.VOLUNTARY), CATEGORIES.index(CostCategory.MANDATORY)]


def group_masks(a: ResidentArrays) -> dict[Group, np.ndarray]:
    """Members of each reported group among the living residents, bool (n,) each."""
    alive = a.alive
    return {Group.AGE_65_PLUS: alive & (a.age >= 65), Group.TRANSFER_RECIPIENTS: alive & a.transfer,
            Group.MIGRATION_BACKGROUND: alive & a.migration,
            Group.MOBILITY_LIMITED: alive & a.mobility_limited}


def count_need_and_service(model: QuarterModel) -> None:
    """This month's need and served hours by domain (into ``model.month``) and their
    sums over the run, by domain and by group, and over the year (``model.totals``);
    by cell when the model tracks cells (``model.cells``).
    Need-hours of residents in a mandatory case count as needed and not met by the
    offers (the need was not met preventively). In the spin-up only the month's and the
    year's need and service (the group and cell sums are not observed there). Runs right after matching, before
    resolution changes the needs; records the first service of need episodes
    (:func:`quartiersim.sim.episodes.record_service`)."""
    a, month, totals = model.residents, model.month, model.totals
    need = a.need_hours.copy(order="F")  # + the need-hours of running cases, where they run
    np.add(need, model.need_tables.hours, out=need, where=a.case_months_left > 0)
    served = a.served_hours  # (n, 6)
    month.need_hours = need.sum(axis=0)
    month.served_hours = served.sum(axis=0)
    totals.need_hours += month.need_hours
    totals.served_hours += month.served_hours
    totals.year_need_hours += month.need_hours
    if model.spinning_up:  # the run's totals and cells count the horizon only: the spin-up's
        return  # are reset at its end (the year's need-hours above are seen at its year ends)
    masks = group_masks(a)
    groups = np.array([masks[g] for g in GROUPS], dtype=float)  # (4, n) 0/1
    totals.need_hours_group += (groups @ need).sum(axis=1)
    totals.served_hours_group += (groups @ served).sum(axis=1)
    if model.cells is not None:
        model.cells.add(a.home_cell, need, served)
    episodes.record_service(model)


def record_month(model: QuarterModel) -> None:
    """The month's statistics into ``model.month_stats`` (one value per ``SERIES_KEYS``
    key; coverage = served / needed, 1 where nothing was needed). Reads ``model.month``,
    the residents, the ledger's month and the municipality's budget."""
    a, s, month = model.residents, model.month_stats, model.month
    need, served = float(month.need_hours.sum()), float(month.served_hours.sum())
    s["year"] = model.start_year + (model.steps - 1) // 12
    s["month"] = model.steps
    n_alive = int(np.count_nonzero(a.alive))
    s["residents"] = n_alive
    s["coverage"] = served / need if need > 0 else 1.0
    for key, nk, sk in zip(_COVERAGE_KEYS, month.need_hours.tolist(), month.served_hours.tolist()):
        s[key] = sk / nk if nk > 0 else 1.0
    s["need_hours"] = need
    s["served_hours"] = served
    s["unmet_need_hours"] = need - served
    s["staff_hours"] = month.staff_hours
    s["volunteer_hours"] = month.volunteer_hours
    s["new_mandatory_cases"] = month.new_cases
    s["active_mandatory_cases"] = month.active_cases
    s["volunteers"] = len(model.volunteer_of_slot)
    s["volunteers_deployed"] = int(np.count_nonzero((a.volunteer_hours > 0) & (a.volunteer_point >= 0)))
    open_carriers = model.open_carriers()
    s["carriers_open"] = len(open_carriers)
    led = model.ledger
    voluntary, mandatory = led.month_totals[_MUNICIPALITY, _BY_CATEGORY].tolist()
    s["municipal_cost_voluntary_eur"] = voluntary  # = led.month_total(payer, category)
    s["municipal_cost_mandatory_eur"] = mandatory
    s["municipal_cost_eur"] = voluntary + mandatory
    s["total_cost_eur"] = led.month_total()
    s["voluntary_budget_eur"] = model.municipality.voluntary_budget_eur
    # aware is cleared for vacant slots, so this is the share over residents
    s["awareness"] = np.count_nonzero(a.aware) / (n_alive * N_DOMAINS) if n_alive else 0.0
    staff = model.staff
    fte = float(staff.fte.sum())
    s["staff_fte"] = fte
    s["staff_productivity"] = float(staff.effective_fte().sum() / fte) if fte > 0 else 0.0
    s["carrier_reserves_eur"] = float(sum(c.reserve_eur for c in open_carriers))
    in_use = month.capacity_hours.sum(axis=1) > 1e-9
    s.update(zip(_TRUST_KEYS, mean_trust_by_kind(model, in_use).values()))


def month_stat(key: str, model: QuarterModel) -> float:
    """DataCollector reporter (via functools.partial): one monthly statistic."""
    return model.month_stats[key]


def reporters() -> dict[str, partial]:
    """The DataCollector's model reporters: one per series key (``SERIES_KEYS``)."""
    return {k: partial(month_stat, k) for k in SERIES_KEYS}


class MonthlyCollector(DataCollector):
    """Mesa's DataCollector with one model reporter per series key (:func:`reporters`),
    collecting straight from ``model.month_stats``: each statistic is an immutable
    number, so Mesa's per-reporter call and ``deepcopy`` (two thirds of its cost) are
    not needed. ``model_vars`` and ``get_model_vars_dataframe()`` are Mesa's."""

    def __init__(self) -> None:
        super().__init__(model_reporters=reporters())
        self._columns = [(self.model_vars[k], k) for k in SERIES_KEYS]

    def collect(self, model: QuarterModel) -> None:
        """Append this month's statistics (``model.month_stats``) to ``model_vars``."""
        self._collection_steps.append(model.time)
        stats = model.month_stats
        for values, key in self._columns:
            values.append(stats[key])
