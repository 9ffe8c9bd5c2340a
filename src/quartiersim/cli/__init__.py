"""Command line: ``quartiersim run|compare|whatif|app|stress|synth|import|batch|report|calibrate``.

Errors in the input print one message naming the file, key and what is allowed, and
exit with status 2; no traceback (``quartiersim --debug ...`` shows it). An error nobody
expected prints one line ``internal error: ...`` and exits with status 1.

Building the parser imports no simulation and no numeric library: each command imports
what it needs when it runs, so ``--help`` and argument errors answer at once (issue 15).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from quartiersim.cli import args as types
from quartiersim.cli import compare as compare_cmd
from quartiersim.cli import run as run_cmd
from quartiersim.cli.app import register_app
from quartiersim.cli.batch import register_batch
from quartiersim.cli.calibrate import register_calibrate
from quartiersim.cli.geoimport import register_import
from quartiersim.cli.report import register_report
from quartiersim.cli.stress import register_stress
from quartiersim.cli.synth import register_synth
from quartiersim.cli.whatif import register_whatif
from quartiersim.errors import QuartiersimError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="quartiersim", description=__doc__.splitlines()[0])
    p.add_argument("--debug", action="store_true",
                   help="show the traceback of an error (for bug reports)")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("scenario", help="scenario TOML file, e.g. scenarios/herten-innenstadt.toml")
        sp.add_argument("--financing", type=types.name, default=None,
                        help="financing model name (default: the scenario's)")
        sp.add_argument("--years", type=types.years, default=10,
                        help=f"horizon in years, 1-{types.MAX_YEARS} (default 10)")
        sp.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                        help="override a scenario key by its dotted path (repeatable)")
        sp.add_argument("--json", action="store_true", help="print JSON instead of a table")

    r = sub.add_parser("run", help="one run: a readable summary or --json")
    common(r)
    types.model_option(r, "cooperation model: %(models)s (default: the scenario's)")
    r.add_argument("--seed", type=types.seed, default=0, help="random seed, >= 0 (default 0)")
    r.add_argument("--out", default=None, help="directory for summary.json and series.parquet")
    r.add_argument("--geo", default=None, metavar="OUT.gpkg",
                   help="write per-cell outcomes and the service points as a GeoPackage (geo extra)")
    r.set_defaults(func=run_cmd.cmd_run)

    compare_cmd.register_compare(sub, common)
    register_whatif(sub)
    register_app(sub)
    register_stress(sub)
    register_synth(sub)
    register_import(sub)
    register_batch(sub)
    register_report(sub)
    register_calibrate(sub)
    for sp in sub.choices.values():  # --debug after the command works too
        sp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of an error (for bug reports)")
    return p


def error_message(exc: BaseException) -> tuple[str, int]:
    """The one line printed for an exception and the exit status.

    Expected errors (status 2): :class:`QuartiersimError` (invalid input, its message
    names the file and key) and :class:`OSError` on a file (the message names the path).
    Anything else is a bug (status 1): ``internal error: <type>: <message>``.
    """
    if isinstance(exc, QuartiersimError):
        return f"error: {exc}", 2
    if isinstance(exc, UnicodeDecodeError):
        return f"error: input is not a UTF-8 text file: {exc.reason}", 2
    if isinstance(exc, OSError):
        where = exc.filename if exc.filename is not None else ""
        if exc.filename2 is not None:
            where = f"{where} -> {exc.filename2}"
        what = exc.strerror or str(exc)
        return (f"error: {where}: {what}" if where else f"error: {what}"), 2
    if isinstance(exc, MemoryError):
        return ("error: out of memory; try a smaller scenario, fewer --workers or fewer "
                "years"), 1
    text = str(exc).splitlines()[0] if str(exc) else ""
    return (f"internal error: {type(exc).__name__}{': ' + text if text else ''} "
            "(run with --debug for the traceback)"), 1


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failure, 2 invalid input,
    130 interrupted).

    Called with ``argv`` None (the process's own command line: ``quartiersim ...``,
    ``python -m quartiersim.cli``), the process ends when it returns, so nothing it made
    needs to be freed: the objects left are frozen (``gc.freeze``), and the interpreter's
    last garbage collection does not take them apart one by one (a finished model is a
    cycle of the model and its agents: about 3 µs per resident at exit, 2 s at 600,000)."""
    try:
        return _main(argv)
    finally:
        if argv is None:
            import gc

            gc.freeze()


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    debug = getattr(args, "debug", False)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of stdout went away (| head): not an error
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 1
    except Exception as exc:  # noqa: BLE001 (the one top-level handler)
        message, status = error_message(exc)
        if debug:
            traceback.print_exc()
        print(message, file=sys.stderr)
        return status


if __name__ == "__main__":
    sys.exit(main())
