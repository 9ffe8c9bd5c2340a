"""The outcome registry's vocabulary: what an outcome declares, and how to select outcomes.

An :class:`Outcome` is declared once, in :data:`quartiersim.sim.outcomes.REGISTRY`: its
name (API: the ``--json`` key, the batch column, the experiment's ``outcomes`` entry), a
plain-English label (and room for a German one), its unit and :class:`Kind` (how it is
formatted), its :class:`OutcomeGroup`, how it is computed (a function of the finished run,
or by a study: :class:`Scope`), the monthly series that carries the same quantity, and the
:class:`View` s (tables) that show it. The summary, the CLI tables, the report, the what-if
panel and the experiment validation all read the registry; adding an outcome is one entry.

A *pattern* entry declares a family: its name holds ``{part}`` (``coverage_{part}``,
``cost_{part}_eur``, ``budget_balance_{part}_eur``) and its ``parts`` are either fixed
(:class:`Part` s, e.g. one per domain) or found in the finished run (a function of it, e.g.
the closed calendar years); :meth:`Registry.select` expands it into concrete outcomes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import partial
from typing import Any


class Kind(StrEnum):
    """What kind of number an outcome is; decides how it is printed."""

    SHARE = "share"  # in [0, 1] (or a share per year): 3 decimals
    COUNT = "count"  # persons, cases, carriers, years counted: whole numbers (means: 1 decimal)
    RATE = "rate"  # a count per population and time, e.g. cases per 1,000 residents and year
    EUR = "eur"  # euros, whole
    HOURS = "hours"  # need-hours or service hours, whole
    YEARS = "years"  # a duration in years, whole
    MONTHS = "months"  # a duration in months, 1 decimal


class OutcomeGroup(StrEnum):
    """Topic of an outcome; tables show groups in this order (``--all``: one table each)."""

    EPISODES = "episodes"
    COVERAGE = "coverage"
    CASES = "cases"
    COST = "cost"
    SUSTAINABILITY = "sustainability"
    VOLUNTEERS = "volunteers"
    QUARTER = "quarter"
    BUDGET = "budget"
    STRESS = "stress"

    @property
    def title(self) -> str:
        """The group's heading in tables."""
        return _GROUP_TITLES[self]


_GROUP_TITLES = {
    OutcomeGroup.EPISODES: "Need episodes: reach, time to service, escalation",
    OutcomeGroup.COVERAGE: "Coverage",
    OutcomeGroup.CASES: "Mandatory cases",
    OutcomeGroup.COST: "Cost by payer",
    OutcomeGroup.SUSTAINABILITY: "Sustainability",
    OutcomeGroup.VOLUNTEERS: "Volunteers",
    OutcomeGroup.QUARTER: "Carriers and residents",
    OutcomeGroup.BUDGET: "Municipal budget",
    OutcomeGroup.STRESS: "Fiscal stress test",
}


class Scope(StrEnum):
    """Where an outcome's value comes from."""

    SUMMARY = "summary"  # every run's summary (:func:`quartiersim.sim.outcomes.summarize`)
    BATCH = "batch"  # added to batch runs only (:func:`quartiersim.sim.outcomes.batch_extras`)
    STRESS = "stress"  # the fiscal stress test, from a shocked and an unshocked run
    COMPARISON = "comparison"  # compare / whatif: against the reference model, paired by seed
    SERIES = "series"  # a monthly series only (the model's DataCollector), no end-of-run value


class View(StrEnum):
    """The tables an outcome is shown in (an outcome is in every view it lists)."""

    TABLE = "table"  # ``quartiersim run``: the readable summary
    STRESS = "stress"  # ``quartiersim stress``: unshocked vs shocked
    WHATIF = "whatif"  # what-if rows (CLI and app): baseline, variant, change
    REPORT = "report"  # the report's comparison table
    COVERAGE_MAP = "coverage_map"  # the report's heat map by group and walking distance
    HEADLINE = "headline"  # the first screen of compare / whatif / stress: a few columns


class Better(StrEnum):
    """Which direction is better for a planner (marks the best value in a column)."""

    HIGHER = "higher"
    LOWER = "lower"


@dataclass(frozen=True)
class Part:
    """One member of a pattern family: ``key`` fills the name, ``label`` the label."""

    key: str
    label: str
    label_de: str | None = None


PATTERN = "{part}"


@dataclass(frozen=True)
class Outcome:
    """One outcome, or (``name`` holding ``{part}``) a family of them.

    Attributes:
        name: API name, e.g. ``coverage`` or ``cost_{part}_eur``.
        label: plain English, complete on its own, e.g. ``Demand coverage (served / needed
            hours)``; ``{part}`` is replaced by the part's label.
        kind: how the number is printed (:class:`Kind`).
        unit: the unit in words, e.g. ``EUR over the run``, ``share of need-hours``.
        group: topic (:class:`OutcomeGroup`); tables show groups in enum order.
        compute: for ``Scope.SUMMARY`` and ``Scope.BATCH``: a pure function of the finished
            run (:class:`quartiersim.sim.outcomes.FinishedRun`), ``compute(run)`` or, for a
            pattern, ``compute(run, part_key)``; None where a study computes the value.
        scope: where the value comes from (:class:`Scope`).
        series: name of the monthly DataCollector variable carrying the same quantity
            (per month; a count of the month, or the state at the month's end), or None.
        views: the tables that show it (:class:`View`).
        parent: the outcome it details; in a table that shows both, its row is indented
            under the parent and labelled ``row_label``.
        row_label: the label under its parent (default: ``label``).
        short: column header in narrow tables (the headline; default: ``label``).
        better: which direction is better, or None where neither is.
        label_de: German label (for the app's translation; None: not translated yet).
        description: the definition, as in the docs.
        parts: a pattern's members: fixed :class:`Part` s, or a function of the finished
            run returning them (members known only after a run, e.g. calendar years).
        part_regex: what a part key of a run-dependent pattern looks like (validation of
            names such as ``budget_balance_2023_eur`` before any run).
        part_name: what a part is, in messages (``budget_balance_<year>_eur``).
    """

    name: str
    label: str
    kind: Kind
    unit: str
    group: OutcomeGroup
    compute: Callable[..., Any] | None = None
    scope: Scope = Scope.SUMMARY
    series: str | None = None
    views: frozenset[View] = field(default_factory=frozenset)
    parent: str | None = None
    row_label: str | None = None
    short: str | None = None
    better: Better | None = None
    label_de: str | None = None
    description: str = ""
    parts: tuple[Part, ...] | Callable[[Any], tuple[Part, ...]] | None = None
    part_regex: str = r"[a-z0-9_]+"
    part_name: str = "part"

    @property
    def is_pattern(self) -> bool:
        return PATTERN in self.name

    @property
    def header(self) -> str:
        """The column header of narrow tables: the short label (or the label)."""
        return self.short or self.label

    def expand(self, run: Any = None, among: Iterable[str] | None = None) -> list[Outcome]:
        """The concrete outcomes of a pattern (``[self]`` for a concrete outcome).

        A run-dependent pattern needs the finished ``run``, or names to find its members
        ``among`` (e.g. the columns of a table); without either it has no members."""
        if not self.is_pattern:
            return [self]
        if callable(self.parts):
            if run is None:
                found = (self.match(n) for n in among or ())
                return [o for o in found if o is not None]
            parts = self.parts(run)
        else:
            parts = self.parts or ()
        return [self._member(p) for p in parts]

    def match(self, name: str) -> Outcome | None:
        """The member of this pattern called ``name`` (None if it is not one)."""
        if not self.is_pattern:
            return self if name == self.name else None
        if not callable(self.parts):
            return next((o for o in self.expand() if o.name == name), None)
        head, tail = self.name.split(PATTERN)
        m = re.fullmatch(re.escape(head) + f"({self.part_regex})" + re.escape(tail), name)
        return self._member(Part(m.group(1), m.group(1))) if m else None

    def _member(self, part: Part) -> Outcome:
        def fill(text: str | None, value: str | None) -> str | None:
            return None if text is None or value is None else text.replace(PATTERN, value)

        return replace(
            self, name=self.name.replace(PATTERN, part.key), label=fill(self.label, part.label),
            row_label=fill(self.row_label, part.label), short=fill(self.short, part.label),
            label_de=fill(self.label_de, part.label_de or part.label),
            series=fill(self.series, part.key),
            compute=None if self.compute is None else partial(self.compute, part=part.key),
            parts=None)


def _scopes(scope: Scope | Iterable[Scope] | None) -> set[Scope] | None:
    return None if scope is None else ({scope} if isinstance(scope, Scope) else set(scope))


class Registry:
    """The declared outcomes, in declaration order (the summary's key order).

    ``entries`` is a plain tuple: tests add an entry with
    ``monkeypatch.setattr(REGISTRY, "entries", (*REGISTRY.entries, new))``, and every
    reader sees it (they read ``entries`` when called, never at import).
    """

    def __init__(self, entries: Iterable[Outcome]) -> None:
        self.entries: tuple[Outcome, ...] = tuple(entries)
        names = [o.name for e in self.entries for o in (e.expand() if e.is_pattern else [e])]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"outcome declared twice: {', '.join(twice)}")

    def select(self, *, scope: Scope | Iterable[Scope] | None = None, view: View | None = None,
               group: OutcomeGroup | None = None, run: Any = None,
               among: Iterable[str] | None = None, display: bool = True) -> list[Outcome]:
        """Concrete outcomes (patterns expanded) filtered by scope, view and group.

        Args:
            scope: one scope or several (None: all).
            view: only outcomes shown in this view.
            group: only this group.
            run: the finished run, to expand run-dependent patterns (else they are left out).
            among: names in which to find the members of run-dependent patterns when there
                is no run (e.g. a table's columns).
            display: table order (groups in :class:`OutcomeGroup` order, declaration order
                within a group); False: declaration order (the summary's).
        """
        scopes = _scopes(scope)
        chosen = [e for e in self.entries
                  if (scopes is None or e.scope in scopes) and (view is None or view in e.views)
                  and (group is None or e.group is group)]
        if display:
            order = list(OutcomeGroup)
            chosen.sort(key=lambda e: order.index(e.group))
        among = None if among is None else list(among)
        return [o for e in chosen for o in e.expand(run, among)]

    def names(self, scope: Scope | Iterable[Scope] | None = None, **kwargs: Any) -> list[str]:
        """Names of :meth:`select` (declaration order)."""
        return [o.name for o in self.select(scope=scope, display=False, **kwargs)]

    def lookup(self, name: str) -> Outcome | None:
        """The outcome called ``name`` (a pattern's member too), or None."""
        for e in self.entries:
            found = e.match(name)
            if found is not None:
                return found
        return None

    def is_known(self, name: str, scope: Scope | Iterable[Scope] | None = None) -> bool:
        """Whether ``name`` is a declared outcome (of the given scopes)."""
        found = self.lookup(name)
        if found is None or scope is None:
            return found is not None
        return found.scope in _scopes(scope)

    def allowed(self, scope: Scope | Iterable[Scope] | None = None) -> list[str]:
        """Names for an error message: concrete names, run-dependent patterns as
        ``budget_balance_<part>_eur``."""
        scopes = _scopes(scope)
        return [*self.names(scope),
                *(e.name.replace(PATTERN, f"<{e.part_name}>") for e in self.entries
                  if e.is_pattern and callable(e.parts) and (scopes is None or e.scope in scopes))]


def tree_rows(outcomes: list[Outcome]) -> list[tuple[Outcome, str]]:
    """``(outcome, row label)`` for a table of outcomes as rows: an outcome whose parent is
    in the table is indented by two spaces and labelled ``row_label``."""
    shown = {o.name for o in outcomes}
    return [(o, f"  {o.row_label or o.label}" if o.parent in shown else o.label)
            for o in outcomes]
