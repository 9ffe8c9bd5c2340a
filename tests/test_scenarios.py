"""Every shipped scenario loads, runs a year and names a source for every number."""

from __future__ import annotations

import re
import tomllib

import pytest

import quartiersim as qs

from conftest import SCENARIOS

QUARTERS = [p for p in SCENARIOS if not p.stem.startswith("city")]


@pytest.mark.parametrize("path", QUARTERS, ids=lambda p: p.stem)
def test_scenario_loads_and_runs_a_year(path):
    sc = qs.load_scenario(path)
    for model in ("municipal", "coproduction"):
        s = qs.run(sc, model=model, seed=1, years=1).summary
        assert 0.0 < s["coverage"] < 1.0
        assert s["municipal_cost_eur"] > 0
        assert s["residents_end"] > 0


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_required_keys_present(path):
    raw = tomllib.loads(path.read_text())
    assert "residents" in raw["population"]
    assert "voluntary_budget_eur_per_year" in raw["municipality"]
    assert "rate" in raw["volunteering"]


NUMBER = re.compile(r"(?<![A-Za-z_\"'])[-+]?\d[\d_]*(\.\d+)?(?![A-Za-z\"'])")


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_number_names_its_source(path):
    """A line assigning a number carries a comment with 'source:', 'derived' or 'assumption'."""
    missing = []
    for no, line in enumerate(path.read_text().splitlines(), 1):
        code, _, comment = line.partition("#")
        if "=" not in code or code.lstrip().startswith("["):
            continue
        value = code.split("=", 1)[1]
        value = re.sub(r"\"[^\"]*\"|'[^']*'", "", value)  # strings (names, letters) are no numbers
        if NUMBER.search(value) and not re.search(r"source:|derived|assumption", comment):
            missing.append(f"{path.name}:{no}: {line.strip()}")
    assert not missing, "numbers without a source:\n" + "\n".join(missing)
