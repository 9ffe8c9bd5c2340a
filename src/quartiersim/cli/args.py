"""Argument types of the command line: each number and name is checked by argparse, so
a bad value is rejected (exit status 2, ``argument --seed: must be >= 0``) before any
file is read or any progress bar is drawn."""

from __future__ import annotations

import argparse
from collections.abc import Callable

#: Bounds shared with the schemas: a horizon of at most 200 years (experiments and
#: sessions), at most 10,000 seeds (sessions), TCP ports 1-65535.
MAX_YEARS = 200
MAX_SEEDS = 10_000
MAX_WORKERS = 1024


def int_range(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high] (no upper bound when ``high`` is None)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value}: must be >= {low}" if high is None
                                             else f"{value}: must be {low}-{high}")
        return value

    parse.__name__ = "integer"  # argparse names the type in its messages
    return parse


def name(text: str) -> str:
    """An argparse type: a non-empty name (``--model ""`` would mean the default)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("give a name, not an empty string")
    return text.strip()


#: Most parameter sets ``compare --uncertainty`` draws (as
#: :data:`quartiersim.studies.uncertainty.MAX_DRAWS`).
MAX_DRAWS = 10_000


class Later:
    """Text made when argparse prints a help message, not when the parser is built.

    Set as an attribute of an argument's action and named in its help as ``%(name)s``:
    argparse formats help with the action's attributes, calling ``str()`` on this then.
    The command line builds its parser without importing the registries (``--help`` and
    argument errors answer at once); a subcommand's ``--help`` imports what it names."""

    def __init__(self, make: Callable[[], str]) -> None:
        self._make = make

    def __str__(self) -> str:
        return self._make()


def cooperation_names_text() -> str:
    """The cooperation model names, comma-separated, in ``compare``'s order."""
    from quartiersim.config.cooperation import COOPERATION_PARAMS

    return ", ".join(COOPERATION_PARAMS)


def model_option(parser: argparse.ArgumentParser, help_text: str) -> argparse.Action:
    """``--model NAME``: ``help_text`` names the models as ``%(models)s``."""
    action = parser.add_argument("--model", type=name, default=None, help=help_text)
    action.models = Later(cooperation_names_text)  # type: ignore[attr-defined]
    return action


def table_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--all`` and ``--out FILE`` to a command that prints a headline table
    (:func:`quartiersim.cli.tables.print_headline`)."""
    parser.add_argument("--all", action="store_true",
                        help="print every outcome, one table per group (default: the headline)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="also write the full table to FILE.csv, FILE.xlsx or FILE.json")


seed = int_range(0)
draws = int_range(1, MAX_DRAWS)
years = int_range(1, MAX_YEARS)
seeds = int_range(1, MAX_SEEDS)
workers = int_range(1, MAX_WORKERS)
positive = int_range(1)
port = int_range(1, 65535)
