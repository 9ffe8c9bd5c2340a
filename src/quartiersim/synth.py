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

#: The other cooperation models, the named financing models and the stress-test shock,
#: copied from scenarios/herten-innenstadt.toml; :func:`synthesize` moves the sites and
#: scales the yearly amounts of money (``SCALED_PER_RESIDENT``) to the city.
HERTEN_MODEL_SECTIONS = """\
[cooperation.contracting]
contract_price_eur_per_hour = 69.80  # source: Fachleistungsstunde 69.80 EUR, City of Fürth 2024 (CALIBRATION.md)
contract_management_share = 0.03  # assumption

[cooperation.integration_centre]
planning_share = 0.05  # assumption: as co-production
coordination_fte = 0.5  # assumption: as co-production
reallocation_rate = 0.5  # assumption: as co-production
cross_referral = 0.15  # assumption: three times co-production, all domains under one roof (seed 002: one-stop access)
site = "Z"
centre_rent_eur_per_month = 3000.0  # assumption: ~430 m2 at ~7 EUR/m2, against 4,300 EUR for the five premises
overhead_synergy = 0.3  # assumption: shared reception, administration and rooms (seed 002 names synergies, no figure)
management_fte = 0.5  # assumption
outreach = 0.01  # assumption: one known address

[cooperation.meeting_point]
site = "T"
manager_fte = 1.0  # assumption: one quarter manager
manager_cost_eur_per_year_per_fte = 60_000.0  # source: StGB NRW notice 160/2015, ~60,000 EUR/yr per post (CALIBRATION.md)
manager_coordination_share = 0.5  # assumption
outreach_per_fte = 0.02  # assumption
activation_per_fte = 0.0005  # assumption
room_rent_eur_per_month = 420.0  # assumption: 60 m2 x 7 EUR/m2
rent_discount = 0.5  # assumption: the housing company halves the rent

[cooperation.innovation_lab]
agency_fte = 1.0  # assumption
agency_coordination_share = 0.6  # assumption
matching_rate = 0.3  # assumption
activation_boost_per_month = 0.0005  # assumption
business_hours_per_month = 40.0  # assumption: a few firms' corporate volunteering (seed 003 marketplace, no figure)

# ---------------------------------------------------------------- financing models
# "budget" (the municipal budget alone) is built in.

[financing.grant.municipal_budget]

[financing.grant.grant_programme]
project_eur_per_year = 400_000.0  # source: comparable integration project 1.1 million EUR over 2.75 years = 400,000 EUR/yr (WAZ Hattingen 2016)
funding_rate = 0.8  # derived: upper end of the NRW range 40-80 % for weak fiscal capacity (Städtebauförderrichtlinie NRW 2023)
degression_per_year = 0.05  # assumption: federal funding must be degressive (seed 004), no rate given
start_year = 2020  # assumption: first simulated year
end_year = 2024  # assumption: ends mid-horizon; the real INSEK measures run 2016-~2026 (herten.de)
application_staff_fte = 0.1  # assumption
success_probability_max = 0.8  # assumption
half_saturation_fte = 0.1  # assumption

[financing.grant_continued.municipal_budget]

[financing.grant_continued.grant_programme]
project_eur_per_year = 400_000.0  # source: as [financing.grant] (WAZ Hattingen 2016)
funding_rate = 0.8  # derived: as [financing.grant]
degression_per_year = 0.05  # assumption
start_year = 2020  # assumption
end_year = 2024  # assumption
application_staff_fte = 0.1  # assumption
success_probability_max = 0.8  # assumption
half_saturation_fte = 0.1  # assumption

[financing.grant_continued.continuation]
share = 1.0  # assumption: the structures are taken over in full

# every instrument the quarter can realistically use; no quarter levy (no legal basis in NRW, seed 004: Dutch model)
[financing.pooled.municipal_budget]

[financing.pooled.grant_programme]
project_eur_per_year = 400_000.0  # source: as [financing.grant] (WAZ Hattingen 2016)
funding_rate = 0.8  # derived: as [financing.grant]
degression_per_year = 0.05  # assumption
start_year = 2020  # assumption
end_year = 2024  # assumption
application_staff_fte = 0.1  # assumption
success_probability_max = 0.8  # assumption
half_saturation_fte = 0.1  # assumption

[financing.pooled.continuation]
share = 1.0  # assumption

[financing.pooled.grant_management]
cost_eur_per_year = 30_000.0  # derived: half of a ~60,000 EUR/yr post (StGB NRW 160/2015) charged to the quarter (assumption)
staff_fte = 0.5  # assumption
applications_per_year = 2  # assumption
success_boost = 0.05  # assumption: fewer formal errors (seed 004 a3, no figure)

[financing.pooled.pooling]
pots_eur_per_year = 50_000.0  # assumption: other departments' budgets for the quarter's residents
coordination_share_start = 0.2  # assumption: extra effort first (seed 004 b6)
coordination_share_established = 0.05  # assumption
build_up_years = 3  # assumption

[financing.pooled.ppp_housing_company]
share_of_dwellings = 0.3  # assumption
turnover_cost_eur_per_move = 5_000.0  # assumption: vacancy, refurbishment and letting
expected_turnover_reduction = 0.1  # assumption
invested_share_of_gain = 0.5  # assumption

[financing.pooled.sponsoring]
eur_per_year = 10_000.0  # assumption: local firms and foundations (seed 004 names Aktion Mensch, Stiftung Wohlfahrtspflege)

[financing.pooled.crowdfunding]
backer_share_of_ties = 0.1  # assumption
eur_per_backer = 25.0  # assumption
campaigns_per_year = 1.0  # assumption

[financing.pooled.neighbourhood_fund]
eur_per_resident_per_year = 5.0  # source: NRW rule, 5 EUR per resident and year (soziale-stadt.nrw.de; CALIBRATION.md)
state_federal_share = 0.5  # assumption: half from urban development funds, half the municipality's own share
until_year = 2200  # assumption: kept as part of the regular structure

[financing.pooled.prevention_act]
eur_per_insured_per_year = 2.0  # source: § 20 SGB V target >= 2 EUR per insured for settings (Haufe commentary; CALIBRATION.md)
insured_share = 0.88  # assumption: share of residents with statutory health insurance
uptake_share = 0.5  # assumption: share of the per-head settings money the quarter obtains

# ---------------------------------------------------------------- fiscal stress test
# Applied only by `quartiersim stress`: a recession with a tax slump and more transfer recipients.
[[shocks]]
year = 2023  # assumption
tax_revenue_change = -0.05  # assumption: a recession year's loss of tax revenue
transfer_recipient_change = 0.15  # assumption: 15 % more transfer recipients in the quarter
duration_years = 2  # assumption
"""
#: Keys whose values are EUR per year for the quarter: scaled by residents / 8,700.
SCALED_PER_RESIDENT = ("project_eur_per_year", "pots_eur_per_year", "eur_per_year",
                       "cost_eur_per_year")


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
    if quarters + districts + 2 > MAX_POINTS:
        raise QuartiersimError(f"--quarters {quarters}: at most {MAX_POINTS - MAX_DISTRICTS - 2} "
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
        if q == quarters // 2:  # the city's centre site and meeting-point rooms
            centre, meeting = next(letters), next(letters)
            grid[r0 + mid + 1][c0 + mid] = centre
            grid[r0 + mid + 1][c0 + mid - 1] = meeting
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
        f'"{centre}" = {{ kind = "centre_site", name = "Site for a socio-cultural centre" }}',
        f'"{meeting}" = {{ kind = "meeting_point_site", name = "Rooms for a meeting point" }}',
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
        "# The other cooperation models (one centre, meeting point and agency for the city,",
        "# as Herten's), the named financing models and the stress-test shock: Herten's,",
        "# with yearly amounts of money scaled to the city's residents.",
        "",
        _city_sections(residents, centre, meeting),
    ]
    return "\n".join(out)


def _city_sections(residents: int, centre: str, meeting: str) -> str:
    factor = residents / HERTEN_RESIDENTS
    lines = []
    for line in HERTEN_MODEL_SECTIONS.splitlines():
        key, _, rest = line.partition(" = ")
        if key in SCALED_PER_RESIDENT and rest:
            value, _, note = rest.partition("  # ")
            amount = float(value.replace("_", "")) * factor
            line = (f"{key} = {amount:.1f}  # derived: Herten's {value} x {residents:,} / 8,700 "
                    f"residents ({note})")
        elif line == 'site = "Z"':
            line = f'site = "{centre}"'
        elif line == 'site = "T"':
            line = f'site = "{meeting}"'
        lines.append(line)
    return "\n".join(lines) + "\n"


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
