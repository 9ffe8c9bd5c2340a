"""``quartiersim compare --uncertainty posterior|ranges [--draws N]``: the ranking of the
cooperation models as probabilities over drawn parameter sets (P(best), interval, regret)."""

from __future__ import annotations

import argparse
import math
from typing import Any

import pandas as pd
from rich import box
from rich.table import Table
from rich.text import Text

from quartiersim.cli import tables
from quartiersim.cli.common import model_names
from quartiersim.config.fileio import strict_json
from quartiersim.config.overrides import parse_pairs
from quartiersim.errors import QuartiersimError
from quartiersim.sim.outcomes import REGISTRY
from quartiersim.studies.format import format_value
from quartiersim.studies.uncertainty import (
    REGRET_PERCENTILE,
    Box,
    UncertainComparison,
    compare_uncertain,
    ranking_outcomes,
)

#: Draws when ``--draws`` is not given.
DEFAULT_DRAWS = 20


def _range(lo: float, hi: float, kind: Any) -> str:
    return f"{format_value(lo, kind)}-{format_value(hi, kind)}"


def ranking_table(res: UncertainComparison, outcome: str) -> Table:
    """Models as rows: mean, 5-95 % over draws, P(best), regret (mean, 90th percentile)."""
    o = REGISTRY.lookup(outcome)
    sub = res.rankings[res.rankings["outcome"] == outcome]
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    t.add_column("model", no_wrap=True, min_width=max([5, *(len(m) for m in sub["model"])]))
    for head in ("mean", "5-95 % of draws", "P(best)", "regret", f"regret p{REGRET_PERCENTILE:.0f}"):
        t.add_column(head, justify="right", no_wrap=True)
    top = sub["p_best"].max() if len(sub) else math.nan
    for r in sub.itertuples():
        best = r.p_best == top and top > 0
        t.add_row(r.model, format_value(r.mean, o.kind), _range(r.low, r.high, o.kind),
                  Text(f"{'*' if best else ''}{r.p_best:.0%}", style="bold green" if best else ""),
                  format_value(r.regret_mean, o.kind), format_value(r.regret_p90, o.kind))
    return t


def box_lines(b: Box) -> list[str]:
    """PRIM's answer in words."""
    head = f"{b.question} It loses it in {b.hits} of {b.cases} draws."
    if b.limits.empty:
        return [head, f"  PRIM: {b.note or 'no parameter restricted to 90 % of its range or less'}."]
    where = "lost" if b.target == "yes" else "kept"
    lines = [head, f"  PRIM box (coverage {b.coverage:.0%}, density {b.density:.0%}, "
                   f"mass {b.mass:.0%}): the lead is mostly {where} where"]
    for r in b.limits.itertuples():
        what = r.values if r.values else f"{r.low:.4g} to {r.high:.4g}"
        lines.append(f"    {r.uncertainty} is {what}")
    return lines


def _tidy(res: UncertainComparison) -> pd.DataFrame:
    out = res.rankings.copy()
    labels = {n: REGISTRY.lookup(n) for n in out["outcome"].unique()}
    out.insert(2, "label", [labels[n].label for n in out["outcome"]])
    out.insert(3, "unit", [labels[n].unit for n in out["outcome"]])
    out.insert(0, "source", res.source)
    return out


def _json(res: UncertainComparison) -> dict[str, Any]:
    return {"source": res.source, "draws": len(res.draws), "seeds_per_draw": res.seeds,
            "years": res.years, "reference_model": res.reference,
            "parameters": list(res.draws.columns),
            "rankings": res.rankings.to_dict(orient="records"),
            "robustness": res.robustness(),
            "discovery": {k: {"question": b.question, "draws": b.cases, "lost": b.hits,
                              "limits": b.limits.to_dict(orient="records"),
                              "coverage": b.coverage, "density": b.density, "mass": b.mass,
                              "note": b.note} for k, b in res.discoveries.items()}}


def cmd_compare_uncertain(args: argparse.Namespace) -> int:
    """``compare --uncertainty``: checks first (options, --out), then the draws and runs."""
    for flag, given in (("--geo", getattr(args, "geo", None)), ("--all", args.all)):
        if given:
            raise QuartiersimError(f"{flag} is not available with --uncertainty (it reports "
                                   "rankings over draws, not per-seed means)")
    tables.check_out(args.out)
    draws = args.draws if args.draws is not None else DEFAULT_DRAWS
    seeds = args.seeds if args.seeds is not None else 1
    res = compare_uncertain(args.scenario, args.uncertainty, draws=draws,
                            models=model_names(args.models), financing=args.financing,
                            seeds=seeds, years=args.years, overrides=parse_pairs(args.set),
                            workers=args.workers, progress=not args.json)
    if args.out:
        tables.write_table(_tidy(res), args.out)
    if args.json:
        print(strict_json(_json(res)))
        return 0
    con = tables.console()
    fin = res.runs["financing"].iloc[0]
    con.print(f"{args.scenario}: {draws} parameter sets from the {res.source} "
              f"({len(res.draws.columns)} parameters) x {seeds} seed(s) x {args.years} years, "
              f"financing {fin}; every model with the same seeds in each set (common random "
              "numbers).")
    con.print("P(best): share of the draws in which the model is best; regret: how far below "
              "the best model of the same draw (mean and 90th percentile).")
    for o in ranking_outcomes(list(res.rankings["outcome"].unique())):
        tables.print_titled(con, o.label, [ranking_table(res, o.name)], [])
    con.print()
    con.print(Text("How robust is each ranking?", style="bold"))
    for line in res.robustness():
        con.print(line)
    for b in res.discoveries.values():
        for line in box_lines(b):
            con.print(line)
    if args.out:
        con.print(f"written: {args.out}")
    return 0
