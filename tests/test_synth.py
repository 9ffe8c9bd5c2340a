"""The synthetic city generator (issue #6): valid scenarios of the requested size."""

from __future__ import annotations

from pathlib import Path

import pytest

from quartiersim.cli import main
from quartiersim.errors import QuartiersimError
from quartiersim.sim.model import QuarterModel
from quartiersim.config.loading import load_scenario
from quartiersim.studies.synth import MAX_POINTS, POINT_LETTERS, block_side, synthesize

ROOT = Path(__file__).resolve().parents[1]


def _load(tmp_path: Path, text: str):
    path = tmp_path / "city.toml"
    path.write_text(text, encoding="utf-8")
    return load_scenario(path)


def test_layout_points_and_carriers(tmp_path: Path) -> None:
    sc = _load(tmp_path, synthesize(30_000, 5))
    side = block_side(30_000 / 5)
    assert sc.population.residents == 30_000
    assert sc.municipality.residents_city == 30_000
    assert len(sc.carriers) == 5
    # 5 quarters -> 3 x 2 blocks; one block stays green
    assert len(sc.space.layout) == 2 * side and len(sc.space.layout[0]) == 3 * side
    kinds = [p.kind.value for p in sc.space.service_points.values()]
    assert kinds.count("carrier_premises") == 5 and kinds.count("municipal_office") == 5
    assert kinds.count("centre_site") == 1 and kinds.count("meeting_point_site") == 1
    housing = sum(row.count(".") for row in sc.space.layout)
    from quartiersim.studies.synth import load_template

    assert housing * load_template().residents_per_housing_cell >= 30_000  # room at template density


def test_budget_scales_with_residents(tmp_path: Path) -> None:
    small = _load(tmp_path, synthesize(10_000, 1))
    big = _load(tmp_path, synthesize(40_000, 4))
    assert big.municipality.voluntary_budget_eur_per_year == pytest.approx(
        4 * small.municipality.voluntary_budget_eur_per_year)
    assert small.municipality.voluntary_budget_eur_per_year == pytest.approx(450_000 / 8700 * 10_000)


def test_more_than_26_points_use_other_upper_case_letters(tmp_path: Path) -> None:
    sc = _load(tmp_path, synthesize(40 * 200, 40))
    assert len(sc.space.service_points) == 40 + 12 + 2  # premises, offices, centre, meeting point
    assert all(len(p) == 1 and p.isupper() for p in sc.space.service_points)
    assert len(set(POINT_LETTERS)) == MAX_POINTS > 600


def test_every_number_has_a_source_comment() -> None:
    text = synthesize(20_000, 2)
    for line in text.splitlines():
        code = line.split("#", 1)[0]
        value = code.split("=", 1)[1].strip() if "=" in code else ""
        if any(ch.isdigit() for ch in value) and not value.startswith(('"', "{ kind")):
            assert "#" in line, line
            note = line.split("#", 1)[1]
            assert any(w in note for w in ("source", "derived", "assumption")), line


def test_runs_under_every_model(tmp_path: Path) -> None:
    from quartiersim.sim.cooperation import COOPERATION_MODELS

    sc = _load(tmp_path, synthesize(3000, 2))
    for name in COOPERATION_MODELS:
        for financing in ("budget", "pooled"):
            m = QuarterModel(sc, cooperation=name, financing=financing, rng=1, years=1)
            m.run_months(12)
            assert 2800 < int(m.residents.alive.sum()) < 3200


@pytest.mark.parametrize(("residents", "quarters", "message"), [
    (100, 0, "--quarters 0: must be >= 1"),
    (3, 5, "--residents 3: must be at least the number of quarters (5)"),
    (10**6, 10**4, "--quarters 10000: at most"),
])
def test_errors(residents: int, quarters: int, message: str) -> None:
    with pytest.raises(QuartiersimError, match=message.replace("(", r"\(").replace(")", r"\)")):
        synthesize(residents, quarters)


def test_cli_writes_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "c.toml"
    assert main(["synth", "--residents", "5000", "--quarters", "2", "--out", str(out)]) == 0
    assert load_scenario(out).population.residents == 5000
    assert main(["synth", "--residents", "0", "--quarters", "2"]) == 2
    assert "must be at least" in capsys.readouterr().err


def test_shipped_city_scenario_is_dortmund_sized() -> None:
    sc = load_scenario(ROOT / "scenarios" / "city-600k.toml")
    assert sc.population.residents == 600_000
    assert len(sc.carriers) == 62


def test_city_follows_its_template(tmp_path):
    """The city repeats the template scenario's numbers, not a copy kept in the code."""
    from pathlib import Path

    herten = Path(__file__).resolve().parents[1] / "scenarios" / "herten-innenstadt.toml"
    text = herten.read_text().replace("eur_per_year = 10_000.0", "eur_per_year = 20_000.0")
    text = text.replace("own_funds_eur_per_year = 150_000.0", "own_funds_eur_per_year = 250_000.0")
    tpl = tmp_path / "template.toml"
    tpl.write_text(text)
    base = _load(tmp_path, synthesize(8700, 1))
    changed = _load(tmp_path, synthesize(8700, 1, template=tpl))
    assert changed.carriers[0].own_funds_eur_per_year == pytest.approx(
        base.carriers[0].own_funds_eur_per_year + 100_000.0)
    assert changed.financing["pooled"]["sponsoring"]["eur_per_year"] == pytest.approx(20_000.0)
    assert base.financing["pooled"]["sponsoring"]["eur_per_year"] == pytest.approx(10_000.0)


def test_missing_template_is_a_clear_error(tmp_path):
    from quartiersim.errors import QuartiersimError

    with pytest.raises(QuartiersimError, match=r"no template scenario; pass --template FILE"):
        synthesize(8700, 1, template=tmp_path / "nope.toml")


def test_template_is_the_shipped_herten_scenario():
    """The synth template is package data; it must stay the repository's Herten file."""
    from quartiersim.studies.synth import DEFAULT_TEMPLATE

    shipped = Path(__file__).resolve().parents[1] / "scenarios" / "herten-innenstadt.toml"
    assert DEFAULT_TEMPLATE.read_bytes() == shipped.read_bytes(), (
        f"copy {shipped} to {DEFAULT_TEMPLATE}")


def test_city_takes_the_templates_access_and_trust(tmp_path):
    """Trust priors and learning rates are behaviour, not quarter facts: the city carries
    the template's [access] table with its comments."""
    city = synthesize(20_000, 2)
    herten = load_scenario(ROOT / "scenarios" / "herten-innenstadt.toml")
    assert _load(tmp_path, city).access == herten.access
    assert "trust_new_place = " in city and "# assumption" in city.split("trust_new_place = ")[1]
