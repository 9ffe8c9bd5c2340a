"""Need episodes (ODD 4 "Observation", 7.2, 7.5): a need of one resident in one domain
from its onset to its end, observed for the episode outcomes (``reach``,
``time_to_service_months``, ``escalation_rate``, ``episodes_resolved_share``).

An episode begins when a need arises (:func:`begin`, needs process) and ends when it is
resolved (:func:`end`, resolution), escalates into a mandatory case (:func:`end`, needs),
or when its resident leaves the quarter (death or move: :func:`leave`, demography; counted
as ``left``, censored). An episode still open at the end of the run is censored
too. Only episodes whose onset lies in the horizon are counted: needs present at the
start, begun during the spin-up, or brought by a newcomer (their onset was not observed)
carry onset ``-1`` (:data:`NOT_COUNTED`) and never enter a counter.

Per (slot, domain) the residents' arrays hold ``need_onset_month`` (the horizon month,
1-based, of the onset) and ``first_service_month`` (the month the need was first served,
``-1`` before); the counters live in ``model.totals.episodes``
(:class:`~quartiersim.sim.state.EpisodeTotals`), by domain (6,) and by group (4,), the
group of the resident when the event is counted.

**Reach** (served within :data:`REACH_WINDOW_MONTHS` months of onset: in the onset month or
the two after it) is decided once per episode, at the first of: the first service
(reached if within the window), the recording of the window's last month without service
(not reached), the end of the episode before that (not reached). An episode whose resident
leaves, or whose window is still open at the end of the run, is left undecided (censored).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from quartiersim.config.domains import DOMAINS, N_DOMAINS, Domain, Group

if TYPE_CHECKING:
    from quartiersim.sim.model import QuarterModel
    from quartiersim.sim.population import ResidentArrays

#: Months from onset within which a first service counts as reach (the onset month and the
#: two after it; assumption: a quarter of a year, the planning horizon of a counselling or
#: support offer's waiting time).
REACH_WINDOW_MONTHS = 3

#: Onset of an episode the outcomes do not count (begun before the horizon or unobserved).
NOT_COUNTED = -1


def group_members(a: ResidentArrays, slots: np.ndarray) -> np.ndarray:
    """Membership of ``slots`` in the reported groups (``Group`` order), bool (4, len)."""
    # np.array of the four rows: np.stack's result, without its Python-level checks
    return np.array([a.age[slots] >= 65, a.transfer[slots], a.migration[slots],
                     a.mobility_limited[slots]])


_DOMAIN_INDEX = np.arange(N_DOMAINS)[:, None]  # (6, 1): compared with entries' domains


def _count(entries: np.ndarray, n: int, a: ResidentArrays,
           weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Counts (or sums of ``weights``) of flat domain-major ``entries`` by domain (6,) and
    by group (4,); with ``weights`` of shape (len(entries), c), one sum per column: by
    domain (6, c), by group (4, c). Every count and weight is a whole number, so the
    sums are exact whatever their order."""
    dom, slot = np.divmod(entries, n)
    w = np.ones(len(entries)) if weights is None else np.asarray(weights, dtype=float)
    if w.ndim == 1:
        by_domain = np.bincount(dom, weights=w, minlength=N_DOMAINS)
    else:  # one product for all columns: (6, entries) 0/1 x (entries, c)
        by_domain = (dom == _DOMAIN_INDEX) @ w
    by_group = group_members(a, slot) @ w if len(entries) else np.zeros((len(Group), *w.shape[1:]))
    return by_domain, by_group


def begin(model: QuarterModel, entries: np.ndarray) -> None:
    """Needs arose at the flat domain-major ``entries`` this month: their episodes begin
    (counted in the horizon, :data:`NOT_COUNTED` in the spin-up)."""
    if not len(entries):
        return
    a = model.residents
    onset, first = a.flat("need_onset_month"), a.flat("first_service_month")
    first[entries] = NOT_COUNTED
    if model.spinning_up:
        onset[entries] = NOT_COUNTED
        return
    onset[entries] = model.steps
    model.totals.episodes.add("begun", *_count(entries, a.n, a))


#: The counters :func:`record_service` decides, in its weight columns' order.
_SERVICE_COUNTERS = ("served", "wait_months", "reached", "not_reached")


def record_service(model: QuarterModel) -> None:
    """After this month's matching: counted episodes served for the first time get their
    first-service month (reach decided if it falls in the window; months to service
    summed); counted episodes at the window's last month without service are not reached."""
    if model.spinning_up:
        return
    a, ep, month = model.residents, model.totals.episodes, model.steps
    onset, first = a.flat("need_onset_month"), a.flat("first_service_month")
    need, served = a.flat("need_hours"), a.flat("served_hours")
    open_counted = ((onset >= 1) & (need > 0) & (first < 0)).nonzero()[0]
    waited = month - onset[open_counted]
    now = served[open_counted] > 0
    first[open_counted[now]] = month
    # each open episode's part in each counter (_SERVICE_COUNTERS), counted in one go
    part = np.zeros((len(open_counted), len(_SERVICE_COUNTERS)))
    part[:, 0] = now  # served for the first time
    part[now, 1] = waited[now]  # months from onset to it
    part[:, 2] = now & (waited < REACH_WINDOW_MONTHS)  # within the window: reached
    part[:, 3] = ~now & (waited == REACH_WINDOW_MONTHS - 1)  # window closes unserved
    ep.add_many(_SERVICE_COUNTERS, *_count(open_counted, a.n, a, part))


def end(model: QuarterModel, entries: np.ndarray, how: str, recorded_this_month: bool) -> None:
    """The episodes at ``entries`` end this month, ``how`` = ``"resolved"`` or
    ``"escalated"``. Counted episodes are added to that counter; one never served whose
    window was not yet closed by a recording is not reached. ``recorded_this_month``: the
    month's service was already recorded (resolution) or not (escalation, before matching)."""
    if model.spinning_up or not len(entries):
        return
    a, ep = model.residents, model.totals.episodes
    onset, first = a.flat("need_onset_month"), a.flat("first_service_month")
    counted = entries[onset[entries] >= 1]
    last_recorded = model.steps if recorded_this_month else model.steps - 1
    open_window = (first[counted] < 0) & (last_recorded - onset[counted] < REACH_WINDOW_MONTHS - 1)
    part = np.ones((len(counted), 2))  # each counts as ``how``, and not reached if open
    part[:, 1] = open_window
    ep.add_many((how, "not_reached"), *_count(counted, a.n, a, part))
    onset[entries] = NOT_COUNTED
    first[entries] = NOT_COUNTED


def leave(model: QuarterModel, slots: np.ndarray) -> None:
    """Residents in ``slots`` leave the quarter (before their rows are cleared): their
    counted open episodes end as ``left`` (censored: neither resolved nor escalated) and
    the slots' episode state is cleared, so a newcomer inherits none of it."""
    a = model.residents
    onset = a.need_onset_month[slots]
    if not model.spinning_up:
        counted = (onset >= 1) & (a.need_hours[slots] > 0)  # (len(slots), 6)
        slot_idx, dom = np.nonzero(counted)
        model.totals.episodes.add("left", *_count(dom * a.n + slots[slot_idx], a.n, a))
    a.need_onset_month[slots] = NOT_COUNTED
    a.first_service_month[slots] = NOT_COUNTED


def open_counted(model: QuarterModel) -> tuple[np.ndarray, np.ndarray]:
    """Counted episodes still open (censored at the end of the run, or at the time of
    asking), by domain (6,) and by group (4,)."""
    a = model.residents
    onset, need = a.flat("need_onset_month"), a.flat("need_hours")
    return _count(np.flatnonzero((onset >= 1) & (need > 0)), a.n, a)


# ------------------------------------------------------------------------- outcomes
# Pure functions of a finished run (quartiersim.sim.outcomes.FinishedRun), declared in the
# outcome registry (quartiersim.sim.outcomes.REGISTRY); undefined shares are None.
def _share(num: float, den: float) -> float | None:
    return float(num / den) if den > 0 else None


def _episode_counts(run: Any, part: str | None = None) -> dict[str, float]:
    """The episode counters (:class:`~quartiersim.sim.state.EpisodeTotals`) overall, of one
    domain or of one group (``part``)."""
    ep = run.model.totals.episodes
    if part is None:
        return {k: float(v.sum()) for k, v in ep.by_domain.items()}
    if part in {d.value for d in DOMAINS}:
        k = DOMAINS.index(Domain(part))
        return {name: float(v[k]) for name, v in ep.by_domain.items()}
    g = list(Group).index(Group(part))
    return {name: float(v[g]) for name, v in ep.by_group.items()}


def reach(run: Any, part: str | None = None) -> float | None:
    c = _episode_counts(run, part)
    return _share(c["reached"], c["reached"] + c["not_reached"])


def time_to_service_months(run: Any, part: str | None = None) -> float | None:
    c = _episode_counts(run, part)
    return _share(c["wait_months"], c["served"])


def escalation_rate(run: Any, part: str | None = None) -> float | None:
    c = _episode_counts(run, part)
    return _share(c["escalated"], c["begun"])


def episodes_resolved_share(run: Any) -> float | None:
    c = _episode_counts(run)
    return _share(c["resolved"], c["begun"])


def need_episodes(run: Any) -> int:
    return int(_episode_counts(run)["begun"])
