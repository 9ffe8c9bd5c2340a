"""Checks of an experiment before its first run: keys, values, duplicates, discovery questions and every design point."""


from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import (
    ValidationError,
)

from quartiersim.config.fileio import read_text
from quartiersim.config.financing import validate_financing
from quartiersim.config.messages import format_validation_error
from quartiersim.config.schema import Scenario
from quartiersim.errors import ScenarioError
from quartiersim.sim.cooperation import COOPERATION_MODELS
from quartiersim.sim.outcomes import REGISTRY
from quartiersim.sim.registry import Scope
from quartiersim.studies.experiment_spec import (
    Discovery,
    ExperimentError,
    _canonical,
    known_outcomes,
)

#: Scopes of the outcomes an experiment may list under ``outcomes``: every run's summary
#: and what the batch runner adds (:func:`quartiersim.sim.outcomes.batch_extras`).
EXPERIMENT_SCOPES: tuple[Scope, ...] = (Scope.SUMMARY, Scope.BATCH)


if TYPE_CHECKING:
    from quartiersim.studies.experiment import Experiment


def _flatten(raw: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": [1, 2]}}`` -> ``{"a.b": [1, 2]}``; a table with a ``low`` or ``high``
    key is a leaf (a range)."""
    if not isinstance(raw, dict):
        return {prefix: raw}
    if prefix and ("low" in raw or "high" in raw):
        return {prefix: raw}
    out: dict[str, Any] = {}
    for k, v in raw.items():
        out.update(_flatten(v, f"{prefix}.{k}" if prefix else k))
    return out


def _check_key(path: str, section: str, key: str, values: list[Any],
               scenarios: list[Scenario]) -> None:
    """Each value of a lever or uncertainty key must be a valid value of that key for
    every scenario (type, bounds, an existing key). A rule between keys
    (``share_low_hours + share_high_hours <= 1``) is left to the check of every design
    point, where the other keys have the values the runs give them."""
    for sc in scenarios:
        for v in values:
            try:
                sc.with_overrides({key: v})
            except ScenarioError as exc:
                if f"'{key}'" not in str(exc):
                    continue  # a rule between keys: decided per design point
                detail = str(exc).replace(f"{sc.path}: ", "")
                raise ExperimentError(
                    f"{path}: '{section}.{key}' = {v!r} is not valid for scenario {sc.path}: "
                    f"{detail}") from None


def _short(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else repr(v)


def _no_duplicates(path: Path, key: str, values: list[Any]) -> None:
    """A list of lever or uncertainty values names each value once (a value twice runs
    the same runs twice under one key: half of them would be lost)."""
    seen: dict[str, int] = {}
    for i, v in enumerate(values):
        c = _canonical(v)
        if c in seen:
            raise ExperimentError(f"{path}: '{key}' lists {_short(v)} twice (items {seen[c]} "
                                  f"and {i}): give each value once")
        seen[c] = i


def check_discovery(questions: list[Discovery], where: str, run_models: list[str] | None,
                    has_uncertainties: bool) -> None:
    """Each ``[[discovery]]`` question must be answerable: candidate and reference are
    two different cooperation models the experiment runs (``run_models``; None: any
    known model), cost and benefit are outcomes, and there is an uncertainty to
    discover over. Otherwise PRIM would silently leave the question out.

    Raises:
        ExperimentError: the message names ``where``, the question and what is allowed.
    """
    for i, q in enumerate(questions):
        key = f"discovery[{i}]"
        for role in ("candidate", "reference"):
            name = getattr(q, role)
            if name not in COOPERATION_MODELS:
                raise ExperimentError(f"{where}: '{key}.{role}' = {name!r}: unknown cooperation "
                                      f"model; allowed: {', '.join(sorted(COOPERATION_MODELS))}")
            if run_models is not None and name not in run_models:
                raise ExperimentError(f"{where}: '{key}.{role}' = {name!r} is not run by the "
                                      f"experiment; 'levers.cooperation' runs: "
                                      f"{', '.join(run_models)}")
        if q.candidate == q.reference:
            raise ExperimentError(f"{where}: '{key}': candidate and reference are both "
                                  f"{q.candidate!r}; compare two different models")
        for role in ("cost", "benefit"):
            name = getattr(q, role)
            if not REGISTRY.is_known(name, EXPERIMENT_SCOPES):
                raise ExperimentError(f"{where}: '{key}.{role}' = {name!r}: unknown outcome; "
                                      f"allowed: {', '.join(known_outcomes())}")
        if not has_uncertainties:
            raise ExperimentError(f"{where}: '{key}': scenario discovery needs at least one "
                                  "uncertainty ([uncertainties]) to find its ranges")


def check_stored_discovery(results_dir: str | Path) -> None:
    """Check the ``[[discovery]]`` questions stored in a results directory's
    ``manifest.json`` (written by an older version, or edited) before a report is made.

    Raises:
        ExperimentError: a question is not a valid ``[[discovery]]`` table or names an
            unknown model or outcome (the message names the manifest and the key).
    """
    manifest = Path(results_dir) / "manifest.json"
    if not manifest.is_file():
        return
    try:
        doc = json.loads(read_text(manifest, "results manifest", ExperimentError))
    except json.JSONDecodeError as exc:
        raise ExperimentError(f"{manifest}: not valid JSON: {exc}") from None
    raw = doc.get("experiment", {}).get("discovery", []) if isinstance(doc, dict) else []
    raw = [raw] if isinstance(raw, dict) else raw
    try:
        questions = [Discovery.model_validate(q) for q in raw]
    except ValidationError as exc:
        raise ExperimentError(format_validation_error(exc, str(manifest), Discovery,
                                                      ("experiment", "discovery"))) from None
    check_discovery(questions, str(manifest), None, True)


#: Invalid design points listed in full in the message (the rest are counted).
MAX_LISTED_POINTS = 10


def _check_design_points(exp: Experiment) -> None:
    """Build the scenario of every scenario x lever setting x design point (validation
    only, no agent) with every cooperation and financing model it is run under, and
    report all invalid points in one message, before the first run."""
    _, points = exp.design()
    settings = exp.lever_settings()
    if points == [{}] and settings == [{}]:
        return  # only the scenarios themselves, validated when they were loaded
    failures: list[str] = []
    total = 0
    for sc, rel in zip(exp.scenarios, exp.scenario_files):
        for lev in settings:
            for dp, unc in enumerate(points):
                total += 1
                overrides = {**lev, **unc}
                try:
                    variant = sc.with_overrides(overrides)
                    for coop in exp.cooperation_models(sc):
                        variant.cooperation_params(coop)
                    for fin in exp.financing_models(sc):
                        validate_financing(variant, fin)
                except ScenarioError as exc:
                    detail = "; ".join(line.replace(f"{sc.path}: ", "")
                                       for line in str(exc).splitlines())
                    values = ", ".join(f"{k} = {_short(v)}" for k, v in overrides.items())
                    failures.append(f"scenario {rel}, design point {dp} ({values}): {detail}")
    if failures:
        listed = [f"  {f}" for f in failures[:MAX_LISTED_POINTS]]
        if len(failures) > MAX_LISTED_POINTS:
            listed.append(f"  ... and {len(failures) - MAX_LISTED_POINTS} more")
        raise ExperimentError(
            f"{exp.path}: {len(failures)} of {total} design points are invalid (checked before "
            "any run):\n" + "\n".join(listed) + "\nnarrow the ranges or lists so that every "
            "combination is a valid scenario")
