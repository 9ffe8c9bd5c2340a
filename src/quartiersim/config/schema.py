"""The scenario schema: every parameter of a quarter, declared once, validated at the boundary.

A scenario is one TOML file under ``scenarios/`` describing one quarter: its layout,
population, behaviour, actors, budget and the parameters of each cooperation and
financing model. :func:`load_scenario` reads and validates it (pydantic, unknown keys
rejected) before any agent exists; every failure is a :class:`ScenarioError` whose
message names the file, the dotted key and what is allowed.

Each numeric field carries ``unit`` and ``source`` metadata (``json_schema_extra``);
``source`` cites an entry of ``docs/sources.md`` (the project's bibliography) or says
``"assumption"``.
The app's lever controls, experiment ranges and docs derive from this metadata, so no
default is typed twice. Behavioural defaults (need incidence, escalation, attrition)
live here; quarter facts (residents, shares, budget, layout) live in the scenario files.

Every number is finite (no ``nan`` or ``inf``) and of its declared type (no ``"5"`` or
``true`` for a number). Quantities that something is divided by (costs per hour, hours,
lengths) have a small positive floor instead of ``> 0``: a value such as ``5e-324``
turns a budget into infinitely many hours and the outcomes into NaN.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, model_validator

from quartiersim.config.behaviour import CarrierBehaviour, Demography, Staffing
from quartiersim.config.cooperation import COOPERATION_PARAMS
from quartiersim.config.domains import DOMAINS, LAND_USE_SYMBOLS, Domain, PointKind
from quartiersim.config.fields import ASSUMPTION, P, Strict
from quartiersim.config.financing import validate_financing
from quartiersim.config.messages import lookup, validate_section
from quartiersim.config.overrides import apply_overrides
from quartiersim.config.people import Access, Needs, Volunteering
from quartiersim.errors import ScenarioError

__all__ = ["ASSUMPTION", "MAX_LAYOUT_CELLS", "P", "Strict"]

#: Largest layout, in cells (rows x columns). Every cell costs each run about 2.3 kB of
#: memory and its share of the set-up time (a Mesa grid cell, a column of the
#: walking-distance table): measured on a 500 x 500 layout, 0.7 GB and 20 s for one
#: year; a 1500 x 1500 layout took 5.5 GB and 3 minutes. 250,000 cells (500 x 500 at
#: 50 m: 25 km x 25 km, a large city) keep a run per core within a 24 GB machine.
MAX_LAYOUT_CELLS = 250_000

#: A non-negative finite number, strict (no strings or booleans), for values in tables
#: keyed by domain.
NonNegative = Annotated[float, Field(strict=True, ge=0)]


# --------------------------------------------------------------------------- meta, space
class Meta(Strict):
    name: str = Field(description="Human-readable name of the quarter.")
    municipality: str = Field(description="Municipality (Kommune) the quarter belongs to.")
    start_year: int = P(2020, unit="year", ge=1990, le=2100,
                        description="Calendar year of the first simulated month.")
    description: str = ""


class CrossingCost(Strict):
    """Walking cost factor of entering a cell, per land use (1 = plain walking)."""

    housing: float = P(1.0, unit="factor", ge=1.0, le=100.0)
    green: float = P(1.2, unit="factor", ge=1.0, le=100.0)
    road: float = P(1.0, unit="factor", ge=1.0, le=100.0)
    barrier: float = P(8.0, unit="factor", ge=1.0, le=1000.0,
                       description="A multi-lane ring road without a crossing: crossing one "
                                   "50 m cell costs as much as walking 400 m.")
    crossing: float = P(2.0, unit="factor", ge=1.0, le=100.0,
                        description="Signalled crossing through a barrier.")
    facility: float = P(1.0, unit="factor", ge=1.0, le=100.0)
    open: float = P(1.0, unit="factor", ge=1.0, le=100.0,
                    description="Land in the quarter where nobody lives (streets, shops, "
                                "parks without Zensus residents).")
    # cells outside an imported quarter (' ') are not walked through at all: no cost


class ServicePointSpec(Strict):
    kind: PointKind
    name: str


class Georeference(Strict):
    """Where the layout lies on the earth: its north-west corner in a projected CRS in
    metres (cells are ``space.cell_size_m`` wide, rows run south, columns east)."""

    crs: str = Field(pattern=r"^EPSG:\d+$", description="Projected CRS in metres, e.g. EPSG:3035.")
    origin_x: float = P(..., unit="m", description="x (east) of the layout's west edge.")
    origin_y: float = P(..., unit="m", description="y (north) of the layout's north edge.")


class Space(Strict):
    """The quarter as a grid of cells.

    ``layout`` is a character map, one string per row (north first). Symbols:
    ``.`` housing, ``g`` green, ``-`` road, ``#`` barrier (e.g. a ring road),
    ``+`` crossing, ``f`` facility, ``o`` open land where nobody lives, ``' '`` outside
    the quarter (nobody lives or walks there); an upper-case letter is a service point that
    must be declared in ``service_points``.

    ``residents_per_cell`` (optional; ``quartiersim import`` writes it from the Zensus
    grid) weights where households live: one non-negative number per housing cell, in
    layout order (row by row); without it households are spread uniformly over the
    housing cells. ``georeference`` (optional) places the layout on the map.
    """

    cell_size_m: float = P(50.0, unit="m", ge=5.0, le=500.0,
                           description="Edge length of one grid cell (about 50 m, a short street block).")
    layout: list[str] = Field(min_length=1)
    crossing_cost: CrossingCost = CrossingCost()
    service_points: dict[str, ServicePointSpec] = Field(default_factory=dict)
    residents_per_cell: list[float] | None = Field(
        None, description="Residents (relative weights) per housing cell in layout order, "
                          "e.g. Zensus 2022 Einwohner; households are placed in proportion.")
    georeference: Georeference | None = None

    @model_validator(mode="after")
    def _check_layout(self) -> Space:
        width = len(self.layout[0])
        cells = len(self.layout) * max(len(row) for row in self.layout)
        if cells > MAX_LAYOUT_CELLS:
            raise ValueError(
                f"layout of {len(self.layout)} rows x {width} columns = {cells:,} cells: at "
                f"most {MAX_LAYOUT_CELLS:,} cells (e.g. 500 x 500), because every cell costs "
                "each run about 2.3 kB of memory and set-up time (a 1500 x 1500 layout needs "
                "5.5 GB and 3 minutes); use larger cells (cell_size_m) for a larger area")
        for r, row in enumerate(self.layout):
            if len(row) != width:
                raise ValueError(f"row {r} has {len(row)} cells, row 0 has {width}: "
                                 "all layout rows must have the same length")
            for c, ch in enumerate(row):
                if ch in LAND_USE_SYMBOLS:
                    continue
                if ch.isupper():
                    if ch not in self.service_points:
                        raise ValueError(f"service point {ch!r} at row {r}, column {c} is not "
                                         "declared in space.service_points")
                    continue
                allowed = " ".join(repr(s) for s in LAND_USE_SYMBOLS)
                raise ValueError(f"unknown symbol {ch!r} at row {r}, column {c}; allowed: "
                                 f"{allowed} or an upper-case service point letter")
        placed: dict[str, list[tuple[int, int]]] = {}
        for r, row in enumerate(self.layout):
            for c, ch in enumerate(row):
                if ch.isupper() and ch not in LAND_USE_SYMBOLS:
                    placed.setdefault(ch, []).append((r, c))
        for letter, cells_at in placed.items():
            if len(cells_at) > 1:
                where = ", ".join(f"row {r} column {c}" for r, c in cells_at[:4])
                raise ValueError(f"service point {letter!r} is on the layout {len(cells_at)} "
                                 f"times ({where}): each letter marks one point, give the "
                                 "others their own letters")
        for letter in self.service_points:
            if letter not in placed:
                raise ValueError(f"service point {letter!r} is declared but not on the layout")
        n_housing = sum(row.count(".") for row in self.layout)
        if not n_housing:
            raise ValueError("the layout has no housing cell ('.')")
        weights = self.residents_per_cell
        if weights is not None:
            if len(weights) != n_housing:
                raise ValueError(f"residents_per_cell has {len(weights)} entries, the layout "
                                 f"{n_housing} housing cells ('.'): one entry per housing cell")
            bad = next((i for i, w in enumerate(weights) if not w >= 0), None)
            if bad is not None:
                raise ValueError(f"residents_per_cell[{bad}] = {weights[bad]}: must be >= 0")
            if sum(weights) <= 0:
                raise ValueError("residents_per_cell: the weights must sum to more than 0")
        return self


# --------------------------------------------------------------------------- population
class Population(Strict):
    """Residents at the start and their turnover. Shares are of all residents unless named."""

    residents: int = P(..., unit="persons", ge=1, le=5_000_000, lever=True,
                       description="Residents at the start.")
    share_under_18: float = P(0.165, unit="share", ge=0, le=1,
                              source="Kreis Recklinghausen 16.5 % (IT.NRW 2010 via WAZ)")
    share_65_plus: float = P(0.229, unit="share", ge=0, le=1,
                             source="Herten 22.9 % (IT.NRW 2010 via WAZ)")
    share_transfer_recipients: float = P(0.15, unit="share", ge=0, le=1,
                                         description="SGB II / SGB XII recipients among all residents.")
    share_migration_background: float = P(0.23, unit="share", ge=0, le=1)
    share_language_barrier: float = P(0.35, unit="share of migration background", ge=0, le=1)
    share_single_household_65_plus: float = P(0.4, unit="share of 65+", ge=0, le=1)
    share_mobility_limited_65_plus: float = P(0.25, unit="share of 65+", ge=0, le=1)
    share_mobility_limited_under_65: float = P(0.03, unit="share of under-65", ge=0, le=1)
    move_out_rate_per_year: float = P(0.10, unit="per year", ge=0, le=0.9,
                                      description="Share of residents moving out each year (turnover).")
    population_change_per_year: float = P(-0.004, unit="per year", ge=-0.2, le=0.2,
                                          source="derived: Ruhr population -7.1 % 2011-2030 "
                                                 "(IT.NRW via WAZ) = -0.4 %/yr")
    births_per_1000_per_year: float = P(8.5, unit="per 1,000 residents and year", ge=0, le=100)
    composition: Literal["stationary", "newcomer_shares"] = Field(
        "stationary",
        description="Who moves in. 'stationary': newcomers are drawn so that the age and "
                    "status composition of the start stays (the age band short of its start "
                    "share, ages and status like the start's residents of that band), plus "
                    "the declared trend share_65_plus_change_per_year. 'newcomer_shares': a "
                    "declared trend: ages by demography.newcomer_share_*, status by "
                    "newcomer_share_transfer_recipients / _migration_background.")
    share_65_plus_change_per_year: float = P(0.0, unit="share points per year", ge=-0.05, le=0.05,
                                             description="Declared ageing trend of the 65+ share "
                                                         "under 'stationary' composition (0: none).")
    newcomer_share_migration_background: float = P(0.4, unit="share", ge=0, le=1,
                                                   description="Only with composition = 'newcomer_shares'.")
    newcomer_share_transfer_recipients: float = P(0.25, unit="share", ge=0, le=1,
                                                  description="Only with composition = 'newcomer_shares'.")
    mortality_at_80_per_year: float = P(0.05, unit="per year", ge=0, le=1,
                                        description="Gompertz mortality q(80); how it changes "
                                                    "with age: [demography].")

    @model_validator(mode="after")
    def _age_shares(self) -> Population:
        total = self.share_under_18 + self.share_65_plus
        if total > 1:
            raise ValueError(f"share_under_18 + share_65_plus = {self.share_under_18:g} + "
                             f"{self.share_65_plus:g} = {total:g}: must not exceed 1 (they are "
                             "shares of the same residents; the rest are 18-64)")
        return self


class Network(Strict):
    """The social network over which awareness spreads and volunteers are activated."""

    household_size_mean: float = P(1.9, unit="persons", ge=1, le=8)
    neighbour_ties: float = P(3.0, unit="ties per resident", ge=0, le=50,
                              description="Ties to residents of the same or an adjacent cell.")
    friend_ties: float = P(2.0, unit="ties per resident", ge=0, le=50,
                           description="Ties to residents anywhere in the quarter.")


# --------------------------------------------------------------------------- carriers
class CarrierSpec(Strict):
    """A carrier (freier Träger): welfare association or club with premises and staff."""

    name: str
    point: str = Field(description="Letter of its premises on the layout.")
    staff_fte: dict[Domain, Annotated[float, Field(strict=True, ge=0, le=1000)]] = Field(
        default_factory=dict, description="Staff funded from own funds, FTE by domain.")
    coordination_fte: float = P(0.0, unit="FTE", ge=0, le=100,
                                description="Own-funded paid coordination of volunteers.")
    own_funds_eur_per_year: float = P(0.0, unit="EUR per year", ge=0, le=1e9,
                                      description="Donations, church tax, membership fees.")
    rent_eur_per_month: float = P(900.0, unit="EUR per month", ge=0, le=1e7)
    reserve_eur: float = P(20_000.0, unit="EUR", ge=0, le=1e9)
    cost_eur_per_staff_hour: float = P(60.70, unit="EUR per h", ge=1, le=1000,
                                       source="derived: Fachleistungsstunde 69.80 EUR (Fuerth 2024) "
                                              "less a 15 % overhead share (assumption)")
    overhead_share: float = P(0.15, unit="share of staff cost", ge=0, le=2)


# --------------------------------------------------------------------------- municipality
class Municipality(Strict):
    """The municipality's budget, at city level, and its voluntary spending in the quarter."""

    residents_city: int = P(..., unit="persons", ge=1, le=20_000_000)
    revenue_eur_per_year: float = P(..., unit="EUR per year", ge=0, le=1e12)
    other_expenses_eur_per_year: float = P(..., unit="EUR per year", ge=0, le=1e12,
                                           description="All city expenses outside the quarter's "
                                                       "social offers and mandatory cases.")
    revenue_growth_per_year: float = P(0.02, unit="per year", ge=-0.5, le=0.5)
    expense_growth_per_year: float = P(0.025, unit="per year", ge=-0.5, le=0.5)
    consolidation_aid_eur_per_year: float = P(0.0, unit="EUR per year", ge=0, le=1e10)
    consolidation_aid_until_year: int = P(0, unit="year", ge=0, le=2200)
    consolidation_regime: StrictBool = Field(
        False, description="Under a budget-consolidation regime (Haushaltssicherung / "
                           "Stärkungspakt) a deficit year cuts voluntary spending.")
    voluntary_budget_eur_per_year: float = P(..., unit="EUR per year", ge=0, le=1e10, lever=True,
                                             description="Voluntary social budget for the quarter's "
                                                         "offers in the start year (part of the city's "
                                                         "voluntary line; indexed with expense growth).")
    voluntary_line_share: float = P(0.05, unit="share of the city's expenses", ge=0, le=1,
                                    description="The city's voluntary line (freiwillige Leistungen, "
                                                "the quarter's budget included) as a share of its "
                                                "expenses in the start year; assumption: voluntary "
                                                "tasks are a small part of a municipal budget.")
    consolidation_voluntary_share_of_gap: float = P(
        0.25, unit="share of the deficit", ge=0, le=1,
        description="Under a consolidation regime, the share of a year's deficit the city "
                    "closes by cutting its voluntary line the next year (the rest by other "
                    "measures over the plan period); assumption.")
    consolidation_plan_years: int = P(10, unit="years", ge=1, le=50,
                                      description="Years within which a consolidation plan "
                                                  "(Haushaltssicherungskonzept) must balance the "
                                                  "budget when no target year is declared; "
                                                  "assumption (GO NRW § 76: up to ten years).")
    consolidation_target_year: int = P(0, unit="year", ge=0, le=2200,
                                       description="Year by which the consolidation plan balances "
                                                   "the budget (0: first deficit year + "
                                                   "consolidation_plan_years).")
    voluntary_budget_floor_share: float = P(0.5, unit="share of the pre-cut level", ge=0, le=1,
                                            description="Cuts never take the voluntary line below this "
                                                        "share of its pre-cut (indexed) level; "
                                                        "assumption.")
    restoration_share_of_surplus: float = P(0.5, unit="share of the surplus", ge=0, le=1,
                                            description="Share of a year's surplus that restores a cut "
                                                        "voluntary line the next year, up to its "
                                                        "pre-cut level; assumption.")
    staff_cost_eur_per_hour: float = P(60.70, unit="EUR per h", ge=1, le=1000,
                                       source="derived: Fachleistungsstunde 69.80 EUR (Fuerth 2024) "
                                              "less a 15 % overhead share (assumption); "
                                              "municipal staff assumed at carriers' cost")
    overhead_share: float = P(0.15, unit="share of staff cost", ge=0, le=2)
    domain_shares: dict[Domain, NonNegative] = Field(
        default_factory=lambda: {Domain.ELDERLY_SUPPORT: 0.2, Domain.YOUTH_EDUCATION: 0.25,
                                 Domain.INTEGRATION: 0.15, Domain.HEALTH_PREVENTION: 0.1,
                                 Domain.SOCIAL_PARTICIPATION: 0.1, Domain.COUNSELLING: 0.2},
        description="Shares of the voluntary budget by domain (the departments' budget lines; "
                    "assumption). Normalised to sum 1.")
    hours_per_fte_per_month: float = P(133.0, unit="h per month", ge=1, le=744,
                                       description="Productive hours of one FTE (1,600 h/yr).")
    workplace_eur_per_month_per_fte: float = P(
        500.0, unit="EUR per month and FTE", ge=0, le=100_000,
        description="Imputed cost of the rooms and equipment of a municipal workplace, "
                    "charged for every municipal post in the quarter (staff at offices, "
                    "centre management, quarter manager, volunteer agency, grant "
                    "applications) in every cooperation model (assumption: ~70 m2 per "
                    "workplace incl. shared space at ~7 EUR/m2).")

    @model_validator(mode="after")
    def _shares(self) -> Municipality:
        if sum(self.domain_shares.values()) <= 0:
            given = ", ".join(f"{d.value} = {v:g}" for d, v in self.domain_shares.items())
            raise ValueError(f"domain_shares ({given or 'none given'}) must sum to more than "
                             "0 (they are normalised)")
        return self

    def domain_share_array(self) -> list[float]:
        """Budget shares in ``DOMAINS`` order, normalised to sum 1."""
        raw = [self.domain_shares.get(d, 0.0) for d in DOMAINS]
        return [x / sum(raw) for x in raw]


# --------------------------------------------------------------------------- shocks
class Shock(Strict):
    """An exogenous fiscal shock for the stress test (DeWaK finance analysis, seed 002)."""

    year: int = P(..., unit="year", ge=1990, le=2200, description="Calendar year it hits.")
    tax_revenue_change: float = P(0.0, unit="share of revenue", ge=-1, le=1,
                                  description="Relative change of the city's revenue, e.g. -0.05.")
    transfer_recipient_change: float = P(0.0, unit="share of recipients", ge=-1, le=10,
                                         description="Relative change of the number of transfer "
                                                     "recipients in the quarter, e.g. 0.2 = 20 % more.")
    duration_years: int = P(1, unit="years", ge=1, le=100,
                            description="Years the revenue change lasts.")


class SpinUp(Strict):
    """The spin-up (docs/ODD.md, 5 "Initialization"): months run before the horizon under
    the status-quo provision, so that the horizon starts from a steady state (the need
    stock, running mandatory cases and volunteers of a quarter that has had its provision
    for years), not from an empty one. Excluded from outcomes, series and the ledger; the
    same draws for every cooperation model of a seed (common random numbers)."""

    months: int = P(48, unit="months", ge=0, le=600,
                    description="Length of the spin-up; 0 = start from the initialised "
                                "population. Measured (Herten, Wetter, 3 seeds, half-year "
                                "means from the initialised population): the need stock, "
                                "running cases and volunteers settle by months 43-48 "
                                "(docs/ODD.md, 5).")
    cooperation: str | None = Field(None, description="Cooperation model of the status quo "
                                                      "(default: default_cooperation).")
    financing: str = Field("budget", description="Financing model of the status quo.")


class Scenario(Strict):
    """A validated quarter scenario. Build it with :func:`load_scenario`."""

    meta: Meta
    space: Space
    population: Population
    network: Network = Network()
    needs: Needs = Needs()
    access: Access = Access()
    volunteering: Volunteering = Volunteering()
    carriers: list[CarrierSpec] = Field(default_factory=list)
    carrier_behaviour: CarrierBehaviour = CarrierBehaviour()
    staffing: Staffing = Staffing()
    demography: Demography = Demography()
    municipality: Municipality
    cooperation: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Parameters per cooperation model name.")
    financing: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Named financing models: instruments and parameters.")
    shocks: list[Shock] = Field(default_factory=list,
                                description="Fiscal shocks of the stress test ([[shocks]]); "
                                            "applied only by 'quartiersim stress'.")
    default_cooperation: str = "municipal"
    default_financing: str = "budget"
    spin_up: SpinUp = SpinUp()

    @model_validator(mode="after")
    def _carrier_points(self) -> Scenario:
        for i, c in enumerate(self.carriers):
            spec = self.space.service_points.get(c.point)
            if spec is None:
                raise ValueError(f"carriers[{i}].point = {c.point!r} is not a service point of "
                                 f"the layout; declared: {', '.join(self.space.service_points)}")
            if spec.kind is not PointKind.CARRIER_PREMISES:
                raise ValueError(
                    f"carriers[{i}].point = {c.point!r} is a {spec.kind.value} ({spec.name}); "
                    f"a carrier's point must be of kind 'carrier_premises': "
                    f"{_letters(self, PointKind.CARRIER_PREMISES)}")
        return self

    # source path, set by load_scenario (not part of the schema)
    _path: str = "<scenario>"

    @property
    def path(self) -> str:
        """The file this scenario was read from."""
        return self._path

    def cooperation_params(self, name: str, *, runnable: bool = True) -> BaseModel:
        """Validated parameters of cooperation model ``name`` (defaults where the file is
        silent). Layout letters (``site``, ``offices``) must name points of the right kind.

        Args:
            runnable: also check that the quarter has what the model needs (a point of
                its ``POINT_KIND``, carriers), so that a run cannot fail at its set-up.

        Raises:
            UnknownNameError: ``name`` is not a cooperation model.
            ScenarioError: an invalid parameter, a letter of the wrong kind of point, or
                (``runnable``) a quarter the model cannot run in.
        """
        params = lookup(COOPERATION_PARAMS, name, "cooperation model", self._path)
        out = validate_section(params, self.cooperation.get(name, {}),
                               ("cooperation", name), self._path)
        kind = getattr(params, "POINT_KIND", None)
        letters = [("site", out.site, kind)] if getattr(out, "site", None) else []
        letters += [(f"offices.{d.value}", v, PointKind.MUNICIPAL_OFFICE)
                    for d, v in (getattr(out, "offices", None) or {}).items()]
        for key, letter, kind in letters:
            spec = self.space.service_points.get(letter)
            if spec is None or spec.kind is not kind:
                what = "not a service point" if spec is None else \
                    f"a {spec.kind.value} ({spec.name})"
                raise ScenarioError(
                    f"{self._path}: 'cooperation.{name}.{key}' = {letter!r}: {what}; allowed: "
                    f"points of kind '{kind.value}': {_letters(self, kind)}")
        if runnable:
            if kind is not None and not any(p.kind is kind for p in self.space.service_points.values()):
                raise ScenarioError(f"{self._path}: cooperation model {name!r} needs a service "
                                    f"point of kind '{kind.value}' on the layout "
                                    "(space.service_points)")
            if getattr(params, "NEEDS_CARRIERS", False) and not self.carriers:
                raise ScenarioError(f"{self._path}: cooperation model {name!r} needs at least "
                                    "one carrier ([[carriers]])")
        return out

    def with_overrides(self, overrides: dict[str, Any]) -> Scenario:
        """A new scenario with dotted-key overrides applied and validated like the file."""
        raw = self.model_dump(mode="json")
        return build_scenario(apply_overrides(raw, overrides, self._path), self._path)


def _letters(scenario: Scenario, kind: PointKind) -> str:
    found = [k for k, v in scenario.space.service_points.items() if v.kind is kind]
    return ", ".join(found) or "none on this layout"


def build_scenario(raw: dict[str, Any], path: str) -> Scenario:
    """Validate a raw scenario dict read from ``path``, with every named cooperation and
    financing section.

    Raises:
        ScenarioError: a key is unknown, of the wrong type or out of range.
    """
    scenario = validate_section(Scenario, raw, (), path)
    object.__setattr__(scenario, "_path", path)
    # every named cooperation and financing section must validate now, before any agent exists
    for name in scenario.cooperation:  # runnable or not: a section may wait for its site
        scenario.cooperation_params(name, runnable=False)
    for name in scenario.financing:
        validate_financing(scenario, name)
    scenario.cooperation_params(scenario.default_cooperation)
    validate_financing(scenario, scenario.default_financing)
    scenario.cooperation_params(scenario.spin_up.cooperation or scenario.default_cooperation)
    validate_financing(scenario, scenario.spin_up.financing)
    return scenario
