"""Experiment files: which scenarios, levers, uncertainties, replications and outcomes.

An experiment (``experiments/*.toml``) is *declared*, in the terms of exploratory
modelling (EMA Workbench): **levers** are policy choices (the cooperation model, the
financing model and any scenario key given as a list of values; all combinations are run),
**uncertainties** are facts about the world nobody controls (any scenario key given as a
range ``{ low = .., high = .. }`` or a list of values) sampled by a **design** (full
factorial, Latin hypercube, Sobol or Morris; the latter three through SALib), and
**replications** are seeds. Every combination scenario x levers x design point x
replication is one run (:class:`RunSpec`).

:func:`load_experiment` validates the whole file (pydantic, unknown keys rejected) and
every lever and uncertainty value against the scenario schema (through
:meth:`Scenario.with_overrides`) before anything runs; every failure is an
:class:`ExperimentError` naming the file, the key and what is allowed.

Example::

    name = "demo"
    scenarios = ["../scenarios/herten-innenstadt.toml"]
    replications = 10
    years = 10
    seed = 1

    [levers]
    cooperation = ["municipal", "coproduction"]
    financing = ["budget"]
    [levers.scenario]
    "municipality.voluntary_budget_eur_per_year" = [300000.0, 450000.0]

    [uncertainties]
    "access.decay_length_m" = { low = 300.0, high = 900.0 }

    [design]
    sampler = "latin_hypercube"
    samples = 20
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import (
    ValidationError,
)

from quartiersim.config.fileio import read_toml
from quartiersim.config.loading import load_scenario
from quartiersim.config.messages import format_validation_error
from quartiersim.config.schema import Scenario
from quartiersim.config.uncertainty import current_value
from quartiersim.errors import ScenarioError
from quartiersim.sim.cooperation import COOPERATION_MODELS
from quartiersim.sim.outcomes import REGISTRY
from quartiersim.studies.experiment_checks import (
    _check_design_points,
    _check_key,
    _flatten,
    _no_duplicates,
    check_discovery,
)
from quartiersim.studies.experiment_spec import (
    EXPERIMENT_SCOPES,
    ExperimentError,
    ExperimentSpec,
    Range,
    Sampler,
    SeedSharing,
    _canonical,
    known_outcomes,
)


@dataclass(frozen=True)
class RunSpec:
    """One run of an experiment: everything a worker needs, and its deterministic key.

    Attributes:
        run_key: hex SHA-256 (first 20 characters) of the canonical JSON of all inputs
            (scenario content, cooperation, financing, overrides, years, seed).
        scenario: the validated base scenario (overrides not yet applied).
        overrides: lever and uncertainty values by dotted scenario key.
        levers: the lever part of ``overrides`` (for the results table).
        uncertainties: the uncertainty part of ``overrides``.
        design_point: index of the uncertainty design point (0 without uncertainties).
        replication: 0 .. replications-1.
        seed: the model seed (< 2**63), from a numpy SeedSequence.
    """

    run_key: str
    scenario: Scenario
    scenario_file: str
    cooperation: str
    financing: str
    levers: dict[str, Any]
    uncertainties: dict[str, Any]
    design_point: int
    replication: int
    seed: int
    years: int

    @property
    def overrides(self) -> dict[str, Any]:
        return {**self.levers, **self.uncertainties}

    def identifiers(self) -> dict[str, Any]:
        """The input columns of this run's row in the results table."""
        return {"run_key": self.run_key, "scenario": self.scenario.meta.name,
                "scenario_file": self.scenario_file, "cooperation": self.cooperation,
                "financing": self.financing, **self.levers, **self.uncertainties,
                "design_point": self.design_point, "replication": self.replication,
                "seed": self.seed, "years": self.years}






def _digest(obj: Any) -> str:
    return hashlib.sha256(_canonical(obj).encode()).hexdigest()


def derive_seed(experiment_seed: int, key: str) -> int:
    """A model seed in [0, 2**63) from the experiment seed and a hex key (SeedSequence)."""
    words = [int(key[i:i + 8], 16) for i in range(0, min(len(key), 32), 8)]
    ss = np.random.SeedSequence(entropy=experiment_seed, spawn_key=words)
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


@dataclass
class Experiment:
    """A validated experiment: the spec, its file and its loaded scenarios.

    Build it with :func:`load_experiment`.
    """

    spec: ExperimentSpec
    path: str
    scenarios: list[Scenario]
    scenario_files: list[str]
    integer_keys: frozenset[str] = frozenset()
    _design: tuple[np.ndarray, list[dict[str, Any]]] | None = field(default=None, repr=False)
    #: the parameter sets of a ``posterior`` design (:func:`_posterior_design`)
    posterior: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    # ------------------------------------------------------------------ levers
    def cooperation_models(self, scenario: Scenario) -> list[str]:
        return self.spec.levers.cooperation or [scenario.default_cooperation]

    def financing_models(self, scenario: Scenario) -> list[str]:
        return self.spec.levers.financing or [scenario.default_financing]

    def lever_settings(self) -> list[dict[str, Any]]:
        """All combinations of the scenario-key levers (a list with one empty dict if none)."""
        keys = list(self.spec.levers.scenario)
        values = [self.spec.levers.scenario[k] for k in keys]
        return [dict(zip(keys, combo)) for combo in itertools.product(*values)]

    # ------------------------------------------------------------------ design
    @property
    def uncertainty_keys(self) -> list[str]:
        return list(self.spec.uncertainties)

    def problem(self) -> dict[str, Any]:
        """The SALib problem: names and bounds (a list uncertainty is sampled as an index
        in [0, len))."""
        bounds = []
        for key, u in self.spec.uncertainties.items():
            if isinstance(u, Range):
                bounds.append([float(u.low), float(u.high)])
            else:
                bounds.append([0.0, float(len(u))])
        return {"num_vars": len(bounds), "names": self.uncertainty_keys, "bounds": bounds}

    def design(self) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """The uncertainty design: the raw sample matrix X (points x uncertainties, in the
        SALib problem's space) and the scenario values of each point.

        Without uncertainties: one empty point. Deterministic for a given experiment seed.
        """
        if self._design is None:
            self._design = self._sample()
        return self._design

    def _sample(self) -> tuple[np.ndarray, list[dict[str, Any]]]:
        spec, keys = self.spec, self.uncertainty_keys
        if not keys:
            return np.zeros((1, 0)), [{}]
        d = spec.design
        if d.sampler is Sampler.POSTERIOR:
            x = self.posterior[keys].to_numpy(dtype=float)
        elif d.sampler is Sampler.FULL_FACTORIAL:
            axes = []
            for u in spec.uncertainties.values():
                if isinstance(u, Range):
                    axes.append(list(np.linspace(u.low, u.high, d.levels)))
                else:
                    axes.append([i + 0.5 for i in range(len(u))])
            x = np.array(list(itertools.product(*axes)), dtype=float)
        else:
            problem = self.problem()
            seed = spec.seed % (2**32)
            if d.sampler is Sampler.LATIN_HYPERCUBE:
                from SALib.sample import latin

                x = latin.sample(problem, d.samples, seed=seed)
            elif d.sampler is Sampler.SOBOL:
                from SALib.sample import sobol

                x = sobol.sample(problem, d.samples, calc_second_order=d.second_order,
                                 seed=seed)
            else:
                from SALib.sample import morris

                x = morris.sample(problem, d.samples, num_levels=d.levels, seed=seed)
        points = [self._values(row) for row in x]
        return x, points

    def _values(self, row: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, x in zip(self.uncertainty_keys, row):
            u = self.spec.uncertainties[key]
            if isinstance(u, Range):
                out[key] = int(round(x)) if key in self.integer_keys else float(x)
            else:
                out[key] = u[min(int(x), len(u) - 1)]
        return out

    # ------------------------------------------------------------------ runs
    @cached_property
    def _scenario_digests(self) -> list[str]:
        return [_digest(sc.model_dump(mode="json")) for sc in self.scenarios]

    def runs(self) -> list[RunSpec]:
        """Every run: scenarios x cooperation x financing x lever settings x design points
        x replications, in that nesting order."""
        _, points = self.design()
        spec = self.spec
        out = []
        for sc, sc_file, sc_digest in zip(self.scenarios, self.scenario_files,
                                          self._scenario_digests):
            for coop, fin, lev in itertools.product(self.cooperation_models(sc),
                                                    self.financing_models(sc),
                                                    self.lever_settings()):
                for dp, unc in enumerate(points):
                    for rep in range(spec.replications):
                        world = {"scenario": sc_digest, "uncertainties": unc,
                                 "replication": rep, "years": spec.years}
                        inputs = {**world, "cooperation": coop, "financing": fin, "levers": lev}
                        sharing = spec.common_random_numbers
                        if sharing is SeedSharing.LEVERS:
                            seed_key = _digest(world)
                        elif sharing is SeedSharing.LEVERS_AND_UNCERTAINTIES:
                            seed_key = _digest({**world, "uncertainties": None})
                        else:
                            seed_key = _digest(inputs)
                        seed = derive_seed(spec.seed, seed_key)
                        key = _digest({**inputs, "seed": seed})[:20]
                        out.append(RunSpec(key, sc, sc_file, coop, fin, dict(lev), dict(unc),
                                           dp, rep, seed, spec.years))
        return out


def load_experiment(path: str | Path, *, replications: int | None = None,
                    samples: int | None = None, years: int | None = None,
                    cooperation: list[str] | None = None,
                    financing: list[str] | None = None) -> Experiment:
    """Read and validate an experiment TOML file and its scenarios.

    Args:
        path: the experiment file, e.g. ``experiments/dewak-comparison.toml``.
        replications, samples, years: override the file's values (reduced runs).
        cooperation, financing: run only these lever values (a subset: the run keys are
            those of the full experiment, so a later full batch resumes from it).

    Returns:
        The validated :class:`Experiment`; every run it declares builds a valid scenario.

    Raises:
        ExperimentError: the file is missing, unreadable or not valid TOML; a key is
            unknown, of the wrong type or out of range; the name is not a plain name;
            a scenario file is invalid or listed twice; a cooperation or financing name
            is unknown for a scenario or listed twice; a lever or uncertainty key is not
            a scenario key, one of its values is invalid, or a range is given for a
            true/false key; any design point (every combination of lever values and
            uncertainty values) is not a valid scenario; a ``[[discovery]]`` question
            cannot be answered; an outcome is unknown. The message names the file, key
            and what is allowed.
    """
    p = Path(path)
    raw = read_toml(p, "experiment file", ExperimentError)
    file_levers = raw.get("levers") if isinstance(raw.get("levers"), dict) else {}
    file_cooperation = file_levers.get("cooperation")
    file_cooperation = list(file_cooperation) if isinstance(file_cooperation, list) else None
    for name, value in (("replications", replications), ("years", years)):
        if value is not None:
            raw[name] = value
    if samples is not None:
        raw.setdefault("design", {})["samples"] = samples
    for name, subset in (("cooperation", cooperation), ("financing", financing)):
        if subset is not None:
            levers = raw.setdefault("levers", {})
            listed = levers.get(name) if isinstance(levers, dict) else None
            if isinstance(listed, list) and listed:
                missing = [n for n in subset if n not in listed]
                if missing:
                    raise ExperimentError(f"{p}: 'levers.{name}' has no {', '.join(missing)}; "
                                          f"listed: {', '.join(map(str, listed))}")
            levers[name] = list(subset)
    if isinstance(raw.get("levers"), dict) and isinstance(raw["levers"].get("scenario"), dict):
        raw["levers"]["scenario"] = _flatten(raw["levers"]["scenario"])
    if isinstance(raw.get("uncertainties"), dict):
        raw["uncertainties"] = _flatten(raw["uncertainties"])
        for key, value in raw["uncertainties"].items():
            if isinstance(value, dict):
                try:
                    Range.model_validate(value)
                except ValidationError as exc:
                    raise ExperimentError(format_validation_error(
                        exc, str(p), Range, ("uncertainties", key))) from None
            elif not isinstance(value, list):
                raise ExperimentError(f"{p}: 'uncertainties.{key}' = {value!r}: give a range "
                                      "{ low = .., high = .. } or a list of values")
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as exc:
        raise ExperimentError(format_validation_error(exc, str(p), ExperimentSpec)) from None

    # scenarios, each once (the same scenario twice would give its runs the same keys)
    scenarios, files = [], []
    seen_files: dict[Path, int] = {}
    seen_content: dict[str, int] = {}
    for i, rel in enumerate(spec.scenarios):
        sp = (p.parent / rel) if not Path(rel).is_absolute() else Path(rel)
        where = sp.resolve()
        if where in seen_files:
            raise ExperimentError(f"{p}: 'scenarios[{i}]' = {rel!r} is the same file as "
                                  f"'scenarios[{seen_files[where]}]': list each scenario once")
        seen_files[where] = i
        try:
            sc = load_scenario(sp)
        except ScenarioError as exc:
            raise ExperimentError(f"{p}: 'scenarios[{i}]' = {rel!r}: {exc}") from None
        digest = _digest(sc.model_dump(mode="json"))
        if digest in seen_content:
            raise ExperimentError(f"{p}: 'scenarios[{i}]' = {rel!r} has the same content as "
                                  f"'scenarios[{seen_content[digest]}]': its runs would be "
                                  "the same runs; list each scenario once")
        seen_content[digest] = i
        scenarios.append(sc)
        files.append(rel)

    # levers: model names per scenario
    from quartiersim.config.financing import financing_spec

    _no_duplicates(p, "levers.cooperation", spec.levers.cooperation)
    _no_duplicates(p, "levers.financing", spec.levers.financing)
    for name in spec.levers.cooperation:
        if name not in COOPERATION_MODELS:
            raise ExperimentError(f"{p}: 'levers.cooperation': unknown cooperation model "
                                  f"{name!r}; allowed: {', '.join(sorted(COOPERATION_MODELS))}")
    for sc in scenarios:
        for name in spec.levers.cooperation:
            try:
                sc.cooperation_params(name)
            except ScenarioError as exc:
                raise ExperimentError(f"{p}: 'levers.cooperation' = {name!r}: {exc}") from None
        for name in spec.levers.financing:
            try:
                financing_spec(sc, name)
            except ScenarioError as exc:
                raise ExperimentError(f"{p}: 'levers.financing' = {name!r}: {exc}") from None

    # scenario-key levers and uncertainties, each value on its own
    for key, values in spec.levers.scenario.items():
        if not values:
            raise ExperimentError(f"{p}: 'levers.scenario.{key}': give at least one value")
        _no_duplicates(p, f"levers.scenario.{key}", values)
        _check_key(str(p), "levers.scenario", key, values, scenarios)
    integer_keys = set()
    for key, u in spec.uncertainties.items():
        if key in spec.levers.scenario:
            raise ExperimentError(f"{p}: '{key}' is both a lever and an uncertainty; "
                                  "a key is one or the other")
        if isinstance(u, Range):
            current = current_value(scenarios[0], key)
            if isinstance(current, bool):
                raise ExperimentError(f"{p}: 'uncertainties.{key}' is true or false, not a "
                                      "number: give a list [true, false], not a range")
            if isinstance(current, int):
                integer_keys.add(key)
                values = [int(round(u.low)), int(round(u.high))]
                d = spec.design
                if d.sampler is Sampler.FULL_FACTORIAL and values[1] - values[0] + 1 < d.levels:
                    raise ExperimentError(
                        f"{p}: 'uncertainties.{key}' holds whole numbers: the range "
                        f"{values[0]}-{values[1]} has {values[1] - values[0] + 1} of them, fewer "
                        f"than design.levels = {d.levels} (levels would repeat); list the "
                        "values or lower design.levels")
            else:
                values = [float(u.low), float(u.high)]
        else:
            if not u:
                raise ExperimentError(f"{p}: 'uncertainties.{key}': give at least one value "
                                      "or a range {{ low = .., high = .. }}")
            _no_duplicates(p, f"uncertainties.{key}", u)
            values = u
        _check_key(str(p), "uncertainties", key, values, scenarios)
    posterior = None
    if spec.design.sampler is Sampler.POSTERIOR:
        spec, posterior, integer_keys = _posterior_design(p, spec, scenarios)
    if spec.design.sampler is not Sampler.FULL_FACTORIAL and not spec.uncertainties:
        raise ExperimentError(f"{p}: 'design.sampler' = {spec.design.sampler.value!r} needs "
                              "at least one uncertainty; use 'full_factorial' without")

    # outcomes
    for name in spec.outcomes:
        if not REGISTRY.is_known(name, EXPERIMENT_SCOPES):
            raise ExperimentError(f"{p}: 'outcomes': unknown outcome {name!r}; allowed: "
                                  f"{', '.join(known_outcomes())}")
    # discovery questions the file asks (the default question is asked only where it fits)
    if "discovery" in raw:
        run_models = file_cooperation or sorted({sc.default_cooperation for sc in scenarios})
        check_discovery(spec.discovery, str(p), run_models, bool(spec.uncertainties))

    exp = Experiment(spec, str(p), scenarios, files, frozenset(integer_keys), posterior=posterior)
    _check_design_points(exp)  # every combination, not only the ends of each range
    return exp


# the public names of the experiment modules, importable from here
def _posterior_design(p: Path, spec: ExperimentSpec, scenarios: list[Scenario]
                      ) -> tuple[ExperimentSpec, Any, set[str]]:
    """A ``posterior`` design: ``design.samples`` parameter sets drawn by weight from the
    one scenario's calibrated posterior (seed: the experiment's); the uncertainties become
    the posterior's parameters, each a range over its drawn values (for the report).

    Raises:
        ExperimentError: uncertainties given as well, not exactly one scenario, or a
            scenario without a (valid) posterior.
    """
    from quartiersim.config.uncertainty import is_integer_key
    from quartiersim.studies.uncertainty import draw_parameters

    where = f"{p}: 'design.sampler' = 'posterior'"
    if spec.uncertainties:
        raise ExperimentError(f"{where}: leave [uncertainties] out (the posterior's "
                              "parameters are the uncertainties)")
    if len(scenarios) != 1:
        raise ExperimentError(f"{where} takes one scenario (each scenario has its own "
                              f"posterior); the file lists {len(scenarios)}")
    sc = scenarios[0]
    try:
        draws = draw_parameters(sc, "posterior", spec.design.samples, seed=spec.seed)
    except ScenarioError as exc:
        raise ExperimentError(f"{where}: {exc}") from None
    ranges = {}
    for key in draws.columns:
        lo, hi = float(draws[key].min()), float(draws[key].max())
        ranges[key] = Range(low=lo, high=hi if hi > lo else lo + max(abs(lo), 1.0) * 1e-9)
    integer = {k for k in draws.columns if is_integer_key(sc, k)}
    return spec.model_copy(update={"uncertainties": ranges}), draws.reset_index(drop=True), integer


from quartiersim.studies.experiment_checks import check_stored_discovery  # noqa: E402
from quartiersim.studies.experiment_spec import (  # noqa: E402
    Design,
    Discovery,
    Levers,
)

__all__ = ["Design", "Discovery", "Experiment", "ExperimentError", "ExperimentSpec", "Levers",
           "Range", "RunSpec", "Sampler", "SeedSharing", "check_discovery",
           "check_stored_discovery", "derive_seed", "known_outcomes", "load_experiment"]
