"""``quartiersim batch``: run an experiment file into a resumable results store."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from quartiersim.cli import args as types
from quartiersim.cli.common import start_pool
from quartiersim.config.fileio import check_output_dir
from quartiersim.errors import QuartiersimError


def register_batch(sub: Any) -> None:
    """Add ``quartiersim batch`` to the CLI's subparsers."""
    b = sub.add_parser("batch", help="run an experiment file: resumable, parallel, to Parquet")
    b.add_argument("experiment", help="experiment TOML file, e.g. experiments/dewak-comparison.toml")
    b.add_argument("--out", default=None, help="results directory (default results/<name>)")
    b.add_argument("--workers", type=types.workers, default=None,
                   help="local processes, >= 1 (default: all cores)")
    b.add_argument("--engine", choices=("local", "dask"), default="local")
    b.add_argument("--scheduler", default=None,
                   help="Dask scheduler address or scheduler JSON file (with --engine dask)")
    b.add_argument("--replications", type=types.positive, default=None,
                   help="override the file's replications (reduced runs)")
    b.add_argument("--samples", type=types.positive, default=None,
                   help="override the file's design samples (reduced runs)")
    b.add_argument("--years", type=types.years, default=None,
                   help=f"override the file's horizon, 1-{types.MAX_YEARS}")
    b.add_argument("--cooperation", default=None,
                   help="comma-separated subset of the file's cooperation models to run")
    b.add_argument("--financing", default=None,
                   help="comma-separated subset of the file's financing models to run")
    b.add_argument("--wait", action="store_true",
                   help="if another batch writes to --out, wait for it instead of refusing")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.set_defaults(func=cmd_batch)


def cmd_batch(args: Any) -> int:
    def names(option: str, text: str | None) -> list[str] | None:
        if text is None:
            return None
        out = [n.strip() for n in text.split(",") if n.strip()]
        if not out:
            raise QuartiersimError(f"{option} {text!r}: give at least one name "
                                   "(comma-separated)")
        return list(dict.fromkeys(out))

    cooperation = names("--cooperation", args.cooperation)
    financing = names("--financing", args.financing)
    local = args.engine == "local"
    # a local batch's workers start now: their forkserver imports the model while this
    # process imports it too and reads the experiment (the batch module names the preload)
    with start_pool(args.workers, os.cpu_count() or 1,
                    ("quartiersim.studies.batch",)) if local else contextlib.nullcontext() as pool:
        from quartiersim.studies.batch import run_batch
        from quartiersim.studies.experiment import load_experiment

        exp = load_experiment(args.experiment, replications=args.replications,
                              samples=args.samples, years=args.years, cooperation=cooperation,
                              financing=financing)
        out = Path(args.out) if args.out else Path("results") / exp.name
        check_output_dir(out, "results directory")
        res = run_batch(exp, out, engine=args.engine, workers=args.workers,
                        scheduler=args.scheduler, progress=not args.no_progress,
                        wait=args.wait, pool=pool)
    print(f"{exp.name}: {res.total} runs, {res.skipped} done before, {res.finished} finished, "
          f"{res.failed} failed, {res.seconds:.1f} s ({res.runs_per_minute:.1f} runs/min)")
    print(f"results: {out}/runs, {out}/series (quartiersim report {out})")
    if res.failed:
        print(f"{res.failed} runs failed (see the 'error' column); run the same command "
              "again to redo them", file=sys.stderr)
        return 1
    return 0
