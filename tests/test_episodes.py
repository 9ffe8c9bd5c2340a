"""Need episodes (issue 11): reach, time to service, escalation rate, resolved share; which
episodes count, censoring, and no leaks through newcomers, leavers or the spin-up."""

from __future__ import annotations

import json

import numpy as np
import pytest

import quartiersim as qs
from quartiersim.cli import main
from quartiersim.config.domains import DOMAINS, Domain
from quartiersim.sim import episodes, outcomes
from quartiersim.sim.model import QuarterModel
from quartiersim.sim.state import RunTotals

K = DOMAINS.index(Domain.COUNSELLING)


def _model(write_scenario, raw, seed: int = 1) -> QuarterModel:
    return QuarterModel(qs.load_scenario(write_scenario(raw)), rng=seed)


def _counts(m: QuarterModel) -> dict[str, float]:
    return {k: float(v.sum()) for k, v in m.totals.episodes.by_domain.items()}


# --------------------------------------------------------------------------- by hand
def test_reach_and_time_to_service_follow_the_event_log(tiny_raw, write_scenario):
    """Five counselling episodes begin in month 1; an event log decides each one."""
    m = _model(write_scenario, tiny_raw)
    a, n = m.residents, m.residents.n
    m.totals = RunTotals.empty()
    a.need_hours[:] = 0.0
    a.served_hours[:] = 0.0

    def at(*slots: int) -> np.ndarray:
        return np.array([K * n + s for s in slots])

    def month(step: int, served: dict[int, float]) -> None:
        m.steps = step
        a.served_hours[:] = 0.0
        for slot, hours in served.items():
            a.served_hours[slot, K] = hours
        episodes.record_service(m)

    m.steps = 1
    a.need_hours[:5, K] = 10.0
    episodes.begin(m, at(0, 1, 2, 3, 4))
    month(1, {0: 5.0})  # slot 0: served in its onset month -> reached, 0 months
    month(2, {})
    a.need_hours[1, K] = 0.0  # slot 1: resolved unserved after month 2's recording
    episodes.end(m, at(1), "resolved", recorded_this_month=True)
    m.steps = 3  # slot 3: escalates in month 3 before any service: its window was open
    a.need_hours[3, K] = 0.0
    episodes.end(m, at(3), "escalated", recorded_this_month=False)
    month(3, {2: 1.0})  # slot 2: first served in month 3 (2 months) -> reached;
    # slot 4: the window's last month without service -> not reached
    month(4, {})
    month(5, {4: 10.0})  # slot 4 served late: 4 months to service, reach unchanged
    c = _counts(m)
    assert c == {"begun": 5, "served": 3, "wait_months": 0 + 2 + 4, "reached": 2,
                 "not_reached": 3, "resolved": 1, "escalated": 1, "left": 0}
    run = outcomes.FinishedRun(m)
    assert outcomes.reach(run) == pytest.approx(2 / 5)
    assert outcomes.time_to_service_months(run) == pytest.approx(2.0)
    assert outcomes.escalation_rate(run) == pytest.approx(1 / 5)
    assert outcomes.episodes_resolved_share(run) == pytest.approx(1 / 5)
    assert m.totals.episodes.by_domain["reached"][K] == 2  # by domain: all counselling


def test_spin_up_and_initial_needs_are_not_counted(tiny_raw, write_scenario):
    tiny_raw["needs"]["counselling"].update(resolve_probability_unserved=0.5,
                                            resolve_probability_served=0.5)
    tiny_raw["spin_up"] = {"months": 6}
    m = _model(write_scenario, tiny_raw)
    a = m.residents
    assert (a.need_onset_month == -1).all()  # needs of the start and of the spin-up
    assert _counts(m)["begun"] == 0
    m.run_months(1)
    still_open = int((a.need_onset_month[:, K] == 1).sum())
    c = _counts(m)  # month 1's episodes only: open, or resolved within the month
    assert c["begun"] == still_open + c["resolved"] and still_open > 0


# --------------------------------------------------------------------------- whole runs
def test_full_service_reaches_every_episode_at_once(tiny_raw, write_scenario):
    # ample staff, every need served in full in its onset month and resolved then
    tiny_raw["municipality"]["voluntary_budget_eur_per_year"] = 1e7
    tiny_raw["needs"]["counselling"].update(resolve_probability_served=1.0)
    r = qs.run(write_scenario(tiny_raw), years=1, seed=2)
    s = r.summary
    # the start's needs (not counted) resolve in month 1; each resident then begins one
    # episode a month in months 2-12, each resolved in its month: 10 x 11
    assert s["need_episodes"] == 110
    assert (s["reach"], s["time_to_service_months"], s["escalation_rate"],
            s["episodes_resolved_share"]) == (1.0, 0.0, 0.0, 1.0)


def test_without_offers_nobody_is_reached_and_time_to_service_is_undefined(tiny_raw,
                                                                           write_scenario):
    tiny_raw["municipality"]["voluntary_budget_eur_per_year"] = 0.0
    tiny_raw["needs"]["counselling"].update(resolve_probability_unserved=0.4,
                                            escalation_delay_months=2,
                                            escalation_probability_per_month=0.5)
    r = qs.run(write_scenario(tiny_raw), years=2, seed=3)
    s = r.summary
    assert s["need_episodes"] > 50 and s["reach"] == 0.0
    assert s["time_to_service_months"] is None  # undefined: None (JSON null), never NaN
    assert 0 < s["escalation_rate"] < 1 and 0 < s["episodes_resolved_share"] < 1
    assert s["escalation_rate_counselling"] == s["escalation_rate"]


def test_every_counted_episode_ends_once_despite_newcomers_and_leavers(tiny_raw, write_scenario):
    """begun = resolved + escalated + left with the resident + still open, exactly: a
    newcomer taking a leaver's slot inherits no episode, a leaver's episode is not
    counted as resolved or escalated later."""
    tiny_raw["space"]["layout"] = ["M...."]
    tiny_raw["population"].update(residents=300, move_out_rate_per_year=0.6,
                                  mortality_at_80_per_year=0.3, births_per_1000_per_year=20.0)
    tiny_raw["needs"]["counselling"].update(onset_probability_per_month=0.1,
                                            resolve_probability_unserved=0.1,
                                            resolve_probability_served=0.4,
                                            escalation_delay_months=2,
                                            escalation_probability_per_month=0.2)
    tiny_raw["municipality"]["voluntary_budget_eur_per_year"] = 20_000.0
    m = _model(write_scenario, tiny_raw, seed=4)
    m.run_months(36)
    c = _counts(m)
    still_open = float(episodes.open_counted(m)[0].sum())
    assert c["left"] > 20 and c["resolved"] > 0 and c["escalated"] > 0
    assert c["begun"] == c["resolved"] + c["escalated"] + c["left"] + still_open
    a = m.residents
    assert ((a.need_onset_month >= 1) <= (a.need_hours > 0)).all()  # no stale episode state
    assert ((a.first_service_month >= 1) <= (a.need_onset_month >= 1)).all()
    assert not (a.need_onset_month[~a.alive] >= 0).any()
    assert c["reached"] + c["not_reached"] <= c["begun"]


# --------------------------------------------------------------------------- coverage
def test_coverage_is_undefined_without_need(tiny_raw, write_scenario, capsys):
    tiny_raw["needs"]["counselling"].update(onset_probability_per_month=0.0)
    path = write_scenario(tiny_raw)
    s = qs.run(path, years=1).summary
    assert s["coverage"] is None and s["coverage_counselling"] is None  # not 1.0
    assert s["reach"] is None and s["need_episodes"] == 0
    assert main(["run", str(path), "--years", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["coverage"] is None and out["reach"] is None and out["escalation_rate"] is None
