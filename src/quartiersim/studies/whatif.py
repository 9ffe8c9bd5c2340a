"""Policy what-if sessions: a scenario's baseline against a variant with changed levers.

A *lever* is a scenario parameter declared with ``P(..., lever=True)`` in the schema
(:mod:`quartiersim.config.schema`), in a cooperation model's ``Params`` or in a financing
instrument's ``Params``; :func:`levers` lists those a scenario has, with unit, source,
bounds and current value, so the app's controls and the CLI never type a default twice.

:func:`whatif` runs the baseline (the scenario as written) and the variant (levers
changed, optionally another cooperation or financing model) over the same seeds and
reports, for every outcome of :func:`quartiersim.sim.outcomes.summarize`, both means and
the *paired* difference (variant - baseline, seed by seed: common random numbers) with
its 95 % t interval over seeds. :class:`WhatIfSession` saves the levers and the results
to a TOML file and reads them back as data (``tomllib`` and a pydantic schema; nothing
is executed or unpickled); :meth:`WhatIfSession.run` with ``series=True`` also keeps the
monthly series of baseline and variant (mean over seeds), and :meth:`WhatIfSession.from_toml`
reads a session from text (the app's upload) with the scenario resolved in a given folder.

CLI: ``quartiersim whatif SCENARIO --set KEY=VALUE ... [--model M] [--financing F]
[--seeds N] [--years Y] [--json] [--save session.toml]``.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import threading
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from quartiersim.config.fields import Strict
from quartiersim.config.fileio import atomic_write_text, check_output_file, read_text
from quartiersim.config.financing import (
    BUILTIN_FINANCING,
    INSTRUMENT_PARAMS,
    check_model_names,
    financing_names,
    financing_spec,
)
from quartiersim.config.loading import load_scenario
from quartiersim.config.messages import format_validation_error
from quartiersim.config.schema import Scenario
from quartiersim.errors import QuartiersimError, ScenarioError
from quartiersim.sim.cooperation import COOPERATION_MODELS
from quartiersim.sim.outcomes import REGISTRY
from quartiersim.sim.registry import Scope, View, tree_rows
from quartiersim.studies.pool import Cancelled, WarmPool, run_jobs
from quartiersim.studies.runner import mean_ci, run, run_many

#: Columns of the table :func:`whatif` returns (index: ``outcome``).
COLUMNS: tuple[str, ...] = (
    "baseline_mean", "baseline_ci_low", "baseline_ci_high",
    "variant_mean", "variant_ci_low", "variant_ci_high",
    "difference_mean", "difference_ci_low", "difference_ci_high",
)

_NOT_OUTCOMES = {"seed", "years", "start_year"}


# --------------------------------------------------------------------------- levers
@dataclass(frozen=True)
class Lever:
    """One adjustable scenario parameter.

    Attributes:
        key: dotted scenario key, e.g. ``municipality.voluntary_budget_eur_per_year``
            (valid in ``--set`` and ``Scenario.with_overrides``).
        label: short human label (field name and section).
        unit: unit from the schema metadata.
        source: source reference or ``"assumption"``.
        description: the schema's description.
        value: the value in the scenario (its baseline).
        kind: ``"int"`` or ``"float"``.
        minimum, maximum: inclusive bounds from the schema (``ge``/``gt``/``le``/``lt``);
            None where unbounded.
    """

    key: str
    label: str
    unit: str
    source: str
    description: str
    value: float | int
    kind: str
    minimum: float | None
    maximum: float | None


_UNIT_SUFFIXES = ("_eur_per_year", "_eur_per_month", "_eur", "_per_year", "_per_month")


def _label(prefix: str, name: str) -> str:
    """A short label: ``voluntary_budget_eur_per_year`` -> ``Voluntary budget``; a generic
    name gets its section (``Volunteering rate``); a cooperation or financing model's
    parameter gets the model's name (``Coproduction: coordination fte``). The unit is
    shown separately."""
    parts = [p for p in prefix.rstrip(".").split(".") if p and not p.isdigit()]
    for suffix in _UNIT_SUFFIXES:
        if name.endswith(suffix) and name != suffix:
            name = name[: -len(suffix)]
            break
    text = "amount" if name == "eur" else name.replace("_", " ")
    if parts and parts[0] in ("cooperation", "financing"):
        text = f"{' / '.join(p.replace('_', ' ') for p in parts[1:])}: {text}"
    elif parts and len(text) <= 6:
        text = f"{parts[-1].replace('_', ' ')} {text}"
    return text[:1].upper() + text[1:]


def _field_levers(model: BaseModel, prefix: str) -> Iterator[Lever]:
    """Levers among the fields of a validated schema section (recursing into sections)."""
    for name, f in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            yield from _field_levers(value, f"{prefix}{name}.")
            continue
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from _field_levers(item, f"{prefix}{name}.{i}.")
            continue
        extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
        if not extra.get("lever") or isinstance(value, bool):
            continue
        lo = hi = None
        for meta in f.metadata:
            for attr in ("ge", "gt"):
                if getattr(meta, attr, None) is not None:
                    lo = getattr(meta, attr)
            for attr in ("le", "lt"):
                if getattr(meta, attr, None) is not None:
                    hi = getattr(meta, attr)
        yield Lever(key=f"{prefix}{name}", label=_label(prefix, name),
                    unit=str(extra.get("unit", "")), source=str(extra.get("source", "")),
                    description=f.description or "", value=value,
                    kind="int" if isinstance(value, int) else "float", minimum=lo, maximum=hi)


def levers(scenario: Scenario) -> list[Lever]:
    """All levers of a scenario: schema fields, every registered cooperation model's
    parameters and every financing model's instrument parameters marked ``lever=True``.

    Values are the scenario's (defaults where the file is silent). The lists grow by
    themselves when a cooperation model or instrument with lever parameters is registered.
    """
    out = list(_field_levers(scenario, ""))
    for name in COOPERATION_MODELS:
        try:
            params = scenario.cooperation_params(name)
        except ScenarioError:
            continue  # a model whose section this scenario cannot satisfy has no levers here
        out += _field_levers(params, f"cooperation.{name}.")
    for name in financing_names(scenario):
        for inst_name, raw in financing_spec(scenario, name).items():
            params_cls = INSTRUMENT_PARAMS.get(inst_name)
            if params_cls is None:
                continue
            params = params_cls.model_validate(raw if isinstance(raw, dict) else {})
            out += _field_levers(params, f"financing.{name}.{inst_name}.")
    return _shorter_financing_labels(out)


def _shorter_financing_labels(found: list[Lever]) -> list[Lever]:
    """``Grant / grant programme: funding rate`` -> ``Grant: funding rate`` where the
    financing model has no other lever of that name (labels stay unique) and the name says
    enough without its instrument (not ``share``, ``pots``, ``amount``)."""
    from dataclasses import replace

    def short(lv: Lever) -> str:
        return lv.label.split(" / ", 1)[0] + ": " + lv.label.split(": ", 1)[1]

    fin = [lv for lv in found if lv.key.startswith("financing.") and " / " in lv.label
           and len(lv.label.split(": ", 1)[1]) > 6 and not lv.label.endswith(": amount")]
    counts: dict[str, int] = {}
    for lv in fin:
        counts[short(lv)] = counts.get(short(lv), 0) + 1
    return [replace(lv, label=short(lv)) if lv in fin and counts[short(lv)] == 1 else lv
            for lv in found]




def lever_overrides(scenario: Scenario, values: dict[str, Any]) -> dict[str, Any]:
    """Dotted overrides for the lever values that differ from the scenario's.

    A changed parameter of a *built-in* financing model the scenario does not declare is
    expanded to the model's whole table, so the other instruments stay.

    Raises:
        ScenarioError: a key that is not a lever of the scenario.
    """
    known = {lv.key: lv for lv in levers(scenario)}
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise ScenarioError(f"{scenario.path}: '{key}' is not a lever; levers: "
                                f"{', '.join(sorted(known))}")
        if value == known[key].value:
            continue
        parts = key.split(".")
        if parts[0] == "financing" and parts[1] not in scenario.financing:
            table = out.setdefault(f"financing.{parts[1]}",
                                   json.loads(json.dumps(BUILTIN_FINANCING[parts[1]])))
            table.setdefault(parts[2], {})[parts[3]] = value
        else:
            out[key] = value
    return out


def validate_variant(scenario: Scenario, overrides: dict[str, Any], model: str | None,
                     financing: str | None) -> Scenario:
    """The variant scenario; raises ScenarioError/UnknownNameError before any run."""
    variant = scenario.with_overrides(overrides) if overrides else scenario
    check_model_names(variant, model, financing)
    return variant


# --------------------------------------------------------------------------- runs
class WhatIfCancelled(QuartiersimError):
    """A what-if was cancelled before all its runs finished."""


_APP_POOL: WarmPool | None = None
_APP_POOL_LOCK = threading.Lock()


def app_pool() -> WarmPool:
    """The process's one warm pool for interactive what-ifs (the app): one worker per
    core at lowered priority, started on the first call (in the background), the same
    for every later call, so only the first what-if of a session waits for workers.
    It ends with the process (its workers are ended at exit, not waited for)."""
    global _APP_POOL
    with _APP_POOL_LOCK:
        if _APP_POOL is None:
            _APP_POOL = WarmPool(os.cpu_count() or 1, nice=True).start()
            atexit.register(_APP_POOL.shutdown, False)
        return _APP_POOL


def whatif(scenario: Scenario | str | Path, overrides: dict[str, Any] | None = None,
           seeds: int = 10, years: int = 10, model: str | None = None,
           financing: str | None = None, *, workers: int | None = None,
           on_progress: Callable[[int, int], None] | None = None,
           cancel: threading.Event | None = None, nice: bool = False,
           **pool_options: Any) -> pd.DataFrame:
    """Baseline vs variant over seeds ``0..seeds-1``, paired by seed.

    Args:
        scenario: a :class:`Scenario` or the path of a scenario TOML file; the baseline is
            the scenario as written, under its ``default_cooperation`` and
            ``default_financing``.
        overrides: dotted scenario keys the variant changes, e.g.
            ``{"municipality.voluntary_budget_eur_per_year": 600000}``.
        seeds: replications (>= 2 for an interval); run *i* of the baseline and of the
            variant both use seed *i* (common random numbers).
        years: horizon in years.
        model: the variant's cooperation model (None: the scenario's default).
        financing: the variant's financing model (None: the scenario's default).
        workers: processes (default: all cores; 1 runs in this process).
        on_progress: called as ``on_progress(done, total)`` at the start and after each
            finished run.
        cancel: set this event to stop early (raises :class:`WhatIfCancelled`; running
            worker processes are ended, not waited for).
        nice: lower the worker processes' priority (used by the app).
        pool_options: further options of :func:`~quartiersim.studies.pool.run_jobs`;
            ``pool``: a started :class:`~quartiersim.studies.pool.WarmPool` to run on, kept for
            the next what-if (the app's; :func:`app_pool`); then ``workers`` and ``nice``
            are the pool's. Cancel ends its workers; it starts new ones on next use.

    The runs go through :func:`quartiersim.studies.pool.run_jobs`: a run whose worker
    process died is run again in a fresh pool, the finished runs are kept.

    Returns:
        A DataFrame indexed by ``outcome`` (every numeric outcome of the summaries) with
        :data:`COLUMNS`: means and 95 % t intervals over seeds of baseline and variant, and
        the mean paired difference (variant - baseline) with its 95 % interval. Units are
        the outcome's (share, EUR over the run, cases over the run...). ``attrs`` holds
        ``scenario``, ``overrides``, ``model``, ``financing``, ``seeds``, ``years``,
        ``start_year``.

    Raises:
        ScenarioError: invalid scenario, override, model or financing name (before any run).
        QuartiersimError: ``seeds`` < 1 or ``years`` < 1.
        WhatIfCancelled: ``cancel`` was set.
        JobsFailed: a run's worker process died on each of its attempts.
    """
    return _whatif(scenario, overrides, seeds, years, model, financing, workers=workers,
                   on_progress=on_progress, cancel=cancel, nice=nice, series=False,
                   **pool_options)[0]


def whatif_with_series(scenario: Scenario | str | Path, overrides: dict[str, Any] | None = None,
                       seeds: int = 10, years: int = 10, model: str | None = None,
                       financing: str | None = None, **kwargs: Any,
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`whatif` (same arguments and errors) that also returns the monthly series:
    ``(table, series)``, ``series`` as :func:`mean_series` makes it."""
    table, series = _whatif(scenario, overrides, seeds, years, model, financing, series=True,
                            **kwargs)
    return table, series


def _describe(args: tuple) -> str:
    _, model, financing, seed, _ = args
    return " ".join(str(x) for x in (model or "default model", financing or "", f"seed {seed}")
                    if x)


def _run_summary_and_series(args: tuple) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """A run's summary and its numeric monthly series (column -> values by month)."""
    scenario, model, financing, seed, years = args
    res = run(scenario, model=model, financing=financing, seed=seed, years=years)
    numeric = res.series.select_dtypes("number")
    return res.summary, {c: numeric[c].to_numpy(dtype=float) for c in numeric.columns}


def mean_series(baseline: list[dict[str, np.ndarray]],
                variant: list[dict[str, np.ndarray]]) -> pd.DataFrame:
    """The monthly series of baseline and variant, mean over seeds.

    Returns:
        One row per month (index ``step`` 1, 2, ...), columns ``year`` and ``month`` (the
        calendar month, 1-12) and ``baseline_<series>``, ``variant_<series>`` for every
        other numeric series of the model's DataCollector (units: the series').
    """
    first = baseline[0]
    n = len(next(iter(first.values()))) if first else 0
    out: dict[str, Any] = {}
    for col in ("year", "month"):
        if col in first:
            out[col] = first[col].astype(int)
    for side, runs in (("baseline", baseline), ("variant", variant)):
        for col in first:
            if col in ("year", "month") or any(col not in r for r in runs):
                continue
            out[f"{side}_{col}"] = np.mean(np.vstack([r[col] for r in runs]), axis=0)
    return pd.DataFrame(out, index=pd.RangeIndex(1, n + 1, name="step"))


def _whatif(scenario: Scenario | str | Path, overrides: dict[str, Any] | None, seeds: int,
            years: int, model: str | None, financing: str | None, *, series: bool,
            workers: int | None = None, on_progress: Callable[[int, int], None] | None = None,
            cancel: threading.Event | None = None, nice: bool = False, **pool_options: Any,
            ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    if not isinstance(seeds, int) or seeds < 1:
        raise QuartiersimError(f"seeds = {seeds!r}: must be a whole number >= 1")
    if not isinstance(years, int) or years < 1:
        raise QuartiersimError(f"years = {years!r}: must be a whole number >= 1")
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    overrides = dict(overrides or {})
    variant = validate_variant(base, overrides, model, financing)
    jobs = [(base, None, None, s, years) for s in range(seeds)] + \
           [(variant, model, financing, s, years) for s in range(seeds)]
    try:
        if series:
            results = run_jobs(_run_summary_and_series, jobs, workers=workers, desc="what-if",
                               describe=_describe, on_progress=on_progress, cancel=cancel,
                               nice=nice, **pool_options)
            summaries = [r[0] for r in results]
        else:
            summaries = run_many(jobs, workers=workers, progress=False, desc="what-if",
                                 on_progress=on_progress, cancel=cancel, nice=nice,
                                 **pool_options)
    except Cancelled as exc:
        raise WhatIfCancelled(str(exc)) from None
    table = paired_table(summaries[:seeds], summaries[seeds:])
    table.attrs.update(scenario=base.path, overrides=overrides,
                       model=summaries[seeds]["cooperation"], financing=summaries[seeds]["financing"],
                       baseline_model=summaries[0]["cooperation"],
                       baseline_financing=summaries[0]["financing"], seeds=seeds, years=years,
                       start_year=base.meta.start_year)
    monthly = None
    if series:
        monthly = mean_series([r[1] for r in results[:seeds]], [r[1] for r in results[seeds:]])
    return table, monthly


def paired_table(baseline: list[dict[str, Any]], variant: list[dict[str, Any]]) -> pd.DataFrame:
    """The what-if table from per-seed summaries (lists in the same seed order), with
    ``mandatory_cases_avoided`` (baseline - variant cases, seed by seed; 0 for the
    baseline, the reference)."""
    if len(baseline) != len(variant):
        raise QuartiersimError("baseline and variant need the same number of runs")
    b, v = pd.DataFrame(baseline), pd.DataFrame(variant)
    rows = {}
    for name in b.columns:
        if name not in v.columns or name in _NOT_OUTCOMES:
            continue
        # None (an outcome that does not apply, e.g. coverage after a grant without a
        # grant) becomes NaN; text columns (names) become all NaN and are left out
        bv = pd.to_numeric(b[name], errors="coerce").to_numpy(dtype=float)
        vv = pd.to_numeric(v[name], errors="coerce").to_numpy(dtype=float)
        if not (np.isfinite(bv).any() or np.isfinite(vv).any()):
            continue
        rows[name] = (*mean_ci(bv), *mean_ci(vv), *mean_ci(vv - bv))
    if "mandatory_cases" in b.columns and "mandatory_cases" in v.columns:
        # against the baseline (the reference), seed by seed: 0 for the baseline itself
        avoided = (b["mandatory_cases"].to_numpy(dtype=float)
                   - v["mandatory_cases"].to_numpy(dtype=float))
        rows["mandatory_cases_avoided"] = (0.0, 0.0, 0.0, *mean_ci(avoided), *mean_ci(avoided))
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(COLUMNS))
    table.index.name = "outcome"
    return table


def headline(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The what-if rows of a what-if table: the registry's outcomes in
    :attr:`~quartiersim.sim.registry.View.WHATIF`, in table order.

    Each row: ``outcome``, ``label`` (complete), ``row_label`` (indented under its parent
    where the parent is a row too), ``kind``, ``better`` and ``baseline``, ``variant``,
    ``change``, ``change_low``, ``change_high`` (the paired difference variant - baseline
    and its 95 % interval). Outcomes absent from the table (e.g. coverage after a grant,
    without a grant) are skipped.
    """
    present = [o for o in REGISTRY.select(view=View.WHATIF) if o.name in table.index]
    out = []
    for o, row_label in tree_rows(present):
        r = table.loc[o.name]
        out.append({"outcome": o.name, "label": o.label, "row_label": row_label, "kind": o.kind,
                    "better": o.better, "baseline": r["baseline_mean"],
                    "variant": r["variant_mean"], "change": r["difference_mean"],
                    "change_low": r["difference_ci_low"], "change_high": r["difference_ci_high"]})
    return out


# --------------------------------------------------------------------------- sessions
class _SessionMeta(Strict):
    scenario: str = Field(description="The scenario file: absolute, or relative to the "
                                      "session file's directory.")
    model: str | None = None
    financing: str | None = None
    seeds: int = Field(10, ge=1, le=10_000, strict=True)
    years: int = Field(10, ge=1, le=200, strict=True)


#: A result value: a number, or nan where the outcome has no value (n/a); never inf.
_Value = Annotated[float, Field(strict=True)]


class _SessionResult(Strict):
    model_config = ConfigDict(allow_inf_nan=True)  # nan = n/a (as to_toml writes it)

    baseline_mean: _Value
    baseline_ci_low: _Value
    baseline_ci_high: _Value
    variant_mean: _Value
    variant_ci_low: _Value
    variant_ci_high: _Value
    difference_mean: _Value
    difference_ci_low: _Value
    difference_ci_high: _Value

    @model_validator(mode="after")
    def _no_inf(self) -> _SessionResult:
        for name in COLUMNS:
            if math.isinf(getattr(self, name)):
                raise ValueError(f"{name} = {getattr(self, name)}: must be a number or nan (n/a)")
        return self


#: Largest number of months a session's ``[series]`` may hold (200 years).
_MAX_SERIES_MONTHS = 2400


class _SessionFile(Strict):
    session: _SessionMeta
    levers: dict[str, bool | int | float | str | dict[str, Any]] = Field(default_factory=dict)
    results: dict[str, _SessionResult] = Field(default_factory=dict)
    # nan in [series]: a month without a value (to_toml writes nan)
    series: dict[str, list[Annotated[float, Field(strict=False, allow_inf_nan=True)]]] = \
        Field(default_factory=dict)

    @field_validator("series")
    @classmethod
    def _series_columns(cls, v: dict[str, list[float]]) -> dict[str, list[float]]:
        lengths = {len(col) for col in v.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths ({sorted(lengths)}): every column "
                             "has one value per month")
        if lengths and max(lengths) > _MAX_SERIES_MONTHS:
            raise ValueError(f"{max(lengths)} months: at most {_MAX_SERIES_MONTHS}")
        for name, col in v.items():
            if name in ("year", "month"):
                if not all(math.isfinite(x) and float(x).is_integer() for x in col):
                    raise ValueError(f"{name!r}: whole numbers only")
            elif not (name.startswith("baseline_") or name.startswith("variant_")):
                raise ValueError(f"column {name!r}: allowed: year, month, baseline_<series>, "
                                 "variant_<series>")
            if any(math.isinf(x) for x in col):
                raise ValueError(f"{name!r}: inf is not allowed (nan = no value)")
        return v

    @field_validator("results")
    @classmethod
    def _known_outcomes(cls, v: dict[str, _SessionResult]) -> dict[str, _SessionResult]:
        scopes = (Scope.SUMMARY, Scope.COMPARISON)
        unknown = [k for k in v if not REGISTRY.is_known(k, scopes)]
        if unknown:
            raise ValueError(f"unknown outcome {unknown[0]!r} in [results]; allowed: "
                             f"{', '.join(REGISTRY.allowed(scopes))}")
        return v


def _scenario_ref(scenario: str | Path, session_dir: Path | None) -> str:
    """The scenario path as a session file stores it: relative to the session file's
    directory when both are in one project (a common directory other than the root: the
    project can move as a whole), else absolute."""
    target = Path(scenario).resolve()
    if session_dir is None:
        return str(target)
    here = session_dir.resolve()
    try:
        common = Path(os.path.commonpath([target, here]))
    except ValueError:  # another drive (Windows)
        return str(target)
    if common == Path(common.anchor):
        return str(target)
    return os.path.relpath(target, here)


def _scenario_path(ref: str, session_file: Path) -> str:
    """The scenario a session file names: absolute, or relative to the session file's
    directory; a path relative to the working directory (as older versions wrote) is
    found when nothing is at the first place."""
    p = Path(ref)
    if p.is_absolute():
        return str(p)
    beside = os.path.normpath(session_file.parent / p)
    if not os.path.exists(beside) and p.exists():
        return str(p)
    return beside


@dataclass
class WhatIfSession:
    """A what-if session: the scenario, the variant's levers and (once run) the results.

    Attributes:
        scenario: path of the scenario file (the baseline).
        levers: dotted scenario keys and values the variant changes.
        model, financing: the variant's cooperation and financing model (None: default).
        seeds, years: replications and horizon.
        results: the :func:`whatif` table, or None before a run.
        series: the monthly series of baseline and variant (:func:`mean_series`), or None
            (not kept: :meth:`run` without ``series=True``, or an older session file).
    """

    scenario: str
    levers: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    financing: str | None = None
    seeds: int = 10
    years: int = 10
    results: pd.DataFrame | None = None
    series: pd.DataFrame | None = None

    def run(self, series: bool = False, **kwargs: Any) -> pd.DataFrame:
        """Run :func:`whatif` for this session, keep and return the table; ``series``:
        keep the monthly series too (:func:`whatif_with_series`)."""
        table, monthly = _whatif(self.scenario, self.levers, self.seeds, self.years, self.model,
                                 self.financing, series=series, **kwargs)
        self.results, self.series = table, monthly
        return table

    def to_toml(self, session_dir: str | Path | None = None) -> str:
        """The session as TOML text (levers under ``[levers]``, results by outcome; nan
        where an outcome has no value).

        Args:
            session_dir: the directory the text will be saved in: the scenario path is
                written relative to it (None: absolute).
        """
        import tomli_w

        ref = _scenario_ref(self.scenario, Path(session_dir) if session_dir is not None else None)
        meta: dict[str, Any] = {"scenario": ref, "seeds": self.seeds, "years": self.years}
        if self.model:
            meta["model"] = self.model
        if self.financing:
            meta["financing"] = self.financing
        doc: dict[str, Any] = {"session": meta, "levers": dict(self.levers)}
        if self.results is not None:
            doc["results"] = {str(name): {c: float(row[c]) for c in COLUMNS}
                              for name, row in self.results.iterrows()}
        if self.series is not None:
            doc["series"] = {str(c): [float(x) for x in self.series[c]] for c in self.series.columns}
        return ("# quartiersim what-if session: baseline = the scenario file; the variant "
                "sets [levers]\n" + tomli_w.dumps(doc))

    def save(self, path: str | Path) -> Path:
        """Write the session to a TOML file (parents created, written atomically); the
        scenario path is stored relative to the file's directory. Returns the path.

        Raises:
            QuartiersimError: the file cannot be written there (checked first).
            OSError: writing failed (the old file, if any, is kept).
        """
        p = check_output_file(path, "session file")
        atomic_write_text(p, self.to_toml(p.parent))
        return p

    @classmethod
    def load(cls, path: str | Path) -> WhatIfSession:
        """Read a session file as data (TOML + schema; nothing is executed).

        The scenario path is absolute or relative to the session file's directory. The
        levers are checked against the scenario (which must exist) like ``--set``.

        Raises:
            ScenarioError: missing, unreadable or non-UTF-8 file, invalid TOML, unknown
                keys or outcomes, wrong types (``years = true``, ``seeds = "10"``), nan or
                inf, or levers the scenario rejects; the message names the file and key.
        """
        p = Path(path)
        text = read_text(p, "session file", ScenarioError)
        return cls.from_toml(text, name=str(p),
                             resolve=lambda ref: _scenario_path(ref, p))

    @classmethod
    def from_toml(cls, text: str, *, name: str, scenario_dir: str | Path | None = None,
                  resolve: Callable[[str], str] | None = None) -> WhatIfSession:
        """A session from TOML text (e.g. a file uploaded in the browser; nothing is
        executed), checked like :meth:`load`.

        Args:
            text: the file's text.
            name: what messages call it (a file name).
            scenario_dir: the folder a relative ``session.scenario`` is found in.
            resolve: instead of ``scenario_dir``: maps ``session.scenario`` to a path, or
                raises ScenarioError (e.g. for a scenario the caller does not offer).

        Raises:
            ScenarioError: as :meth:`load`; the message names ``name`` and the key.
        """
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"{name}: not a valid TOML session file: {exc}") from None
        try:
            doc = _SessionFile.model_validate(raw)
        except ValidationError as exc:
            raise ScenarioError(format_validation_error(exc, name, _SessionFile)) from None
        ref = doc.session.scenario
        if resolve is not None:
            scenario = resolve(ref)
        else:
            base = Path(scenario_dir) if scenario_dir is not None else Path.cwd()
            scenario = ref if Path(ref).is_absolute() else os.path.normpath(base / ref)
        try:
            base_scenario = load_scenario(scenario)
        except ScenarioError as exc:
            raise ScenarioError(f"{name}: 'session.scenario' = {ref!r}: {exc}") from None
        try:
            validate_variant(base_scenario, doc.levers, doc.session.model, doc.session.financing)
        except ScenarioError as exc:
            raise ScenarioError(f"{name}: [levers] or [session]: {exc}") from None
        results = None
        if doc.results:
            results = pd.DataFrame.from_dict(
                {k: [getattr(r, c) for c in COLUMNS] for k, r in doc.results.items()},
                orient="index", columns=list(COLUMNS))
            results.index.name = "outcome"
        series = None
        if doc.series:
            series = pd.DataFrame(doc.series)
            for col in ("year", "month"):
                if col in series:
                    series[col] = series[col].astype(int)
            series.index = pd.RangeIndex(1, len(series) + 1, name="step")
        return cls(scenario=str(scenario), levers=dict(doc.levers), model=doc.session.model,
                   financing=doc.session.financing, seeds=doc.session.seeds,
                   years=doc.session.years, results=results, series=series)


__all__ = ["COLUMNS", "Lever", "WhatIfCancelled", "WhatIfSession", "app_pool", "financing_names",
           "headline", "lever_overrides", "levers", "mean_series", "paired_table", "whatif",
           "whatif_with_series"]

