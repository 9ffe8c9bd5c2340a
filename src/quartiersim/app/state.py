"""What the app's page shows, as plain data: the inputs a model on screen is built from
(:class:`Inputs`), the draft a planner edits, and where a session file's inputs come from.

The page keeps two :class:`Inputs`: the *draft* (the controls) and the *applied* ones (the
model on screen). They differ only until Reset, and the page marks the difference as
pending; everything the page says about the model on screen (header, map, charts, what-if
baseline and variant) comes from the applied inputs and the model built from them, never
from a default (SolaraViz's Reset rebuilt its model from ``AppModel``'s default scenario
file: the bug of issue 13).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from quartiersim.app.model import AppModel
from quartiersim.app.params import DEFAULT_YEARS, LeverControl, applied_levers
from quartiersim.config.files import (
    DEFAULT_SCENARIO,
    SCENARIO_ENV,
    default_scenario,
    default_scenario_dir,
    scenario_files,
)
from quartiersim.config.schema import Scenario
from quartiersim.errors import ScenarioError
from quartiersim.studies.whatif import WhatIfSession, levers

#: Environment variable with the UI language of a new page (``de`` or ``en``).
LANG_ENV = "QUARTIERSIM_LANG"


def initial_scenario() -> Path:
    """The scenario named by ``QUARTIERSIM_SCENARIO``, else Herten (or the first file) in
    ``scenarios/``."""
    named = os.environ.get(SCENARIO_ENV)
    if named:
        return Path(named)
    return default_scenario() or default_scenario_dir() / DEFAULT_SCENARIO


def scenario_choices(current: Path) -> dict[str, Path]:
    """File name -> path of the scenario files next to ``current`` (else in scenarios/)."""
    files = scenario_files(current.parent) or scenario_files(default_scenario_dir())
    return {f.name: f for f in files}


@dataclass(frozen=True)
class Inputs:
    """Everything a model on screen is built from.

    Attributes:
        scenario: the scenario file.
        cooperation, financing: the models.
        seed: the random seed.
        years: the horizon.
        levers: lever key -> value, every lever of the scenario (hidden ones included;
            only those of the chosen models that differ from the scenario count).
    """

    scenario: str
    cooperation: str
    financing: str
    seed: int = 0
    years: int = DEFAULT_YEARS
    levers: dict[str, Any] = field(default_factory=dict, hash=False)

    @classmethod
    def of(cls, scenario_file: str | Path, baseline: Scenario) -> Inputs:
        """The scenario as written: its default models, seed 0, the default horizon."""
        return cls(str(scenario_file), baseline.default_cooperation, baseline.default_financing,
                   levers={lv.key: lv.value for lv in levers(baseline)})

    def changed(self, controls: dict[str, LeverControl]) -> dict[str, Any]:
        """The levers that make the variant (:func:`~quartiersim.app.params.applied_levers`)."""
        return applied_levers(self.levers, controls, self.cooperation, self.financing)

    def key(self, controls: dict[str, LeverControl]) -> tuple[Any, ...]:
        """What identifies the model these inputs build (hidden and unchanged levers
        left out): equal keys, equal models."""
        return (self.scenario, self.cooperation, self.financing, self.seed, self.years,
                tuple(sorted(self.changed(controls).items())))

    def with_lever(self, key: str, value: Any) -> Inputs:
        return replace(self, levers={**self.levers, key: value})

    def build(self, controls: dict[str, LeverControl]) -> AppModel:
        """The model on screen for these inputs (falls back to the baseline with a
        message on an invalid lever: :class:`~quartiersim.app.model.AppModel`)."""
        return AppModel(scenario_file=self.scenario, cooperation=self.cooperation,
                        financing=self.financing, seed=self.seed, years=self.years,
                        **self.changed(controls))


def inputs_of_session(session: WhatIfSession, baseline: Scenario) -> Inputs:
    """The inputs whose model is a session's variant: its models, horizon and the value of
    every lever in the variant scenario (a session stores only the changed keys, some as
    whole financing tables)."""
    variant = baseline.with_overrides(session.levers) if session.levers else baseline
    values = {lv.key: lv.value for lv in levers(variant)}
    return Inputs(str(session.scenario), session.model or baseline.default_cooperation,
                  session.financing or baseline.default_financing, 0, session.years,
                  levers={**{lv.key: lv.value for lv in levers(baseline)}, **values})


def resolve_session_scenario(ref: str, scenario_dir: Path, choices: dict[str, Path],
                             unknown: Callable[[str], str]) -> str:
    """The scenario a session file names, if this app offers it: the file
    ``scenario_dir/ref``, else the offered file of the same name; never another path.

    Raises:
        ScenarioError: the session names a scenario the app does not offer (the message is
            ``unknown(ref)``).
    """
    offered = {p.resolve(): p for p in choices.values()}
    candidate = Path(ref) if Path(ref).is_absolute() else scenario_dir / ref
    try:
        resolved = candidate.resolve()
    except OSError:
        resolved = None
    if resolved in offered:
        return str(offered[resolved])
    by_name = choices.get(Path(ref).name)
    if by_name is not None:
        return str(by_name)
    raise ScenarioError(unknown(ref))
