"""Reading input files and writing output files, with one clear message per failure.

:func:`read_toml` reads a scenario, experiment or session file: a directory, a special
file (a pipe, a device), an unreadable or oversized file, bytes that are not UTF-8 or
text that is not TOML each give one message naming the file. A UTF-8 byte order mark
(as some Windows editors write) is accepted.

:func:`check_output_file` and :func:`check_output_dir` check, before any work, that an
output can be written (by creating and removing a probe file where it will go), so that
a run is never computed only to be lost at the end. :func:`atomic_write` writes through
a temporary file in the target's directory and :func:`os.replace`, so that a reader
(or a crash, or a full disk) never leaves a half-written file under the final name.
"""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from quartiersim.errors import QuartiersimError, ScenarioError

#: Largest input file read (bytes). The largest scenario the schema allows (a layout of
#: MAX_LAYOUT_CELLS cells and its service points) is a few MiB; anything much larger is
#: not a scenario, experiment or session file and would only fill the memory.
MAX_INPUT_BYTES = 64 * 1024 * 1024

#: Byte order mark some editors put at the start of a UTF-8 file.
_BOM = "\ufeff"


def _a(what: str) -> str:
    return f"{'an' if what[:1] in 'aeiou' else 'a'} {what}"


def read_text(path: str | Path, what: str = "scenario file",
              error: type[QuartiersimError] = ScenarioError) -> str:
    """The text of a UTF-8 input file (a leading byte order mark removed).

    Args:
        path: the file.
        what: what the file is, for messages (``"experiment file"``).
        error: the exception class raised.

    Raises:
        error: the path is missing, a directory, not a regular file, larger than
            :data:`MAX_INPUT_BYTES`, unreadable (permission, I/O error) or not UTF-8.
    """
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise error(f"{p}: no such {what}") from None
    except OSError as exc:
        raise error(f"{p}: cannot read the {what}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        inside = sorted(f.name for f in p.glob("*.toml"))[:10]
        hint = f"; TOML files in it: {', '.join(inside)}" if inside else ""
        raise error(f"{p}: is a directory, not {_a(what)}{hint}")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{p}: not a regular file (a pipe, socket or device); give {_a(what)}")
    if st.st_size > MAX_INPUT_BYTES:
        raise error(f"{p}: {st.st_size:,} bytes: {_a(what)} is at most "
                    f"{MAX_INPUT_BYTES // 2**20} MiB")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise error(f"{p}: cannot read the {what}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise error(f"{p}: not a UTF-8 text file (byte 0x{data[exc.start]:02x} at line "
                    f"{line}); save it as UTF-8") from None
    return text.removeprefix(_BOM)


def read_toml(path: str | Path, what: str = "scenario file",
              error: type[QuartiersimError] = ScenarioError) -> dict[str, Any]:
    """A TOML input file as a dict (see :func:`read_text` for the checks).

    Raises:
        error: as :func:`read_text`, or the text is not valid TOML (with line and column).
    """
    text = read_text(path, what, error)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{Path(path)}: not valid TOML: {exc}") from None


# ------------------------------------------------------------------------------ outputs
def _existing_ancestor(p: Path) -> Path:
    cur = p
    while not cur.exists() and cur != cur.parent:
        cur = cur.parent
    return cur


def _probe(directory: Path, target: Path, what: str) -> None:
    """Create and remove a file in ``directory``: the only reliable test that ``target``
    can be written there (``os.access`` says yes to root on /proc or a full disk)."""
    if not directory.is_dir():
        raise QuartiersimError(f"{target}: cannot write the {what}: {directory} is not a "
                               "directory")
    try:
        fd, name = tempfile.mkstemp(dir=directory, prefix=".quartiersim-probe-")
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise QuartiersimError(f"{target}: cannot write the {what} in {directory}: "
                               f"{exc.strerror or exc}") from None


def check_output_file(path: str | Path, what: str = "output file") -> Path:
    """Check, before any work, that the file ``path`` can be written (its missing parent
    directories created then); returns it as a Path. Nothing is left behind.

    Raises:
        QuartiersimError: ``path`` is a directory, a parent is a file, or the directory
            it would go in is not writable.
    """
    p = Path(path)
    if p.is_dir():
        raise QuartiersimError(f"{p}: is a directory; give a file name for the {what}")
    if p.exists() and not p.is_file():
        raise QuartiersimError(f"{p}: not a regular file; give a file name for the {what}")
    _probe(_existing_ancestor(p.parent), p, what)
    return p


def check_output_dir(path: str | Path, what: str = "output directory") -> Path:
    """Check, before any work, that the directory ``path`` exists and is writable or can
    be created; returns it as a Path. Nothing is created.

    Raises:
        QuartiersimError: ``path`` is an existing file, a parent is a file, or the nearest
            existing directory is not writable.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise QuartiersimError(f"{p}: exists and is not a directory; the {what} must be "
                               "a directory (it holds several files)")
    _probe(_existing_ancestor(p), p, what)
    return p


def atomic_write(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Write ``path`` atomically: ``write(tmp)`` fills a temporary file in the same
    directory (created with its parents), which then replaces ``path`` in one step.

    On any failure (a full disk, an exception in ``write``) the temporary file is
    removed and ``path`` keeps its old content, if any.

    Raises:
        OSError: as the writing raised it (``filename`` is ``path``).
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        mode = stat.S_IMODE(p.stat().st_mode) if p.exists() else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, p)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror or str(exc), str(p)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return p


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write` of UTF-8 text."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


# ------------------------------------------------------------------------------ JSON
def json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite float (NaN, inf) as None and numpy scalars and
    arrays as Python numbers and lists, recursively through dicts, lists and tuples."""
    if isinstance(obj, dict):
        return {str(k) if not isinstance(k, str) else k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy scalar or array
        return json_safe(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is not None and not isinstance(obj, (str, int, float, bool)):
        try:  # pandas.NA, NaT
            import pandas as pd

            if pd.isna(obj):
                return None
        except (ImportError, TypeError, ValueError):
            pass
    return obj


def strict_json(obj: Any, **kwargs: Any) -> str:
    """JSON text of ``obj`` that every JSON parser reads: a missing or undefined number
    (NaN, inf) is ``null``, never ``NaN`` (which is not JSON).

    Raises:
        TypeError: a value that is neither a number, text, boolean, None, dict nor list.
    """
    return json.dumps(json_safe(obj), allow_nan=False, **kwargs)
