"""End-of-run outcomes, declared once: :data:`REGISTRY`. Their names are API.

Each outcome is one :class:`~quartiersim.sim.registry.Outcome` entry below: name, label,
unit, kind, group, how it is computed (a pure named function of the :class:`FinishedRun`,
or by a study), the monthly series of the same quantity, and the tables that show it.
:func:`summarize` (every run), :func:`batch_extras` (batch runs), the CLI tables, the
report, the what-if rows and the experiment validation read it. Adding an outcome is one
entry (plus its test).

Units: coverage is a share in [0, 1]; hours are need-hours over the whole run; money is
EUR over the whole run unless the name says per year.
"""

from __future__ import annotations

import math
from functools import cached_property
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np

from quartiersim.config.domains import DOMAINS, CostCategory, Domain, Group, Payer, PointKind
from quartiersim.sim.cells import CellOutcomes, cell_outcomes
from quartiersim.sim.ledger import PAYERS
from quartiersim.sim.registry import (
    Better,
    Kind,
    Outcome,
    OutcomeGroup,
    Part,
    Registry,
    Scope,
    View,
)

if TYPE_CHECKING:
    import pandas as pd

    from quartiersim.sim.model import QuarterModel

__all__ = ["DISCOUNT_RATE", "REGISTRY", "CellOutcomes", "FinishedRun", "batch_extras",
           "cell_outcomes", "coverage_by_distance_band", "series_names", "summarize"]

#: Discount rate of ``npv_municipal_cost_eur``, per year (assumption: a real rate of the
#: order used in German public-sector economic appraisals).
DISCOUNT_RATE = 0.03

#: Upper edges of the walking-distance bands of ``coverage_distance_<band>`` (metres);
#: the last band is open (``1000_infm``).
DISTANCE_BANDS_M: tuple[float, ...] = (250, 500, 1000)


def _share(num: float, den: float) -> float:
    return float(num / den) if den > 0 else 1.0


class FinishedRun:
    """A finished model and the quantities several outcomes share (computed once)."""

    def __init__(self, model: QuarterModel) -> None:
        self.model = model

    @cached_property
    def series(self) -> pd.DataFrame:
        """The monthly DataCollector series (one row per month)."""
        return self.model.datacollector.get_model_vars_dataframe()

    @cached_property
    def years(self) -> float:
        months = self.model.steps
        return months / 12.0 if months else 0.0

    @cached_property
    def mean_residents(self) -> float:
        s = self.series
        return float(s["residents"].mean()) if len(s) else float(self.model.residents.alive.sum())

    @cached_property
    def need(self) -> float:
        return float(self.model.acc_need.sum())

    @cached_property
    def served(self) -> float:
        return float(self.model.acc_served.sum())

    @cached_property
    def municipal_voluntary(self) -> float:
        return self.model.ledger.total(Payer.MUNICIPALITY, CostCategory.VOLUNTARY)

    @cached_property
    def municipal_mandatory(self) -> float:
        return self.model.ledger.total(Payer.MUNICIPALITY, CostCategory.MANDATORY)

    def per_resident_year(self, value: float) -> float:
        """``value`` / mean residents / years (0 for an empty or zero-length run)."""
        y, r = self.years, self.mean_residents
        return value / r / y if y and r else 0.0


# ------------------------------------------------------------------------- coverage
def coverage(run: FinishedRun) -> float:
    return _share(run.served, run.need)


def coverage_of_domain(run: FinishedRun, part: str) -> float:
    k = DOMAINS.index(Domain(part))
    return _share(run.model.acc_served[k], run.model.acc_need[k])


def coverage_of_group(run: FinishedRun, part: str) -> float:
    g = list(Group).index(Group(part))
    return _share(run.model.acc_served_group[g], run.model.acc_need_group[g])


def need_hours(run: FinishedRun) -> float:
    return run.need


def served_hours(run: FinishedRun) -> float:
    return run.served


def unmet_need_hours(run: FinishedRun) -> float:
    return run.need - run.served


def coverage_final_year(run: FinishedRun) -> float:
    last = run.series.iloc[-12:]
    need = float(last["need_hours"].sum())
    return float(last["served_hours"].sum()) / need if need > 0 else 1.0


def _band_edges(part: str) -> tuple[float, float]:
    lo, hi = part.removesuffix("m").split("_")
    return float(lo), math.inf if hi == "inf" else float(hi)


def _distance_band_hours(model: QuarterModel, lo: float, hi: float) -> tuple[float, float]:
    """(served, needed) hours of last month of living residents whose nearest service
    point is ``lo`` <= walking distance < ``hi`` metres away."""
    a = model.residents
    nearest = model.space.distance_m.min(axis=0)[a.home_cell]
    m = a.alive & (nearest >= lo) & (nearest < hi)
    return a.served_hours.sum(axis=1)[m].sum(), a.need_hours.sum(axis=1)[m].sum()


def coverage_in_distance_band(run: FinishedRun, part: str) -> float:
    if len(run.model.space.points) == 0:
        return math.nan
    served, need = _distance_band_hours(run.model, *_band_edges(part))
    return float(served / need) if need > 0 else math.nan


def coverage_by_distance_band(model: QuarterModel, bands_m: tuple[float, ...] = DISTANCE_BANDS_M
                              ) -> dict[str, float]:
    """Last month's coverage by walking distance from home to the nearest service point:
    ``{"0-250m": share, ..., "1000-infm": share}`` (1.0 where nobody in a band had a need;
    empty without service points)."""
    if len(model.space.points) == 0:
        return {}
    edges = (0.0, *bands_m, np.inf)
    return {f"{int(lo)}-{'inf' if hi == np.inf else int(hi)}m":
            _share(*_distance_band_hours(model, lo, hi)) for lo, hi in pairwise(edges)}


def coverage_after_grant(run: FinishedRun) -> float | None:
    end = run.model.financing.grant_end_year()
    series = run.series
    after = series[series["year"] > end] if end is not None and len(series) else series.iloc[:0]
    need_after = float(after["need_hours"].sum()) if len(after) else 0.0
    return float(after["served_hours"].sum()) / need_after if need_after > 0 else None


# ------------------------------------------------------------------------- cases
def mandatory_cases(run: FinishedRun) -> int:
    return int(run.model.new_cases.sum())


def mandatory_cases_per_1000_residents_year(run: FinishedRun) -> float:
    y, r = run.years, run.mean_residents
    return mandatory_cases(run) / r * 1000.0 / y if y and r else 0.0


# ------------------------------------------------------------------------- cost
def municipal_cost(run: FinishedRun) -> float:
    return run.municipal_voluntary + run.municipal_mandatory


def municipal_cost_voluntary(run: FinishedRun) -> float:
    return run.municipal_voluntary


def municipal_cost_mandatory(run: FinishedRun) -> float:
    return run.municipal_mandatory


def municipal_cost_per_resident_year(run: FinishedRun) -> float:
    return run.per_resident_year(run.municipal_voluntary + run.municipal_mandatory)


def cost_per_covered_hour(run: FinishedRun) -> float | None:
    voluntary_all = run.model.ledger.total(category=CostCategory.VOLUNTARY)
    return voluntary_all / run.served if run.served > 0 else None


def total_cost(run: FinishedRun) -> float:
    return run.model.ledger.total()


def cost_of_payer(run: FinishedRun, part: str) -> float:
    return run.model.ledger.total(Payer(part))


def npv_municipal_cost(run: FinishedRun) -> float:
    led = run.model.ledger
    municipal_by_year = led.totals[:, PAYERS.index(Payer.MUNICIPALITY), :].sum(axis=1)
    return float(sum(v / (1.0 + DISCOUNT_RATE) ** t for t, v in enumerate(municipal_by_year)))


# ------------------------------------------------------------------------- volunteers, quarter
def volunteer_hours(run: FinishedRun) -> float:
    return float(run.model.volunteer_hours_total)


def volunteers_at_end(run: FinishedRun) -> int:
    return len(run.model.volunteer_of_slot)


def volunteer_attrition(run: FinishedRun) -> float:
    vol_years = run.model.volunteer_months / 12.0
    return run.model.volunteers_quit / vol_years if vol_years > 0 else 0.0


def carriers_surviving(run: FinishedRun) -> int:
    return len(run.model.open_carriers())


def residents_end(run: FinishedRun) -> int:
    return int(run.model.residents.alive.sum())


# ------------------------------------------------------------------------- budget
def budget_balance_min(run: FinishedRun) -> float:
    balances = [y.balance_eur for y in run.model.municipality.history]
    return float(min(balances)) if balances else float("nan")


def consolidation_cut_years(run: FinishedRun) -> int:
    return sum(y.consolidation_cut for y in run.model.municipality.history)


def closed_years(run: FinishedRun) -> tuple[Part, ...]:
    """The calendar years the municipality closed (parts of ``budget_balance_<year>_eur``)."""
    return tuple(Part(str(y.year), str(y.year)) for y in run.model.municipality.history)


def budget_balance_of_year(run: FinishedRun, part: str) -> float:
    return next(y.balance_eur for y in run.model.municipality.history if str(y.year) == part)


# ------------------------------------------------------------------------- parts
_DOMAIN_DE = {Domain.ELDERLY_SUPPORT: "Altenhilfe", Domain.YOUTH_EDUCATION: "Jugendarbeit und Bildung",
              Domain.INTEGRATION: "Integration",
              Domain.HEALTH_PREVENTION: "Gesundheitsförderung und Prävention",
              Domain.SOCIAL_PARTICIPATION: "soziale Teilhabe", Domain.COUNSELLING: "Beratung"}
DOMAIN_PARTS = tuple(Part(d.value, d.value.replace("_", " "), _DOMAIN_DE[d]) for d in DOMAINS)
GROUP_PARTS = (
    Part(Group.AGE_65_PLUS.value, "residents 65+", "Bewohner:innen ab 65"),
    Part(Group.TRANSFER_RECIPIENTS.value, "transfer recipients", "Transferleistungsbeziehende"),
    Part(Group.MIGRATION_BACKGROUND.value, "migration background", "mit Migrationshintergrund"),
    Part(Group.MOBILITY_LIMITED.value, "mobility-limited", "mobilitätseingeschränkt"),
)
PAYER_PARTS = (
    Part(Payer.MUNICIPALITY.value, "municipality", "Kommune"),
    Part(Payer.STATE_FEDERAL.value, "state / federal", "Land / Bund"),
    Part(Payer.INSURERS.value, "health insurers", "Krankenkassen"),
    Part(Payer.HOUSING_COMPANY.value, "housing company", "Wohnungsunternehmen"),
    Part(Payer.DONORS.value, "donors", "Spenden und Eigenmittel"),
    Part(Payer.RESIDENTS.value, "residents", "Bewohner:innen"),
)
_KIND_DE = {PointKind.MUNICIPAL_OFFICE: "Amt", PointKind.CARRIER_PREMISES: "Räume eines Trägers",
            PointKind.CENTRE_SITE: "Zentrum", PointKind.MEETING_POINT_SITE: "Treffpunkt"}
KIND_PARTS = tuple(Part(k.value, k.value.replace("_", " "), _KIND_DE[k]) for k in PointKind)
_EDGES = (0, *DISTANCE_BANDS_M, math.inf)
DISTANCE_PARTS = tuple(
    Part(f"{int(lo)}_{'inf' if hi == math.inf else int(hi)}m",
         f"over {int(lo):,} m" if hi == math.inf else f"{int(lo):,}-{int(hi):,} m")
    for lo, hi in pairwise(_EDGES))

# ------------------------------------------------------------------------- the registry
_C, _K, _M, _S = OutcomeGroup.COVERAGE, OutcomeGroup.CASES, OutcomeGroup.COST, OutcomeGroup.SUSTAINABILITY
_V, _Q, _B = OutcomeGroup.VOLUNTEERS, OutcomeGroup.QUARTER, OutcomeGroup.BUDGET
_HI, _LO = Better.HIGHER, Better.LOWER
T, ST, W, R, MAP, H = View.TABLE, View.STRESS, View.WHATIF, View.REPORT, View.COVERAGE_MAP, View.HEADLINE


def _views(*views: View) -> frozenset[View]:
    return frozenset(views)


#: Every outcome, in the order of the summary's keys. Tables show them grouped
#: (:class:`~quartiersim.sim.registry.OutcomeGroup` order), declaration order within a group.
REGISTRY = Registry([
    Outcome("coverage", "Demand coverage (served / needed hours)", Kind.SHARE,
            "share of need-hours", _C, coverage, series="coverage",
            views=_views(T, ST, W, R, MAP, H), short="Coverage (share)", better=_HI,
            label_de="Bedarfsdeckung (gedeckte / benötigte Stunden)",
            description="served / needed need-hours over the run (1.0 where nothing was "
                        "needed); a resident in a mandatory case keeps the need in the "
                        "denominator, unmet by the offers"),
    Outcome("coverage_{part}", "Coverage, {part}", Kind.SHARE, "share of need-hours", _C,
            coverage_of_domain, series="coverage_{part}", views=_views(T), parent="coverage",
            row_label="{part}", better=_HI, label_de="Bedarfsdeckung, {part}",
            description="coverage of one need domain", parts=DOMAIN_PARTS),
    Outcome("coverage_{part}", "Coverage, {part}", Kind.SHARE, "share of need-hours", _C,
            coverage_of_group, views=_views(T, W, MAP), parent="coverage", row_label="{part}",
            better=_HI, label_de="Bedarfsdeckung, {part}",
            description="coverage of the need-hours of one resident group", parts=GROUP_PARTS),
    Outcome("need_hours", "Need (h over the run)", Kind.HOURS, "need-hours over the run", _C,
            need_hours, series="need_hours", label_de="Bedarf (Stunden im Zeitraum)"),
    Outcome("served_hours", "Served need (h over the run)", Kind.HOURS,
            "need-hours over the run", _C, served_hours, series="served_hours", better=_HI,
            label_de="Gedeckter Bedarf (Stunden im Zeitraum)"),
    Outcome("unmet_need_hours", "Unmet need (h over the run)", Kind.HOURS,
            "need-hours over the run", _C, unmet_need_hours, series="unmet_need_hours",
            views=_views(T), better=_LO, label_de="Ungedeckter Bedarf (Stunden im Zeitraum)"),
    Outcome("mandatory_cases", "Mandatory cases started", Kind.COUNT, "cases over the run", _K,
            mandatory_cases, series="new_mandatory_cases", views=_views(T, ST, W, R),
            better=_LO, label_de="Begonnene Pflichtleistungsfälle",
            description="mandatory cases started during the run"),
    Outcome("mandatory_cases_per_1000_residents_year", "Mandatory cases per 1,000 residents and year",
            Kind.RATE, "cases per 1,000 residents and year", _K,
            mandatory_cases_per_1000_residents_year, views=_views(T, H),
            parent="mandatory_cases", row_label="per 1,000 residents and year",
            short="Mandatory cases per 1,000 residents and year", better=_LO,
            label_de="Pflichtleistungsfälle je 1.000 Einwohner:innen und Jahr",
            description="mandatory cases started / mean residents x 1,000 / years"),
    Outcome("municipal_cost_eur", "Municipal cost (EUR over the run)", Kind.EUR,
            "EUR over the run", _M, municipal_cost, series="municipal_cost_eur",
            views=_views(T, ST, W, R), better=_LO, label_de="Kommunale Kosten (EUR im Zeitraum)",
            description="everything booked to the municipality (voluntary + mandatory)"),
    Outcome("municipal_cost_voluntary_eur", "Municipal cost, voluntary services (EUR)", Kind.EUR,
            "EUR over the run", _M, municipal_cost_voluntary, series="municipal_cost_voluntary_eur",
            views=_views(T), parent="municipal_cost_eur", row_label="voluntary",
            better=_LO, label_de="Kommunale Kosten, freiwillige Leistungen (EUR)"),
    Outcome("municipal_cost_mandatory_eur", "Municipal cost, mandatory services (EUR)", Kind.EUR,
            "EUR over the run", _M, municipal_cost_mandatory, series="municipal_cost_mandatory_eur",
            views=_views(T), parent="municipal_cost_eur", row_label="mandatory",
            better=_LO, label_de="Kommunale Kosten, Pflichtleistungen (EUR)"),
    Outcome("municipal_cost_per_resident_year_eur", "Municipal cost per resident-year (EUR)",
            Kind.EUR, "EUR per resident and year", _M, municipal_cost_per_resident_year,
            views=_views(T, H), short="Municipal cost per resident and year (EUR)", better=_LO,
            label_de="Kommunale Kosten je Einwohner:in und Jahr (EUR)",
            description="municipal cost / mean residents / years"),
    Outcome("cost_per_covered_hour_eur", "Voluntary cost per covered hour (EUR)", Kind.EUR,
            "EUR per served need-hour", _M, cost_per_covered_hour, views=_views(T, H),
            short="Voluntary cost per covered hour (EUR)", better=_LO,
            label_de="Kosten freiwilliger Leistungen je gedeckter Stunde (EUR)",
            description="voluntary spending of all payers / served hours (None, JSON null, "
                        "without any)"),
    Outcome("total_cost_eur", "Total cost, all payers (EUR)", Kind.EUR, "EUR over the run", _M,
            total_cost, series="total_cost_eur", views=_views(T, W, R), better=_LO,
            label_de="Gesamtkosten, alle Kostenträger (EUR)"),
    Outcome("cost_{part}_eur", "Cost to {part} (EUR)", Kind.EUR, "EUR over the run", _M,
            cost_of_payer, views=_views(T, W, R), parent="total_cost_eur", row_label="{part}",
            better=_LO, label_de="Kosten: {part} (EUR)",
            description="everything booked to one payer", parts=PAYER_PARTS),
    Outcome("volunteer_hours", "Volunteer hours delivered", Kind.HOURS, "hours over the run", _V,
            volunteer_hours, series="volunteer_hours", views=_views(T), better=_HI,
            label_de="Geleistete Ehrenamtsstunden"),
    Outcome("volunteers_at_end", "Volunteers at end", Kind.COUNT, "volunteers", _V,
            volunteers_at_end, series="volunteers", views=_views(T, R), better=_HI,
            label_de="Ehrenamtliche am Ende"),
    Outcome("volunteer_attrition", "Volunteer attrition (share per year)", Kind.SHARE,
            "quits per volunteer-year", _V, volunteer_attrition, views=_views(T), better=_LO,
            label_de="Ausstieg Ehrenamtlicher (Anteil je Jahr)",
            description="volunteers who quit per volunteer-year (share per year)"),
    Outcome("carriers_surviving", "Carriers open at end", Kind.COUNT, "carriers", _Q,
            carriers_surviving, series="carriers_open", views=_views(T, R), better=_HI,
            label_de="Am Ende tätige Träger"),
    Outcome("residents_end", "Residents at end", Kind.COUNT, "residents", _Q, residents_end,
            series="residents", label_de="Einwohner:innen am Ende"),
    Outcome("budget_balance_min_eur", "Worst municipal budget balance (EUR)", Kind.EUR,
            "EUR in a year", _B, budget_balance_min, views=_views(T, ST), better=_HI,
            label_de="Schlechtester kommunaler Haushaltssaldo (EUR)",
            description="the lowest budget balance of a closed calendar year"),
    Outcome("consolidation_cut_years", "Years with consolidation cuts", Kind.COUNT, "years", _B,
            consolidation_cut_years, views=_views(T, ST), better=_LO,
            label_de="Jahre mit Konsolidierungskürzungen",
            description="closed years after which the voluntary budget was cut"),
    Outcome("coverage_after_grant", "Coverage after the grant ends", Kind.SHARE,
            "share of need-hours", _S, coverage_after_grant, views=_views(T, W, R, H),
            short="Coverage after the grant (share)", better=_HI,
            label_de="Bedarfsdeckung nach Ende der Förderung",
            description="coverage over the years after the last funded year of the financing "
                        "model's grant programme; None (JSON null) without a received grant "
                        "or when it runs to the end of the horizon"),
    Outcome("npv_municipal_cost_eur", "Municipal cost, present value at 3 % (EUR)", Kind.EUR,
            "EUR at start-year value", _M, npv_municipal_cost, views=_views(T, R), better=_LO,
            label_de="Kommunale Kosten, Barwert bei 3 % (EUR)",
            description="municipal cost of each year discounted to the start year at "
                        "DISCOUNT_RATE (year t, 0-based, divided by (1 + r)^t)"),
    Outcome("budget_balance_{part}_eur", "Municipal budget balance {part} (EUR)", Kind.EUR,
            "EUR in the year", _B, budget_balance_of_year, row_label="{part}", better=_HI,
            label_de="Kommunaler Haushaltssaldo {part} (EUR)",
            description="the municipality's budget balance (revenue - expenses) of each "
                        "closed calendar year", parts=closed_years, part_regex=r"\d{4}",
            part_name="year"),
    # added to batch runs (studies.batch)
    Outcome("coverage_final_year", "Coverage, final year", Kind.SHARE, "share of need-hours", _S,
            coverage_final_year, scope=Scope.BATCH, views=_views(R), better=_HI,
            label_de="Bedarfsdeckung im letzten Jahr",
            description="served / needed hours of the last 12 months"),
    Outcome("coverage_distance_{part}", "Coverage, {part} from the nearest service point",
            Kind.SHARE, "share of need-hours", _C, coverage_in_distance_band, scope=Scope.BATCH,
            views=_views(MAP), parent="coverage", row_label="{part} walk", better=_HI,
            label_de="Bedarfsdeckung, {part} Fußweg zum nächsten Angebot",
            description="last month's coverage of residents whose nearest service point is "
                        "this walking distance away; NaN where nobody in the band had a need",
            parts=DISTANCE_PARTS),
    # the fiscal stress test (studies.stress), from a shocked and an unshocked run
    Outcome("stress_max_deficit_eur", "Largest yearly deficit under the shocks (EUR)", Kind.EUR,
            "EUR in a year", OutcomeGroup.STRESS, scope=Scope.STRESS, better=_LO,
            label_de="Größtes Jahresdefizit unter den Schocks (EUR)",
            description="the largest budget deficit of a year in the shocked run (0 when "
                        "every year balances)"),
    Outcome("stress_years_to_recover", "Years to recover from the shocks", Kind.YEARS, "years",
            OutcomeGroup.STRESS, scope=Scope.STRESS, better=_LO,
            label_de="Jahre bis zur Erholung",
            description="years from the first shock until the shocked balance is back to the "
                        "unshocked one; NaN: not within the horizon"),
    Outcome("stress_coverage_drop", "Coverage lost under the shocks", Kind.SHARE,
            "share of need-hours", OutcomeGroup.STRESS, scope=Scope.STRESS, better=_LO,
            label_de="Verlust an Bedarfsdeckung unter den Schocks",
            description="coverage without minus with the shocks, from the first shock year on"),
    # monthly series only (the model's DataCollector)
    Outcome("staff_hours", "Staff hours delivered", Kind.HOURS, "hours per month", _C,
            scope=Scope.SERIES, series="staff_hours", label_de="Geleistete Fachkraftstunden"),
    Outcome("active_mandatory_cases", "Mandatory cases running", Kind.COUNT, "cases", _K,
            scope=Scope.SERIES, series="active_mandatory_cases", better=_LO,
            label_de="Laufende Pflichtleistungsfälle"),
    Outcome("volunteers_deployed", "Volunteers deployed", Kind.COUNT, "volunteers", _V,
            scope=Scope.SERIES, series="volunteers_deployed", better=_HI,
            label_de="Eingesetzte Ehrenamtliche"),
    Outcome("voluntary_budget_eur", "Municipal voluntary budget for the quarter", Kind.EUR,
            "EUR per year", _B, scope=Scope.SERIES, series="voluntary_budget_eur",
            label_de="Kommunales Budget für freiwillige Leistungen im Quartier"),
    Outcome("awareness", "Awareness of the offers", Kind.SHARE, "share of residents x domains",
            _C, scope=Scope.SERIES, series="awareness", better=_HI,
            label_de="Kenntnis der Angebote"),
    Outcome("staff_fte", "Paid staff employed", Kind.RATE, "FTE", _Q, scope=Scope.SERIES,
            series="staff_fte", label_de="Beschäftigte Fachkräfte (Vollzeitstellen)",
            description="FTE employed on every paid post of the quarter's provision "
                        "(service, coordination, management), those serving notice included"),
    Outcome("staff_productivity", "Productivity of paid staff", Kind.SHARE,
            "share of full productivity", _Q, scope=Scope.SERIES, series="staff_productivity",
            better=_HI, label_de="Produktivität der Fachkräfte",
            description="FTE-weighted productivity of the employed staff: new hires start "
                        "at staffing.new_hire_productivity and gain experience"),
    Outcome("carrier_reserves_eur", "Carriers' reserves", Kind.EUR, "EUR", _Q,
            scope=Scope.SERIES, series="carrier_reserves_eur",
            label_de="Rücklagen der Träger",
            description="reserves of the open carriers at the end of the month"),
    Outcome("trust_{part}", "Trust in places of kind {part}", Kind.SHARE,
            "probability (mean over residents and places)", _C, scope=Scope.SERIES,
            series="trust_{part}", better=_HI, label_de="Vertrauen in Orte der Art {part}",
            description="mean trust of the living residents in the places of this kind "
                        "among their candidate places that have capacity this month; NaN "
                        "when no such place is in use", parts=KIND_PARTS),
])

#: Series variables that index a month rather than measure an outcome.
SERIES_INDEX: tuple[str, ...] = ("year", "month")


def summarize(model: QuarterModel) -> dict[str, Any]:
    """The end-of-run summary as one flat dict (the ``--json`` object): every
    ``Scope.SUMMARY`` outcome of :data:`REGISTRY`, in declaration order, with
    ``budget_balance_<year>_eur`` for each closed calendar year.

    Definitions: each entry's ``description``; units: its ``unit``.
    """
    run = FinishedRun(model)
    return {o.name: o.compute(run) for o in REGISTRY.select(scope=Scope.SUMMARY, run=run,
                                                             display=False)}


def batch_extras(model: QuarterModel) -> dict[str, Any]:
    """The ``Scope.BATCH`` outcomes a batch run adds to the summary (``coverage_final_year``,
    ``coverage_distance_<band>``)."""
    run = FinishedRun(model)
    return {o.name: o.compute(run) for o in REGISTRY.select(scope=Scope.BATCH, run=run,
                                                             display=False)}


def series_names() -> list[str]:
    """Every monthly series variable the registry declares (plus :data:`SERIES_INDEX`)."""
    return [*SERIES_INDEX, *(o.series for o in REGISTRY.select(display=False) if o.series)]
