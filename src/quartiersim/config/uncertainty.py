"""What is uncertain about a scenario (``[uncertainty]``): the ranges of parameters nobody
measured, and a posterior of calibrated parameter sets written by ``quartiersim
calibrate``. ``compare --uncertainty ranges|posterior``, ``batch`` and the app's what-if
draw parameter sets from it (:mod:`quartiersim.studies.uncertainty`).

In a scenario file::

    [uncertainty]
    posterior = "../calibration/herten-innenstadt/posterior.parquet"  # relative to this file

    [uncertainty.ranges]
    "volunteering.volunteer_hours_per_coordinator_hour" = { low = 5.0, high = 20.0 }  # assumption

A range's key is any numeric scenario key (``--set`` syntax); both ends must be valid
values of it. The posterior is a Parquet file with one column per parameter (a scenario
key, valid at its smallest and largest value) and an optional ``weight`` column (the
importance weights of ABC-SMC, non-negative, not all zero). The ranges are checked when
the scenario is loaded, the posterior when a command draws from it (before any run); a
drawn parameter set is applied with :func:`fixed`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from pydantic import Field, StrictFloat, StrictInt, model_validator

from quartiersim.config.fields import Strict
from quartiersim.errors import ScenarioError

if TYPE_CHECKING:
    import pandas as pd

    from quartiersim.config.schema import Scenario

#: The posterior column holding each parameter set's importance weight.
WEIGHT_COLUMN = "weight"


class Range(Strict):
    """A range [low, high] of one parameter, low < high, both finite numbers: draws are
    uniform in it (whole numbers where the scenario key holds an integer, e.g.
    ``escalation_delay_months``). The experiment file's ``[uncertainties]`` use it as it
    is (:mod:`quartiersim.studies.experiment_spec`), a scenario's ``[uncertainty.ranges]``
    with a source (:class:`UncertainRange`).

    Raises (``pydantic.ValidationError``): an end that is no number (a string, a bool),
    nan or inf, or ``high <= low``."""

    low: StrictFloat | StrictInt
    high: StrictFloat | StrictInt

    @model_validator(mode="before")
    @classmethod
    def _numbers(cls, data: Any) -> Any:
        if isinstance(data, dict):  # one message, not one per member of float | int
            for end in ("low", "high"):
                v = data.get(end)
                if end in data and (isinstance(v, bool) or not isinstance(v, (int, float))):
                    raise ValueError(f"{end} = {v!r}: must be a number (without quotes)")
                if isinstance(v, float) and not math.isfinite(v):
                    raise ValueError(f"{end} = {v!r}: must be a finite number (nan and inf are "
                                     "not allowed)")
        return data

    @model_validator(mode="after")
    def _order(self) -> Self:
        if not self.high > self.low:
            raise ValueError(f"high = {self.high} must be greater than low = {self.low}")
        return self


class UncertainRange(Range):
    """The range of one uncertain parameter of a scenario (:class:`Range`) with the
    source of its ends."""

    source: str = Field("assumption", description="Where the range comes from: a "
                                                  "docs/sources.md key or 'assumption'.")


class Uncertainty(Strict):
    """``[uncertainty]``: the scenario's uncertain parameters (``ranges``, by dotted key)
    and a calibrated ``posterior`` (a Parquet file, relative to the scenario file)."""

    posterior: str | None = Field(None, description="Parquet file of calibrated parameter "
                                                    "sets (quartiersim calibrate), relative "
                                                    "to the scenario file.")
    ranges: dict[str, UncertainRange] = Field(default_factory=dict)

    @property
    def declared(self) -> bool:
        return self.posterior is not None or bool(self.ranges)


# --------------------------------------------------------------------------- checks
def _certain_raw(scenario: Scenario) -> dict[str, Any]:
    raw = scenario.model_dump(mode="json")
    raw.pop("uncertainty", None)
    return raw


def fixed(scenario: Scenario, values: dict[str, Any]) -> Scenario:
    """The scenario with the parameter ``values`` (dotted keys) set and its
    ``[uncertainty]`` left out: one drawn world, certain.

    Raises:
        ScenarioError: a value the scenario rejects (the message names key and value).
    """
    from quartiersim.config.overrides import apply_overrides
    from quartiersim.config.schema import build_scenario

    raw = apply_overrides(_certain_raw(scenario), values, scenario.path)
    return build_scenario(raw, scenario.path)


def current_value(scenario: Scenario, key: str) -> Any:
    """The value of a dotted key (the schema default where the file is silent; a
    cooperation model's parameter from its validated section), or None."""
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "cooperation":
        try:
            params = scenario.cooperation_params(parts[1], runnable=False)
        except ScenarioError:
            return None
        return getattr(params, parts[2], None)
    cur: Any = scenario
    for part in parts:
        if isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        elif isinstance(cur, dict):
            cur = cur.get(part)
        elif cur is not None and part in getattr(type(cur), "model_fields", {}):
            cur = getattr(cur, part)
        else:
            return None
    return cur


def is_integer_key(scenario: Scenario, key: str) -> bool:
    """Whether the scenario key holds a whole number (draws are rounded)."""
    v = current_value(scenario, key)
    return isinstance(v, int) and not isinstance(v, bool)


def check_values(scenario: Scenario, where: str, key: str, values: list[Any]) -> None:
    """Each of ``values`` must be a valid value of ``key`` (an existing numeric key, in
    bounds); ``where`` names the place in messages.

    Raises:
        ScenarioError: naming the file, ``where``, the key and the value.
    """
    v = current_value(scenario, key)
    if isinstance(v, bool) or (v is not None and not isinstance(v, (int, float))):
        raise ScenarioError(f"{scenario.path}: {where}: '{key}' is not a number "
                            f"({v!r}); an uncertain parameter must be numeric")
    for value in values:
        try:
            fixed(scenario, {key: value})
        except ScenarioError as exc:
            why = str(exc).removeprefix(f"{scenario.path}: ")
            raise ScenarioError(f"{scenario.path}: {where}: '{key}' = {value!r} is not a "
                                f"valid value of the scenario: {why}") from None


def posterior_path(scenario: Scenario) -> Path | None:
    """The posterior file the scenario names (relative to the scenario file), or None."""
    ref = scenario.uncertainty.posterior
    if ref is None:
        return None
    p = Path(ref)
    return p if p.is_absolute() else Path(scenario.path).parent / p


def read_posterior(scenario: Scenario) -> pd.DataFrame:
    """The scenario's posterior: one row per parameter set, one column per parameter
    (dotted key) and ``weight`` (normalised to sum 1; equal weights when the file has
    none).

    Raises:
        ScenarioError: no posterior declared, the file missing or not Parquet, no parameter
            column, a column that is not a numeric scenario key or has values the scenario
            rejects, missing or non-finite values, negative or all-zero weights.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = posterior_path(scenario)
    where = "'uncertainty.posterior'"
    if path is None:
        raise ScenarioError(f"{scenario.path}: no posterior: set {where} to the posterior.parquet "
                            "that 'quartiersim calibrate' wrote")
    if not path.is_file():
        raise ScenarioError(f"{scenario.path}: {where} = {scenario.uncertainty.posterior!r}: no "
                            f"such file ({path}); run 'quartiersim calibrate' first or fix the "
                            "path (relative to the scenario file)")
    try:
        df = pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise ScenarioError(f"{scenario.path}: {where} = {scenario.uncertainty.posterior!r}: not a "
                            f"readable Parquet file: {exc}") from None
    params = [c for c in df.columns if c != WEIGHT_COLUMN]
    if not params or df.empty:
        raise ScenarioError(f"{scenario.path}: {where}: {path} has no parameter column or no "
                            "row; expected one column per parameter (a scenario key) and "
                            f"optionally '{WEIGHT_COLUMN}'")
    for col in df.columns:
        if not pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(df[col]):
            raise ScenarioError(f"{scenario.path}: {where}: column '{col}' of {path} is not "
                                "numeric")
        if not np.isfinite(df[col].to_numpy(dtype=float)).all():
            raise ScenarioError(f"{scenario.path}: {where}: column '{col}' of {path} has missing "
                                "or non-finite values")
    for col in params:
        lo, hi = df[col].min(), df[col].max()
        ends = [int(x) if is_integer_key(scenario, col) else float(x) for x in (lo, hi)]
        check_values(scenario, f"{where} ({path}) column", col, ends)
    if WEIGHT_COLUMN in df.columns:
        w = df[WEIGHT_COLUMN].to_numpy(dtype=float)
        if (w < 0).any() or w.sum() <= 0:
            raise ScenarioError(f"{scenario.path}: {where}: column '{WEIGHT_COLUMN}' of {path} "
                                "must be >= 0 and not all 0")
        df[WEIGHT_COLUMN] = w / w.sum()
    else:
        df[WEIGHT_COLUMN] = 1.0 / len(df)
    return df[[*params, WEIGHT_COLUMN]].reset_index(drop=True)


def check_uncertainty(scenario: Scenario) -> None:
    """Check the scenario's ``[uncertainty]`` when it is loaded: every range key a numeric
    scenario key valid at both ends (rounded for whole-number keys). The posterior file is
    checked where it is used (:func:`read_posterior`, before any run of the command that
    draws from it), so that a scenario copied without its posterior still loads.

    Raises:
        ScenarioError: naming the file, the key and what is wrong.
    """
    unc = scenario.uncertainty
    for key, r in unc.ranges.items():
        if key.split(".")[0] == "uncertainty":
            raise ScenarioError(f"{scenario.path}: 'uncertainty.ranges' key '{key}': the "
                                "uncertainty section cannot be uncertain itself")
        ends = [int(round(r.low)), int(round(r.high))] if is_integer_key(scenario, key) \
            else [float(r.low), float(r.high)]
        check_values(scenario, "'uncertainty.ranges'", key, ends)


__all__ = ["WEIGHT_COLUMN", "UncertainRange", "Uncertainty", "check_uncertainty", "check_values",
           "current_value", "fixed", "is_integer_key", "posterior_path", "read_posterior"]
