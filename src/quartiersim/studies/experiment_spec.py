"""The experiment file's schema: levers, uncertainties (ranges), design, discovery questions (see :mod:`quartiersim.studies.experiment`)."""


from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any

import numpy as np
from pydantic import (
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from quartiersim.config.fields import Strict
from quartiersim.config.uncertainty import Range
from quartiersim.errors import ScenarioError
from quartiersim.sim.outcomes import REGISTRY
from quartiersim.sim.registry import Scope

#: Scopes of the outcomes an experiment may list under ``outcomes``: every run's summary
#: and what the batch runner adds (:func:`quartiersim.sim.outcomes.batch_extras`).
EXPERIMENT_SCOPES: tuple[Scope, ...] = (Scope.SUMMARY, Scope.BATCH)


def known_outcomes() -> list[str]:
    """Every outcome name an experiment may list (run-dependent families as
    ``budget_balance_<year>_eur``), from the outcome registry."""
    return REGISTRY.allowed(EXPERIMENT_SCOPES)


#: An experiment name: it names the directory results/<name>.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")


class ExperimentError(ScenarioError):
    """An experiment file is invalid; the message names the file, key and what is allowed."""


class Sampler(StrEnum):
    """Designs for sampling the uncertainties."""

    FULL_FACTORIAL = "full_factorial"
    LATIN_HYPERCUBE = "latin_hypercube"
    SOBOL = "sobol"
    MORRIS = "morris"
    POSTERIOR = "posterior"  #: draws of the scenario's calibrated posterior ([uncertainty])


class SeedSharing(StrEnum):
    """Which runs share their seed (common random numbers)."""

    LEVERS = "levers"  #: runs that differ only in levers (paired lever comparisons)
    LEVERS_AND_UNCERTAINTIES = "levers_and_uncertainties"  #: ... or in uncertainty values
    NONE = "none"  #: every run key has its own seed


class Levers(Strict):
    """Policy levers: all combinations are run."""

    cooperation: list[str] = Field(default_factory=list, description="Cooperation model names; "
                                   "empty = the scenario's default.")
    financing: list[str] = Field(default_factory=list, description="Financing model names; "
                                 "empty = the scenario's default.")
    scenario: dict[str, list[Any]] = Field(
        default_factory=dict, description="Dotted scenario keys with the list of values to run.")


class Design(Strict):
    """How uncertainties are sampled.

    ``samples`` means: Latin hypercube: design points; Sobol: base samples N (SALib
    Saltelli scheme, N (2k + 2) points with second-order indices, N (k + 2) without; a
    power of 2); Morris: trajectories r ((k + 1) r points); posterior: parameter sets drawn
    by weight from the scenario's calibrated posterior (``[uncertainty] posterior``; the
    posterior's parameters are the uncertainties: leave ``[uncertainties]`` out).
    ``levels``: points per range in a full factorial design; grid levels in a Morris design.
    """

    sampler: Sampler = Sampler.FULL_FACTORIAL
    samples: int = Field(16, ge=1, le=1_000_000, strict=True)
    levels: int = Field(3, ge=2, le=100, strict=True)
    second_order: StrictBool = False

    @model_validator(mode="after")
    def _sobol_power_of_two(self) -> Design:
        if self.sampler is Sampler.SOBOL and self.samples & (self.samples - 1):
            raise ValueError(f"samples = {self.samples}: a Sobol design needs a power of 2")
        return self


class Discovery(Strict):
    """A scenario-discovery question for PRIM: under which uncertainties does the
    ``candidate`` lever setting cost the municipality less than the ``reference`` at no
    lower coverage (paired by scenario, other levers, design point and replication)?"""

    candidate: str = "coproduction"
    reference: str = "municipal"
    cost: str = "municipal_cost_eur"
    benefit: str = "coverage"


class ExperimentSpec(Strict):
    """The schema of an experiment file (see the module docstring)."""

    name: str = Field(description="Names the results directory, results/<name>: letters, "
                                  "digits, '.', '_' and '-' only.")
    description: str = ""
    scenarios: list[str] = Field(min_length=1, description="Scenario files, relative to the "
                                 "experiment file.")
    levers: Levers = Levers()
    uncertainties: dict[str, Range | list[Any]] = Field(default_factory=dict)
    design: Design = Design()
    replications: int = Field(10, ge=1, le=100_000, strict=True,
                              description="Seeds per design point.")
    years: int = Field(10, ge=1, le=200, strict=True, description="Horizon in years.")
    seed: int = Field(0, ge=0, strict=True,
                      description="Experiment seed; run seeds derive from it.")
    common_random_numbers: SeedSharing = Field(
        SeedSharing.LEVERS,
        description="Which runs share their seed: 'levers' (runs that differ only in levers: "
                    "paired comparisons), 'levers_and_uncertainties' (only the replication "
                    "changes the seed: sensitivity designs see the parameter's effect, not a "
                    "new random world), 'none'.")
    outcomes: list[str] = Field(
        default_factory=lambda: ["coverage", "municipal_cost_eur", "mandatory_cases",
                                 "total_cost_eur", "carriers_surviving"],
        description="Outcomes of interest for reports and sensitivity analysis (every "
                    "outcome is stored anyway).")
    discovery: list[Discovery] = Field(
        default_factory=lambda: [Discovery()],
        description="Scenario-discovery questions for the report ([[discovery]] tables).")

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        if not _NAME.fullmatch(v) or v in (".", ".."):
            raise ValueError(f"name = {v!r}: must be a plain name of letters, digits, '.', '_' "
                             "and '-' (at most 100, no '/' or '..'): it names the results "
                             "directory results/<name>, which must stay inside results/")
        return v


def _json_scalar(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_json_scalar)
