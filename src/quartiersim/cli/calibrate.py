"""``quartiersim calibrate SCENARIO [--targets FILE] [--out DIR]``: fit a scenario's
assumption parameters to sourced figures (ABC-SMC) and write the posterior."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from quartiersim.cli import args as types
from quartiersim.config.fileio import strict_json
from quartiersim.config.overrides import parse_pairs


def register_calibrate(sub: Any) -> None:
    """Add ``quartiersim calibrate`` to the CLI's subparsers."""
    c = sub.add_parser("calibrate", help="fit assumption parameters to sourced figures "
                                         "(ABC-SMC) and write a posterior")
    c.add_argument("scenario", help="scenario TOML file, e.g. scenarios/herten-innenstadt.toml")
    c.add_argument("--targets", default=None, metavar="FILE",
                   help="targets file (default: calibration/<scenario name>.toml)")
    c.add_argument("--out", default=None, metavar="DIR",
                   help="output directory (default: the targets file's path without .toml)")
    c.add_argument("--workers", type=types.workers, default=None,
                   help="processes, >= 1 (default: all cores; 1: reproducible)")
    c.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run the simulations on this Dask scheduler (dask extra)")
    c.add_argument("--generations", type=types.positive, default=None,
                   help="override the targets file's abc.generations")
    c.add_argument("--population", type=types.int_range(5, 100_000), default=None,
                   help="override the targets file's abc.population_size")
    c.add_argument("--minutes", type=float, default=None,
                   help="override the targets file's abc.max_minutes")
    c.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                   help="override a scenario key by its dotted path (repeatable)")
    c.add_argument("--json", action="store_true", help="print the result as JSON")
    c.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: Any) -> int:
    from quartiersim.config.loading import load_scenario
    from quartiersim.studies.calibration import calibrate, check_installed
    from quartiersim.studies.calibration_spec import default_targets_path

    check_installed()
    scenario = load_scenario(args.scenario, parse_pairs(args.set))
    targets = Path(args.targets) if args.targets else default_targets_path(args.scenario)
    out = Path(args.out) if args.out else targets.with_suffix("")
    settings = {k: v for k, v in (("generations", args.generations),
                                  ("population_size", args.population),
                                  ("max_minutes", args.minutes)) if v is not None}
    res = calibrate(scenario, targets if args.targets or targets.is_file() else None, out,
                    workers=args.workers, scheduler=args.scheduler, progress=not args.json,
                    abc_settings=settings)
    if args.json:
        print(strict_json({"simulations": res.simulations, "seconds": round(res.seconds, 1),
                           "generations": res.generations.to_dict(orient="records"),
                           "parameters": res.parameters.to_dict(orient="records"),
                           "fit": res.fit.to_dict(orient="records"),
                           "files": [str(f) for f in res.files]}))
        return 0
    print(f"{args.scenario}: {res.simulations} simulations, {len(res.generations)} generations, "
          f"{res.seconds / 60:.1f} min; final threshold "
          f"{res.generations['epsilon'].iloc[-1]:.3g}")
    print("fit (mean [5-95 %] before -> after calibration; share of hits after):")
    for r in res.fit.itertuples():
        kind = "fitted" if r.fitted else "held back"
        print(f"  {r.target} ({r.outcome}, {r.figure}, {kind}): {r.before_mean:.4g} "
              f"[{r.before_q05:.4g}, {r.before_q95:.4g}] -> {r.after_mean:.4g} "
              f"[{r.after_q05:.4g}, {r.after_q95:.4g}]; hits {r.after_hits:.0%}")
    print("parameters (posterior mean [5-95 %]; sd as a share of the prior's):")
    for r in res.parameters.itertuples():
        print(f"  {r.parameter}: {r.mean:.4g} [{r.q05:.4g}, {r.q95:.4g}]; sd {r.sd_ratio:.0%}, "
              f"moved {r.shift:+.2f} prior sd")
    print(f"written: {out}/ (posterior.parquet, parameters.csv, fit.csv, figures/, "
          "calibration.md)")
    return 0
