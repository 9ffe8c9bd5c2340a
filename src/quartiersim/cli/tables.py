"""Tables of results: on the terminal (rich) and as files (CSV, Excel, JSON).

The commands that compare runs (``compare``, ``whatif``, ``stress``) hand over *results*:
one entry per row (a cooperation model; baseline, variant and change; unshocked and
shocked), each a mapping from outcome name to an :class:`Estimate`. From them:

- :func:`print_headline`: the first screen, rows x a few headline outcomes (the
  registry's headline view), units in the header, the best value per column marked
  with ``*`` (and bold on a terminal); columns and rows that are n/a or zero everywhere
  are left out, with a one-line note;
- :func:`print_groups`: every outcome, one table per :class:`OutcomeGroup`;
- :func:`tidy` and :func:`write_table`: the full table, one row per row x outcome, with
  label and unit, as ``.csv``, ``.xlsx`` (openpyxl) or ``.json``.

Tables fit the console width (rich wraps the headers); colour and bold only on a
terminal, plain text when piped. The width is the terminal's, or ``COLUMNS``, or 80.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from quartiersim.cli.args import table_options
from quartiersim.config.fileio import atomic_write, check_output_file, strict_json
from quartiersim.errors import QuartiersimError
from quartiersim.sim.registry import Better, Outcome, OutcomeGroup, tree_rows
from quartiersim.studies.format import format_value, is_missing

if TYPE_CHECKING:
    import pandas as pd

#: The marker of the best value in a column (survives plain text).
BEST = "*"

#: File types ``--out`` writes.
OUT_SUFFIXES: tuple[str, ...] = (".csv", ".xlsx", ".json")


@dataclass(frozen=True)
class Estimate:
    """A value and, over replications, its 95 % interval (None for a single run)."""

    mean: Any
    low: Any = None
    high: Any = None

    @property
    def half_width(self) -> float | None:
        """Half the interval's width (intervals over seeds are symmetric t intervals)."""
        if is_missing(self.low) or is_missing(self.high):
            return None
        return (float(self.high) - float(self.low)) / 2.0

    @property
    def empty(self) -> str | None:
        """``"n/a"`` or ``"zero"`` when there is nothing to show, else None."""
        if is_missing(self.mean):
            return "n/a"
        if float(self.mean) == 0.0 and not self.half_width:
            return "zero"
        return None


#: Results: row name -> outcome name -> estimate.
Results = Mapping[str, Mapping[str, Estimate]]


def estimates(record: Mapping[str, Any], names: Iterable[str]) -> dict[str, Estimate]:
    """Estimates from a flat record with ``<name>_mean``, ``_ci_low``, ``_ci_high``."""
    return {n: Estimate(record.get(f"{n}_mean"), record.get(f"{n}_ci_low"),
                        record.get(f"{n}_ci_high"))
            for n in names if f"{n}_mean" in record}


def console() -> Console:
    """A console on stdout: the terminal's width (``COLUMNS`` or 80 when piped), styles
    only on a terminal."""
    return Console(highlight=False, emoji=False, soft_wrap=False)


# --------------------------------------------------------------------------- cells
def _best(results: Results, rows: list[str], o: Outcome) -> set[str]:
    """Rows with the best displayed value of ``o`` (none when all show the same)."""
    if o.better is None:
        return set()
    values = {r: results[r][o.name].mean for r in rows
              if o.name in results[r] and not is_missing(results[r][o.name].mean)}
    if len(values) < 2:
        return set()
    pick = max if o.better is Better.HIGHER else min
    best = format_value(pick(values.values()), o.kind)
    shown = {r: format_value(v, o.kind) for r, v in values.items()}
    marked = {r for r, text in shown.items() if text == best}
    return set() if len(marked) == len(values) else marked


def _cell(est: Estimate | None, o: Outcome, signed: bool, best: bool) -> Text:
    """The value (``*`` before the best) and, below, ``±`` half the 95 % interval."""
    if est is None:
        return Text(format_value(None, o.kind))
    text = Text(f"{BEST if best else ''}{format_value(est.mean, o.kind, signed)}",
                style="bold green" if best else "")
    half = est.half_width
    if half is not None and not is_missing(est.mean):
        text.append(f"\n±{format_value(half, o.kind)}", style="dim")
    return text


def _width(cells: Iterable[Text]) -> int:
    return max((len(line) for c in cells for line in c.plain.split("\n")), default=1)


def _left_out(what: list[tuple[str, str]], noun: str) -> str:
    """One line: ``Left out: A, B (n/a for every model); C (zero for every model).``"""
    parts = []
    for reason in ("n/a", "zero", "n/a or zero"):
        names = [name for name, why in what if why == reason]
        if names:
            parts.append(f"{', '.join(names)} ({reason} for every {noun})")
    return "Left out: " + "; ".join(parts) + "." if parts else ""


def _why_empty(ests: list[Estimate | None]) -> str | None:
    """Why there is nothing to show (``n/a``, ``zero``, ``n/a or zero``), or None."""
    reasons = {"n/a" if e is None else e.empty for e in ests}
    if not reasons or None in reasons:
        return None
    return reasons.pop() if len(reasons) == 1 else "n/a or zero"


#: Characters between two columns of a table (padding, separator, padding).
_GAP = 3


def _longest_word(text: str) -> int:
    return max((len(w) for w in text.split()), default=0)


@dataclass
class _Grid:
    """A table before layout: a first column (row labels) and value columns of cells.

    Value columns keep their full width (a number is never broken); headers wrap at
    spaces; row labels wrap when ``label_min`` < their length.
    """

    first_header: str
    row_labels: list[str]
    headers: list[str]
    columns: list[list[Text]]
    label_min: int | None = None  # None: labels never wrap

    def _widths(self) -> list[int]:
        """Least width of each value column: its widest cell, its header's longest word."""
        return [max(_width(c), _longest_word(h)) for c, h in zip(self.columns, self.headers)]

    def _label_width(self) -> int:
        return max([len(self.first_header), *(len(r) for r in self.row_labels)])

    def table(self, cols: range, label_width: int, widths: dict[int, int]) -> Table:
        t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
        t.add_column(self.first_header, width=label_width, overflow="fold")
        for j in cols:
            t.add_column(self.headers[j], justify="right", width=widths[j], overflow="fold")
        for i, label in enumerate(self.row_labels):
            t.add_row(label, *(self.columns[j][i] for j in cols))
        return t

    def fit(self, width: int) -> list[Table]:
        """The table split by columns into consecutive tables that fit ``width`` (each
        repeats the row labels); one table when it fits. Room left over widens the
        headers (up to one line each). A single column wider than ``width`` is folded."""
        least_w, natural = self._widths(), self._label_width()
        full_w = [max(w, len(h)) for w, h in zip(least_w, self.headers)]
        least = natural if self.label_min is None else min(natural, self.label_min)
        out, start, n = [], 0, len(self.columns)
        while start < n or not out:
            k = n - start
            while k > 1 and width - sum(least_w[start:start + k]) - _GAP * k < least:
                k -= 1
            cols = range(start, start + k)
            label_w = max(1, min(natural, width - sum(least_w[j] for j in cols) - _GAP * k))
            widths = {j: least_w[j] for j in cols}
            extra = width - label_w - sum(widths.values()) - _GAP * k
            while extra > 0 and any(widths[j] < full_w[j] for j in cols):
                for j in cols:
                    if extra > 0 and widths[j] < full_w[j]:
                        widths[j] += 1
                        extra -= 1
            out.append(self.table(cols, label_w, widths))
            start += max(k, 1)
        return out


# --------------------------------------------------------------------------- the tables
def headline_tables(results: Results, outcomes: list[Outcome], *, width: int = 80,
                    row_header: str = "model", noun: str = "model",
                    signed_rows: Iterable[str] = (), ranked_rows: Iterable[str] | None = None
                    ) -> tuple[list[Table], list[str]]:
    """Rows x headline outcomes (one table, or several when the columns do not fit
    ``width``), and the notes to print below.

    Args:
        results: row name -> outcome name -> estimate.
        outcomes: the columns (e.g. the registry's headline view).
        width: the console width the tables must fit.
        row_header: header of the first column.
        noun: what a row is, in the notes ("model", "run").
        signed_rows: rows printed with a sign (changes).
        ranked_rows: rows among which the best value is marked (default: all unsigned).
    """
    rows = list(results)
    signed = set(signed_rows)
    ranked = [r for r in rows if r not in signed] if ranked_rows is None else list(ranked_rows)
    shown, left = [], []
    for o in outcomes:
        why = _why_empty([results[r].get(o.name) for r in rows])
        (left.append((o.label, why)) if why else shown.append(o))
    kept = [r for r in rows
            if not shown or _why_empty([results[r].get(o.name) for o in shown]) is None]
    left_rows = [(r, _why_empty([results[r].get(o.name) for o in shown])) for r in rows
                 if r not in kept]
    marked = False
    columns = []
    for o in shown:
        best = _best(results, [r for r in ranked if r in kept], o)
        marked = marked or bool(best)
        columns.append([_cell(results[r].get(o.name), o, r in signed, r in best) for r in kept])
    grid = _Grid(row_header, kept, [o.header for o in shown], columns)
    notes = [n for n in (_left_out(left, noun), _left_out(left_rows, "outcome")) if n]
    if marked:
        notes.append(f"{BEST} best in the column (higher reach, lower escalation, fewer cases, "
                     "lower cost).")
    return grid.fit(width), notes


def outcome_tables(results: Results, outcomes: list[Outcome], *, width: int = 80,
                   noun: str = "model", signed_rows: Iterable[str] = (),
                   ranked_rows: Iterable[str] | None = None,
                   labels: Mapping[str, str] | None = None) -> tuple[list[Table], list[str]]:
    """Outcomes as rows (details indented under their parent; ``labels`` overrides a row's
    label by outcome name), the results' rows as columns (split into several tables where
    they do not fit ``width``), and the notes; outcomes n/a or zero for every column are
    left out (no table when nothing is left)."""
    cols = list(results)
    signed = set(signed_rows)
    ranked = [r for r in cols if r not in signed] if ranked_rows is None else list(ranked_rows)
    shown, left = [], []
    for o in outcomes:
        why = _why_empty([results[c].get(o.name) for c in cols])
        (left.append((o.label, why)) if why else shown.append(o))
    notes = [n for n in (_left_out(left, noun),) if n]
    if not shown:
        return [], notes
    best = {o.name: _best(results, ranked, o) for o in shown}
    columns = [[_cell(results[c].get(o.name), o, c in signed, c in best[o.name])
                for o in shown] for c in cols]
    row_labels = [(labels or {}).get(o.name, label) for o, label in tree_rows(shown)]
    grid = _Grid("", row_labels, [c.replace("_", " ") for c in cols], columns, label_min=24)
    if any(best.values()):
        notes.append(f"{BEST} best in the row.")
    return grid.fit(width), notes


def group_tables(results: Results, outcomes: list[Outcome], *, width: int = 80, **kwargs: Any
                 ) -> list[tuple[str, list[Table], list[str]]]:
    """Every outcome, one :func:`outcome_tables` per :class:`OutcomeGroup` (in its
    order): ``(title, tables, notes)``; keywords as :func:`outcome_tables`."""
    out = []
    for group in OutcomeGroup:
        members = [o for o in outcomes if o.group is group]
        if members:
            out.append((group.title, *outcome_tables(results, members, width=width, **kwargs)))
    return out


def print_headline(con: Console, results: Results, outcomes: list[Outcome], **kwargs: Any) -> None:
    """Print :func:`headline_tables` (at the console's width) and the notes."""
    tabs, notes = headline_tables(results, outcomes, width=con.width, **kwargs)
    for t in tabs:
        con.print(t)
    for n in notes:
        con.print(n)


def print_groups(con: Console, results: Results, outcomes: list[Outcome], **kwargs: Any) -> None:
    """Print :func:`group_tables`: a heading, the tables and the notes per group."""
    for title, tabs, notes in group_tables(results, outcomes, width=con.width, **kwargs):
        print_titled(con, title, tabs, notes)


def print_titled(con: Console, title: str, tabs: list[Table], notes: list[str]) -> None:
    """A blank line, the bold title, the tables and the notes."""
    con.print()
    con.print(Text(title, style="bold"))
    for t in tabs:
        con.print(t)
    for n in notes:
        con.print(n)


# --------------------------------------------------------------------------- files
def tidy(results: Results, outcomes: list[Outcome], row_key: str = "model",
         row_columns: Mapping[str, Mapping[str, Any]] | None = None,
         interval: bool = True) -> pd.DataFrame:
    """The full table, one row per results row x outcome.

    Columns: ``row_key`` (e.g. ``model``), the ``row_columns`` of that row (e.g.
    ``financing``, ``seeds``), ``group``, ``outcome``, ``label``, ``unit`` and ``mean``,
    ``ci_low``, ``ci_high`` (the 95 % interval; with ``interval=False`` one ``value``).
    Outcomes a row lacks are skipped; None becomes NaN.
    """
    records = []
    for name, ests in results.items():
        for o in outcomes:
            if o.name not in ests:
                continue
            e = ests[o.name]
            values = ({"mean": e.mean, "ci_low": e.low, "ci_high": e.high} if interval
                      else {"value": e.mean})
            records.append({row_key: name, **(row_columns or {}).get(name, {}),
                            "group": o.group.value, "outcome": o.name, "label": o.label,
                            "unit": o.unit,
                            **{k: math.nan if v is None else float(v) for k, v in values.items()}})
    import pandas as pd

    return pd.DataFrame.from_records(records)


def check_out(path: str | None) -> Path | None:
    """The ``--out`` path, checked before any run.

    Raises:
        QuartiersimError: a suffix other than .csv, .xlsx, .json; .xlsx without openpyxl;
            a path that cannot be written (a directory, no write access).
    """
    if path is None:
        return None
    p = Path(path)
    if p.suffix.lower() not in OUT_SUFFIXES:
        raise QuartiersimError(f"--out {path}: the file must end in "
                               f"{', '.join(OUT_SUFFIXES[:-1])} or {OUT_SUFFIXES[-1]}")
    if p.suffix.lower() == ".xlsx":
        try:
            import openpyxl  # noqa: F401
        except ImportError:
            raise QuartiersimError("--out FILE.xlsx needs openpyxl: pip install openpyxl") from None
    return check_output_file(p, "table (--out)")


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` as CSV, Excel (one sheet, ``results``) or JSON (a list of records,
    NaN as null) by the file's suffix; parent directories are created. The file is
    written atomically (a temporary file beside it, then renamed)."""
    p = check_out(str(path))
    suffix = p.suffix.lower()

    def write(tmp: Path) -> None:
        if suffix == ".csv":
            df.to_csv(tmp, index=False)
        elif suffix == ".xlsx":
            df.to_excel(tmp, index=False, sheet_name="results", engine="openpyxl")
        else:
            tmp.write_text(strict_json(df.to_dict(orient="records"), indent=1) + "\n",
                           encoding="utf-8")

    return atomic_write(p, write)


#: ``--all`` and ``--out FILE`` (defined with the other argument types: the parser is
#: built without this module).
add_table_options = table_options


#: The last line under a headline table.
MORE = "--all: every outcome by group; --out FILE.csv|.xlsx|.json: the full table."
