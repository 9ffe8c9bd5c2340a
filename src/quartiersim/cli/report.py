"""``quartiersim report``: the HTML/Markdown report of a results store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from quartiersim.config.fileio import check_output_dir


def register_report(sub: Any) -> None:
    """Add ``quartiersim report`` to the CLI's subparsers."""
    r = sub.add_parser("report", help="HTML and Markdown report of batch results")
    r.add_argument("results", help="results directory written by 'quartiersim batch'")
    r.add_argument("--out", default=None, help="output directory (default RESULTS/report)")
    r.set_defaults(func=cmd_report)


def cmd_report(args: Any) -> int:
    from quartiersim.studies.experiment import check_stored_discovery
    from quartiersim.studies.report import write_report

    # before the work: the output can be written, the questions can be answered
    check_output_dir(args.out or Path(args.results) / "report", "report directory")
    check_stored_discovery(args.results)
    paths = write_report(args.results, args.out)
    print(f"written: {paths[0]}, {paths[1]} and {len(paths) - 2} figures")
    return 0
