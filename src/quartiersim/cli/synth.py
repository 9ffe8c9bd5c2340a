"""``quartiersim synth``: write a synthetic multi-quarter city scenario."""

from __future__ import annotations

import argparse
import sys

from quartiersim.config.fileio import atomic_write_text, check_output_file
from quartiersim.studies.synth import DEFAULT_TEMPLATE, synthesize


def cmd_synth(args: argparse.Namespace) -> int:
    if args.out:  # before the work: never a city generated only to be lost
        check_output_file(args.out, "scenario file")
    text = synthesize(args.residents, args.quarters, args.name, template=args.template)
    if args.out:
        atomic_write_text(args.out, text)
        print(f"written: {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def register_synth(sub: argparse._SubParsersAction) -> None:
    """Add ``quartiersim synth`` to the CLI's subcommands."""
    s = sub.add_parser("synth", help="write a synthetic city scenario (scale tests)")
    s.add_argument("--residents", type=int, required=True,
                   help="residents of the city (at least --quarters)")
    s.add_argument("--quarters", type=int, required=True, help="number of quarters, >= 1")
    s.add_argument("--name", default=None, help="meta.name of the scenario")
    s.add_argument("--out", default=None, help="scenario file to write (default: stdout)")
    s.add_argument("--template", default=str(DEFAULT_TEMPLATE),
                   help="quarter scenario whose make-up the city repeats (default: Herten inner city)")
    s.set_defaults(func=cmd_synth)
