"""Grant co-financing (ODD 7.11 ``grant_programme``, 7.12), part of each year's planning:
before the instruments state the year's funds, the municipality decides whether it can
pay the co-financing share of the financing model's grant programme, and how.

Each programme year until approval the municipality applies if it can afford the share
(any :class:`~quartiersim.config.domains.CofinancingRoute` but ``UNAFFORDABLE``); the
applications succeed with :meth:`GrantProgramme.approval_probability` (one draw from
``model.rng``). Once approved, each year up to ``end_year`` the state / federal level pays
``rate_t x project``, ``rate_t = funding_rate x (1 - degression)^(years since approval)``,
and the municipality the rest: in addition to its budget if it has room (``ADDITIONAL``),
else out of the quarter's voluntary budget (``OFFSET``: the municipal budget instrument
brings that much less); a year whose share it cannot afford at all is not funded.
With an overhead compensation in the financing model, the state / federal level then
pays ``share x`` the grant it pays that year, and the municipal budget for the quarter
is relieved by as much (``budget_relief_eur``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from quartiersim.config.domains import CofinancingRoute, Payer
from quartiersim.sim.financing import GrantProgramme, OverheadCompensation

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel


def grant_cofinancing(model: QuarterModel, year_index: int, calendar_year: int) -> None:
    """Decide the year's grant, its co-financing and the overhead compensation. Writes
    the grant programme's ``award`` (EUR by payer, what it brings this year),
    ``approved_year``, ``applied_years``, ``funded_years``, ``missed_years`` and
    ``state_eur_by_year``, the
    overhead compensation's ``award``, and ``model.financing.offset_from_budget_eur`` and
    ``budget_relief_eur`` (0 unless the share is offset, resp. compensated); draws at
    most one number (the approval)."""
    financing = model.financing
    financing.offset_from_budget_eur = 0.0
    financing.budget_relief_eur = 0.0
    grant = financing.instrument(GrantProgramme)
    if grant is None:
        return
    _decide_grant(model, grant, year_index, calendar_year)
    compensation = financing.instrument(OverheadCompensation)
    if compensation is not None:
        paid = compensation.params.share * grant.state_paid_eur(calendar_year)
        compensation.award = {Payer.STATE_FEDERAL: paid} if paid > 0 else {}
        financing.budget_relief_eur = max(paid, 0.0)


def _decide_grant(model: QuarterModel, grant: GrantProgramme, year_index: int,
                  calendar_year: int) -> None:
    financing = model.financing
    grant.award = {}
    p = grant.params
    if not (p.start_year <= calendar_year <= p.end_year):
        return
    mun = model.municipality
    if grant.approved_year is None:
        own = (1.0 - p.funding_rate) * p.project_eur_per_year
        if mun.cofinancing_route(own, year_index, calendar_year) is CofinancingRoute.UNAFFORDABLE:
            grant.missed_years.append(calendar_year)
            return
        grant.applied_years.append(calendar_year)
        if model.rng.random() >= grant.approval_probability():
            return
        grant.approved_year = calendar_year
    rate = p.funding_rate * (1.0 - p.degression_per_year) ** (calendar_year - grant.approved_year)
    state, own = rate * p.project_eur_per_year, (1.0 - rate) * p.project_eur_per_year
    route = mun.cofinancing_route(own, year_index, calendar_year)
    if route is CofinancingRoute.UNAFFORDABLE:
        grant.missed_years.append(calendar_year)
        return
    if route is CofinancingRoute.OFFSET:
        financing.offset_from_budget_eur += own
    grant.funded_years.append(calendar_year)
    grant.state_eur_by_year[calendar_year] = state
    grant.award = {Payer.STATE_FEDERAL: state, Payer.MUNICIPALITY: own}
