"""Helpers shared by the commands: the table rows, number formatting, model names."""

from __future__ import annotations

import math
import sys
from typing import Any

from quartiersim.config.cooperation import COOPERATION_PARAMS
from quartiersim.errors import QuartiersimError

#: Cooperation model names, in the order ``compare`` shows them.
COOPERATION_NAMES: tuple[str, ...] = tuple(COOPERATION_PARAMS)

#: Outcomes shown in the readable tables, with labels (all are in --json).
TABLE_ROWS: tuple[tuple[str, str, str], ...] = (
    ("coverage", "Demand coverage (served / needed hours)", "share"),
    ("coverage_elderly_support", "  elderly support", "share"),
    ("coverage_youth_education", "  youth education", "share"),
    ("coverage_integration", "  integration", "share"),
    ("coverage_health_prevention", "  health prevention", "share"),
    ("coverage_social_participation", "  social participation", "share"),
    ("coverage_counselling", "  counselling", "share"),
    ("coverage_65plus", "  residents 65+", "share"),
    ("coverage_transfer_recipients", "  transfer recipients", "share"),
    ("coverage_migration_background", "  migration background", "share"),
    ("coverage_mobility_limited", "  mobility-limited", "share"),
    ("unmet_need_hours", "Unmet need (h over the run)", "h"),
    ("mandatory_cases", "Mandatory cases started", "n"),
    ("mandatory_cases_per_1000_residents_year", "  per 1,000 residents and year", "n"),
    ("municipal_cost_eur", "Municipal cost (EUR over the run)", "eur"),
    ("municipal_cost_voluntary_eur", "  voluntary", "eur"),
    ("municipal_cost_mandatory_eur", "  mandatory", "eur"),
    ("municipal_cost_per_resident_year_eur", "Municipal cost per resident-year (EUR)", "eur"),
    ("cost_per_covered_hour_eur", "Voluntary cost per covered hour (EUR)", "eur"),
    ("total_cost_eur", "Total cost, all payers (EUR)", "eur"),
    ("cost_municipality_eur", "  municipality", "eur"),
    ("cost_state_federal_eur", "  state / federal", "eur"),
    ("cost_insurers_eur", "  health insurers", "eur"),
    ("cost_housing_company_eur", "  housing company", "eur"),
    ("cost_donors_eur", "  donors", "eur"),
    ("cost_residents_eur", "  residents", "eur"),
    ("npv_municipal_cost_eur", "Municipal cost, present value at 3 % (EUR)", "eur"),
    ("coverage_after_grant", "Coverage after the grant ends", "share"),
    ("volunteer_hours", "Volunteer hours delivered", "h"),
    ("volunteers_at_end", "Volunteers at end", "n"),
    ("volunteer_attrition", "Volunteer attrition (share per year)", "share"),
    ("carriers_surviving", "Carriers open at end", "n"),
    ("budget_balance_min_eur", "Worst municipal budget balance (EUR)", "eur"),
    ("consolidation_cut_years", "Years with consolidation cuts", "n"),
)


def fmt(v: Any, kind: str) -> str:
    """A value as printed in tables: ``kind`` is share, eur, h or n; n/a for None or NaN."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if kind == "share":
        return f"{v:.3f}"
    if kind == "eur":
        return f"{v:,.0f}"
    if kind == "h":
        return f"{v:,.0f}"
    return f"{v:,.1f}" if isinstance(v, float) and not float(v).is_integer() else f"{v:,.0f}"


def model_names(text: str | None) -> list[str] | None:
    """``--models a,b`` as a list of names (None for all).

    Raises:
        QuartiersimError: an unknown name.
    """
    if not text:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    for n in names:
        if n not in COOPERATION_PARAMS:
            raise QuartiersimError(f"--models: unknown cooperation model {n!r}; allowed: "
                                   f"{', '.join(sorted(COOPERATION_PARAMS))}")
    return names


def write_geo(path: str, scenario: Any, cells: dict, financing: str, quiet: bool = False) -> None:
    """Write the per-cell outcomes ``cells`` (by model) as a GeoPackage and say so (on
    stderr when ``quiet``, so that stdout keeps the table or ``--json``)."""
    from quartiersim.studies.geoexport import write_geopackage

    out = write_geopackage(path, scenario, cells, financing)
    stream = sys.stderr if quiet else sys.stdout
    crs = out.crs or "no CRS (local grid)"
    print(f"written: {out.path} (layers cells: {out.cells} rows, service_points: {out.points}; "
          f"{crs})", file=stream)
    if out.note:
        print(f"note: {out.note}", file=stream)
