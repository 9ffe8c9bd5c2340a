"""The repository's bibliography (docs/sources.md) is the only place sources are resolved:
no tracked file points at the developers' reference folder outside the repository, and every
``(docs/sources.md: key, ...)`` citation names an entry that exists."""

from __future__ import annotations

import re
import subprocess

import pytest

from conftest import ROOT, SCENARIOS

SOURCES = ROOT / "docs" / "sources.md"
#: Entries are level-3 headings with the key in backticks: ### `fuerth-fls`
ENTRY = re.compile(r"^### `([^`]+)`\s*$", re.M)
KEY = re.compile(r"^[a-z0-9][a-z0-9-]*$")
#: A citation: "docs/sources.md: " followed by comma-separated keys up to the closing ")".
CITATION = re.compile(r"docs/sources\.md: ([^)\n]*)\)")
#: What no tracked file may contain (split so that this file does not contain them).
FORBIDDEN = ("../" + "shared", "shared/" + "data", "CALIB" + "RATION")


def _keys() -> list[str]:
    return ENTRY.findall(SOURCES.read_text(encoding="utf-8"))


def _tracked_text_files() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [p for p in out.decode().split("\0") if p]


def _read(rel: str) -> str | None:
    try:
        data = (ROOT / rel).read_bytes()
    except OSError:  # deleted in the work tree but still in the index
        return None
    if b"\0" in data[:4096]:
        return None  # binary (figures, parquet)
    return data.decode("utf-8", errors="replace")


def test_no_tracked_file_points_outside_the_repository():
    """Users have only the repository; reports under docs/reports are generated records."""
    found = []
    for rel in _tracked_text_files():
        if rel.startswith("docs/reports/"):
            continue
        text = _read(rel)
        if text is None:
            continue
        found += [f"{rel}:{no}: {line.strip()}" for no, line in enumerate(text.splitlines(), 1)
                  if any(bad in line for bad in FORBIDDEN)]
    assert not found, "references to files outside the repository:\n" + "\n".join(found)


def test_entries_have_unique_well_formed_keys():
    keys = _keys()
    assert len(keys) > 20
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    assert all(KEY.match(k) for k in keys), [k for k in keys if not KEY.match(k)]


def _citations(text: str) -> list[str]:
    return [key for group in CITATION.findall(text) for key in group.split(", ")]


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_citation_in_a_scenario_names_an_entry(path):
    keys = set(_keys())
    cited = _citations(path.read_text(encoding="utf-8"))
    unknown = [k for k in cited if k not in keys]
    assert not unknown, f"{path.name} cites keys not in docs/sources.md: {unknown}"


def test_every_real_place_cites_sources():
    for path in SCENARIOS:
        if not path.stem.startswith("city"):  # city-600k is synthetic: Herten's citations
            assert len(_citations(path.read_text(encoding="utf-8"))) >= 10, path.name


def test_every_citation_elsewhere_names_an_entry():
    """The code's parameter sources, the README and the ODD cite the same way."""
    keys = set(_keys())
    unknown = []
    for rel in _tracked_text_files():
        if rel in ("docs/sources.md", "tests/test_sources.py") or rel.startswith(
                ("docs/reports/", "scenarios/")):
            continue
        text = _read(rel)
        if text is None:
            continue
        unknown += [f"{rel}: {k}" for k in _citations(text) if k not in keys]
    assert not unknown, "citations of keys not in docs/sources.md:\n" + "\n".join(unknown)
