"""Parameters of the financing instruments (``[financing.<name>.<instrument>]``) and the
lookup of named financing models.

The mechanisms are in :mod:`quartiersim.sim.financing`; this module declares and
validates what a scenario may set. A financing model is a named set of instrument
tables; ``budget`` (the municipal budget alone) is built in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import model_validator

from quartiersim.config.domains import DOMAINS
from quartiersim.config.fields import P, Strict
from quartiersim.config.messages import validate_section
from quartiersim.errors import ScenarioError, UnknownNameError

if TYPE_CHECKING:
    from quartiersim.config.schema import Scenario

#: Earmark of money for offers run by residents themselves (neighbourhood fund).
RESIDENT_RUN = "resident_run"
#: Every purpose money can be earmarked to: the six domains and resident-run offers.
PURPOSES: tuple[str, ...] = (*(d.value for d in DOMAINS), RESIDENT_RUN)

#: Financing models every scenario has without declaring them.
BUILTIN_FINANCING: dict[str, dict[str, dict[str, Any]]] = {"budget": {"municipal_budget": {}}}


class MunicipalBudgetParams(Strict):
    pass


class GrantProgrammeParams(Strict):
    project_eur_per_year: float = P(400_000.0, unit="EUR per year", ge=0, le=1e9, lever=True,
                                    description="Eligible annual cost of the grant-funded structures.")
    funding_rate: float = P(0.6, unit="share of eligible cost", ge=0, le=1, lever=True,
                            source="Städtebauförderrichtlinie NRW 2023: 60 % +- 10 "
                                   "(docs/sources.md: staedtebau-nrw-2023)")
    degression_per_year: float = P(0.0, unit="share per year", ge=0, le=1,
                                   description="The funding rate falls by this share each year "
                                               "after approval (degressive funding, seed 004).")
    start_year: int = P(2020, unit="year", ge=1990, le=2200,
                        description="First programme year in which applications are possible.")
    end_year: int = P(2024, unit="year", ge=1990, le=2200,
                      description="Last programme year that is funded.")
    application_staff_fte: float = P(0.1, unit="FTE", ge=0, le=100,
                                     description="Municipal staff time for writing applications.")
    success_probability_max: float = P(0.8, unit="probability", ge=0, le=1,
                                       description="Approval chance of an application with "
                                                   "unlimited staff capacity.")
    half_saturation_fte: float = P(0.1, unit="FTE", gt=0, le=100,
                                   description="Staff capacity at which the approval chance "
                                               "is half its maximum.")

    @model_validator(mode="after")
    def _years(self) -> GrantProgrammeParams:
        if self.end_year < self.start_year:
            raise ValueError(f"end_year {self.end_year} is before start_year "
                             f"{self.start_year}: the programme must fund at least one year")
        return self


class ContinuationParams(Strict):
    share: float = P(1.0, unit="share of the grant-funded annual cost", ge=0, le=1, lever=True,
                     description="How much of the grant-funded structures the municipality "
                                 "takes over into its regular budget after the grant ends.")


class GrantManagementParams(Strict):
    cost_eur_per_year: float = P(30_000.0, unit="EUR per year", ge=0, le=1e8,
                                 description="The quarter's share of the post's cost.")
    staff_fte: float = P(0.5, unit="FTE", ge=0, le=100,
                         description="Application capacity the post adds.")
    applications_per_year: int = P(2, unit="applications per year", ge=1, le=50,
                                   description="Applications per programme year (one without).")
    success_boost: float = P(0.05, unit="probability", ge=0, le=1,
                             description="Fewer formal errors: added approval chance per application.")


class PoolingParams(Strict):
    pots_eur_per_year: float = P(50_000.0, unit="EUR per year", ge=0, le=1e9, lever=True,
                                 description="Other departments' budgets for the quarter's "
                                             "residents (urban development, school, health "
                                             "office) pooled into the quarter's offers.")
    coordination_share_start: float = P(0.2, unit="share of the pots", ge=0, le=1,
                                        description="Cross-departmental coordination cost in "
                                                    "the first year (seed 004 b6: extra effort first).")
    coordination_share_established: float = P(0.05, unit="share of the pots", ge=0, le=1)
    build_up_years: int = P(3, unit="years", ge=1, le=50,
                            description="Years until cross-departmental work is established.")


class HousingPartnershipParams(Strict):
    share_of_dwellings: float = P(0.3, unit="share", ge=0, le=1,
                                  description="Share of the quarter's dwellings the partner owns.")
    turnover_cost_eur_per_move: float = P(5_000.0, unit="EUR per tenant change", ge=0, le=1e6,
                                          description="Vacancy, refurbishment and letting per move.")
    expected_turnover_reduction: float = P(0.1, unit="share of moves", ge=0, le=1,
                                           description="Moves the partner expects good offers to avoid.")
    invested_share_of_gain: float = P(0.5, unit="share", ge=0, le=1,
                                      description="Share of the expected gain the partner invests.")


class SponsoringParams(Strict):
    eur_per_year: float = P(10_000.0, unit="EUR per year", ge=0, le=1e9, lever=True,
                            description="Sponsoring by local firms and donations by foundations.")


class CrowdfundingParams(Strict):
    backer_share_of_ties: float = P(0.1, unit="share", ge=0, le=1,
                                    description="Share of volunteers' ties who back a campaign.")
    eur_per_backer: float = P(25.0, unit="EUR", ge=0, le=1e5)
    campaigns_per_year: float = P(1.0, unit="per year", ge=0, le=12)


class NeighbourhoodFundParams(Strict):
    eur_per_resident_per_year: float = P(5.0, unit="EUR per resident and year", ge=0, le=1000,
                                         source="NRW rule, 5 EUR per resident and year "
                                                "(docs/sources.md: soziale-stadt-nrw-vfonds)")
    state_federal_share: float = P(0.5, unit="share", ge=0, le=1,
                                   description="Share paid from urban development funds; the "
                                               "rest is the municipality's own share.")
    until_year: int = P(2200, unit="year", ge=1990, le=2200,
                        description="Last year of the fund (e.g. the programme's end).")


class PreventionActParams(Strict):
    eur_per_insured_per_year: float = P(2.0, unit="EUR per insured and year", ge=0, le=1000,
                                        source="§ 20 SGB V target: >= 2 EUR per insured for "
                                               "settings (Haufe commentary; docs/sources.md: haufe-sgbv-20)")
    insured_share: float = P(0.88, unit="share of residents", ge=0, le=1,
                             description="Residents in statutory health insurance (assumption).")
    uptake_share: float = P(0.5, unit="share", ge=0, le=1,
                            description="Share of the settings money per head the quarter's "
                                        "projects actually obtain (assumption).")


class OverheadCompensationParams(Strict):
    share: float = P(0.10, unit="share of the grant paid", ge=0, le=1, lever=True,
                     source="proposal of the Soziale Stadt NRW workshops: municipalities receive "
                            "10 % of the grant sum for the overhead of implementing funding "
                            "programmes (seed 004; docs/sources.md: staedtenetz-werkstatt)")


class QuarterLevyParams(Strict):
    eur_per_dwelling_per_year: float = P(20.0, unit="EUR per dwelling and year", ge=0, le=1e5,
                                         description="Paid by the landlords (housing company).")
    eur_per_household_per_year: float = P(0.0, unit="EUR per household and year", ge=0, le=1e5,
                                          description="Paid by residents (partly, in the Dutch model).")
    businesses_eur_per_year: float = P(0.0, unit="EUR per year", ge=0, le=1e9,
                                       description="Paid by local businesses (booked to donors).")


#: Instrument name (API) -> its parameter section.
INSTRUMENT_PARAMS: dict[str, type[Strict]] = {
    "municipal_budget": MunicipalBudgetParams,
    "grant_programme": GrantProgrammeParams,
    "continuation": ContinuationParams,
    "grant_management": GrantManagementParams,
    "pooling": PoolingParams,
    "ppp_housing_company": HousingPartnershipParams,
    "sponsoring": SponsoringParams,
    "crowdfunding": CrowdfundingParams,
    "neighbourhood_fund": NeighbourhoodFundParams,
    "prevention_act": PreventionActParams,
    "quarter_levy": QuarterLevyParams,
    "overhead_compensation": OverheadCompensationParams,
}


def financing_spec(scenario: Scenario, name: str) -> dict[str, dict[str, Any]]:
    """The instrument tables of financing model ``name``.

    Raises:
        UnknownNameError: ``name`` is neither declared in the scenario nor built in.
    """
    if name in scenario.financing:
        return scenario.financing[name]
    if name in BUILTIN_FINANCING:
        return BUILTIN_FINANCING[name]
    allowed = sorted(set(scenario.financing) | set(BUILTIN_FINANCING))
    raise UnknownNameError(f"{scenario.path}: unknown financing model {name!r}; allowed: "
                           f"{', '.join(allowed)}")


def financing_names(scenario: Scenario) -> list[str]:
    """Every financing model name the scenario offers (built in first)."""
    return [*BUILTIN_FINANCING, *(n for n in scenario.financing if n not in BUILTIN_FINANCING)]


def check_model_names(scenario: Scenario, cooperation: str | None, financing: str | None) -> None:
    """Check a run's cooperation and financing model names (None: the scenario's
    defaults) and their parameter tables, before any run: the model is not needed for it.

    Raises:
        UnknownNameError: unknown cooperation or financing model, or instrument.
        ScenarioError: an invalid parameter of either.
    """
    scenario.cooperation_params(cooperation or scenario.default_cooperation)
    validate_financing(scenario, financing or scenario.default_financing)


def validate_financing(scenario: Scenario, name: str) -> list[tuple[str, Strict]]:
    """Validate every instrument table of financing model ``name``.

    Returns:
        ``[(instrument name, validated parameters), ...]`` in the file's order.

    Raises:
        UnknownNameError: unknown financing model or instrument.
        ScenarioError: an invalid instrument parameter.
    """
    out = []
    for inst_name, raw in financing_spec(scenario, name).items():
        if inst_name not in INSTRUMENT_PARAMS:
            raise UnknownNameError(
                f"{scenario.path}: 'financing.{name}.{inst_name}': unknown instrument; allowed: "
                f"{', '.join(sorted(INSTRUMENT_PARAMS))}")
        if not isinstance(raw, dict):
            raise ScenarioError(f"{scenario.path}: 'financing.{name}.{inst_name}' = {raw!r}: "
                                "give a table of the instrument's parameters ({} for its "
                                "defaults)")
        params = INSTRUMENT_PARAMS[inst_name]
        out.append((inst_name, validate_section(params, raw, ("financing", name, inst_name),
                                                scenario.path)))
    return out
