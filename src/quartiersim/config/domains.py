"""Categories of the model as enums: need domains, resident groups, payers, cost
categories, land uses, kinds of service point, access classes and co-financing routes.

Every category the model knows is an enum member, never a bare string or number.
Array axes follow the enum order (``Domain`` is the column axis of every
per-resident need array), so ``DOMAINS.index(Domain.COUNSELLING)`` is a stable
column index.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Domain(StrEnum):
    """The six need domains of a quarter's social offers (docs/ODD.md).

    The value is the outcome suffix: ``coverage_<value>``.
    """

    ELDERLY_SUPPORT = "elderly_support"  # Altenhilfe, Unterstützung im Alter
    YOUTH_EDUCATION = "youth_education"  # Jugendarbeit, Nachhilfe, Bildung
    INTEGRATION = "integration"  # Integration, Sprache
    HEALTH_PREVENTION = "health_prevention"  # Gesundheitsförderung, Prävention
    SOCIAL_PARTICIPATION = "social_participation"  # Teilhabe gegen Vereinsamung
    COUNSELLING = "counselling"  # Sozialberatung, Schuldnerberatung


DOMAINS: tuple[Domain, ...] = tuple(Domain)
N_DOMAINS = len(DOMAINS)


class Group(StrEnum):
    """Resident groups whose coverage is reported (``coverage_<value>``)."""

    AGE_65_PLUS = "65plus"
    TRANSFER_RECIPIENTS = "transfer_recipients"  # SGB II / SGB XII
    MIGRATION_BACKGROUND = "migration_background"  # Migrationshintergrund
    MOBILITY_LIMITED = "mobility_limited"


GROUPS: tuple[Group, ...] = tuple(Group)  # as DOMAINS: an Enum iterated once, not per use


class AccessClass(IntEnum):
    """How a resident reaches offers (matching, ODD 7.4): whether the shorter decay length
    applies (*limited*: aged ``access.limited_from_age`` or more, or mobility-limited) and
    whether a language barrier lowers the seeking score. The value is
    ``2 x limited + language barrier``, the row of the best-point tables."""

    PLAIN = 0
    LANGUAGE_BARRIER = 1
    LIMITED = 2
    LIMITED_LANGUAGE_BARRIER = 3

    @property
    def limited(self) -> bool:
        return self >= AccessClass.LIMITED

    @property
    def language_barrier(self) -> bool:
        return bool(self & 1)


class CofinancingRoute(StrEnum):
    """How the municipality pays a grant's co-financing share for a year (ODD 7.11)."""

    ADDITIONAL = "additional"  # the budget has room: money in addition to the quarter's budget
    OFFSET = "offset"  # taken out of the quarter's voluntary budget (at least the share)
    UNAFFORDABLE = "unaffordable"  # neither: the year is not funded (the grant is missed)


class Payer(StrEnum):
    """Who pays a euro. Every booking names exactly one payer.

    Welfare carriers' own funds (donations, church tax, membership fees) are
    booked to ``DONORS``.
    """

    MUNICIPALITY = "municipality"
    STATE_FEDERAL = "state_federal"
    INSURERS = "insurers"
    HOUSING_COMPANY = "housing_company"
    DONORS = "donors"
    RESIDENTS = "residents"


class CostCategory(StrEnum):
    """What a euro pays for: voluntary (freiwillige Leistung) or mandatory
    (Pflichtaufgabe) social spending, the distinction of seed 002, Table 1."""

    VOLUNTARY = "voluntary"
    MANDATORY = "mandatory"


class LandUse(IntEnum):
    """Land use of a grid cell; the character is the symbol in a scenario's layout map."""

    HOUSING = 0
    GREEN = 1
    ROAD = 2
    BARRIER = 3
    CROSSING = 4
    FACILITY = 5
    OPEN = 6  # in the quarter, nobody lives there (an imported quarter's cells without Zensus residents)
    OUTSIDE = 7  # beyond an imported quarter's boundary: nobody lives or walks there


#: Layout map symbols. Upper-case letters are service points (facility cells).
LAND_USE_SYMBOLS: dict[str, LandUse] = {
    ".": LandUse.HOUSING,
    "g": LandUse.GREEN,
    "-": LandUse.ROAD,
    "#": LandUse.BARRIER,
    "+": LandUse.CROSSING,
    "f": LandUse.FACILITY,
    "o": LandUse.OPEN,
    " ": LandUse.OUTSIDE,
}


class PointKind(StrEnum):
    """Kinds of service point a scenario can place on the map."""

    MUNICIPAL_OFFICE = "municipal_office"  # Amt, Rathaus
    CARRIER_PREMISES = "carrier_premises"  # Räume eines freien Trägers
    CENTRE_SITE = "centre_site"  # site of a possible integration centre
    MEETING_POINT_SITE = "meeting_point_site"  # rooms for a Bürgertreff


POINT_KINDS: tuple[PointKind, ...] = tuple(PointKind)  # as DOMAINS
