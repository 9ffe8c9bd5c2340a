#!/usr/bin/env python3
"""The adversarial campaign of issue 14: feed bad inputs and faults to the command line and
classify what happens.

Usage::

    .venv/bin/python scripts/adversarial_campaign.py            # every case, 2 at a time
    .venv/bin/python scripts/adversarial_campaign.py --sample 20 --jobs 1
    .venv/bin/python scripts/adversarial_campaign.py --group named --list
    .venv/bin/python scripts/adversarial_campaign.py --fresh    # a new interpreter per case

Cases (about 300):

- ``schema``: every numeric and boolean key of the scenario schema (found by walking it)
  set through ``--set`` to a value of the wrong type, below or above its bound, nan, inf,
  or a misspelt key; and a share of them written into the file instead (nan, inf, a
  string, a missing required key);
- ``named``: each input the issue names (a carrier on the town hall's point, a grant
  ending before it starts, ``"yes"`` for a boolean, string range bounds, an experiment
  named ``../../x``, ``--seed -1``, a directory as scenario, a non-UTF-8 file, ...);
- ``faults``: outputs that cannot be written, a write that fails half-way (a file size
  limit), stdout closed, Ctrl-C during a run;
- ``store``: damaged results stores (a part with flipped bytes, a zero-byte part, a
  truncated series part) fed to ``report`` and ``batch``;
- ``valid``: controls that must run (a UTF-8 BOM, one resident with strict JSON).

Each case runs the command line in its own process: by default forked from this
interpreter after importing quartiersim once (fast; the same ``main`` as the console
script), with ``--fresh`` as ``python -m quartiersim.cli``. Each result is one of

- ``clean``: exit status 2, one ``error:`` message naming what the case expects (the
  file, the key, the option), no traceback; for faults and stores, handled without a
  traceback; for controls, success (strict JSON where asked);
- ``unclear``: rejected without a traceback, but the message lacks what it should name;
- ``traceback``: a Python traceback or ``internal error`` reached the user;
- ``silent``: exit status 0 for an input that must be rejected (a silent accept);
- ``other``: anything else (a time-out, another exit status, a control that failed).

The script prints the counts per class and group and every case that is not ``clean``,
and exits with status 1 when any case is a traceback or a silent accept (``--strict``:
any case not clean).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import tomllib
import typing
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "tiny-quarter.toml"
HERTEN = ROOT / "scenarios" / "herten-innenstadt.toml"

CLASSES = ("clean", "unclear", "traceback", "silent", "other")

#: Processor seconds a ``sigint`` case runs before its Ctrl-C: more than importing
#: quartiersim takes (about 1.5 s), far less than its runs (about a minute).
SIGINT_AFTER_CPU_S = 4.0


def _cpu_seconds(pid: int) -> float:
    """Processor time (user + system) of a running process (Linux /proc; elsewhere the
    wall time is used instead by the caller)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return -1.0


@dataclass
class Case:
    """One input to the command line and what a correct program does with it.

    Attributes:
        name: a short unique label.
        group: schema, named, faults, store or valid.
        argv: the command line after ``quartiersim``.
        expect: ``reject`` (exit 2, names ``tokens``), ``handled`` (no traceback; exit
            0, 1, 2 or 130 with ``tokens`` in the output), ``ok`` (exit 0; ``check``).
        tokens: texts the message must contain (file, key, option).
        check: for ``ok``: a function of stdout that returns an error text or None.
        setup: kind of process set-up: None, ``fsize`` (1 kB file size limit),
            ``closed_stdout``, ``sigint`` (Ctrl-C once the command has used
            :data:`SIGINT_AFTER_CPU_S` of processor time: past its imports, in its runs).
        after: a function of the work directory that returns an error text or None
            (e.g. "a partial file was left behind").
    """

    name: str
    group: str
    argv: list[str]
    expect: str = "reject"
    tokens: list[str] = field(default_factory=list)
    check: Callable[[str], str | None] | None = None
    setup: str | None = None
    after: Callable[[Path], str | None] | None = None


@dataclass
class Result:
    case: Case
    status: int | None
    stdout: str
    stderr: str
    seconds: float
    verdict: str = ""
    why: str = ""


# ------------------------------------------------------------------------------ the schema
@dataclass(frozen=True)
class Leaf:
    key: str
    kind: type
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    required: bool = False

    @property
    def shown(self) -> str:
        return self.key.replace(".0.", "[0].")


def _bounds(metadata: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in metadata:
        for attr, end, open_ in (("ge", "lo", False), ("gt", "lo", True),
                                 ("le", "hi", False), ("lt", "hi", True)):
            v = getattr(m, attr, None)
            if v is not None:
                out[end], out[f"{end}_open"] = v, open_
    return out


def schema_leaves() -> list[Leaf]:
    """Every numeric and boolean key of the scenario schema, in a stable order."""
    from pydantic import BaseModel

    from quartiersim.config import schema
    from quartiersim.config.cooperation import COOPERATION_PARAMS
    from quartiersim.config.domains import Domain
    from quartiersim.config.financing import INSTRUMENT_PARAMS

    def walk(section: type[BaseModel], prefix: str) -> list[Leaf]:
        leaves = []
        for name, f in section.model_fields.items():
            ann, key = f.annotation, f"{prefix}{name}"
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                leaves += walk(ann, f"{key}.")
            elif ann is bool:
                leaves.append(Leaf(key, bool))
            elif ann in (int, float):
                leaves.append(Leaf(key, ann, required=f.is_required(), **_bounds(f.metadata)))
            elif typing.get_origin(ann) is dict and typing.get_args(ann)[0] is Domain:
                value = typing.get_args(ann)[1]
                if typing.get_origin(value) is typing.Annotated:
                    meta = [m for fi in typing.get_args(value)[1:] for m in fi.metadata]
                    leaves += [Leaf(f"{key}.{d.value}", float, **_bounds(meta)) for d in Domain]
        return leaves

    out: list[Leaf] = []
    for section, f in schema.Scenario.model_fields.items():  # every section, a new one too
        if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel):
            out += walk(f.annotation, f"{section}.")
    out += walk(schema.CarrierSpec, "carriers.0.")
    for name, cls in COOPERATION_PARAMS.items():
        out += walk(cls, f"cooperation.{name}.")
    for name, cls in INSTRUMENT_PARAMS.items():
        out += walk(cls, f"financing.f.{name}.")
    return out


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    return str(v)


def _mutations(leaf: Leaf) -> list[tuple[str, Any]]:
    """(label, bad value) for a leaf; ``None`` means: a misspelt key."""
    out: list[tuple[str, Any]] = [("string", "abc")]
    if leaf.kind is bool:
        return [*out, ("yes", "yes"), ("int", 1), ("unknown-key", None)]
    out += [("nan", math.nan), ("inf", math.inf), ("bool", True)]
    if leaf.lo is not None:
        below = leaf.lo if leaf.lo_open else leaf.lo - (1 if leaf.kind is int else
                                                       max(abs(leaf.lo) * 0.5, 0.5))
        out.append(("below", int(below) if leaf.kind is int else float(below)))
    if leaf.hi is not None:
        above = leaf.hi if leaf.hi_open else leaf.hi + (1 if leaf.kind is int else
                                                       max(abs(leaf.hi) * 0.5, 0.5))
        out.append(("above", int(above) if leaf.kind is int else float(above)))
    if leaf.kind is int:
        out.append(("fraction", 2.5))
    out.append(("unknown-key", None))
    return out


def schema_cases(work: Path, per_leaf: int, file_every: int) -> list[Case]:
    """``per_leaf`` mutations of each key through ``--set``, rotating over the kinds;
    every ``file_every``-th key also gets one written into the file."""
    import tomli_w

    raw = tomllib.loads(TINY.read_text())
    cases: list[Case] = []
    for i, leaf in enumerate(schema_leaves()):
        muts = _mutations(leaf)
        for j in range(per_leaf):
            label, value = muts[(i + j) % len(muts)]
            if value is None:
                key, text, token = leaf.key + "_typo", "1", f"unknown key '{leaf.shown}_typo'"
            else:
                key, text, token = leaf.key, _toml(value), f"'{leaf.shown}'"
            extra = (["--set", "financing.f.municipal_budget={}"]
                     if key.startswith("financing.") else [])
            cases.append(Case(f"set {label} {leaf.key}", "schema",
                              ["run", str(TINY), "--years", "1", *extra, "--set", f"{key}={text}"],
                              tokens=[str(TINY), token]))
        if i % file_every:
            continue
        label, value = ("missing", None) if leaf.required else \
            [("nan", math.nan), ("inf", math.inf), ("string", "abc")][(i // file_every) % 3]
        mutated = copy.deepcopy(raw)
        parts = leaf.key.split(".")
        cur: Any = mutated
        for p in parts[:-1]:
            cur = cur[int(p)] if isinstance(cur, list) else cur.setdefault(p, {})
        if value is None:
            cur.pop(parts[-1], None)
            token = f"missing required key '{leaf.shown}'"
        else:
            cur[parts[-1]] = value
            token = f"'{leaf.shown}'"
        if leaf.key.startswith("financing."):
            mutated["financing"]["f"]["municipal_budget"] = {}
        path = work / "schema" / f"{i:03d}-{label}.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tomli_w.dumps(mutated), encoding="utf-8")
        cases.append(Case(f"file {label} {leaf.key}", "schema", ["run", str(path), "--years", "1"],
                          tokens=[str(path), token]))
    return cases


# ------------------------------------------------------------------------------ named cases
def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _strict_json(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(f"{name} in the output is not JSON")
    return json.loads(text, parse_constant=refuse)


def _json_check(text: str) -> str | None:
    try:
        _strict_json(text)
    except ValueError as exc:
        return f"not strict JSON: {exc}"
    return None


def _nothing_at(*names: str) -> Callable[[Path], str | None]:
    def after(work: Path) -> str | None:
        left = [n for n in names if (work / n).exists()]
        return f"left behind: {', '.join(left)}" if left else None
    return after


def _no_partial(directory: str) -> Callable[[Path], str | None]:
    def after(work: Path) -> str | None:
        d = work / directory
        if not d.exists():
            return None
        junk = [p.name for p in d.iterdir() if p.name.endswith(".tmp") or p.stat().st_size == 0]
        return f"partial files left: {', '.join(junk)}" if junk else None
    return after


def named_cases(work: Path) -> list[Case]:
    t = TINY.read_text()
    d = work / "named"
    tiny = str(TINY)
    cases: list[Case] = []

    def scen(name: str, text: str | bytes, tokens: list[str], *args: str) -> None:
        p = _write(d / f"{name}.toml", text)
        cases.append(Case(name, "named", ["run", str(p), "--years", "1", *args],
                          tokens=[str(p), *tokens]))

    def setv(name: str, sets: list[str], tokens: list[str], cmd: str = "run",
             scenario: str = tiny) -> None:
        argv = [cmd, scenario, "--years", "1"]
        for s_ in sets:
            argv += ["--set", s_]
        cases.append(Case(name, "named", argv, tokens=[scenario, *tokens]))

    # silently wrong
    setv("nan elderly share", ["municipality.domain_shares.elderly_support=nan"],
         ["'municipality.domain_shares.elderly_support' = nan", "finite"])
    setv("inf elderly share", ["municipality.domain_shares.elderly_support=inf"],
         ["'municipality.domain_shares.elderly_support' = inf"])
    setv("nan elderly share in whatif", ["municipality.domain_shares.elderly_support=nan"],
         ["'municipality.domain_shares.elderly_support' = nan"], cmd="whatif")
    scen("nan in file", t.replace("residents = 300  # assumption",
                                  "residents = 300\nshare_65_plus = nan"),
         ["'population.share_65_plus' = nan"])
    scen("carrier on town hall", t.replace('point = "A"', 'point = "R"'),
         ["carriers[0].point = 'R'", "carrier_premises"])
    scen("meeting point on carrier premises",
         t.replace('"R.....",', '"R....T",').replace(
             'A = { kind = "carrier_premises", name = "Carrier A" }',
             'A = { kind = "carrier_premises", name = "Carrier A" }\n'
             'T = { kind = "meeting_point_site", name = "rooms" }')
         + '\n[cooperation.meeting_point]\nsite = "A"\n',
         ["'cooperation.meeting_point.site' = 'A'", "meeting_point_site"])
    scen("duplicate point letters", t.replace('"--+---",', '"--+-A-",'),
         ["service point 'A' is on the layout 2 times"])
    scen("grant ends before it starts",
         t + "\n[financing.g.grant_programme]\nstart_year = 2024\nend_year = 2020\n",
         ["'financing.g.grant_programme'", "end_year 2020 is before start_year 2024"],
         "--financing", "g")
    for text in ('"yes"', "off", "1", "yes"):
        setv(f"boolean {text}", [f"municipality.consolidation_regime={text}"],
             ["'municipality.consolidation_regime'", "true or false"])
    setv("share under 18 = 0.8", ["population.share_under_18=0.8"],
         ["'population'", "share_under_18 + share_65_plus"])
    big = ["R" + "." * 1499] + ["." * 1500] * 1499
    scen("layout 1500 x 1500", t.replace(
        '"R.....",\n  "..A...",\n  "......",\n  "--+---",\n  "....g.",\n  "......",',
        ",\n".join(f'"{r}"' for r in big) + ",").replace(
        'A = { kind = "carrier_premises", name = "Carrier A" }', "").split("[[carriers]]")[0]
        + "\n[cooperation.coproduction]\n", ["1500 rows x 1500 columns", "at most 250,000"])
    scen("residents above bound", t.replace("residents = 300 ", "residents = 50000000 "),
         ["'population.residents' = 50000000", "<= 5000000"])
    cases.append(Case("compare --workers 0", "named", ["compare", tiny, "--workers", "0"],
                      tokens=["--workers"]))
    cases.append(Case("compare --models ,,", "named", ["compare", tiny, "--models", ",,"],
                      tokens=["--models", "at least one"]))
    cases.append(Case("compare --models twice", "named",
                      ["compare", tiny, "--models", "municipal,municipal", "--years", "1"],
                      tokens=["--models", "twice"]))
    cases.append(Case("compare --years 0", "named", ["compare", tiny, "--years", "0"],
                      tokens=["--years"]))
    cases.append(Case("whatif --seeds 0", "named", ["whatif", tiny, "--seeds", "0"],
                      tokens=["--seeds"]))
    cases.append(Case("compare unknown model", "named", ["compare", tiny, "--models", "feudal"],
                      tokens=["--models", "'feudal'"]))
    cases.append(Case("compare model without its site", "named",
                      ["compare", tiny, "--models", "meeting_point", "--years", "1"],
                      tokens=[tiny, "meeting_point", "meeting_point_site"]))
    cases.append(Case("run --model ''", "named", ["run", tiny, "--model", ""],
                      tokens=["--model"]))
    cases.append(Case("run unknown financing", "named", ["run", tiny, "--financing", "lottery"],
                      tokens=[tiny, "'lottery'"]))
    cases.append(Case("run --set without =", "named", ["run", tiny, "--set", "novalue"],
                      tokens=["--set 'novalue'"]))
    cases.append(Case("run --set index out of range", "named",
                      ["run", tiny, "--set", "carriers.9.rent_eur_per_month=1"],
                      tokens=[tiny, "'9' is not an index"]))
    for cmd in ("run", "stress"):
        cases.append(Case(f"{cmd} --seed -1", "named", [cmd, tiny, "--seed", "-1"],
                          tokens=["--seed", ">= 0"]))
    cases.append(Case("app --port 99999", "named", ["app", tiny, "--port", "99999"],
                      tokens=["--port", "1-65535"]))
    cases.append(Case("synth --residents 50000000", "named",
                      ["synth", "--residents", "50000000", "--quarters", "10", "--out",
                       str(d / "city.toml")], tokens=["--residents", "5,000,000"],
                      after=_nothing_at("named/city.toml")))
    cases.append(Case("synth --quarters 0", "named", ["synth", "--residents", "10",
                                                      "--quarters", "0"], tokens=["--quarters"]))
    cases.append(Case("stress without shocks", "named", ["stress", tiny, "--years", "1"],
                      tokens=[tiny, "no shocks"]))

    # files
    cases.append(Case("directory as scenario", "named", ["run", str(ROOT / "scenarios")],
                      tokens=["scenarios", "is a directory"]))
    cases.append(Case("missing scenario", "named", ["run", str(d / "nowhere.toml")],
                      tokens=["nowhere.toml", "no such scenario file"]))
    cases.append(Case("unreadable scenario", "named", ["run", "/proc/self/mem"],
                      tokens=["/proc/self/mem", "cannot read"]))
    fifo = d / "pipe.toml"
    if not fifo.exists():
        os.mkfifo(fifo)
    cases.append(Case("a pipe as scenario", "named", ["run", str(fifo)],
                      tokens=[str(fifo), "not a regular file"]))
    scen("latin-1 scenario", t.replace('"Testdorf"', '"M\u00fcnster"').encode("latin-1"),
         ["not a UTF-8 text file"])
    scen("not TOML", "[population\nresidents = 3\n", ["not valid TOML"])
    scen("empty file", "", ["missing required key"])
    scen("binary file", bytes(range(256)) * 4, ["not a UTF-8 text file"])

    # experiments
    base = ('scenarios = ["tiny-quarter.toml"]\nyears = 1\nreplications = 1\n')
    _write(d / "tiny-quarter.toml", t)

    def exp(name: str, body: str | bytes, tokens: list[str], *args: str) -> None:
        slug = "".join(ch if ch.isalnum() else "-" for ch in name)
        p = _write(d / f"exp-{slug}.toml", body)
        cases.append(Case(f"experiment: {name}", "named",
                          ["batch", str(p), "--out", str(d / f"out-{slug}"), "--no-progress",
                           "--workers", "1", *args],
                          tokens=[str(p), *tokens], after=_nothing_at(f"named/out-{slug}")))

    exp("string range", 'name = "a"\n' + base + '[uncertainties]\n'
        '"access.decay_length_m" = { low = "300", high = 900.0 }\n',
        ["'uncertainties.access.decay_length_m'", "low = '300'"])
    exp("nan range", 'name = "a"\n' + base + '[uncertainties]\n'
        '"access.decay_length_m" = { low = nan, high = 900.0 }\n',
        ["'uncertainties.access.decay_length_m'", "finite"])
    exp("unknown discovery candidate", 'name = "a"\n' + base + '[levers]\n'
        'cooperation = ["municipal", "coproduction"]\n[uncertainties]\n'
        '"access.decay_length_m" = [300.0, 900.0]\n[[discovery]]\ncandidate = "feudal"\n',
        ["'discovery[0].candidate' = 'feudal'"])
    exp("unknown discovery cost", 'name = "a"\n' + base + '[levers]\n'
        'cooperation = ["municipal", "coproduction"]\n[uncertainties]\n'
        '"access.decay_length_m" = [300.0, 900.0]\n[[discovery]]\ncost = "municipal_cost"\n',
        ["'discovery[0].cost' = 'municipal_cost'"])
    exp("same scenario twice", 'name = "a"\nscenarios = ["tiny-quarter.toml", '
        '"./tiny-quarter.toml"]\nyears = 1\n', ["'scenarios[1]'", "same file"])
    exp("name ../../x", 'name = "../../x"\n' + base, ["'name'", "results/"])
    exp("bool key as range", 'name = "a"\n' + base + '[uncertainties]\n'
        '"municipality.consolidation_regime" = { low = 0, high = 1 }\n',
        ["'uncertainties.municipality.consolidation_regime'", "true or false"])
    exp("share_low + share_high", 'name = "a"\n' + base + '[uncertainties]\n'
        '"volunteering.share_low_hours" = { low = 0.3, high = 0.8 }\n'
        '"volunteering.share_high_hours" = { low = 0.1, high = 0.5 }\n',
        ["3 of 9 design points are invalid", "share_low_hours + share_high_hours"])
    exp("min_age / max_age", 'name = "a"\n' + base + '[uncertainties]\n'
        '"needs.counselling.min_age" = { low = 18.0, high = 90.0 }\n'
        '"needs.counselling.max_age" = { low = 30.0, high = 120.0 }\n'
        '[design]\nsampler = "latin_hypercube"\nsamples = 8\n',
        ["design points are invalid", "max_age"])
    exp("duplicate lever values", 'name = "a"\n' + base + '[levers]\n'
        'cooperation = ["municipal", "municipal"]\n', ["'levers.cooperation'", "twice"])
    exp("latin-1 experiment", ('name = "M\u00fcnster"\n' + base).encode("latin-1"),
        ["not a UTF-8 text file"])
    exp("unknown outcome", 'name = "a"\n' + base + 'outcomes = ["happiness"]\n',
        ["'outcomes'", "'happiness'"])
    exp("sobol not a power of 2", 'name = "a"\n' + base + '[uncertainties]\n'
        '"access.decay_length_m" = { low = 300.0, high = 900.0 }\n'
        '[design]\nsampler = "sobol"\nsamples = 10\n', ["power of 2"])
    exp("replications true", 'name = "a"\nscenarios = ["tiny-quarter.toml"]\nyears = 1\n'
        'replications = true\n', ["'replications' = True"])
    cases.append(Case("batch --cooperation ,,", "named",
                      ["batch", str(ROOT / "tests" / "data" / "tiny-experiment.toml"),
                       "--cooperation", ",,", "--no-progress"], tokens=["--cooperation"]))

    # sessions (loaded by the app): checked through the library, in the same way
    for name, body, token in (
            ("years = true", "years = true\n", "'session.years' = True"),
            ("seeds string", 'seeds = "10"\n', "'session.seeds' = '10'"),
            ("made-up outcome row", "[results.happiness]\n" + "".join(
                f"{c} = 1.0\n" for c in ("baseline_mean", "baseline_ci_low", "baseline_ci_high",
                                         "variant_mean", "variant_ci_low", "variant_ci_high",
                                         "difference_mean", "difference_ci_low",
                                         "difference_ci_high")), "unknown outcome 'happiness'"),
            ("lever string", '[levers]\n"volunteering.rate" = "0.1"\n',
             "'volunteering.rate' = '0.1'")):
        p = _write(d / f"session-{name.replace(' ', '-')}.toml",
                   f'[session]\nscenario = "{TINY}"\n' + body)
        cases.append(Case(f"session: {name}", "named", ["@session", str(p)],
                          tokens=[str(p), token]))
    return cases


# ------------------------------------------------------------------------------ faults
def fault_cases(work: Path) -> list[Case]:
    d = work / "faults"
    d.mkdir(parents=True, exist_ok=True)
    tiny = str(TINY)
    existing = _write(d / "existing.txt", "keep")
    blocker = _write(d / "blocker", "")
    return [
        Case("run --out existing file", "faults", ["run", tiny, "--out", str(existing)],
             tokens=[str(existing), "not a directory"]),
        Case("run --out /proc", "faults", ["run", tiny, "--out", "/proc/qs-out"],
             tokens=["/proc/qs-out", "cannot write"]),
        Case("run --out under a file", "faults", ["run", tiny, "--out", str(blocker / "x")],
             tokens=[str(blocker), "not a directory"]),
        Case("whatif --save /proc", "faults",
             ["whatif", tiny, "--save", "/proc/s.toml", "--seeds", "1", "--years", "1"],
             tokens=["/proc/s.toml", "cannot write"]),
        Case("whatif --save directory", "faults",
             ["whatif", tiny, "--save", str(d), "--seeds", "1", "--years", "1"],
             tokens=[str(d), "is a directory"]),
        Case("compare --out /proc table", "faults",
             ["compare", tiny, "--models", "municipal", "--seeds", "1", "--years", "1", "--out",
              "/proc/t.csv"], tokens=["/proc/t.csv", "cannot write"]),
        Case("whatif --out directory", "faults",
             ["whatif", tiny, "--seeds", "1", "--years", "1", "--out", str(d / "x.csv" / "..")],
             tokens=["--out"]),
        Case("report --out /proc", "faults", ["report", str(d), "--out", "/proc/r"],
             tokens=["/proc/r", "cannot write"]),
        Case("synth --out /proc", "faults",
             ["synth", "--residents", "1000", "--quarters", "2", "--out", "/proc/c.toml"],
             tokens=["/proc/c.toml", "cannot write"]),
        Case("synth --out /dev/full", "faults",
             ["synth", "--residents", "1000", "--quarters", "2", "--out", "/dev/full"],
             tokens=["/dev/full"]),
        Case("run --out, write fails half-way", "faults",
             ["run", tiny, "--years", "1", "--out", str(d / "fsize-run")], expect="handled",
             tokens=["File too large"], setup="fsize", after=_no_partial("faults/fsize-run")),
        Case("synth --out, write fails half-way", "faults",
             ["synth", "--residents", "600000", "--quarters", "30", "--out",
              str(d / "fsize-city.toml")], expect="handled", tokens=["File too large"],
             setup="fsize", after=_nothing_at("faults/fsize-city.toml")),
        Case("whatif --save, write fails half-way", "faults",
             ["whatif", tiny, "--years", "1", "--seeds", "1", "--workers", "1", "--save",
              str(d / "fsize-s.toml")], expect="handled", tokens=["File too large"],
             setup="fsize", after=_nothing_at("faults/fsize-s.toml")),
        Case("run --json, stdout closed", "faults", ["run", tiny, "--years", "1", "--json"],
             expect="handled", setup="closed_stdout"),
        Case("Ctrl-C during a compare", "faults",
             ["compare", str(HERTEN), "--years", "10", "--seeds", "20", "--workers", "1",
              "--models", "municipal"], expect="handled", tokens=["interrupted"],
             setup="sigint"),
    ]


# ------------------------------------------------------------------------------ stores
def store_cases(work: Path) -> list[Case]:
    """Damaged results stores (issue 14, item 4: another change makes them readable)."""
    d = work / "store"
    exp = _write(d / "exp.toml", 'name = "s"\nscenarios = ["tiny-quarter.toml"]\nyears = 1\n'
                 'replications = 2\n[levers]\ncooperation = ["municipal", "coproduction"]\n'
                 '[uncertainties]\n"access.decay_length_m" = [300.0, 900.0]\n')
    _write(d / "tiny-quarter.toml", TINY.read_text())
    base = d / "base"
    if not base.exists():  # in a child process: this one stays single-threaded for fork()
        import subprocess

        subprocess.run([sys.executable, "-m", "quartiersim.cli", "batch", str(exp), "--out",
                        str(base), "--workers", "1", "--no-progress"], check=True,
                       capture_output=True, cwd=d)
    cases = []
    for name, sub, damage in (("flipped bytes in a runs part", "runs", "flip"),
                              ("zero-byte runs part", "runs", "empty"),
                              ("truncated series part", "series", "truncate")):
        tag = damage
        store = d / tag
        if store.exists():
            shutil.rmtree(store)
        shutil.copytree(base, store)
        part = min((store / sub).glob("*.parquet"))
        data = part.read_bytes()
        if damage == "flip":
            part.write_bytes(bytes(b ^ 0xFF for b in data[:64]) + data[64:])
        elif damage == "empty":
            part.write_bytes(b"")
        else:
            part.write_bytes(data[: len(data) // 2])
        cases.append(Case(f"report: {name}", "store", ["report", str(store)], expect="handled"))
        cases.append(Case(f"batch resume: {name}", "store",
                          ["batch", str(exp), "--out", str(store), "--no-progress",
                           "--workers", "1"], expect="handled"))
    return cases


# ------------------------------------------------------------------------------ controls
def valid_cases(work: Path) -> list[Case]:
    d = work / "valid"
    t = TINY.read_text()
    bom = _write(d / "bom.toml", b"\xef\xbb\xbf" + t.encode())
    one = _write(d / "one.toml", t.replace("residents = 300  # assumption", "residents = 1"))
    return [
        Case("UTF-8 BOM runs", "valid", ["run", str(bom), "--years", "1"], expect="ok"),
        Case("one resident: strict JSON", "valid", ["run", str(one), "--years", "1", "--json"],
             expect="ok", check=_json_check),
        Case("compare --json strict", "valid",
             ["compare", str(one), "--years", "1", "--seeds", "1", "--models", "municipal",
              "--json"], expect="ok", check=_json_check),
        Case("whatif --json strict", "valid",
             ["whatif", str(one), "--years", "1", "--seeds", "1", "--workers", "1", "--set",
              "volunteering.rate=0.1", "--json"], expect="ok", check=_json_check),
        Case("run --out writes", "valid",
             ["run", str(TINY), "--years", "1", "--out", str(d / "out")], expect="ok",
             after=lambda w: None if (w / "valid/out/summary.json").is_file() else "no summary"),
    ]


# ------------------------------------------------------------------------------ running
def _session_main(path: str) -> int:
    from quartiersim.errors import QuartiersimError
    from quartiersim.studies.whatif import WhatIfSession

    try:
        WhatIfSession.load(path)
    except QuartiersimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _child(case: Case, out: int, err: int) -> None:
    """In the forked process: run the case and exit with its status (never returns)."""
    status = 1
    try:
        os.dup2(out, 1)
        os.dup2(err, 2)
        if case.setup == "fsize":
            import resource

            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if case.argv[0] == "@session":
            status = _session_main(case.argv[1])
        else:
            from quartiersim.cli import main

            try:
                status = main(case.argv)
            except SystemExit as exc:  # argparse
                status = exc.code if isinstance(exc.code, int) else 2
    except BaseException:  # noqa: BLE001 (what the console script would show)
        import traceback

        traceback.print_exc()
        status = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001
            pass
        os._exit(status)


class Job:
    def __init__(self, case: Case, work: Path, fresh: bool) -> None:
        self.case, self.t0 = case, time.monotonic()
        self.out = tempfile.TemporaryFile()
        self.err = tempfile.TemporaryFile()
        self.signalled = False
        closed = case.setup == "closed_stdout"
        out_fd = self.out.fileno()
        if closed:
            r, w = os.pipe()
            os.close(r)  # the reader is gone: every write is a broken pipe
            out_fd = w
        if fresh:
            import subprocess

            def pre() -> None:
                # a shell's background job ignores SIGINT, and Python keeps an ignored
                # SIGINT ignored: restore the default so that Ctrl-C reaches the command
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                if case.setup == "fsize":
                    import resource

                    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

            here = str(Path(__file__).parent)
            argv = ([sys.executable, "-c", f"import sys; sys.path.insert(0, {here!r}); "
                     "from adversarial_campaign import _session_main; "
                     "sys.exit(_session_main(sys.argv[1]))", case.argv[1]]
                    if case.argv[0] == "@session"
                    else [sys.executable, "-m", "quartiersim.cli", *case.argv])
            self.proc = subprocess.Popen(argv, cwd=work, stdout=out_fd, stderr=self.err,
                                         stdin=subprocess.DEVNULL, preexec_fn=pre,
                                         start_new_session=True)
            self.pid = self.proc.pid
        else:
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                os.setsid()  # its own process group: a time-out ends what it started too
                os.chdir(work)
                _child(case, out_fd, self.err.fileno())
            self.pid, self.proc = pid, None
        if closed:
            os.close(out_fd)

    def poll(self, timeout: float) -> Result | None:
        elapsed = time.monotonic() - self.t0
        if self.case.setup == "sigint" and not self.signalled:
            cpu = _cpu_seconds(self.pid)
            if cpu >= SIGINT_AFTER_CPU_S or (cpu < 0 and elapsed > 30):
                os.kill(self.pid, signal.SIGINT)
                self.signalled = True
        if self.proc is not None:
            code = self.proc.poll()
        else:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            code = None if pid == 0 else os.waitstatus_to_exitcode(st)
        if code is None:
            if elapsed <= timeout:
                return None
            try:
                os.killpg(self.pid, signal.SIGKILL)  # the case and what it started
            except ProcessLookupError:
                pass
            if self.proc is not None:
                self.proc.wait()
            else:
                os.waitpid(self.pid, 0)
            code = None
        self.out.seek(0)
        self.err.seek(0)
        res = Result(self.case, code, self.out.read().decode(errors="replace"),
                     self.err.read().decode(errors="replace"), elapsed)
        self.out.close()
        self.err.close()
        return res


def classify(res: Result, work: Path) -> Result:
    c, err = res.case, res.stderr
    text = err + res.stdout
    after = c.after(work) if c.after else None
    if "Traceback (most recent call last)" in err or "internal error:" in err:
        res.verdict, res.why = "traceback", _last_line(err)
    elif res.status is None:
        res.verdict, res.why = "other", "timed out"
    elif c.expect == "reject":
        if res.status == 0:
            res.verdict, res.why = "silent", "exit 0"
        elif res.status != 2:
            res.verdict, res.why = "other", f"exit {res.status}: {_last_line(err)}"
        else:
            missing = [tok for tok in c.tokens if tok not in err]
            lines = [ln for ln in err.splitlines() if ln.startswith(("error:", "usage:")) or
                     ": error: " in ln]
            if missing or not lines:
                res.verdict, res.why = "unclear", f"lacks {missing}: {_last_line(err)}"
            elif after:
                res.verdict, res.why = "other", after
            else:
                res.verdict = "clean"
    elif c.expect == "handled":
        missing = [tok for tok in c.tokens if tok not in text]
        if res.status not in (0, 1, 2, 130):
            res.verdict, res.why = "other", f"exit {res.status}: {_last_line(err)}"
        elif missing:
            res.verdict, res.why = "unclear", f"lacks {missing}: {_last_line(err)}"
        elif after:
            res.verdict, res.why = "other", after
        else:
            res.verdict = "clean"
    else:  # ok
        problem = (f"exit {res.status}: {_last_line(err)}" if res.status != 0 else
                   (c.check(res.stdout) if c.check else None) or after)
        res.verdict, res.why = ("other", problem) if problem else ("clean", "")
    return res


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "(no output)"


def all_cases(work: Path, per_leaf: int, file_every: int, groups: set[str]) -> list[Case]:
    makers = {"schema": lambda: schema_cases(work, per_leaf, file_every),
              "named": lambda: named_cases(work), "faults": lambda: fault_cases(work),
              "store": lambda: store_cases(work), "valid": lambda: valid_cases(work)}
    return [c for g, make in makers.items() if g in groups for c in make()]


def sample(cases: list[Case], n: int, seed: int) -> list[Case]:
    """``n`` cases spread over the groups (the same ones for the same seed)."""
    rng = random.Random(seed)
    by_group: dict[str, list[Case]] = {}
    for c in cases:
        by_group.setdefault(c.group, []).append(c)
    picked: list[Case] = []
    pools = {g: rng.sample(cs, len(cs)) for g, cs in by_group.items()}
    while len(picked) < n and any(pools.values()):
        for g in sorted(pools):
            if pools[g] and len(picked) < n:
                picked.append(pools[g].pop())
    return picked


def run_cases(cases: list[Case], work: Path, jobs: int, fresh: bool, timeout: float,
              progress: bool) -> list[Result]:
    pending, running, done = list(cases), [], []
    while pending or running:
        while pending and len(running) < jobs:
            running.append(Job(pending.pop(0), work, fresh))
        still = []
        for job in running:
            res = job.poll(timeout)
            if res is None:
                still.append(job)
            else:
                done.append(classify(res, work))
                if progress:
                    print(f"[{len(done):3d}/{len(cases)}] {done[-1].verdict:9s} "
                          f"{res.case.group:6s} {res.case.name}", file=sys.stderr, flush=True)
        running = still
        time.sleep(0.02)
    return done


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2, help="cases at once (default 2)")
    ap.add_argument("--group", action="append", choices=("schema", "named", "faults", "store",
                                                         "valid"),
                    help="only these groups (repeatable; default all)")
    ap.add_argument("--exclude", action="append", default=[], help="leave out a group")
    ap.add_argument("--sample", type=int, default=None, help="run N cases spread over the groups")
    ap.add_argument("--seed", type=int, default=14, help="seed of --sample (default 14)")
    ap.add_argument("--per-leaf", type=int, default=1,
                    help="--set mutations per schema key (default 1; 7 gives all)")
    ap.add_argument("--file-every", type=int, default=4,
                    help="a file mutation for every N-th schema key (default 4)")
    ap.add_argument("--fresh", action="store_true",
                    help="a new interpreter per case (python -m quartiersim.cli)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per case")
    ap.add_argument("--work", default=None, help="work directory (default: a temporary one)")
    ap.add_argument("--list", action="store_true", help="list the cases, run none")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--quiet", action="store_true", help="no line per case")
    ap.add_argument("--strict", action="store_true", help="exit 1 unless every case is clean")
    args = ap.parse_args(argv)

    # this checkout's quartiersim, here and in every process started (--fresh, the store)
    sys.path.insert(0, str(ROOT / "src"))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)
    import quartiersim.cli  # noqa: F401  (imported once, before forking)

    # numpy's BLAS keeps threads; each child is a copy of this interpreter that runs one
    # command and exits (BLAS re-creates its threads after fork), as multiprocessing's
    # "fork" start method does
    warnings.filterwarnings("ignore", message=r"This process .* is multi-threaded",
                            category=DeprecationWarning)

    groups = set(args.group or ("schema", "named", "faults", "store", "valid")) - set(args.exclude)
    own = args.work is None
    work = Path(args.work or tempfile.mkdtemp(prefix="quartiersim-campaign-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    try:
        cases = all_cases(work, args.per_leaf, args.file_every, groups)
        if args.sample is not None:
            cases = sample(cases, args.sample, args.seed)
        if args.list:
            for c in cases:
                print(f"{c.group:7s} {c.name:45s} quartiersim {' '.join(c.argv)}"[:250])
            return 0
        t0 = time.monotonic()
        results = run_cases(cases, work, max(1, args.jobs), args.fresh, args.timeout,
                            not args.quiet and not args.json)
        seconds = time.monotonic() - t0
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)
    counts = Counter(r.verdict for r in results)
    by_group = Counter((r.case.group, r.verdict) for r in results)
    if args.json:
        print(json.dumps({"total": len(results), "seconds": round(seconds, 1),
                          "counts": {k: counts.get(k, 0) for k in CLASSES},
                          "by_group": {g: {k: by_group.get((g, k), 0) for k in CLASSES}
                                       for g in sorted({r.case.group for r in results})},
                          "not_clean": [{"group": r.case.group, "name": r.case.name,
                                         "verdict": r.verdict, "why": r.why,
                                         "argv": r.case.argv}
                                        for r in results if r.verdict != "clean"]}, indent=1))
    else:
        print(f"\n{len(results)} cases in {seconds:.0f} s: " +
              ", ".join(f"{counts.get(k, 0)} {k}" for k in CLASSES))
        for g in sorted({r.case.group for r in results}):
            print(f"  {g:7s} " + ", ".join(f"{by_group.get((g, k), 0)} {k}" for k in CLASSES))
        bad = [r for r in results if r.verdict != "clean"]
        for r in bad:
            print(f"{r.verdict:9s} [{r.case.group}] {r.case.name}: {r.why}\n"
                  f"          quartiersim {' '.join(r.case.argv)}"[:600])
    worst = counts.get("traceback", 0) + counts.get("silent", 0)
    if args.strict:
        worst += counts.get("unclear", 0) + counts.get("other", 0)
    return 1 if worst else 0


if __name__ == "__main__":
    sys.exit(main())
