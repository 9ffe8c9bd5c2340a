"""Shared fixtures: paths and a tiny hand-built quarter whose results are computable by hand."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
HERTEN = ROOT / "scenarios" / "herten-innenstadt.toml"
WETTER = ROOT / "scenarios" / "wetter-grundschoettel.toml"

_NO_NEED = {"onset_probability_per_month": 0.0}

#: A quarter of two cells: a municipal office M and one housing cell with 10 residents.
#: Nobody is born, dies or moves; everybody is aware, trusts the office and walks there
#: (decay length 1e9 m); only counselling needs arise: every resident needs 10 h/month
#: from the start (onset 1, never resolves). No carriers, no volunteers. Staff are hired
#: and let go at once, at full productivity.
TINY: dict[str, Any] = {
    "meta": {"name": "tiny", "municipality": "Testdorf", "start_year": 2020},
    "space": {"layout": ["M."],
              "service_points": {"M": {"kind": "municipal_office", "name": "office"}}},
    "population": {"residents": 10, "share_migration_background": 0.0,
                   "share_transfer_recipients": 0.0, "move_out_rate_per_year": 0.0,
                   "population_change_per_year": 0.0, "mortality_at_80_per_year": 0.0,
                   "births_per_1000_per_year": 0.0, "share_mobility_limited_65_plus": 0.0,
                   "share_mobility_limited_under_65": 0.0},
    "needs": {"elderly_support": _NO_NEED, "youth_education": _NO_NEED,
              "health_prevention": _NO_NEED, "social_participation": _NO_NEED,
              "integration_onset_language_barrier": 0.0,
              "counselling": {"min_age": 0.0, "max_age": 120.0,
                              "onset_probability_per_month": 1.0,
                              "resolve_probability_unserved": 0.0,
                              "resolve_probability_served": 0.0, "hours_per_month": 10.0,
                              "escalation_probability_per_month": 0.0}},
    "access": {"decay_length_m": 1e9, "decay_length_limited_m": 1e9,
               "trust_municipal_office": 1.0, "initial_awareness": 1.0,
               "client_continuation_probability": 1.0,
               "forget_probability_per_month": 0.0},
    "volunteering": {"rate": 0.0, "activation_probability_per_month": 0.0,
                     "activation_per_volunteer_tie": 0.0},
    "municipality": {"residents_city": 1000, "revenue_eur_per_year": 1_000_000.0,
                     "other_expenses_eur_per_year": 900_000.0,
                     "revenue_growth_per_year": 0.0, "expense_growth_per_year": 0.0,
                     "voluntary_budget_eur_per_year": 30_000.0,
                     "staff_cost_eur_per_hour": 50.0, "overhead_share": 0.0,
                     "domain_shares": {"counselling": 1.0}},
    "cooperation": {"municipal": {"rent_eur_per_month_per_office": 0.0}},
    # computable by hand from the initial state: no spin-up (tests of the spin-up set it)
    "spin_up": {"months": 0},
    # posts fill at once, notice ends at once, new staff work at full productivity (tests
    # of the staff stock set these)
    "staffing": {"vacancy_months": 0.0, "notice_months": 0, "new_hire_productivity": 1.0},
}


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace('"', '\\"') + '"'
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f'{k} = {_toml_value(x)}' for k, x in v.items()) + " }"
    raise TypeError(type(v))


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """Minimal TOML writer for test scenarios (tables, inline tables, arrays)."""
    lines, tables = [], []
    for k, v in data.items():
        if isinstance(v, dict) and any(isinstance(x, dict) for x in v.values()) or \
                (isinstance(v, dict) and prefix == "" and k not in ()):
            tables.append((k, v))
        else:
            lines.append(f"{k} = {_toml_value(v)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for k, v in tables:
        name = f"{prefix}.{k}" if prefix else k
        out += f"\n[{name}]\n" + to_toml(v, name)
    return out


@pytest.fixture
def tiny_raw() -> dict[str, Any]:
    return copy.deepcopy(TINY)


@pytest.fixture
def write_scenario(tmp_path):
    """Write a raw scenario dict as a TOML file and return its path."""

    def _write(raw: dict[str, Any], name: str = "scenario.toml") -> Path:
        p = tmp_path / name
        p.write_text(to_toml(raw), encoding="utf-8")
        return p

    return _write
