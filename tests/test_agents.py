"""Residents' and volunteers' Mesa agents are registered in bulk (issue 15): the same
model state as Mesa's own per-agent registration, and the per-agent path wherever Mesa
would do more than that (signals, debug log)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from mesa.experimental.mesa_signals import ModelSignals

from quartiersim.config.loading import load_scenario
from quartiersim.sim.agents import Resident, Volunteer, bulk_possible
from quartiersim.sim.model import QuarterModel

HERTEN = Path(__file__).resolve().parents[1] / "scenarios" / "herten-innenstadt.toml"
SMALL = {"population.residents": 400}


def _state(m: QuarterModel) -> tuple:
    """Everything Mesa keeps about the agents: ids in order, per type, the counter."""
    return ([(type(a).__name__, a.unique_id, getattr(a, "slot", None)) for a in m.agents],
            {t.__name__: [a.unique_id for a in s] for t, s in m.agents_by_type.items()},
            m.agent_id_counter,
            sorted((s, r.unique_id) for s, r in m.resident_of_slot.items()),
            sorted((s, v.unique_id, v.resident.unique_id) for s, v in m.volunteer_of_slot.items()))


def _run(months: int = 14) -> QuarterModel:
    m = QuarterModel(load_scenario(HERTEN, SMALL), cooperation="coproduction", rng=4, years=2,
                     spin_up_months=6)
    m.run_months(months)
    return m


def test_bulk_registration_gives_the_same_agents_as_mesas_per_agent_path(monkeypatch):
    bulk = _run()
    assert bulk_possible(bulk, Resident) and bulk_possible(bulk, Volunteer)
    monkeypatch.setattr("quartiersim.sim.agents.bulk_possible", lambda model, cls: False)
    one_by_one = _run()
    assert _state(bulk) == _state(one_by_one)
    a = bulk.residents
    assert len(bulk.agents_by_type[Resident]) == int(a.alive.sum())
    assert {v.slot for v in bulk.agents_by_type[Volunteer]} == set(
        np.flatnonzero(a.volunteer_hours > 0).tolist())
    r = next(iter(bulk.agents_by_type[Resident]))
    assert r.model is bulk and r.pos is None and r.age == pytest.approx(a.age[r.slot])
    v = next(iter(bulk.agents_by_type[Volunteer]))
    assert v.resident is bulk.resident_of_slot[v.slot] and v.hours_per_month > 0


def test_agents_added_and_removed_in_bulk_leave_no_trace():
    m = QuarterModel(load_scenario(HERTEN, SMALL), rng=1, years=1, spin_up_months=0)
    before = (len(m.agents), len(m.agents_by_type[Resident]), m.agent_id_counter)
    slots = np.array([10_000, 10_001, 10_002])
    Resident.add_to(m, slots)
    new = [m.resident_of_slot[s] for s in slots.tolist()]
    assert [r.unique_id for r in new] == list(range(before[2], before[2] + 3))
    assert all(r in m.agents and r in m.agents_by_type[Resident] for r in new)
    Resident.remove_from(m, slots)
    assert (len(m.agents), len(m.agents_by_type[Resident])) == before[:2]
    assert not any(r in m.agents for r in new) and 10_000 not in m.resident_of_slot


def test_a_subscriber_to_agent_signals_gets_every_agent(monkeypatch):
    """Someone observes the model's agents: the per-agent path, one signal per agent."""
    m = QuarterModel(load_scenario(HERTEN, SMALL), rng=1, years=1, spin_up_months=0)
    class Listener:  # Mesa keeps a weak reference to a bound method
        seen: list = []

        def on(self, message) -> None:
            self.seen.append(message)

    listener = Listener()
    m.observe("agents", ModelSignals.AGENT_ADDED, listener.on)
    m.observe("agents", ModelSignals.AGENT_REMOVED, listener.on)
    assert not bulk_possible(m, Resident)
    Resident.add_to(m, np.array([10_000, 10_001]))
    Resident.remove_from(m, np.array([10_000]))
    assert len(listener.seen) == 3


def test_mesas_debug_log_gets_every_agent(caplog):
    m = QuarterModel(load_scenario(HERTEN, SMALL), rng=1, years=1, spin_up_months=0)
    with caplog.at_level(logging.DEBUG, logger="MESA.mesa.model"):
        assert not bulk_possible(m, Resident)
        Resident.add_to(m, np.array([10_000, 10_001]))
    assert sum("registered Resident" in r.getMessage() for r in caplog.records) == 2


_LAYOUT = """
import sys
import quartiersim.sim.agents as agents
if sys.argv[1] == "one-by-one":
    agents.bulk_possible = lambda model, cls: False
from quartiersim.config.loading import load_scenario
from quartiersim.sim.model import QuarterModel
m = QuarterModel(load_scenario(sys.argv[2], {"population.residents": 400}), rng=1, years=1,
                 spin_up_months=0)
last = list(m.agents_by_type[agents.Resident])[-1]
print(sys.getsizeof(last.__dict__))
"""


def test_agents_made_in_bulk_take_no_more_memory_than_one_by_one():
    """In a fresh process (CPython lays out a class's instances by the first one made),
    an agent made in bulk has as small an attribute dict as one made by its constructor
    (without care, 272 instead of 104 bytes: +100 MB in a city of 600,000)."""
    import subprocess
    import sys

    sizes = [int(subprocess.run([sys.executable, "-c", _LAYOUT, mode, str(HERTEN)],
                                capture_output=True, text=True, check=True,
                                timeout=300).stdout.split()[-1])
             for mode in ("bulk", "one-by-one")]
    assert sizes[0] == sizes[1], sizes


def test_a_month_makes_no_agents_until_they_are_asked_for():
    """Arrivals and leavings are logged (AgentLog); lengths need no replay; the first
    look at the agents makes them, the same as the per-agent path would have."""
    m = QuarterModel(load_scenario(HERTEN, SMALL), cooperation="coproduction", rng=4, years=2,
                     spin_up_months=6)
    made = len(m._all_agents)
    m.run_months(6)
    log = m.agent_log
    assert log._ops and len(m._all_agents) == made  # nothing made while stepping
    a = m.residents
    assert len(m.resident_of_slot) == int(a.alive.sum())  # without a replay
    assert len(m.volunteer_of_slot) == int((a.volunteer_hours > 0).sum())
    assert log._ops
    assert len(m.agents_by_type[Resident]) == int(a.alive.sum()) and not log._ops
    assert sorted(m.resident_of_slot) == np.flatnonzero(a.alive).tolist()


def test_an_agent_registered_one_by_one_comes_after_the_logged_ones(monkeypatch):
    """A per-agent registration mid-run (e.g. a Carrier) replays the log first: ids and
    the order of ``model.agents`` are those of Mesa's per-agent path."""
    from mesa import Agent

    def run() -> tuple:
        m = QuarterModel(load_scenario(HERTEN, SMALL), rng=1, years=1, spin_up_months=0)
        m.run_months(2)
        Resident.add_to(m, np.array([10_000, 10_001]))
        other = Agent(m)
        Resident.remove_from(m, np.array([10_000]))
        m.run_months(1)
        return other.unique_id, _state(m)

    logged = run()
    monkeypatch.setattr("quartiersim.sim.agents.bulk_possible", lambda model, cls: False)
    assert logged == run()
