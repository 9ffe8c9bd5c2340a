"""Parameters of the six cooperation models (``[cooperation.<name>]`` in a scenario).

The mechanisms are in :mod:`quartiersim.sim.cooperation`; this module only declares and
validates what a scenario may set. :data:`COOPERATION_PARAMS` lists the models in the
order ``compare`` shows them.

Each section also says what the model needs of the quarter, checked before any run
(:meth:`quartiersim.config.schema.Scenario.cooperation_params`): ``POINT_KIND``, the kind
of service point it works from (its ``site``, or its offices), and ``NEEDS_CARRIERS``.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from quartiersim.config.domains import Domain, PointKind
from quartiersim.config.fields import P, Strict


# --------------------------------------------------------------------------- 1 municipal provision
class MunicipalParams(Strict):
    POINT_KIND: ClassVar[PointKind | None] = PointKind.MUNICIPAL_OFFICE
    NEEDS_CARRIERS: ClassVar[bool] = False
    offices: dict[Domain, str] = Field(
        default_factory=dict,
        description="Layout letter of the office of each domain's department; a domain "
                    "not named is served at the first municipal office.")
    rent_eur_per_month_per_office: float = P(1200.0, unit="EUR per month", ge=0, le=1e7,
                                             description="Imputed cost of an office's rooms.")


# --------------------------------------------------------------------------- 2 contracting out
class ContractingParams(Strict):
    POINT_KIND: ClassVar[PointKind | None] = None
    NEEDS_CARRIERS: ClassVar[bool] = True
    contract_price_eur_per_hour: float = P(
        69.80, unit="EUR per h", ge=1, le=1000,
        source="Fachleistungsstunde 69.80 EUR (City of Fürth 2024; docs/sources.md: fuerth-fls)",
        description="Price the municipality pays carriers per contracted service hour.")
    contract_management_share: float = P(0.03, unit="share of funds", ge=0, le=0.5,
                                         description="Tendering and contract monitoring by "
                                                     "municipal staff.")


# --------------------------------------------------------------------------- 3 co-production
class CoproductionParams(Strict):
    POINT_KIND: ClassVar[PointKind | None] = None
    NEEDS_CARRIERS: ClassVar[bool] = True
    planning_share: float = P(0.05, unit="share of funds", ge=0, le=0.5,
                              description="Joint planning and network time of municipal staff.")
    coordination_fte: float = P(0.5, unit="FTE", ge=0, le=100, lever=True,
                                description="Paid volunteer coordination, funded at carriers.")
    reallocation_rate: float = P(0.5, unit="share per year", ge=0, le=1,
                                 description="How far joint planning moves the domain budget "
                                             "shares towards the observed need shares each year.")
    cross_referral: float = P(0.05, unit="probability per month", ge=0, le=1)


# --------------------------------------------------------------------------- 4 integration centre
class IntegrationCentreParams(CoproductionParams):
    POINT_KIND: ClassVar[PointKind | None] = PointKind.CENTRE_SITE  # and the carriers
    site: str | None = Field(None, description="Layout letter of the centre (default: the "
                                               "first 'centre_site' point).")
    centre_rent_eur_per_month: float = P(3000.0, unit="EUR per month", ge=0, le=1e7,
                                         description="Rent of the shared centre, split among "
                                                     "the carriers by their own staff.")
    overhead_synergy: float = P(0.3, unit="share of overhead", ge=0, le=1,
                                description="Overhead saved by shared administration, "
                                            "reception and rooms.")
    management_fte: float = P(0.5, unit="FTE", ge=0, le=100,
                              description="Centre management (reception, house, network), "
                                          "municipal staff, coordinating volunteers at the centre.")
    outreach: float = P(0.01, unit="probability per month", ge=0, le=1,
                        description="One known address: monthly chance of an unaware "
                                    "resident to learn of the offers.")


# --------------------------------------------------------------------------- 5 meeting point
class MeetingPointParams(Strict):
    POINT_KIND: ClassVar[PointKind | None] = PointKind.MEETING_POINT_SITE
    NEEDS_CARRIERS: ClassVar[bool] = False
    site: str | None = Field(None, description="Layout letter of the meeting point (default: "
                                               "the first 'meeting_point_site' point).")
    manager_fte: float = P(1.0, unit="FTE", ge=0, le=20, lever=True,
                           description="Quarter manager (Quartiersmanagement).")
    manager_cost_eur_per_year_per_fte: float = P(
        60_000.0, unit="EUR per year", ge=0, le=1e6,
        source="StGB NRW notice 160/2015: ~60,000 EUR/yr per full-time post "
               "(docs/sources.md: stgb-nrw-160-2015)")
    manager_coordination_share: float = P(0.5, unit="share of the manager's time", ge=0, le=1,
                                          description="Time spent coordinating volunteers at the "
                                                      "meeting point; the rest brokers and informs.")
    outreach_per_fte: float = P(0.02, unit="probability per month per FTE", ge=0, le=1,
                                description="The manager's outreach: monthly chance of an "
                                            "unaware resident to learn of the offers.")
    activation_per_fte: float = P(0.0005, unit="probability per month per FTE", ge=0, le=1,
                                  description="The manager's activation: extra monthly chance "
                                              "of an adult to start volunteering.")
    room_rent_eur_per_month: float = P(420.0, unit="EUR per month", ge=0, le=1e6,
                                       description="Market rent of the rooms (60 m2 x 7 EUR/m2).")
    rent_discount: float = P(0.5, unit="share of the rent", ge=0, le=1,
                             description="Discount the housing company grants, borne by it "
                                         "(booked to the housing company in kind).")


# --------------------------------------------------------------------------- 6 innovation lab
class InnovationLabParams(Strict):
    POINT_KIND: ClassVar[PointKind | None] = None
    NEEDS_CARRIERS: ClassVar[bool] = True
    agency_fte: float = P(1.0, unit="FTE", ge=0, le=20, lever=True,
                          description="Staff of the volunteer agency (municipal staff cost).")
    agency_coordination_share: float = P(0.6, unit="share of agency time", ge=0, le=1,
                                         description="Time the agency spends coordinating placed "
                                                     "volunteers (at carriers, by their volunteers).")
    matching_rate: float = P(0.3, unit="share of volunteers per year", ge=0, le=1,
                             description="Volunteers the agency re-matches each year to the "
                                         "domains with the most unmet need.")
    activation_boost_per_month: float = P(0.0005, unit="probability per month", ge=0, le=1,
                                          description="Recruitment: extra monthly chance of an "
                                                      "adult to start volunteering.")
    business_hours_per_month: float = P(40.0, unit="h per month", ge=0, le=10_000,
                                        description="Skill exchange (marketplace for good "
                                                    "business): corporate volunteers' hours "
                                                    "for the carriers' offers.")


#: Cooperation model name (API) -> its parameter section, in the order ``compare`` shows them.
COOPERATION_PARAMS: dict[str, type[Strict]] = {
    "municipal": MunicipalParams,
    "contracting": ContractingParams,
    "coproduction": CoproductionParams,
    "integration_centre": IntegrationCentreParams,
    "meeting_point": MeetingPointParams,
    "innovation_lab": InnovationLabParams,
}
