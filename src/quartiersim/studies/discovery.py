"""Scenario discovery with PRIM (Friedman and Fisher 1999; EMA Workbench's
``ema_workbench.analysis.prim``): the ranges of the uncertain parameters under which an
answer is mostly one way -- e.g. where a cooperation model loses its lead
(:func:`quartiersim.studies.uncertainty.lead_discovery`)."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: Fewest cases of the rarer answer PRIM is run on (fewer give anecdotal boxes).
MIN_PRIM_CASES = 10


@dataclass
class Box:
    """A PRIM box (Friedman and Fisher 1999, EMA Workbench): the ranges of the
    uncertainties under which the answer is mostly the target.

    Attributes:
        question: the question in words.
        cases: draws (or pairs) asked; hits: those where the answer is yes.
        limits: one row per parameter the box restricts to at most 90 % of its range
            over the cases: ``uncertainty``, ``low``, ``high`` (``values`` for a
            categorical one).
        target: the answer the box describes: ``"yes"``, or ``"no"`` when yes is the
            majority (scenario discovery describes the rarer answer).
        coverage, density, mass: of the chosen box (PRIM's terms; shares).
        note: why there is no box, when there is none.
    """

    question: str
    cases: int
    hits: int
    limits: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["uncertainty", "low", "high", "values"]))
    target: str = "yes"
    coverage: float = math.nan
    density: float = math.nan
    mass: float = math.nan
    note: str = ""


def box_restrictions(found: object, init: pd.DataFrame,
                     max_share: float | None = None) -> list[dict]:
    """Select the box of a PRIM peeling trajectory with the largest coverage × density and
    list the uncertainties it restricts: a category set smaller than the initial one, or a
    numeric range narrower than the initial one (with ``max_share``: at most that share of
    it). Rows: ``uncertainty``, ``low``, ``high`` (NaN for categories), ``values``."""
    traj = found.peeling_trajectory  # type: ignore[attr-defined]
    found.select(int((traj["coverage"] * traj["density"]).astype(float).idxmax()))  # type: ignore[attr-defined]
    lim = found.box_lim  # type: ignore[attr-defined]
    rows = []
    for col in lim.columns:
        lo, hi = lim[col].iloc[0], lim[col].iloc[1]
        first, last = init[col].iloc[0], init[col].iloc[1]
        if isinstance(lo, set):
            if lo != first:
                rows.append({"uncertainty": col, "low": math.nan, "high": math.nan,
                             "values": ", ".join(sorted(map(str, lo)))})
        elif max_share is None:
            if lo != first or hi != last:
                rows.append({"uncertainty": col, "low": float(lo), "high": float(hi),
                             "values": ""})
        else:
            full = float(last) - float(first)
            if full > 0 and (float(hi) - float(lo)) <= max_share * full:
                rows.append({"uncertainty": col, "low": float(lo), "high": float(hi),
                             "values": ""})
    return rows


def prim_box(x: pd.DataFrame, y: np.ndarray, question: str) -> Box:
    """PRIM on ``x`` (one row per case, one column per uncertainty) for the rarer answer
    of ``y`` (the True cases, or the False ones when True is the majority: ``target``).
    The box chosen is the point of the peeling trajectory with the highest coverage x
    density; only parameters it restricts to at most 90 % of their range are listed. No
    box when the rarer answer has fewer than :data:`MIN_PRIM_CASES` cases or the answer
    never varies (the note says why). Needs ``ema_workbench`` (the ``analysis`` extra)."""
    y = np.asarray(y, dtype=bool)
    box = Box(question, len(y), int(y.sum()))
    if y.all() or not y.any():
        box.note = "the answer is the same in every case: nothing to discover"
        return box
    if y.mean() > 0.5:
        box.target, y = "no", ~y
    if y.sum() < MIN_PRIM_CASES:
        box.note = (f"only {int(y.sum())} of {len(y)} cases have the rarer answer "
                    f"('{box.target}'): too few for PRIM (it needs {MIN_PRIM_CASES}; draw "
                    "more parameter sets)")
        return box
    try:
        with warnings.catch_warnings():  # "ipyparallel not installed": not used here
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import prim
    except ImportError:
        box.note = "PRIM needs ema_workbench: pip install -e '.[analysis]'"
        return box
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = prim.Prim(x.reset_index(drop=True), y, mass_min=0.05)
        found = p.find_box()
    if found is None:
        box.note = "PRIM found no box"
        return box
    rows = box_restrictions(found, p.box_init, max_share=0.9)
    box.limits = pd.DataFrame(rows, columns=["uncertainty", "low", "high", "values"])
    box.coverage, box.density, box.mass = (float(found.coverage), float(found.density),
                                           float(found.mass))
    return box


__all__ = ["MIN_PRIM_CASES", "Box", "box_restrictions", "prim_box"]
