"""Command line: ``quartiersim run|compare|whatif|app|stress|synth|import|batch|report``.

Errors in the input print one message naming the file, key and what is allowed, and
exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import sys

from quartiersim.cli import compare as compare_cmd
from quartiersim.cli import run as run_cmd
from quartiersim.cli.app import register_app
from quartiersim.cli.batch import register_batch
from quartiersim.cli.common import COOPERATION_NAMES
from quartiersim.cli.geoimport import register_import
from quartiersim.cli.report import register_report
from quartiersim.cli.stress import register_stress
from quartiersim.cli.synth import register_synth
from quartiersim.cli.whatif import register_whatif
from quartiersim.errors import QuartiersimError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="quartiersim", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("scenario", help="scenario TOML file, e.g. scenarios/herten-innenstadt.toml")
        sp.add_argument("--financing", default=None, help="financing model name (default: the scenario's)")
        sp.add_argument("--years", type=int, default=10, help="horizon in years (default 10)")
        sp.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                        help="override a scenario key by its dotted path (repeatable)")
        sp.add_argument("--json", action="store_true", help="print JSON instead of a table")

    r = sub.add_parser("run", help="one run: a readable summary or --json")
    common(r)
    r.add_argument("--model", default=None,
                   help=f"cooperation model: {', '.join(COOPERATION_NAMES)} (default: the scenario's)")
    r.add_argument("--seed", type=int, default=0)
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
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except QuartiersimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
