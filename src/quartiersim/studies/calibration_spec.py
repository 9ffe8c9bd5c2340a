"""The targets file of ``quartiersim calibrate``: which sourced figures a scenario is fitted
to, with which summary statistic, and which parameters (with priors) the fit may move.

A targets file (TOML) declares everything the calibration depends on, so that when the
model gains or renames parameters only the file changes::

    model = "municipal"   # the status quo the figures describe (default: the scenario's)
    years = 3             # horizon of the summary statistics, after the spin-up

    [abc]                 # ABC-SMC (pyabc) settings
    population_size = 100
    generations = 8
    max_minutes = 17
    max_simulations = 4000

    [[targets]]
    name = "attrition"
    outcome = "volunteer_attrition"   # the summary statistic: an outcome of the registry
    band = [0.20, 0.35]               # or: value = 0.3 and sd = 0.02
    source = "20-35 % stop within a year (docs/sources.md: ncvo-2019, cncs-2008)"
    fit = true                        # false: held back to check the fit

    [parameters]                      # the parameters fitted, with their priors
    "volunteering.overload_quit_multiplier" = { low = 1.0, high = 2.5 }  # uniform
    "access.decay_length_m" = { low = 300.0, high = 1200.0, prior = "loguniform" }

:func:`load_targets` validates the file against the scenario before any run: every key
known, every outcome a summary outcome, every parameter a numeric scenario key whose prior
range the scenario accepts; each error names the file, the key and what is allowed.
"""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import (
    Field,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from quartiersim.config.fields import Strict
from quartiersim.config.financing import check_model_names
from quartiersim.config.fileio import read_toml
from quartiersim.config.messages import format_validation_error
from quartiersim.config.schema import Scenario
from quartiersim.config.uncertainty import check_values, is_integer_key
from quartiersim.errors import ScenarioError
from quartiersim.sim.outcomes import REGISTRY
from quartiersim.sim.registry import Scope

Number = StrictFloat | StrictInt


class CalibrationError(ScenarioError):
    """A targets file is invalid (the message names the file, the key and what is allowed)."""


class Prior(StrEnum):
    """Prior distributions of a fitted parameter."""

    UNIFORM = "uniform"
    LOGUNIFORM = "loguniform"


class Parameter(Strict):
    """A fitted parameter's prior: ``uniform`` or ``loguniform`` on [low, high]."""

    low: Number
    high: Number
    prior: Prior = Prior.UNIFORM

    @model_validator(mode="after")
    def _order(self) -> Parameter:
        for end in ("low", "high"):
            if not math.isfinite(getattr(self, end)):
                raise ValueError(f"{end} must be a finite number")
        if not self.high > self.low:
            raise ValueError(f"high = {self.high} must be greater than low = {self.low}")
        if self.prior is Prior.LOGUNIFORM and self.low <= 0:
            raise ValueError(f"a loguniform prior needs low > 0 (low = {self.low})")
        return self


class Target(Strict):
    """A sourced figure and the summary statistic (an outcome) compared with it.

    Exactly one of ``value`` (with ``sd``, the scale of a miss) or ``band`` [low, high]
    (anything inside counts as a hit). ``fit = false`` holds the target back: it is not
    fitted but checked against the posterior.
    """

    name: str = Field(min_length=1)
    outcome: str
    value: Number | None = None
    sd: Number | None = Field(None, gt=0)
    band: list[Number] | None = None
    source: str = Field(min_length=1, description="docs/sources.md key(s) and the figure, or "
                                                  "'assumption: ...'")
    fit: bool = Field(True, strict=True)

    @field_validator("outcome")
    @classmethod
    def _known(cls, v: str) -> str:
        if not REGISTRY.is_known(v, Scope.SUMMARY):
            raise ValueError(f"unknown outcome {v!r}; allowed: "
                             f"{', '.join(REGISTRY.allowed(Scope.SUMMARY))}")
        return v

    @model_validator(mode="after")
    def _one_form(self) -> Target:
        if (self.value is None) == (self.band is None):
            raise ValueError("give either value (with sd) or band = [low, high], not both "
                             "or neither")
        if self.value is not None and self.sd is None:
            raise ValueError("a value needs sd (> 0): the size of a miss that counts as one "
                             "standard unit of distance")
        if self.band is not None and (len(self.band) != 2 or not self.band[1] > self.band[0]):
            raise ValueError(f"band = {self.band}: must be [low, high] with high > low")
        return self

    def distance(self, x: float) -> float:
        """The miss of ``x`` in standard units: |x - value| / sd, or the distance outside
        the band / half its width (0 inside); inf for a missing or non-finite ``x``."""
        if x is None or not math.isfinite(x):
            return math.inf
        if self.band is not None:
            lo, hi = self.band
            return max(0.0, lo - x, x - hi) / ((hi - lo) / 2.0)
        return abs(x - float(self.value)) / float(self.sd)

    def describe(self) -> str:
        """``0.2-0.35`` (band) or ``0.3 ± 0.02`` (value)."""
        if self.band is not None:
            return f"{self.band[0]:g}-{self.band[1]:g}"
        return f"{self.value:g} ± {self.sd:g}"


class Abc(Strict):
    """ABC-SMC settings (pyabc)."""

    population_size: int = Field(100, ge=5, le=100_000, strict=True,
                                 description="Particles per generation.")
    generations: int = Field(8, ge=1, le=100, strict=True,
                             description="Most generations (populations).")
    max_minutes: float = Field(17.0, gt=0, le=10_000,
                               description="Stop after this wall-clock time: the generation "
                                           "under way is dropped, the last complete one is "
                                           "the posterior.")
    max_simulations: int = Field(4000, ge=1, le=10_000_000, strict=True,
                                 description="Stop after this many model runs in all.")
    min_acceptance_rate: float = Field(0.02, gt=0, le=1,
                                       description="Stop when a generation would accept fewer "
                                                   "(it is dropped after population size / "
                                                   "this rate runs).")
    minimum_epsilon: float = Field(0.0, ge=0,
                                   description="Stop when the threshold reaches this distance.")
    check_draws: int = Field(20, ge=1, le=10_000, strict=True,
                             description="Posterior draws run again (new seeds) to check the "
                                         "fit of every target, fitted and held back.")


class TargetsFile(Strict):
    """A whole targets file."""

    description: str = ""
    model: str | None = Field(None, description="Cooperation model of the status quo the "
                                                "figures describe (default: the scenario's).")
    financing: str | None = None
    years: int = Field(3, ge=1, le=200, strict=True,
                       description="Horizon of the summary statistics, after the spin-up.")
    seed: int = Field(0, ge=0, strict=True, description="Seed of the calibration.")
    abc: Abc = Field(default_factory=Abc)
    targets: list[Target] = Field(default_factory=list)
    parameters: dict[str, Parameter] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names(self) -> TargetsFile:
        if not self.targets:
            raise ValueError("no [[targets]]: give at least one target (name, outcome, value "
                             "and sd or band, source)")
        if not self.parameters:
            raise ValueError("no [parameters]: give at least one parameter to fit, as "
                             "\"<dotted key>\" = { low = .., high = .. }")
        names = [t.name for t in self.targets]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"target name(s) {', '.join(twice)} given twice; name each target "
                             "once")
        if not any(t.fit for t in self.targets):
            raise ValueError("no target has fit = true: at least one target must be fitted")
        return self

    @property
    def fitted(self) -> list[Target]:
        return [t for t in self.targets if t.fit]

    @property
    def held_back(self) -> list[Target]:
        return [t for t in self.targets if not t.fit]


def default_targets_path(scenario_path: str | Path) -> Path:
    """``calibration/<scenario name>.toml`` beside the scenario's directory (the shipped
    targets of ``scenarios/herten-innenstadt.toml`` are ``calibration/herten-innenstadt.toml``)."""
    p = Path(scenario_path)
    return p.resolve().parent.parent / "calibration" / f"{p.stem}.toml"


def load_targets(path: str | Path, scenario: Scenario) -> TargetsFile:
    """Read and validate a targets file against ``scenario`` (before any run).

    Raises:
        CalibrationError: missing or unreadable file, invalid TOML, unknown keys, an unknown
            outcome, a value and a band (or neither), an unknown parameter or one whose
            prior range the scenario rejects, an unknown cooperation or financing model.
    """
    p = Path(path)
    raw = read_toml(p, "targets file", CalibrationError)
    try:
        spec = TargetsFile.model_validate(raw)
    except ValidationError as exc:
        raise CalibrationError(format_validation_error(exc, str(p), TargetsFile)) from None
    for key, prior in spec.parameters.items():
        ends = [int(round(prior.low)), int(round(prior.high))] \
            if is_integer_key(scenario, key) else [float(prior.low), float(prior.high)]
        try:
            check_values(scenario, f"parameter in {p}", key, ends)
        except ScenarioError as exc:
            raise CalibrationError(f"{p}: 'parameters.{key}': {_after(exc, scenario)}") from None
    try:
        check_model_names(scenario, spec.model, spec.financing)
    except ScenarioError as exc:
        raise CalibrationError(f"{p}: 'model' / 'financing': {exc}") from None
    return spec


def _after(exc: Exception, scenario: Scenario) -> str:
    text = str(exc).removeprefix(f"{scenario.path}: ")
    return text.split(": ", 1)[1] if text.startswith("parameter in ") else text


def parameter_values(spec: TargetsFile, scenario: Scenario, values: dict[str, Any]) -> dict[str, Any]:
    """Drawn parameter values as scenario overrides (whole numbers for integer keys)."""
    return {k: int(round(float(values[k]))) if is_integer_key(scenario, k) else float(values[k])
            for k in spec.parameters}


__all__ = ["Abc", "CalibrationError", "Parameter", "Prior", "Target", "TargetsFile",
           "default_targets_path", "load_targets", "parameter_values"]
