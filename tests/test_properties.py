"""Property-based tests (hypothesis) over the scenario schema and ``--set`` (issue 14).

1. Any value the schema accepts runs a year of the tiny quarter without an exception,
   and every outcome is a finite number or None (never NaN or inf); a combination the
   schema rejects (a rule between keys) gives one message naming one of the keys.
2. Any value the schema rejects (out of range, nan, inf, a string, a boolean for a
   number, a fraction for an integer, an unknown key) gives one message of one line that
   names the file and the dotted key.

The leaves are every numeric and boolean field of the schema, found by walking it (the
sections, every need domain, the carrier, every cooperation model's and financing
instrument's parameters), so a field added later is covered without a change here.

Settings suit a loaded 2-core machine: 30 examples, no deadline, derandomized (the same
examples on every run). ``HYPOTHESIS_PROFILE=explore`` draws 300 fresh ones.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
import typing
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import quartiersim as qs
from quartiersim.config.cooperation import COOPERATION_PARAMS
from quartiersim.config.domains import Domain
from quartiersim.config.financing import INSTRUMENT_PARAMS
from quartiersim.config.overrides import apply_overrides, parse_pairs
from quartiersim.config.schema import CarrierSpec, Scenario, build_scenario
from quartiersim.errors import ScenarioError

settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True,
                          database=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", max_examples=300, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

TINY = ROOT / "tests" / "data" / "tiny-quarter.toml"
PATH = str(TINY)

#: The tiny quarter with a centre site Z and a meeting-point site T, so that every
#: cooperation model can run in it.
BASE_RAW: dict[str, Any] = tomllib.loads(TINY.read_text())
BASE_RAW["space"]["layout"] = ["R.....", "..A...", "......", "--+---", "Z...gT", "......"]
BASE_RAW["space"]["service_points"].update({
    "Z": {"kind": "centre_site", "name": "Centre site"},
    "T": {"kind": "meeting_point_site", "name": "Meeting point rooms"}})

#: Upper bounds for *generated accepted* values where the schema's bound would make one
#: year of the tiny quarter too slow for a test (5 million residents); the schema's bound
#: itself is tested by the rejection property.
RUN_CAPS = {"population.residents": 1500}


@dataclass(frozen=True)
class Leaf:
    """A numeric or boolean scenario key with its bounds (None: unbounded)."""

    key: str
    kind: type
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    model: str | None = None  # the cooperation model the key belongs to
    financing: str | None = None  # the financing model the key belongs to

    @property
    def shown(self) -> str:
        """The key as messages show it (list items as ``carriers[0]``)."""
        return self.key.replace(".0.", "[0].")


def _bounds(metadata: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in metadata:
        for attr, lo_hi, open_ in (("ge", "lo", False), ("gt", "lo", True),
                                   ("le", "hi", False), ("lt", "hi", True)):
            v = getattr(m, attr, None)
            if v is not None:
                out[lo_hi] = v
                out[f"{lo_hi}_open"] = open_
    return out


def _walk(section: type[BaseModel], prefix: str, **ctx: Any) -> list[Leaf]:
    leaves = []
    for name, f in section.model_fields.items():
        ann, key = f.annotation, f"{prefix}{name}"
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            leaves += _walk(ann, f"{key}.", **ctx)
        elif ann is bool:
            leaves.append(Leaf(key, bool, **ctx))
        elif ann in (int, float):
            leaves.append(Leaf(key, ann, **_bounds(f.metadata), **ctx))
        elif typing.get_origin(ann) is dict and typing.get_args(ann)[0] is Domain:
            value = typing.get_args(ann)[1]
            if typing.get_origin(value) is typing.Annotated:
                meta = [m for fi in typing.get_args(value)[1:] for m in fi.metadata]
                leaves += [Leaf(f"{key}.{d.value}", float, **_bounds(meta), **ctx)
                           for d in Domain]
    return leaves


def _leaves() -> list[Leaf]:
    out: list[Leaf] = []
    for section, f in Scenario.model_fields.items():  # every section, a new one too
        if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel):
            out += _walk(f.annotation, f"{section}.")
    out += _walk(CarrierSpec, "carriers.0.")
    for name, cls in COOPERATION_PARAMS.items():
        out += _walk(cls, f"cooperation.{name}.", model=name)
    for name, cls in INSTRUMENT_PARAMS.items():
        out += _walk(cls, f"financing.f.{name}.", financing="f")
    return out


LEAVES = _leaves()


def test_the_walk_finds_the_schema():
    keys = {lf.key for lf in LEAVES}
    assert {"population.residents", "municipality.consolidation_regime",
            "municipality.domain_shares.elderly_support", "carriers.0.staff_fte.counselling",
            "needs.youth_education.max_age", "space.crossing_cost.barrier",
            "cooperation.meeting_point.manager_fte",
            "financing.f.grant_programme.end_year"} <= keys
    assert len(LEAVES) > 150


def _overrides(pairs: list[tuple[Leaf, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if any(lf.financing for lf, _ in pairs):
        out["financing.f.municipal_budget"] = {}
    out.update({lf.key: v for lf, v in pairs})
    return out


def _load(overrides: dict[str, Any]) -> qs.Scenario:
    """What ``load_scenario(TINY, overrides)`` does after reading the file."""
    return build_scenario(apply_overrides(BASE_RAW, overrides, PATH), PATH)


def _toml(v: Any) -> str:
    """A value as it is typed after ``--set KEY=``."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return str(v)


# ------------------------------------------------------------------------------ strategies
@st.composite
def valid_value(draw: st.DrawFn, leaf: Leaf) -> Any:
    if leaf.kind is bool:
        return draw(st.booleans())
    lo = leaf.lo if leaf.lo is not None else -1e6
    hi = min(leaf.hi if leaf.hi is not None else lo + 1e6, RUN_CAPS.get(leaf.key, math.inf))
    if leaf.kind is int:
        return draw(st.integers(int(math.ceil(lo)) + leaf.lo_open, int(math.floor(hi))))
    return draw(st.floats(lo, hi, exclude_min=leaf.lo_open, exclude_max=leaf.hi_open,
                          allow_nan=False, allow_infinity=False))


@st.composite
def invalid_value(draw: st.DrawFn, leaf: Leaf) -> Any:
    options: list[st.SearchStrategy] = [st.text(max_size=8), st.lists(st.integers(), max_size=2)]
    if leaf.kind is bool:
        options += [st.integers(), st.floats(allow_nan=False), st.sampled_from(["yes", "off", "1"])]
        return draw(st.one_of(options))
    options += [st.booleans(), st.sampled_from([math.nan, math.inf, -math.inf])]
    if leaf.kind is int:
        options.append(st.floats(allow_nan=False, allow_infinity=False).filter(
            lambda x: not float(x).is_integer()))
        if leaf.lo is not None:
            options.append(st.integers(max_value=int(leaf.lo) - (0 if leaf.lo_open else 1)))
        if leaf.hi is not None:
            options.append(st.integers(min_value=int(leaf.hi) + (0 if leaf.hi_open else 1)))
    else:
        if leaf.lo is not None:
            options.append(st.floats(max_value=leaf.lo, allow_nan=False, allow_infinity=False)
                           .filter(lambda x: x <= leaf.lo if leaf.lo_open else x < leaf.lo))
        if leaf.hi is not None:
            options.append(st.floats(min_value=leaf.hi, allow_nan=False, allow_infinity=False)
                           .filter(lambda x: x >= leaf.hi if leaf.hi_open else x > leaf.hi))
    return draw(st.one_of(options))


leaf_lists = st.lists(st.sampled_from(LEAVES), min_size=1, max_size=3, unique_by=lambda lf: lf.key)


# ------------------------------------------------------------------------------ properties
@given(data=st.data(), leaves=leaf_lists, seed=st.integers(0, 2**32))
def test_any_accepted_value_runs_a_year(data, leaves, seed):
    pairs = [(lf, data.draw(valid_value(lf), label=lf.key)) for lf in leaves]
    overrides = _overrides(pairs)
    try:
        sc = _load(overrides)
    except ScenarioError as exc:  # a rule between keys: one message naming one of them
        text = str(exc)
        assert text.startswith(f"{PATH}: ") and "\n" not in text, text
        assert any(lf.key.rsplit(".", 1)[-1] in text for lf, _ in pairs), text
        return
    model = next((lf.model for lf in leaves if lf.model), None)
    financing = next((lf.financing for lf in leaves if lf.financing), None)
    summary = qs.run(sc, model=model, financing=financing, seed=seed, years=1).summary
    bad = {k: v for k, v in summary.items()
           if isinstance(v, float) and not math.isfinite(v)}
    assert not bad, (overrides, bad)


@given(data=st.data(), leaf=st.sampled_from(LEAVES), via_set=st.booleans())
def test_any_rejected_value_gives_one_message_naming_the_key(data, leaf, via_set):
    value = data.draw(invalid_value(leaf), label=leaf.key)
    if via_set:  # typed on the command line: --set KEY=VALUE
        overrides = _overrides([(leaf, None)])
        overrides.update(parse_pairs([f"{leaf.key}={_toml(value)}"]))
    else:
        overrides = _overrides([(leaf, value)])
    with pytest.raises(ScenarioError) as exc:
        _load(overrides)
    text = str(exc.value)
    assert text.startswith(f"{PATH}: ") and "\n" not in text, text
    assert f"'{leaf.shown}'" in text, text


@given(leaf=st.sampled_from(LEAVES), suffix=st.sampled_from(["_typo", "x", ".deeper"]))
def test_an_unknown_key_is_named(leaf, suffix):
    key = leaf.key + suffix
    overrides: dict[str, Any] = {"financing.f.municipal_budget": {}} if leaf.financing else {}
    overrides[key] = 1.0
    with pytest.raises(ScenarioError) as exc:
        _load(overrides)
    text = str(exc.value)
    assert text.startswith(f"{PATH}: ") and "\n" not in text, text
    shown = key.replace(".0.", "[0].")
    # a key below a value names the value's key: 'population.residents' is a value
    assert (f"unknown key '{shown}'" in text or f"'{leaf.shown}'" in text
            or f"'{leaf.key}' is a value, not a table" in text), text
