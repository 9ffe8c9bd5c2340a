"""How residents behave, declared once: needs by domain (arise, resolve, escalate),
access to offers (awareness, trust, distance) and volunteering (``[needs]``, ``[access]``,
``[volunteering]`` in a scenario). Part of the scenario schema
(:mod:`quartiersim.config.schema`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from quartiersim.config.domains import DOMAINS, Domain, PointKind
from quartiersim.config.fields import P, Strict


# --------------------------------------------------------------------------- needs
class DomainNeed(Strict):
    """How needs in one domain arise, resolve and escalate.

    A resident either has a need in the domain (a number of hours per month) or not.
    Monthly onset probability = ``onset_probability_per_month`` times the multipliers
    of the resident's groups, for eligible ages. A need resolves each month with a
    probability between the unserved and served rates, by the served share. A need
    unmet for ``escalation_delay_months`` or more escalates into a mandatory case
    (Pflichtleistung) with ``escalation_probability_per_month`` times the unmet share.
    """

    min_age: float = P(0, unit="years", ge=0, le=120)
    max_age: float = P(120, unit="years", ge=0, le=120)
    onset_probability_per_month: float = P(0.005, unit="probability per month", ge=0, le=1,
                                           lever=False)
    multiplier_transfer: float = P(1.0, unit="factor", ge=0, le=20)
    multiplier_migration: float = P(1.0, unit="factor", ge=0, le=20)
    multiplier_language_barrier: float = P(1.0, unit="factor", ge=0, le=20)
    multiplier_single_65_plus: float = P(1.0, unit="factor", ge=0, le=20)
    multiplier_mobility_limited: float = P(1.0, unit="factor", ge=0, le=20)
    multiplier_age_75_plus: float = P(1.0, unit="factor", ge=0, le=20)
    hours_per_month: float = P(4.0, unit="h per month", ge=0.1, le=200)
    resolve_probability_unserved: float = P(0.05, unit="probability per month", ge=0, le=1)
    resolve_probability_served: float = P(0.15, unit="probability per month", ge=0, le=1)
    escalation_delay_months: int = P(3, unit="months", ge=0, le=120)
    escalation_probability_per_month: float = P(0.005, unit="probability per month", ge=0, le=1)
    mandatory_case_cost_eur_per_month: float = P(800.0, unit="EUR per month", ge=0, le=100_000)
    mandatory_case_duration_months: int = P(12, unit="months", ge=1, le=240)

    @model_validator(mode="after")
    def _ages(self) -> DomainNeed:
        if self.max_age < self.min_age:
            raise ValueError(f"max_age {self.max_age} is below min_age {self.min_age}")
        return self


def _need(**kw: Any) -> Any:
    return Field(default_factory=lambda: DomainNeed(**kw))


class Needs(Strict):
    """Need parameters for the six domains. All defaults are assumptions (no German source gives
    need incidence and escalation probabilities by domain and age), chosen so
    that steady-state prevalence is plausible; mandatory case costs are derived where a
    source exists."""

    elderly_support: DomainNeed = _need(
        min_age=65, onset_probability_per_month=0.006, multiplier_age_75_plus=2.5,
        multiplier_single_65_plus=1.5, multiplier_mobility_limited=2.0, hours_per_month=4.0,
        escalation_probability_per_month=0.006, mandatory_case_cost_eur_per_month=800.0,
        mandatory_case_duration_months=24)
    youth_education: DomainNeed = _need(
        min_age=6, max_age=17, onset_probability_per_month=0.012, multiplier_transfer=2.0,
        multiplier_language_barrier=1.5, hours_per_month=6.0,
        escalation_probability_per_month=0.008,
        # derived: 80 % outpatient help at 69.80 EUR x 21.7 h (Fuerth 2024) + 20 % residential
        # care at 51,000 EUR/yr (Prognos 2011) = 2,062 EUR/month
        mandatory_case_cost_eur_per_month=2062.0, mandatory_case_duration_months=18)
    integration: DomainNeed = _need(
        min_age=6, onset_probability_per_month=0.0, multiplier_language_barrier=1.0,
        hours_per_month=4.0, escalation_probability_per_month=0.002,
        mandatory_case_cost_eur_per_month=500.0, mandatory_case_duration_months=12)
    health_prevention: DomainNeed = _need(
        min_age=18, onset_probability_per_month=0.003, multiplier_transfer=1.5,
        multiplier_age_75_plus=1.5, hours_per_month=2.0,
        escalation_probability_per_month=0.002, mandatory_case_cost_eur_per_month=700.0,
        mandatory_case_duration_months=12)
    social_participation: DomainNeed = _need(
        min_age=18, onset_probability_per_month=0.002, multiplier_single_65_plus=6.0,
        multiplier_mobility_limited=2.0, multiplier_transfer=1.5, hours_per_month=3.0,
        escalation_probability_per_month=0.003, mandatory_case_cost_eur_per_month=600.0,
        mandatory_case_duration_months=12)
    counselling: DomainNeed = _need(
        min_age=18, onset_probability_per_month=0.002, multiplier_transfer=4.0,
        multiplier_language_barrier=1.5, hours_per_month=2.0,
        escalation_probability_per_month=0.01, mandatory_case_cost_eur_per_month=1000.0,
        mandatory_case_duration_months=6)
    integration_onset_language_barrier: float = P(
        0.012, unit="probability per month", ge=0, le=1,
        description="Integration needs arise only among residents with a language barrier; "
                    "this is their monthly onset probability.")
    unmet_below_served_share: float = P(
        0.5, unit="share of the need", ge=0, le=1,
        description="A month counts towards escalation_delay_months while less than this "
                    "share of the need is served (the need is mostly unmet).")

    def __getitem__(self, domain: Domain) -> DomainNeed:
        return getattr(self, domain.value)


# --------------------------------------------------------------------------- access
#: Keys of ``[access]`` that no longer exist, and what replaced them (a scenario that still
#: sets one gets a message naming the new keys).
REMOVED_ACCESS_KEYS: dict[str, str] = {
    "trust_centre": "trust in a place is earned by residents' experience (docs/ODD.md 7.4); "
                    "a centre that opens during the run starts at 'access.trust_new_place' "
                    "and moves with 'access.trust_learning_rate' and "
                    "'access.trust_word_of_mouth_rate'",
    "trust_meeting_point": "trust in a place is earned by residents' experience (docs/ODD.md "
                           "7.4); a meeting point that opens during the run starts at "
                           "'access.trust_new_place' and moves with "
                           "'access.trust_learning_rate' and 'access.trust_word_of_mouth_rate'",
}


class Access(Strict):
    """Take-up of an offer: awareness x trust x distance decay (per month).

    Seeking probability of a resident for a place = aware of the domain (0/1) x the
    resident's trust in the place (x language factor for residents with a language
    barrier) x exp(-walking distance / decay length), over the ``candidate_points``
    places nearest its home. Trust is a state of each resident and place: it starts
    from a prior by kind for the places in use when the model starts (municipal offices,
    carriers' premises) and at ``trust_new_place`` for places opened later, and moves
    with the resident's own experience (``trust_learning_rate``) and its ties'
    (``trust_word_of_mouth_rate``); docs/ODD.md 7.4.
    """

    decay_length_m: float = P(600.0, unit="m", ge=1, le=1e9,
                              source="assumption; distance decay exists in 77 % of 108 studies "
                                     "(Kelly et al. 2016, BMJ Open) but no German parameter")
    decay_length_limited_m: float = P(300.0, unit="m", ge=1, le=1e9,
                                      description="Decay length for residents limited_from_age+ "
                                                  "or mobility-limited.")
    limited_from_age: float = P(75.0, unit="years", ge=0, le=120,
                                description="Residents this old count as limited (shorter decay).")
    candidate_points: int = P(
        16, unit="service points", ge=1, le=10_000,
        description="Places a resident weighs when seeking: the nearest service points of its "
                    "home cell by walking distance (all points when there are fewer). Residents "
                    "hold trust in these places only.")
    trust_municipal_office: float = P(
        0.6, unit="probability", ge=0, le=1,
        description="Prior trust in a municipal office (offices are in use when the model "
                    "starts, before the spin-up).")
    trust_carrier: float = P(
        0.8, unit="probability", ge=0, le=1,
        description="Prior trust in the premises of a carrier of [[carriers]] (in use when "
                    "the model starts, before the spin-up).")
    trust_new_place: float = P(
        0.4, unit="probability", ge=0, le=1,
        description="Trust in a place first used after the model started (a centre, a "
                    "meeting point, a place reopened after its carrier closed), before anyone "
                    "has been there.")
    trust_learning_rate: float = P(
        0.3, unit="share per month", ge=0, le=1,
        description="Share of the gap between a resident's trust in a place and the month's "
                    "outcome there (share of the requested hours served: 1 served in full, 0 "
                    "turned away) that one month's own experience closes.")
    trust_word_of_mouth_rate: float = P(
        0.05, unit="share per tie and month", ge=0, le=1,
        description="The same for a tie's experience at a place the resident can reach "
                    "(word of mouth).")
    language_factor_municipal_office: float = P(0.4, unit="factor", ge=0, le=1)
    language_factor_other: float = P(0.7, unit="factor", ge=0, le=1,
                                     description="Carriers and volunteer offers more often "
                                                 "speak residents' languages.")
    client_continuation_probability: float = P(
        0.9, unit="probability per month", ge=0, le=1,
        description="Chance that a resident served last month comes back this month while "
                    "the need lasts (an ongoing client relationship); newcomers to an offer "
                    "seek with the seeking probability.")
    initial_awareness: float = P(0.7, unit="share", ge=0, le=1,
                                 description="Share of residents aware of offers in a domain at the start.")
    spread_probability_per_tie: float = P(0.03, unit="probability per month", ge=0, le=1,
                                          description="Chance per aware tie and month to learn of offers.")
    forget_probability_per_month: float = P(0.02, unit="probability per month", ge=0, le=1)

    @model_validator(mode="before")
    @classmethod
    def _removed_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, why in REMOVED_ACCESS_KEYS.items():
                if key in data:
                    raise ValueError(f"'{key}' was removed: {why}. Prior trust is set only for "
                                     "the places in use at the start: 'trust_municipal_office', "
                                     "'trust_carrier'")
        return data

    def language_factor(self, kind: PointKind) -> float:
        if kind is PointKind.MUNICIPAL_OFFICE:
            return self.language_factor_municipal_office
        return self.language_factor_other


# --------------------------------------------------------------------------- volunteering
class Volunteering(Strict):
    """Volunteers (Ehrenamtliche): who joins, how many hours, who quits."""

    rate: float = P(0.04, unit="share of residents min_age+", ge=0, le=1, lever=True,
                    description="Share of adult residents volunteering in the quarter's social "
                                "offers at the start.")
    min_age: float = P(14.0, unit="years", ge=0, le=120,
                       description="Youngest age at which residents volunteer (and are activated).")
    resident_run_eur_per_hour: float = P(
        5.0, unit="EUR per h", ge=0.1, le=1000,
        description="EUR a resident-run offer needs per volunteer hour it deploys without paid "
                    "coordination: material, room use and expense allowances.")
    share_low_hours: float = P(0.6, unit="share", ge=0, le=1,
                               source="Freiwilligensurvey 2019 ch. 6: 60.0 % give <= 2 h/week")
    share_high_hours: float = P(0.171, unit="share", ge=0, le=1,
                                source="Freiwilligensurvey 2019 ch. 6: 17.1 % give >= 6 h/week")
    low_hours_per_month: float = P(6.0, unit="h per month", ge=0.1, le=200,
                                   source="derived: 1.5 h/week x 4.3 (Freiwilligensurvey 2019 band <= 2 h)")
    mid_hours_per_month: float = P(17.0, unit="h per month", ge=0.1, le=200,
                                   source="derived: 4 h/week x 4.3 (Freiwilligensurvey 2019 band 3-5 h)")
    high_hours_per_month: float = P(30.0, unit="h per month", ge=0.1, le=200,
                                    source="derived: 7 h/week x 4.3 (Freiwilligensurvey 2019 band >= 6 h)")
    attrition_per_year_coordinated: float = P(
        0.20, unit="per year", ge=0, le=1,
        source="NCVO Time Well Spent 2019: 80 % intend to continue 12 months")
    attrition_per_year_uncoordinated: float = P(
        0.35, unit="per year", ge=0, le=1,
        source="CNCS Pathways to Service 2008: ~35 % stop within a year")
    overload_quit_multiplier: float = P(1.5, unit="factor", ge=1, le=20,
                                        description="Quit hazard multiplier at twice the committed load.")
    activation_probability_per_month: float = P(0.0014, unit="probability per month", ge=0, le=1,
                                                description="Base chance of an adult to start volunteering; set so that the "
                                                            "volunteer share stays about constant "
                                                            "under the reference model.")
    activation_per_volunteer_tie: float = P(0.002, unit="probability per month", ge=0, le=1,
                                            description="Extra chance per tie to an active volunteer.")
    volunteer_hours_per_coordinator_hour: float = P(
        10.0, unit="h per h", ge=0.1, le=1000,
        description="Volunteer hours one paid coordinator hour can coordinate.")
    uncoordinated_productivity: float = P(
        0.3, unit="share of the hours", ge=0, le=1,
        description="Share of their hours volunteers still deliver where paid coordination "
                    "(and resident-run money) does not reach them: self-organised help "
                    "goes on, at a fraction (assumption).")
    rebind_probability_per_month: float = P(
        0.05, unit="probability per month", ge=0, le=1,
        description="Monthly chance of a volunteer whose place closed (a carrier that "
                    "closed; coordination gone with it) to find a new place, the nearest "
                    "volunteer point; until then they deliver nothing (assumption).")
    elderly_support: float = P(0.25, unit="share of volunteers", ge=0, le=1)
    youth_education: float = P(0.25, unit="share of volunteers", ge=0, le=1)
    integration: float = P(0.15, unit="share of volunteers", ge=0, le=1)
    health_prevention: float = P(0.05, unit="share of volunteers", ge=0, le=1)
    social_participation: float = P(0.30, unit="share of volunteers", ge=0, le=1)
    counselling: float = P(0.0, unit="share of volunteers", ge=0, le=1,
                           description="Counselling needs professional staff.")

    def domain_shares(self) -> list[float]:
        """Shares of volunteers by domain, in ``DOMAINS`` order, normalised to sum 1."""
        raw = [getattr(self, d.value) for d in DOMAINS]
        total = sum(raw)
        return [x / total for x in raw] if total > 0 else [1.0 / len(raw)] * len(raw)

    @model_validator(mode="after")
    def _shares(self) -> Volunteering:
        if self.share_low_hours + self.share_high_hours > 1:
            raise ValueError(f"share_low_hours + share_high_hours = {self.share_low_hours:g} + "
                             f"{self.share_high_hours:g}: must not exceed 1 (the rest give "
                             "middle hours)")
        if sum(getattr(self, d.value) for d in DOMAINS) <= 0:
            names = ", ".join(d.value for d in DOMAINS)
            raise ValueError(f"the domain shares of volunteers ({names}) are all 0: at least "
                             "one must be positive")
        return self
