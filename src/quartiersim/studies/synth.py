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

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from quartiersim.config.domains import DOMAINS, LAND_USE_SYMBOLS
from quartiersim.errors import QuartiersimError

#: The quarter whose make-up a synthetic city repeats (read at run time, so the city
#: follows the scenario file instead of a copy of its numbers).
#: The template quarter (package data: a copy of scenarios/herten-innenstadt.toml, kept
#: identical by tests/test_synth.py).
DEFAULT_TEMPLATE = Path(__file__).resolve().parent / "templates" / "herten-innenstadt.toml"
MAX_DISTRICTS = 12  # assumption: one municipal office per city district, as Dortmund's 12
#: Keys whose values are EUR per year for the quarter: scaled by city / template residents.
SCALED_PER_RESIDENT = ("project_eur_per_year", "pots_eur_per_year", "eur_per_year",
                       "cost_eur_per_year")
#: Sections synth writes itself; every other [cooperation.*], [financing.*] and [[shocks]]
#: table of the template is copied with its comments.
_OWN_SECTIONS = ("[cooperation.municipal]", "[cooperation.coproduction]")


@dataclass(frozen=True)
class Template:
    """Per-resident make-up of the template quarter (default: the Herten inner city)."""

    path: Path
    residents: int
    housing_cells: int
    carrier_fte: dict[str, float]  # own-funded staff summed over carriers, by domain
    coordination_fte: float
    own_funds_eur_per_year: float
    rent_eur_per_month: float
    voluntary_budget_eur_per_year: float
    revenue_per_city_resident: float
    other_expenses_per_city_resident: float
    model_sections: str  # TOML text of the other cooperation models, financing, shocks
    access_section: str  # TOML text of its [access] table, with its comments ("" if none)

    @property
    def residents_per_housing_cell(self) -> float:
        return self.residents / self.housing_cells


@lru_cache(maxsize=4)
def load_template(path: str | Path = DEFAULT_TEMPLATE) -> Template:
    """Read the template scenario (validated like any scenario).

    Raises:
        QuartiersimError: the file is missing or its sections are not in the expected
            order (the municipal and co-production sections before the other models).
    """
    from quartiersim.config.loading import load_scenario

    p = Path(path)
    if not p.is_file():
        raise QuartiersimError(f"{p}: no template scenario; pass --template FILE")
    sc = load_scenario(p)
    fte: dict[str, float] = {}
    for c in sc.carriers:
        for d, v in c.staff_fte.items():
            fte[d.value] = fte.get(d.value, 0.0) + v
    mun = sc.municipality
    return Template(
        path=p, residents=sc.population.residents,
        housing_cells=sum(row.count(".") for row in sc.space.layout), carrier_fte=fte,
        coordination_fte=sum(c.coordination_fte for c in sc.carriers),
        own_funds_eur_per_year=sum(c.own_funds_eur_per_year for c in sc.carriers),
        rent_eur_per_month=sum(c.rent_eur_per_month for c in sc.carriers),
        voluntary_budget_eur_per_year=mun.voluntary_budget_eur_per_year,
        revenue_per_city_resident=mun.revenue_eur_per_year / mun.residents_city,
        other_expenses_per_city_resident=mun.other_expenses_eur_per_year / mun.residents_city,
        model_sections=_model_sections(p), access_section=_table_text(p, "[access]"))


def _table_text(path: Path, header: str) -> str:
    """The template's table ``header`` (e.g. ``[access]``) up to the next table, with its
    comments and without trailing blank lines; "" when the template has none."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if header not in lines:
        return ""
    start = lines.index(header)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    return "\n".join(lines[start:end]).rstrip() + "\n"


def _model_sections(path: Path) -> str:
    """The template's text from its first cooperation section that synth does not write
    itself (e.g. [cooperation.contracting]) to the end: the other cooperation models,
    the named financing models and the shocks, with their source comments."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("[cooperation.")
                  and line not in _OWN_SECTIONS), None)
    if start is None:
        return ""
    for line in lines[start:]:
        if line.startswith("[") and not line.startswith(("[cooperation.", "[financing.", "[[shocks]]")) \
                or line in _OWN_SECTIONS:
            raise QuartiersimError(f"{path}: {line} follows the other cooperation models; synth "
                                   "expects municipal and co-production first and only "
                                   "cooperation, financing and shocks tables after them")
    return "\n".join(lines[start:]) + "\n"


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


def block_side(residents_per_quarter: float, template: Template | None = None) -> int:
    """Edge length in cells of a square quarter block with enough housing cells for its
    residents at the template's density. A block loses one road row, one road column,
    one green cell and the premises; the worst block also an office, the centre site and
    the meeting point, so every block keeps (side - 1)^2 - 5 housing cells."""
    t = template or load_template()
    need = residents_per_quarter / t.residents_per_housing_cell
    side = 4
    while (side - 1) ** 2 - 5 < need:
        side += 1
    return side


def max_residents() -> int:
    """The scenario schema's bound of ``population.residents`` (and so of a city)."""
    from quartiersim.config.schema import Municipality, Population

    bounds = [getattr(m, "le", None) for f in (Population.model_fields["residents"],
                                               Municipality.model_fields["residents_city"])
              for m in f.metadata]
    return int(min(b for b in bounds if b is not None))


def _fmt(x: float) -> str:
    return f"{x:.6g}" if abs(x) < 1e6 else f"{x:.1f}"


def synthesize(residents: int, quarters: int, name: str | None = None,
               template: str | Path = DEFAULT_TEMPLATE) -> str:
    """The TOML text of a synthetic city of ``residents`` residents in ``quarters`` quarters.

    Raises:
        QuartiersimError: residents < quarters, quarters < 1, residents above the
            scenario schema's bound (``population.residents``), more service points than
            :data:`MAX_POINTS`, or a layout above the schema's
            :data:`~quartiersim.config.schema.MAX_LAYOUT_CELLS`: the file would be one the
            loader rejects, so nothing is written.
    """
    from quartiersim.config.schema import MAX_LAYOUT_CELLS

    if quarters < 1:
        raise QuartiersimError(f"--quarters {quarters}: must be >= 1")
    if residents < quarters:
        raise QuartiersimError(f"--residents {residents}: must be at least the number of "
                               f"quarters ({quarters})")
    most = max_residents()
    if residents > most:
        raise QuartiersimError(f"--residents {residents}: at most {most:,}, the bound of "
                               "population.residents in the scenario schema")
    t = load_template(template)
    districts = min(MAX_DISTRICTS, quarters)
    if quarters + districts + 2 > MAX_POINTS:
        raise QuartiersimError(f"--quarters {quarters}: at most {MAX_POINTS - MAX_DISTRICTS - 2} "
                               "quarters (one service point letter each)")
    per_quarter = residents / quarters
    side = block_side(per_quarter, t)
    cols = math.ceil(math.sqrt(quarters))
    rows = math.ceil(quarters / cols)
    if rows * side * cols * side > MAX_LAYOUT_CELLS:
        raise QuartiersimError(
            f"--residents {residents} --quarters {quarters}: the layout would be "
            f"{rows * side} x {cols * side} = {rows * side * cols * side:,} cells; a scenario "
            f"has at most {MAX_LAYOUT_CELLS:,} (space.layout in the scenario schema: memory "
            "and set-up time per cell); use fewer residents")
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
    scale = per_quarter / t.residents
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
        "cell_size_m = 50.0  # assumption: cells of about 50 m, a short street block (the model's design, docs/ODD.md)",
        f"# {quarters} blocks of {side} x {side} cells; housing density {t.residents_per_housing_cell:.1f}"
        f" residents per housing cell (derived: {t.path.name}: {t.residents:,} residents /"
        f" {t.housing_cells} housing cells)",
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
        "share_under_18 = 0.165  # source: Kreis Recklinghausen 16.5 % (IT.NRW 2010 via WAZ), as Herten"
        " (docs/sources.md: itnrw-waz-2010)",
        "share_65_plus = 0.229  # source: Herten 22.9 % (IT.NRW 2010 via WAZ; docs/sources.md: itnrw-waz-2010)",
        "share_transfer_recipients = 0.163  # source: Ruhr SGB II rate 16.3 % (BIAJ 2018; docs/sources.md: biaj-2018)",
        "share_migration_background = 0.23  # assumption: EN-Kreis ~23 % (as Herten's note;"
        " docs/sources.md: en-kreis-migration-2020)",
        "share_language_barrier = 0.35  # assumption (as Herten)",
        "share_single_household_65_plus = 0.40  # assumption (as Herten)",
        "share_mobility_limited_65_plus = 0.25  # assumption (as Herten)",
        "share_mobility_limited_under_65 = 0.03  # assumption (as Herten)",
        "move_out_rate_per_year = 0.08  # assumption: city-wide turnover below the inner city's 12 %",
        "population_change_per_year = -0.004  # derived: Ruhr population -7.1 % 2011-2030 (IT.NRW via WAZ;"
        " docs/sources.md: itnrw-waz-2030)",
        "",
        *([t.access_section.rstrip("\n"), ""] if t.access_section else []),
        "[volunteering]",
        "rate = 0.04  # derived: a tenth of the 39.7 % of people 14+ who volunteer (Freiwilligensurvey"
        " 2019; docs/sources.md: freiwilligensurvey-2019) serve the quarter's six social domains"
        " (assumption), as Herten",
        "",
        "[municipality]",
        f"residents_city = {residents}  # assumption: the synthetic city is the whole municipality",
        f"revenue_eur_per_year = {t.revenue_per_city_resident * residents:.1f}  # derived: Herten's revenue per resident ({t.revenue_per_city_resident:,.0f} EUR) x residents",
        f"other_expenses_eur_per_year = {t.other_expenses_per_city_resident * residents:.1f}  # derived: Herten's other expenses per resident x residents",
        "revenue_growth_per_year = 0.02  # assumption",
        "expense_growth_per_year = 0.02  # assumption",
        "consolidation_regime = false  # assumption",
        f"voluntary_budget_eur_per_year = {t.voluntary_budget_eur_per_year / t.residents * residents:.1f}"
        f"  # derived: Herten's voluntary budget per quarter resident"
        f" ({t.voluntary_budget_eur_per_year:,.0f} / {t.residents:,}) x residents",
        "",
    ]
    fte = ", ".join(f"{d} = {_fmt(v * scale)}" for d, v in t.carrier_fte.items())
    for i, p in enumerate(carrier_pts):
        out += [
            "[[carriers]]",
            f'name = "Carrier, quarter {i + 1}"',
            f'point = "{p}"',
            f"staff_fte = {{ {fte} }}  # derived: Herten carriers' staff per resident x quarter residents",
            f"coordination_fte = {_fmt(t.coordination_fte * scale)}  # derived: as staff",
            f"own_funds_eur_per_year = {t.own_funds_eur_per_year * scale:.1f}  # derived: as staff",
            f"rent_eur_per_month = {t.rent_eur_per_month * scale:.1f}  # derived: as staff",
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
        _city_sections(t, residents, centre, meeting),
    ]
    return "\n".join(out)


def _city_sections(t: Template, residents: int, centre: str, meeting: str) -> str:
    """The template's other model sections, sites moved to the city's centre and meeting
    point, yearly amounts of money scaled to the city's residents."""
    factor = residents / t.residents
    lines = []
    section = ""
    for line in t.model_sections.splitlines():
        section = line if line.startswith("[") else section
        key, _, rest = line.partition(" = ")
        if key in SCALED_PER_RESIDENT and rest:
            value, _, note = rest.partition("  # ")
            amount = float(value.replace("_", "")) * factor
            line = (f"{key} = {amount:.1f}  # derived: Herten's {value} x {residents:,} / {t.residents:,} "
                    f"residents ({note})")
        elif key == "site" and section == "[cooperation.integration_centre]":
            line = f'site = "{centre}"'
        elif key == "site" and section == "[cooperation.meeting_point]":
            line = f'site = "{meeting}"'
        lines.append(line)
    return "\n".join(lines) + "\n"
