"""Writing the scenario TOML and :func:`import_quarter`, the command's whole job."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from quartiersim.config.domains import DOMAINS, PointKind
from quartiersim.studies.geoimport.common import (
    HOUSING,
    MASKED_COUNT,
    OUTSIDE,
    START_YEAR,
    YEAR_KEYS,
    YEAR_SENTINEL,
    ZENSUS_CELL_M,
    check_geo_installed,
)
from quartiersim.studies.geoimport.grid import read_grid
from quartiersim.studies.geoimport.quarter import ImportedQuarter, build_quarter
from quartiersim.studies.synth import (
    DEFAULT_TEMPLATE,
    SCALED_PER_RESIDENT,
    Template,
    load_template,
)

if TYPE_CHECKING:
    pass


# --------------------------------------------------------------------------- the scenario text
def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}".rstrip("0").rstrip(".")


def _section(text: str, header: str) -> list[str]:
    """The ``key = value  # note`` lines of one table of the template (without header)."""
    lines = text.splitlines()
    try:
        start = lines.index(header) + 1
    except ValueError:
        return []
    out = []
    for line in lines[start:]:
        if line.startswith("["):
            break
        if " = " in line and not line.startswith("#"):
            out.append(line)
    return out


def _as_assumption(line: str, template: str, shift: int = 0) -> str:
    """A template line re-marked as an assumption for the imported quarter; calendar years
    (:data:`YEAR_KEYS`) moved by ``shift`` years with the start year."""
    value, _, note = line.partition("  # ")
    note = note.strip()
    key, _, number = value.partition(" = ")
    if shift and key.strip() in YEAR_KEYS and number.strip().isdigit() \
            and int(number) < YEAR_SENTINEL:
        value = f"{key} = {int(number) + shift}"
        moved = f"{template}'s {number.strip()} moved with the start year"
        rest = note.removeprefix("assumption").lstrip(": ")
        there = f" ({rest})" if note.startswith("assumption") and rest else \
            f" (there: {note})" if note and not note.startswith("assumption") else ""
        return f"{value}  # assumption: {moved}{there}"
    if note == "assumption" or not note:
        return f"{value}  # assumption: as {template}"
    if note.startswith("assumption"):
        return f"{value}  # assumption: as {template} ({note[len('assumption'):].lstrip(': ')})"
    return f"{value}  # assumption: as {template} (there: {note})"


def _split(line: str) -> tuple[str, str]:
    key, _, rest = line.partition(" = ")
    return key.strip(), rest.partition("  # ")[0].strip()


def scenario_text(q: ImportedQuarter, name: str, municipality: str, template: Template,
                  city_residents: int | None = None, command: str = "quartiersim import") -> str:
    """The TOML text of the imported quarter."""
    t = template
    tname = t.path.name
    text = t.path.read_text(encoding="utf-8")
    shift = START_YEAR - _template_start_year(t.path)
    size = q.cells.size
    n_housing = int(sum(row.count(HOUSING) for row in q.layout))
    n_inside = int(sum(len(row) - row.count(OUTSIDE) for row in q.layout))
    src = q.sources
    out = [
        f"# {name}: made by `{command}` from public geodata.",
        f"# Zensus 2022 100 m grid: {src['grid']}; boundary: {src['boundary']}"
        + (f"; points: {src['points']}" if src["points"] else "")
        + (f"; barriers: {src['barriers']}" if src["barriers"] else "") + ".",
        "# 'derived: Zensus 2022 ...' numbers are arithmetic on the grid tables; 'assumption'",
        f"# numbers are the template scenario's ({tname}): replace them with local figures.",
        "",
        'default_cooperation = "municipal"',
        'default_financing = "budget"',
        "",
        "[meta]",
        f"name = {_toml_str(name)}",
        f"municipality = {_toml_str(municipality)}",
        f"start_year = {START_YEAR}  # assumption: the Zensus reference year (census day 15 May 2022)",
        f'description = {_toml_str(f"Imported from the Zensus 2022 100 m grid ({q.zensus_cells} populated cells in the boundary {src["boundary"]}).")}',
        "",
        "[space]",
        f"cell_size_m = {size:.1f}  # assumption: --cell-size {int(size)} "
        + ("(the Zensus cell)" if size == ZENSUS_CELL_M else "(a quarter of a Zensus 100 m cell)"),
        f"# {q.cells.width} x {q.cells.height} cells of {int(size)} m, {n_inside} in the quarter, "
        f"{n_housing} housing. ' ' outside the quarter (nobody lives or walks there),",
        "# 'o' no Zensus residents, '.' housing, '#' barrier (from the barrier lines), '+' crossing,",
        "# upper-case letters the service points.",
        "layout = [",
        *(f'  "{row}",' for row in q.layout),
        "]",
        f"# derived: Zensus 2022 Einwohner of the {q.zensus_cells} cells whose centre lies in the "
        "boundary, spread over",
        "# each cell's housing cells; one entry per housing cell in layout order (row by row),",
        f"# {q.moved_residents:.0f} residents moved from barrier, service-point or outside cells to the "
        "nearest housing cell",
        "residents_per_cell = [",
    ]
    for r, row in enumerate(q.layout):
        cols = [c for c, ch in enumerate(row) if ch == HOUSING]
        if cols:
            out.append("  " + ", ".join(_num(round(q.weights[r, c], 2)) for c in cols) + f",  # row {r}")
    out += [
        "]",
        "",
        "[space.georeference]",
        'crs = "EPSG:3035"  # derived: Zensus 2022 grid\'s CRS (ETRS89-LAEA)',
        f"origin_x = {q.cells.origin_x:.1f}  # derived: Zensus 2022 grid line west of the boundary (m)",
        f"origin_y = {q.cells.origin_y:.1f}  # derived: Zensus 2022 grid line north of the boundary (m)",
        "",
        "[space.crossing_cost]",
    ]
    for line in _section(text, "[space.crossing_cost]"):
        key, value = _split(line)
        factor = float(value)
        if size != 50.0 and key in ("barrier", "crossing"):  # the same extra metres per cell
            scaled = 1.0 + (factor - 1.0) * 50.0 / size
            out.append(f"{key} = {scaled:.2f}  # assumption: {tname}'s {factor:g} at 50 m cells "
                       f"({(factor - 1) * 50:.0f} m extra per cell crossed) at {int(size)} m cells")
        else:
            out.append(_as_assumption(line, tname))
    out += ["", "[space.service_points]"]
    for p in q.points:
        out.append(f'"{p.letter}" = {{ kind = "{p.kind}", name = {_toml_str(p.name)} }}  # {p.note}')
    # population: derived shares, the rest as the template
    out += ["", "[population]",
            f"residents = {q.residents}  # derived: Zensus 2022 Einwohner of {q.zensus_cells} cells whose "
            f"centre lies in the boundary ({q.masked_residents} masked counts taken as {MASKED_COUNT:g})"]
    for line in _section(text, "[population]"):
        key, _ = _split(line)
        if key == "residents":
            continue
        if key in q.mix:
            value, note = q.mix[key]
            out.append(f"{key} = {value:.4f}  # {note}")
        else:
            out.append(_as_assumption(line, tname))
    if "household_size_mean" in q.mix:
        value, note = q.mix["household_size_mean"]
        out += ["", "[network]", f"household_size_mean = {value:.3f}  # {note}"]
    out += ["", "[volunteering]", *(_as_assumption(line, tname)
                                    for line in _section(text, "[volunteering]"))]
    # municipality: the template's per-resident budget
    tmpl = dict(_split(line) for line in _section(text, "[municipality]"))
    t_city = int(float(tmpl["residents_city"].replace("_", "")))
    t_quarter = t.residents
    if city_residents is None:
        city = int(round(q.residents * t_city / t_quarter))
        city_note = (f"assumption: the template's ratio of city to quarter residents "
                     f"({t_city:,} / {t_quarter:,}); give --city-residents")
    else:
        city = int(city_residents)
        city_note = "assumption: --city-residents"
    out += ["", "[municipality]", f"residents_city = {city}  # {city_note}"]
    per_city = ("revenue_eur_per_year", "other_expenses_eur_per_year", "consolidation_aid_eur_per_year")
    for line in _section(text, "[municipality]"):
        key, value = _split(line)
        if key == "residents_city":
            continue
        if key in per_city:
            amount = float(value.replace("_", "")) * city / t_city
            out.append(f"{key} = {amount:.1f}  # assumption: {tname}'s {value} per city resident x "
                       f"{city:,}")
        elif key == "voluntary_budget_eur_per_year":
            amount = float(value.replace("_", "")) * q.residents / t_quarter
            out.append(f"{key} = {amount:.1f}  # assumption: {tname}'s {value} per quarter resident x "
                       f"{q.residents:,}")
        else:
            out.append(_as_assumption(line, tname, shift))
    # carriers: one per carrier's premises, the template's staff per resident split evenly
    carriers = [p for p in q.points if p.kind == PointKind.CARRIER_PREMISES.value]
    scale = q.residents / t_quarter / len(carriers)
    fte = ", ".join(f"{d} = {v * scale:.3g}" for d, v in t.carrier_fte.items())
    why = (f"assumption: {tname} carriers' totals per resident x {q.residents:,} residents / "
           f"{len(carriers)} premises")
    out.append("")
    for p in carriers:
        out += ["[[carriers]]", f"name = {_toml_str(p.name)}", f'point = "{p.letter}"',
                f"staff_fte = {{ {fte} }}  # {why}",
                f"coordination_fte = {t.coordination_fte * scale:.3g}  # {why}",
                f"own_funds_eur_per_year = {t.own_funds_eur_per_year * scale:.1f}  # {why}",
                f"rent_eur_per_month = {t.rent_eur_per_month * scale:.1f}  # {why}", ""]
    offices = [p.letter for p in q.points if p.kind == PointKind.MUNICIPAL_OFFICE.value]
    office_of = ", ".join(f'{d.value} = "{offices[k % len(offices)]}"' for k, d in enumerate(DOMAINS))
    out += ["[cooperation.municipal]",
            f"offices = {{ {office_of} }}  # assumption: departments spread over the municipal offices"]
    out += [_as_assumption(line, tname) for line in _section(text, "[cooperation.municipal]")
            if _split(line)[0] != "offices"]
    out += ["", "[cooperation.coproduction]",
            *(_as_assumption(line, tname) for line in _section(text, "[cooperation.coproduction]")),
            "", f"# The other cooperation models, the named financing models and the stress-test "
            f"shock: {tname}'s,", "# with yearly amounts of money scaled to the quarter's residents.",
            ""]
    centre = next(p.letter for p in q.points if p.kind == PointKind.CENTRE_SITE.value)
    meeting = next(p.letter for p in q.points if p.kind == PointKind.MEETING_POINT_SITE.value)
    out.append(_model_sections(t, q.residents, centre, meeting, shift))
    return "\n".join(out)


def _template_start_year(path: Path) -> int:
    from quartiersim.config.loading import load_scenario

    return load_scenario(path).meta.start_year


def _model_sections(t: Template, residents: int, centre: str, meeting: str, shift: int) -> str:
    """The template's other cooperation models, financing models and shocks (as ``quartiersim
    synth`` copies them): sites moved to the quarter's centre and meeting point, yearly
    amounts of money scaled to its residents, every value marked as an assumption."""
    tname = t.path.name
    lines, section = [], ""
    for line in t.model_sections.splitlines():
        section = line if line.startswith("[") else section
        key, _, rest = line.partition(" = ")
        value, _, note = rest.partition("  # ")
        if line.startswith(("#", "[")) or not rest:
            lines.append(line)
        elif key == "site" and section in ("[cooperation.integration_centre]",
                                           "[cooperation.meeting_point]"):
            letter = centre if section == "[cooperation.integration_centre]" else meeting
            kind = "centre_site" if letter == centre else "meeting_point_site"
            lines.append(f'site = "{letter}"  # the quarter\'s {kind} point')
        elif key in SCALED_PER_RESIDENT:
            amount = float(value.replace("_", "")) * residents / t.residents
            there = f" (there: {note.strip()})" if note.strip() else ""
            lines.append(f"{key} = {amount:.1f}  # assumption: {tname}'s {value} per quarter "
                         f"resident x {residents:,}{there}")
        else:
            lines.append(_as_assumption(line, tname, shift))
    return "\n".join(lines) + "\n"


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def import_quarter(grid: Sequence[str | Path], boundary: str | Path, out: str | Path,
                   points: str | Path | None = None, barriers: str | Path | None = None,
                   cell_size: int = 50, name: str | None = None, municipality: str | None = None,
                   city_residents: int | None = None,
                   template: str | Path = DEFAULT_TEMPLATE) -> ImportedQuarter:
    """Read the inputs, write the scenario TOML to ``out`` and check that it loads.

    Returns the imported quarter (counts and notes for the command's report).

    Raises:
        QuartiersimError: the geo extra is missing.
        GeoImportError: an unusable input (the message names the file).
    """
    check_geo_installed()
    from quartiersim.config.loading import load_scenario

    t = load_template(template)
    g = read_grid(grid)
    q = build_quarter(g, boundary, points, barriers, cell_size)
    title = name or _boundary_name(boundary) or Path(out).stem
    text = scenario_text(q, title, municipality or "not given (set meta.municipality)", t,
                         city_residents=city_residents)
    p = Path(out)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    load_scenario(p)  # the file must validate like any scenario
    return q


def _boundary_name(path: str | Path) -> str | None:
    """The boundary's name attribute (``name``, ``bezeichnung`` or VG250's ``GEN``) if it has
    one feature."""
    import geopandas as gpd

    gdf = gpd.read_file(path, engine="pyogrio", ignore_geometry=True)
    cols = {c.lower(): c for c in gdf.columns}
    key = next((cols[k] for k in ("name", "bezeichnung", "gen") if k in cols), None)
    if key is None or len(gdf) != 1:
        return None
    value = str(gdf[key].iloc[0]).strip()
    return value if value and value.lower() not in ("none", "nan") else None
