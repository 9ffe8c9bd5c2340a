"""Synthetic city scenarios: many quarters of Herten-like make-up on one grid.

``quartiersim synth --residents N --quarters K [--out FILE]`` writes a scenario TOML file
(to stdout without ``--out``) for scale tests and city-wide what-if runs. The city is a
near-square arrangement of ``K`` quarter blocks of 50 m cells. Each block is housing
bordered by a road on its south and east edge, with one green cell and one carrier's
premises; municipal offices (one per city district, up to 12) sit next to the
premises of evenly spread blocks. Residents, staff, funds and budgets are the Herten
inner city's per-resident figures (``scenarios/herten-innenstadt.toml``) scaled to the
city; every number in the written file names that derivation or says ``assumption``.

Service points are named by upper-case letters, so ``K`` + offices may use letters
beyond A-Z (Latin-1, Latin Extended, Greek, Cyrillic upper-case letters); up to
:data:`MAX_POINTS` points.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from quartiersim.domains import DOMAINS, LAND_USE_SYMBOLS
from quartiersim.errors import QuartiersimError

# --- Herten inner city, per resident (scenarios/herten-innenstadt.toml) -----------------
HERTEN_RESIDENTS = 8700  # source: Planungsgruppe Stadtbüro project 77
HERTEN_HOUSING_CELLS = 205  # derived: housing cells ('.') of the Herten layout
#: Residents per 50 m housing cell. derived: 8,700 / 205 housing cells of the Herten layout.
RESIDENTS_PER_HOUSING_CELL = HERTEN_RESIDENTS / HERTEN_HOUSING_CELLS
#: Carriers' own-funded staff in Herten, FTE by domain, summed over carriers A-E (assumption there).
HERTEN_CARRIER_FTE = {"counselling": 0.8, "integration": 0.5, "elderly_support": 0.6,
                      "social_participation": 0.3, "youth_education": 0.8,
                      "health_prevention": 0.2}
HERTEN_COORDINATION_FTE = 0.5  # summed over carriers A-E (assumption there)
HERTEN_OWN_FUNDS = 465_000.0  # EUR per year, summed over carriers A-E (assumption there)
HERTEN_RENT = 4300.0  # EUR per month, summed over carriers A-E (assumption there)
HERTEN_VOLUNTARY_BUDGET = 450_000.0  # EUR per year (derived there)
#: EUR per city resident and year. derived: Herten's 197 million / 61,821 residents.
REVENUE_PER_RESIDENT = 197_000_000.0 / 61_821
#: EUR per city resident and year. derived: Herten's 195 million / 61,821 residents.
OTHER_EXPENSES_PER_RESIDENT = 195_000_000.0 / 61_821
MAX_DISTRICTS = 12  # assumption: one municipal office per city district, as Dortmund's 12


def _point_letters() -> list[str]:
    """Single upper-case characters usable as service point names, A-Z first."""
    letters = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    for c in range(0xC0, 0x2C00):
        ch = chr(c)
        if ch.isupper() and len(ch.lower()) == 1 and ch not in LAND_USE_SYMBOLS \
                and ch.isprintable() and ch not in letters:
            letters.append(ch)
    return letters


POINT_LETTERS: tuple[str, ...] = tuple(_point_letters())
MAX_POINTS = len(POINT_LETTERS)


def block_side(residents_per_quarter: float) -> int:
    """Edge length in cells of a square quarter block with enough housing cells for its
    residents at Herten density (a block loses one road row, one road column, one green
    cell, the premises and possibly an office)."""
    need = residents_per_quarter / RESIDENTS_PER_HOUSING_CELL
    side = 4
    while (side - 1) ** 2 - 3 < need:
        side += 1
    return side


def _fmt(x: float) -> str:
    return f"{x:.6g}" if abs(x) < 1e6 else f"{x:.1f}"


def synthesize(residents: int, quarters: int, name: str | None = None) -> str:
    """The TOML text of a synthetic city of ``residents`` residents in ``quarters`` quarters.

    Raises:
        QuartiersimError: residents < quarters, quarters < 1, or more service points than
            :data:`MAX_POINTS`.
    """
    if quarters < 1:
        raise QuartiersimError(f"--quarters {quarters}: must be >= 1")
    if residents < quarters:
        raise QuartiersimError(f"--residents {residents}: must be at least the number of "
                               f"quarters ({quarters})")
    districts = min(MAX_DISTRICTS, quarters)
    if quarters + districts > MAX_POINTS:
        raise QuartiersimError(f"--quarters {quarters}: at most {MAX_POINTS - MAX_DISTRICTS} "
                               "quarters (one service point letter each)")
    per_quarter = residents / quarters
    side = block_side(per_quarter)
    cols = math.ceil(math.sqrt(quarters))
    rows = math.ceil(quarters / cols)
    grid = [["g"] * (cols * side) for _ in range(rows * side)]  # unused blocks stay green
    letters = iter(POINT_LETTERS)
    carrier_pts: list[str] = []
    office_pts: list[str] = []
    office_blocks = {round(i * quarters / districts) for i in range(districts)}
    for q in range(quarters):
        r0, c0 = divmod(q, cols)
        r0, c0 = r0 * side, c0 * side
        for r in range(side):
            for c in range(side):
                edge = r == side - 1 or c == side - 1
                grid[r0 + r][c0 + c] = "-" if edge else "."
        grid[r0 + side // 3][c0 + side // 3] = "g"
        mid = side // 2
        p = next(letters)
        grid[r0 + mid][c0 + mid] = p
        carrier_pts.append(p)
        if q in office_blocks:
            o = next(letters)
            grid[r0 + mid][c0 + mid - 1] = o
            office_pts.append(o)
    scale = per_quarter / HERTEN_RESIDENTS
    city = name or f"Synthetic city, {residents:,} residents in {quarters} quarters"
    out = [
        f"# {city}: generated by `quartiersim synth --residents {residents} --quarters {quarters}`.",
        "# Quarters of Herten inner-city make-up (scenarios/herten-innenstadt.toml) on one grid;",
        "# every number names its derivation or says assumption.",
        "",
        'default_cooperation = "municipal"',
        'default_financing = "budget"',
        "",
        "[meta]",
        f'name = "{city}"',
        'municipality = "synthetic"',
        "start_year = 2020  # assumption",
        "",
        "[space]",
        "cell_size_m = 50.0  # source: DESIGN.md, cells of about 50 m",
        f"# {quarters} blocks of {side} x {side} cells; housing density {RESIDENTS_PER_HOUSING_CELL:.1f}"
        " residents per housing cell (derived: Herten 8,700 / 205 housing cells)",
        "layout = [",
        *(f'  "{"".join(row)}",' for row in grid),
        "]",
        "",
        "[space.service_points]",
        *(f'"{p}" = {{ kind = "carrier_premises", name = "Carrier premises, quarter {i + 1}" }}'
          for i, p in enumerate(carrier_pts)),
        *(f'"{o}" = {{ kind = "municipal_office", name = "District office {i + 1}" }}'
          for i, o in enumerate(office_pts)),
        "",
        "[population]",
        f"residents = {residents}  # assumption: the requested size",
        "share_under_18 = 0.165  # source: Kreis Recklinghausen 16.5 % (IT.NRW 2010 via WAZ), as Herten",
        "share_65_plus = 0.229  # source: Herten 22.9 % (IT.NRW 2010 via WAZ)",
        "share_transfer_recipients = 0.163  # source: Ruhr SGB II rate 16.3 % (BIAJ 2018)",
        "share_migration_background = 0.23  # assumption: EN-Kreis ~23 % (as Herten's note)",
        "share_language_barrier = 0.35  # assumption (as Herten)",
        "share_single_household_65_plus = 0.40  # assumption (as Herten)",
        "share_mobility_limited_65_plus = 0.25  # assumption (as Herten)",
        "share_mobility_limited_under_65 = 0.03  # assumption (as Herten)",
        "move_out_rate_per_year = 0.08  # assumption: city-wide turnover below the inner city's 12 %",
        "population_change_per_year = -0.004  # derived: Ruhr population -7.1 % 2011-2030 (IT.NRW via WAZ)",
        "newcomer_share_migration_background = 0.35  # assumption",
        "newcomer_share_transfer_recipients = 0.20  # assumption",
        "",
        "[volunteering]",
        "rate = 0.04  # derived: a tenth of the 39.7 % of people 14+ who volunteer (Freiwilligensurvey"
        " 2019) serve the quarter's six social domains (assumption), as Herten",
        "",
        "[municipality]",
        f"residents_city = {residents}  # assumption: the synthetic city is the whole municipality",
        f"revenue_eur_per_year = {REVENUE_PER_RESIDENT * residents:.1f}  # derived: Herten's revenue per resident (3,186 EUR) x residents",
        f"other_expenses_eur_per_year = {OTHER_EXPENSES_PER_RESIDENT * residents:.1f}  # derived: Herten's other expenses per resident x residents",
        "revenue_growth_per_year = 0.02  # assumption",
        "expense_growth_per_year = 0.02  # assumption",
        "consolidation_regime = false  # assumption",
        f"voluntary_budget_eur_per_year = {HERTEN_VOLUNTARY_BUDGET / HERTEN_RESIDENTS * residents:.1f}"
        "  # derived: Herten's voluntary budget per quarter resident (450,000 / 8,700) x residents",
        "",
    ]
    fte = ", ".join(f"{d} = {_fmt(v * scale)}" for d, v in HERTEN_CARRIER_FTE.items())
    for i, p in enumerate(carrier_pts):
        out += [
            "[[carriers]]",
            f'name = "Carrier, quarter {i + 1}"',
            f'point = "{p}"',
            f"staff_fte = {{ {fte} }}  # derived: Herten carriers' staff per resident x quarter residents",
            f"coordination_fte = {_fmt(HERTEN_COORDINATION_FTE * scale)}  # derived: as staff",
            f"own_funds_eur_per_year = {HERTEN_OWN_FUNDS * scale:.1f}  # derived: as staff",
            f"rent_eur_per_month = {HERTEN_RENT * scale:.1f}  # derived: as staff",
            "",
        ]
    offices = ", ".join(f'{d.value} = "{office_pts[k % len(office_pts)]}"'
                        for k, d in enumerate(DOMAINS))
    out += [
        "[cooperation.municipal]",
        f"offices = {{ {offices} }}  # assumption: departments spread over the district offices",
        "rent_eur_per_month_per_office = 1200.0  # assumption (as Herten)",
        "",
        "[cooperation.coproduction]",
        "planning_share = 0.05  # assumption (as Herten)",
        f"coordination_fte = {_fmt(0.5 * quarters)}  # assumption: Herten's 0.5 FTE per quarter",
        "reallocation_rate = 0.5  # assumption (as Herten)",
        "cross_referral = 0.05  # assumption (as Herten)",
        "",
    ]
    return "\n".join(out)


def cmd_synth(args: argparse.Namespace) -> int:
    text = synthesize(args.residents, args.quarters, args.name)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"written: {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def register_synth(sub: argparse._SubParsersAction) -> None:
    """Add ``quartiersim synth`` to the CLI's subcommands."""
    s = sub.add_parser("synth", help="write a synthetic city scenario (scale tests)")
    s.add_argument("--residents", type=int, required=True, help="residents of the city")
    s.add_argument("--quarters", type=int, required=True, help="number of quarters")
    s.add_argument("--name", default=None, help="meta.name of the scenario")
    s.add_argument("--out", default=None, help="scenario file to write (default: stdout)")
    s.set_defaults(func=cmd_synth)
