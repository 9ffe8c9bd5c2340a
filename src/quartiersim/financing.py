"""Financing models: where the quarter's voluntary funds come from, and who pays each euro.

A named financing model is a set of instruments (``[financing.<name>]`` in the scenario:
one sub-table per instrument with its parameters). Each instrument brings money for a
year by payer (:meth:`Instrument.funds`); the cooperation model spends the year's total,
and every voluntary payment is booked to the payers pro rata to their share of that
year's funds, so each euro has exactly one payer. Mandatory cases are always paid by the
municipality (it bears them directly or through the district levy).

Built in: ``budget`` = the municipal budget alone (``municipal_budget``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from typing import TYPE_CHECKING, Any, ClassVar

from quartiersim.domains import CostCategory, Payer
from quartiersim.errors import UnknownNameError
from quartiersim.scenario import Strict, _validate_section

if TYPE_CHECKING:
    from quartiersim.model import QuarterModel
    from quartiersim.scenario import Scenario

INSTRUMENTS: dict[str, type[Instrument]] = {}

#: Financing models every scenario has without declaring them.
BUILTIN_FINANCING: dict[str, dict[str, dict[str, Any]]] = {"budget": {"municipal_budget": {}}}


def register_instrument(cls: type[Instrument]) -> type[Instrument]:
    INSTRUMENTS[cls.name] = cls
    return cls


class Instrument(ABC):
    """Protocol of a financing instrument (Finanzierungsinstrument)."""

    name: ClassVar[str]
    Params: ClassVar[type[Strict]]

    def __init__(self, model: QuarterModel, params: Strict) -> None:
        self.model = model
        self.params = params

    @abstractmethod
    def funds(self, year_index: int, calendar_year: int) -> dict[Payer, float]:
        """EUR this instrument contributes to the quarter's offers in that year."""


class MunicipalBudgetParams(Strict):
    pass


@register_instrument
class MunicipalBudget(Instrument):
    """The municipality's voluntary budget for the quarter (after consolidation cuts)."""

    name = "municipal_budget"
    Params = MunicipalBudgetParams

    def funds(self, year_index: int, calendar_year: int) -> dict[Payer, float]:
        return {Payer.MUNICIPALITY: self.model.municipality.voluntary_budget_eur}


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


class FinancingModel:
    """A named set of instruments; books voluntary payments to payers."""

    def __init__(self, model: QuarterModel, name: str) -> None:
        self.model = model
        self.name = name
        self.instruments = [cls(model, params)
                            for cls, params in validate_financing(model.config, name)]
        self.shares: dict[Payer, float] = {Payer.MUNICIPALITY: 1.0}
        self.funds_eur = 0.0

    def funds_for_year(self, year_index: int, calendar_year: int) -> float:
        """Total EUR available for the year; fixes the payer shares used for booking."""
        total: dict[Payer, float] = {}
        for inst in self.instruments:
            for payer, eur in inst.funds(year_index, calendar_year).items():
                total[payer] = total.get(payer, 0.0) + eur
        self.funds_eur = sum(total.values())
        if self.funds_eur > 0:
            self.shares = {p: v / self.funds_eur for p, v in total.items() if v > 0}
        else:
            self.shares = {Payer.MUNICIPALITY: 1.0}
        return self.funds_eur

    def book_voluntary(self, item: str, amount_eur: float) -> None:
        """Book a voluntary payment to the payers by this year's shares."""
        m = self.model
        for payer, share in self.shares.items():
            part = amount_eur * share
            m.ledger.book(m.steps, payer, CostCategory.VOLUNTARY, item, part)
            if payer is Payer.MUNICIPALITY:
                m.municipality.pay(CostCategory.VOLUNTARY, part)
