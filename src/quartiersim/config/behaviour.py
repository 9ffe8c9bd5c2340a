"""Behavioural constants no quarter fact sets: how the population changes and who draws
transfers by age (``[demography]``), and how carriers react to a deficit
(``[carrier_behaviour]``). Sections of :class:`~quartiersim.config.schema.Scenario`; the
defaults are the model's and every one is an assumption unless a source is named.
The quarter's own numbers (residents, shares, rates) are in ``[population]`` and
``[[carriers]]``.
"""

from __future__ import annotations

from pydantic import model_validator

from quartiersim.config.fields import P, Strict


class Demography(Strict):
    """Age profiles of mortality, moves, newcomers and transfer receipt (ODD 5 and 7.1).

    Death: annual q(age) = ``population.mortality_at_80_per_year`` x
    2^((age - ``mortality_reference_age``) / ``mortality_doubling_years``) (Gompertz).
    Moving out: ``population.move_out_rate_per_year`` x the factor of the age band
    (under 18, 18-34, 35-64, 65+), the factors rescaled each month so that the overall
    rate holds. Newcomers' ages: a band by the ``newcomer_share_*`` shares, uniform within
    it. Ages at the start: uniform under 18 and 18-64; 65+ is 65 + an exponential excess.
    Transfer status: the share of recipients by age band is the overall share times the
    band's factor, rescaled so that the overall share holds.
    """

    mortality_reference_age: float = P(
        80.0, unit="years", ge=0, le=120,
        description="Age at which population.mortality_at_80_per_year is the annual "
                    "mortality (the key is named after this default).")
    mortality_doubling_years: float = P(7.3, unit="years", ge=0.5, le=100,
                                        description="Years of age over which mortality doubles.")
    move_out_factor_under_18: float = P(0.8, unit="factor", ge=0, le=20,
                                        description="Relative move-out rate under 18.")
    move_out_factor_18_34: float = P(2.0, unit="factor", ge=0, le=20,
                                     description="Relative move-out rate at 18-34: young "
                                                 "adults move most.")
    move_out_factor_35_64: float = P(0.8, unit="factor", ge=0, le=20,
                                     description="Relative move-out rate at 35-64.")
    move_out_factor_65_plus: float = P(0.3, unit="factor", ge=0, le=20,
                                       description="Relative move-out rate at 65+: older "
                                                   "residents move least.")
    newcomer_share_under_18: float = P(0.25, unit="share of newcomers", ge=0, le=1,
                                       description="Newcomers are younger than the quarter.")
    newcomer_share_18_49: float = P(0.60, unit="share of newcomers", ge=0, le=1)
    newcomer_share_50_64: float = P(0.10, unit="share of newcomers", ge=0, le=1)
    newcomer_share_65_plus: float = P(0.05, unit="share of newcomers", ge=0, le=1)
    newcomer_max_age: float = P(90.0, unit="years", ge=65, le=120,
                                description="Newcomers 65+ are 65 to this age (uniform).")
    initial_65_plus_mean_excess_years: float = P(
        10.0, unit="years", gt=0, le=50,
        description="Mean years above 65 of residents 65+ at the start (exponential).")
    initial_max_age: float = P(100.0, unit="years", ge=65, le=120,
                               description="Oldest age at the start (the exponential is capped).")
    transfer_factor_under_18: float = P(
        15.4 / 9.8, unit="factor", ge=0, le=20,
        source="derived: EN-Kreis SGB II rate under 18 / total = 15.4 / 9.8 "
               "(Arbeitslosenreport NRW 1/2022)",
        description="Share of transfer recipients under 18 relative to all residents.")
    transfer_factor_65_plus: float = P(
        0.3, unit="factor", ge=0, le=20,
        description="Share of transfer recipients at 65+ relative to all residents: "
                    "Grundsicherung im Alter is far rarer than SGB II.")

    @model_validator(mode="after")
    def _newcomer_shares(self) -> Demography:
        total = sum(self.newcomer_age_shares())
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"newcomer_share_under_18 + newcomer_share_18_49 + "
                             f"newcomer_share_50_64 + newcomer_share_65_plus = {total:g}: the "
                             "four shares must sum to 1")
        return self

    def move_out_factors(self) -> list[float]:
        """Relative move-out rates of the bands under 18, 18-34, 35-64, 65+."""
        return [self.move_out_factor_under_18, self.move_out_factor_18_34,
                self.move_out_factor_35_64, self.move_out_factor_65_plus]

    def newcomer_age_shares(self) -> list[float]:
        """Shares of newcomers in the bands under 18, 18-49, 50-64, 65+."""
        return [self.newcomer_share_under_18, self.newcomer_share_18_49,
                self.newcomer_share_50_64, self.newcomer_share_65_plus]


class CarrierBehaviour(Strict):
    """How a carrier reacts to a deficit (ODD 7.7), the same for every carrier."""

    staff_cut_share_per_deficit_month: float = P(
        0.10, unit="share of own staff per month", ge=0, le=1,
        description="Least share of its own-funded posts a carrier gives notice to when its "
                    "reserve is below 0 (and no earlier cut is still serving notice); it cuts "
                    "more when that is needed to balance its own money and repay the deficit "
                    "within close_after_deficit_months.")
    close_after_deficit_months: int = P(
        12, unit="months", ge=1, le=1200,
        description="Consecutive months with the reserve below 0 after which a carrier "
                    "closes; a carrier in deficit plans its cuts to repay within this time.")


class Staffing(Strict):
    """Paid staff as a stock (ODD 7.7 "Staffing"; :mod:`quartiersim.sim.staff`): how
    long a vacancy takes to fill, how long notice runs, and how new staff come up to
    full productivity. The same for every employer in the quarter."""

    vacancy_months: float = P(
        4.0, unit="months", ge=0, le=60,
        description="Mean time to fill a vacant post (hiring takes time): a vacancy fills "
                    "with the monthly probability 1 - exp(-1 / vacancy_months); 0 = at once. "
                    "Assumption: skilled social work posts stay open for months; no "
                    "quarter-level figure.")
    notice_months: int = P(
        3, unit="months", ge=0, le=24,
        source="derived: TVöD § 34 (1): notice of six weeks to the end of a quarter after "
               "one year of employment, three months after five years (docs/sources.md: "
               "tvoed-34); carriers' agreements follow it",
        description="A carrier whose post loses its money gives notice; the staff work and "
                    "are paid by the carrier until it runs out. The municipality's staff "
                    "leave the quarter's posts at once (redeployed in the administration).")
    new_hire_productivity: float = P(
        0.5, unit="share of full productivity", ge=0, le=1,
        description="Productivity of a newly hired member of staff (induction, no local "
                    "network yet; assumption).")
    ramp_up_months: float = P(
        12.0, unit="months", ge=0, le=120,
        description="Time constant of the growth of experience towards full productivity "
                    "(assumption: a year of induction into a quarter's network).")
