"""Process 2, needs arise and escalate (ODD 7.2): running mandatory cases count down, new
needs arise by age and status, and needs unmet too long escalate into mandatory cases
(Pflichtleistungen) at a unit cost to the municipality."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from quartiersim.config.domains import DOMAINS, N_DOMAINS
from quartiersim.config.schema import Scenario
from quartiersim.sim import episodes
from quartiersim.sim.population import eligibility_groups, onset_by_code

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel


@dataclass(frozen=True)
class NeedTables:
    """The scenario's need parameters as vectors by domain, shape (6,), computed once (the
    scenario is frozen), and the onset table.

    Attributes:
        hours: h/month of a need; escalation_delay: months; escalation_p: probability per
        month; case_duration: months; resolve_unserved / resolve_served: probability per
        month; case_cost: EUR per month of a mandatory case; continuation: a client's
        monthly probability to return (``access.client_continuation_probability``);
        unmet_below: served share below which a month counts as mostly unmet;
        onset_by_code: (6, 4096) monthly onset probability by full status code
        (:func:`~quartiersim.sim.population.onset_by_code`); eligibility: the domains'
        age ranges (:func:`~quartiersim.sim.population.eligibility_groups`);
        age_edges / onset_by_flags_and_age: the same table by the five status flags and
        the age band (:func:`onset_by_flags_and_age`).
    """

    hours: np.ndarray
    escalation_delay: np.ndarray
    escalation_p: np.ndarray
    case_duration: np.ndarray
    resolve_unserved: np.ndarray
    resolve_served: np.ndarray
    case_cost: np.ndarray
    continuation: float
    unmet_below: float
    onset_by_code: np.ndarray
    eligibility: list[tuple[float, float, int]]
    age_edges: np.ndarray
    onset_by_flags_and_age: np.ndarray

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> NeedTables:
        needs = scenario.needs
        by_code, eligibility = onset_by_code(needs), eligibility_groups(needs)

        def vec(attr: str) -> np.ndarray:
            return np.array([getattr(needs[d], attr) for d in DOMAINS], dtype=float)

        return cls(hours=vec("hours_per_month"), escalation_delay=vec("escalation_delay_months"),
                   escalation_p=vec("escalation_probability_per_month"),
                   case_duration=vec("mandatory_case_duration_months"),
                   resolve_unserved=vec("resolve_probability_unserved"),
                   resolve_served=vec("resolve_probability_served"),
                   case_cost=vec("mandatory_case_cost_eur_per_month"),
                   continuation=scenario.access.client_continuation_probability,
                   unmet_below=needs.unmet_below_served_share,
                   onset_by_code=by_code, eligibility=eligibility,
                   **onset_by_flags_and_age(by_code, eligibility))


def onset_by_flags_and_age(by_code: np.ndarray, eligibility: list[tuple[float, float, int]]
                           ) -> dict[str, np.ndarray]:
    """The onset table ``by_code`` (6, 4096) re-indexed so that one look-up per resident
    gives it without comparing the age with each domain's range: the age thresholds
    (65 and 75 for the status flags, each eligibility range's ends) cut the ages into
    bands, ``age_edges`` (sorted; the band is the number of edges at or below the age,
    ``np.searchsorted(age_edges, age, "right")``), and ``onset_by_flags_and_age`` (6, 32 x (bands + 1)) holds column
    ``flags * (bands + 1) + band`` for the five flags of transfer, migration, language
    barrier, single household and limited mobility (bits 0-4) and band ``bands`` for a
    vacant slot (probability 0). A range ``[lo, hi]`` includes ``hi``: its upper edge is
    the next float above ``hi``."""
    edges = sorted({65.0, 75.0} | {float(lo) for lo, _, _ in eligibility}
                   | {float(np.nextafter(float(hi), np.inf)) for _, hi, _ in eligibility})
    edges_arr = np.array(edges)
    bands = len(edges) + 1

    def at_least(band: int, x: float) -> bool:  # every age in the band is >= x
        return band > edges.index(x)

    columns = np.zeros((32, bands + 1), np.intp)  # full code; vacant (last band): 0
    for band in range(bands):
        age_bits = (at_least(band, 75.0) << 5) | sum(
            bits << 6 for lo, hi, bits in eligibility
            if at_least(band, float(lo)) and not at_least(band, float(np.nextafter(float(hi), np.inf))))
        flags = np.arange(32)
        single_65 = 8 if at_least(band, 65.0) else 0  # single household counts from 65
        columns[:, band] = (flags & ~8) | (flags & single_65) | age_bits
    table = by_code[:, columns.reshape(-1)]
    table[:, bands::bands + 1] = 0.0  # vacant slots
    return {"age_edges": edges_arr, "onset_by_flags_and_age": np.ascontiguousarray(table)}


def onset_probabilities(model: QuarterModel, slots: np.ndarray | None = None) -> np.ndarray:
    """Monthly onset probability by slot and domain, shape (n, 6) or (len(slots), 6).

    A resident's probability depends only on six status flags (see
    :func:`~quartiersim.sim.population.status_codes`) and on whether the age is in each
    domain's range, so it is a column of the precomputed onset table
    (:func:`~quartiersim.sim.population.onset_by_code`); zero for vacant slots."""
    a, tables = model.residents, model.need_tables
    sel = slice(None) if slots is None else slots
    bands = len(tables.age_edges) + 1
    # band = number of edges at or below the age (np.searchsorted(..., "right"), faster
    # for these few edges as one comparison of all edges and a sum)
    over = a.age[sel] >= tables.age_edges[:, None]  # (edges, len)
    band = np.add.reduce(over.view(np.uint8), axis=0, dtype=np.uint8)
    band = np.where(a.alive[sel], band, np.uint8(bands))  # a vacant slot: probability 0
    flags = a.transfer[sel].view(np.uint8) | (a.migration[sel].view(np.uint8) << 1)
    flags |= a.language_barrier[sel].view(np.uint8) << 2
    flags |= a.single[sel].view(np.uint8) << 3
    flags |= a.mobility_limited[sel].view(np.uint8) << 4
    column = flags * np.intp(bands + 1) + band  # as status_codes + eligibility bits give it
    return tables.onset_by_flags_and_age.take(column, axis=1).T


def init_needs(model: QuarterModel, slots: np.ndarray) -> None:
    """Give residents in ``slots`` needs at the steady-state prevalence without service,
    onset / (onset + unserved resolve rate); used at the start and for newcomers."""
    onset = onset_probabilities(model, slots)
    prevalence = onset / np.maximum(onset + model.need_tables.resolve_unserved, 1e-12)
    has = model.rng.random(prevalence.shape) < prevalence
    model.residents.need_hours[slots] = np.where(has, model.need_tables.hours, 0.0)


def needs_arise_and_escalate(model: QuarterModel) -> None:
    """New needs arise by age and status; needs unmet too long escalate into mandatory
    cases. Reads the residents' needs, last month's service and unmet months; writes
    needs, cases, ``model.month.new_cases`` and ``model.totals.new_cases``."""
    a, rng, t = model.residents, model.rng, model.need_tables
    need, served, unmet = a.flat("need_hours"), a.flat("served_hours"), a.flat("unmet_months")
    cases = a.flat("case_months_left")
    # running cases: one month less; cost is booked in payments
    in_case = (cases != 0).nonzero()[0]  # few: the case counting on these only
    cases[in_case[cases[in_case] > 0]] -= 1
    # onset, among free (no need, no case) entries with a positive probability: the
    # probability of entries with a need or a case set to 0 (they are few), then one pass
    onset = onset_probabilities(model).T.reshape(-1)  # flat domain-major, our own copy
    onset[(need != 0).nonzero()[0]] = 0.0
    onset[in_case[cases[in_case] != 0]] = 0.0
    cand = (onset > 0).nonzero()[0]
    new = cand[rng.random(len(cand)) < onset[cand]]
    need[new] = t.hours[new // a.n]
    unmet[new] = 0
    episodes.begin(model, new)
    # escalation of needs unmet for the delay, by last month's unmet share; over the
    # open needs only (flat domain-major entries k * n + i)
    idx = (need > 0).nonzero()[0]
    dom = idx // a.n
    at_risk = unmet[idx] >= t.escalation_delay[dom]
    idx, dom = idx[at_risk], dom[at_risk]
    unmet_share = (1.0 - served[idx] / need[idx]).clip(0.0, 1.0)
    esc = rng.random(len(idx)) < t.escalation_p[dom] * unmet_share
    idx, dom = idx[esc], dom[esc]
    episodes.end(model, idx, "escalated", recorded_this_month=False)
    cases[idx] = t.case_duration[dom]
    need[idx] = 0.0
    unmet[idx] = 0
    model.totals.new_cases += np.bincount(dom, minlength=N_DOMAINS)
    model.month.new_cases = int(len(idx))
