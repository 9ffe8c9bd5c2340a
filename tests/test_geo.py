"""Bring your own quarter (issue #16): ``quartiersim import`` from the Zensus 2022 grid and
GIS layers, imported layouts in the model, and results back to GIS with ``--geo``."""

from __future__ import annotations

import copy
import json
import re
import shlex
import subprocess
import sys
import warnings
from pathlib import Path
from random import Random

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from quartiersim.cli import main
from quartiersim.config.domains import DOMAINS, LandUse
from quartiersim.config.loading import load_scenario
from quartiersim.errors import ScenarioError
from quartiersim.sim.model import QuarterModel
from quartiersim.sim.space import QuarterSpace
from quartiersim.studies.geoimport import CellGrid, _rasterise_lines
from quartiersim.studies.runner import run

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "data" / "sample-quarter"
GRID = [SAMPLE / f"Zensus2022_{t}_100m-Gitter.csv"
        for t in ("Bevoelkerungszahl", "Alter_in_5_Altersklassen", "Durchschn_Haushaltsgroesse")]


def _import_args(out: Path, grid: list[Path] = GRID, boundary: Path = SAMPLE / "boundary.geojson",
                 points: Path | None = SAMPLE / "points.geojson",
                 barriers: Path | None = SAMPLE / "barriers.geojson", *extra: str) -> list[str]:
    args = ["import", *(a for g in grid for a in ("--grid", str(g))), "--boundary", str(boundary),
            "--out", str(out)]
    if points:
        args += ["--points", str(points)]
    if barriers:
        args += ["--barriers", str(barriers)]
    return args + list(extra)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("geo") / "sample-quarter.toml"
    assert main(_import_args(out)) == 0  # the sample's grid tables, boundary, points, barriers
    return out


def _error(capsys: pytest.CaptureFixture, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err  # one clear line
    return err


# --------------------------------------------------------------------------- import
def _zensus_residents_in_boundary() -> int:
    """Einwohner of the sample's cells whose centre lies in the boundary, computed here
    independently of the import ('–' = 1 person)."""
    df = pd.read_csv(GRID[0], sep=";", dtype=str)
    nums = df["GITTER_ID_100m"].str.extract(r"N(\d+)E(\d+)").astype(int)
    boundary = gpd.read_file(SAMPLE / "boundary.geojson").to_crs(3035).geometry.union_all()
    inside = shapely.contains_xy(boundary, nums[1] + 50, nums[0] + 50)
    count = df["Einwohner"].replace("–", "1").astype(int)
    return int(count[inside].sum())


def test_import_writes_a_scenario_with_the_zensus_residents(imported: Path) -> None:
    sc = load_scenario(imported)
    sp = sc.space
    assert sc.population.residents == _zensus_residents_in_boundary()
    assert sum(sp.residents_per_cell) == pytest.approx(sc.population.residents, abs=1.0)
    assert len(sp.residents_per_cell) == sum(row.count(".") for row in sp.layout)
    assert sp.georeference.crs == "EPSG:3035"
    assert sp.georeference.origin_x % 100 == 0 and sp.georeference.origin_y % 100 == 0
    symbols = set("".join(sp.layout))
    assert {" ", "o", ".", "#", "+"} <= symbols  # outside, no residents, housing, barrier, crossing
    kinds = sorted(p.kind.value for p in sp.service_points.values())
    assert kinds == sorted(["municipal_office"] * 2 + ["carrier_premises"] * 3
                           + ["centre_site", "meeting_point_site"])
    assert len(sc.carriers) == 3
    assert 0.10 < sc.population.share_65_plus < 0.35 and 0.10 < sc.population.share_under_18 < 0.25
    assert 1.5 < sc.network.household_size_mean < 3.0
    assert sc.meta.name == "Musterquartier (synthetic)"


def test_every_number_is_derived_or_an_assumption(imported: Path) -> None:
    text = imported.read_text(encoding="utf-8")
    number = re.compile(r"^\s*[\w.]+ = (-?[\d_.]+|true|false|\{.*\d.*\})\s*(#.*)?$")
    unmarked = [line for line in text.splitlines() if number.match(line)
                and not re.search(r"# (derived: Zensus 2022|assumption)", line)]
    assert unmarked == []
    assert "# derived: Zensus 2022 Einwohner" in text
    assert re.search(r"share_65_plus = [\d.]+  # derived: Zensus 2022, a65undaelter", text)
    assert "derived: Zensus 2022, DurchschnHHGroesse" in text
    assert "masked" in text  # masked cells are counted in the notes


def test_import_cli_reports_counts(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(_import_args(tmp_path / "q.toml", GRID, SAMPLE / "boundary.geojson", None, None,
                             "--cell-size", "100")) == 0
    out = capsys.readouterr().out
    assert "cells of 100 m" in out and "masked counts taken as 1" in out
    assert "no 'municipal_office' point given" in out  # without points: assumed sites
    sc = load_scenario(tmp_path / "q.toml")
    assert sc.space.cell_size_m == 100.0
    assert {p.kind.value for p in sc.space.service_points.values()} == {
        "municipal_office", "carrier_premises", "centre_site", "meeting_point_site"}


def test_households_follow_the_zensus_counts(imported: Path) -> None:
    sc = load_scenario(imported)
    m = QuarterModel(sc, rng=3, spin_up_months=0)  # the households as placed, before any move
    sp, a = m.space, m.residents
    n = sc.population.residents
    counts = np.bincount(a.home_cell[a.alive], minlength=sp.n_cells)[sp.housing_cells]
    quota = np.asarray(sc.space.residents_per_cell) / sum(sc.space.residents_per_cell) * n
    assert counts.sum() == n
    assert np.abs(counts - quota).max() < 1.0  # largest-remainder rounding of the Zensus shares
    outside = np.flatnonzero(sp.land_use == LandUse.OUTSIDE)
    assert not np.isin(a.home_cell, outside).any()


# --------------------------------------------------------------------------- the space
def test_outside_cells_are_not_walked_through(tiny_raw: dict, write_scenario) -> None:
    raw = copy.deepcopy(tiny_raw)
    raw["space"]["layout"] = ["M.  .", "..o .", "     "]
    sc = load_scenario(write_scenario(raw))
    sp = QuarterSpace(sc.space, random=Random(0))
    d = sp.distance_m[0].reshape(3, 5)
    assert np.isfinite(d[:2, :2]).all()
    assert d[1, 2] == pytest.approx(50 * 2 ** 0.5 + 50)  # 'o' is walked through like housing
    assert np.isinf(d[0, 2]) and np.isinf(d[:, 3]).all()  # outside cells are never reached
    assert np.isinf(d[:2, 4]).all()  # and nobody walks through them to the cells beyond


def test_residents_per_cell_is_validated(tiny_raw: dict, write_scenario) -> None:
    raw = copy.deepcopy(tiny_raw)
    raw["space"]["layout"] = ["M..o"]
    raw["space"]["residents_per_cell"] = [1.0]
    with pytest.raises(ScenarioError, match=r"'space': residents_per_cell has 1 entries, the layout "
                                            r"2 housing cells"):
        load_scenario(write_scenario(raw))
    raw["space"]["residents_per_cell"] = [1.0, -2.0]
    with pytest.raises(ScenarioError, match=r"residents_per_cell\[1\] = -2.0: must be >= 0"):
        load_scenario(write_scenario(raw))


def test_weighted_layout_places_everybody_by_weight(tiny_raw: dict, write_scenario) -> None:
    raw = copy.deepcopy(tiny_raw)
    raw["space"]["layout"] = ["M...", "oooo"]
    raw["space"]["residents_per_cell"] = [0.0, 3.0, 1.0]
    raw["population"]["residents"] = 8
    m = QuarterModel(load_scenario(write_scenario(raw)), rng=0)
    homes = m.residents.home_cell[m.residents.alive]
    assert np.bincount(homes, minlength=8).tolist() == [0, 0, 6, 2, 0, 0, 0, 0]


def test_barrier_lines_are_four_connected() -> None:
    cells = CellGrid(0.0, 1000.0, 50.0, 20, 20)
    mask = _rasterise_lines([shapely.LineString([(0, 0), (1000, 1000)])], cells)
    rr, cc = np.nonzero(mask)
    cells_set = set(zip(rr.tolist(), cc.tolist()))
    for r, c in cells_set:  # every diagonal pair of line cells shares a line cell
        for dr, dc in ((1, 1), (1, -1)):
            if (r + dr, c + dc) in cells_set:
                assert (r + dr, c) in cells_set or (r, c + dc) in cells_set
    assert len(cells_set) >= 39


def test_barrier_lines_without_kind_are_all_barriers(imported: Path, tmp_path: Path) -> None:
    lines = gpd.read_file(SAMPLE / "barriers.geojson").drop(columns=["kind"])
    p = tmp_path / "lines.geojson"
    lines.to_file(p, engine="pyogrio")
    assert main(_import_args(tmp_path / "q.toml", barriers=p)) == 0

    def barrier(path: Path) -> int:
        return sum(r.count("#") + r.count("+") for r in load_scenario(path).space.layout)

    assert barrier(tmp_path / "q.toml") > barrier(imported)  # the footpath is a barrier now


# --------------------------------------------------------------------------- results to GIS
def test_run_geo_matches_the_summary(imported: Path, tmp_path: Path, capsys) -> None:
    gpkg = tmp_path / "run.gpkg"
    assert main(["run", str(imported), "--years", "2", "--json", "--geo", str(gpkg)]) == 0
    summary = json.loads(capsys.readouterr().out)
    cells = gpd.read_file(gpkg, layer="cells")
    points = gpd.read_file(gpkg, layer="service_points")
    assert cells.crs.to_epsg() == 3035 and points.crs.to_epsg() == 3035
    assert len(points) == 7 and set(points["kind"]) >= {"municipal_office", "carrier_premises"}
    sc = load_scenario(imported)
    assert len(cells) == sum(len(r) - r.count(" ") for r in sc.space.layout)  # no outside cells
    assert cells["served_hours"].sum() / cells["need_hours"].sum() == pytest.approx(summary["coverage"], rel=1e-9)
    assert cells["need_hours"].sum() == pytest.approx(summary["need_hours"], rel=1e-9)
    for d in DOMAINS:
        c = cells[f"served_hours_{d.value}"].sum() / cells[f"need_hours_{d.value}"].sum()
        assert c == pytest.approx(summary[f"coverage_{d.value}"], rel=1e-9)
    assert cells["residents_start"].sum() == sc.population.residents
    housing = cells[cells["land_use"] == "housing"]
    assert (housing["distance_m"] > 0).all() and housing["distance_m"].notna().all()
    assert cells["zensus_id"].str.match(r"^CRS3035RES100mN\d+E\d+$").all()
    # cells lie in the boundary's extent, in metres of EPSG:3035
    boundary = gpd.read_file(SAMPLE / "boundary.geojson").to_crs(3035)
    bx = boundary.total_bounds
    cx = cells.total_bounds
    assert cx[0] >= bx[0] - 100 and cx[2] <= bx[2] + 100 and cx[1] >= bx[1] - 100


def test_compare_geo_holds_each_models_mean(imported: Path, tmp_path: Path, capsys) -> None:
    gpkg = tmp_path / "compare.gpkg"
    assert main(["compare", str(imported), "--years", "1", "--seeds", "2", "--workers", "1",
                 "--models", "municipal,coproduction", "--json", "--geo", str(gpkg)]) == 0
    table = {r["model"]: r for r in json.loads(capsys.readouterr().out)}
    cells = gpd.read_file(gpkg, layer="cells")
    assert set(cells["model"]) == {"municipal", "coproduction"} and (cells["runs"] == 2).all()
    for model, row in table.items():
        sub = cells[cells["model"] == model]
        assert sub["need_hours"].sum() == pytest.approx(row["need_hours_mean"], rel=1e-9)
        assert sub["served_hours"].sum() == pytest.approx(row["served_hours_mean"], rel=1e-9)


def test_geo_without_georeference_writes_a_local_grid(tmp_path: Path, capsys) -> None:
    gpkg = tmp_path / "herten.gpkg"
    herten = ROOT / "scenarios" / "herten-innenstadt.toml"
    assert main(["run", str(herten), "--years", "1", "--geo", str(gpkg)]) == 0
    err = capsys.readouterr().err
    assert "no [space.georeference]" in err and "local grid" in err
    cells = gpd.read_file(gpkg, layer="cells")
    assert cells.crs is None and len(cells) == 256
    assert cells.total_bounds.tolist() == [0.0, -800.0, 800.0, 0.0]


def test_existing_scenarios_unchanged_by_cell_tracking() -> None:
    herten = ROOT / "scenarios" / "herten-innenstadt.toml"
    a = run(herten, seed=1, years=1).summary
    b = run(herten, seed=1, years=1, cells=True)
    assert a == b.summary  # accounting only: the same random path
    assert b.cells.need_hours.sum() == pytest.approx(a["need_hours"], rel=1e-12)


# --------------------------------------------------------------------------- errors
def test_malformed_grid(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "grid.csv"
    bad.write_text("GITTER_ID_100m;x_mp_100m;y_mp_100m;Einwohner\n"
                   "CRS3035RES100mN3158000E4144000;4144050;3158050;12\n"
                   "CRS3035RES1kmN3158E4144;4144050;3158150;7\n", encoding="utf-8")
    err = _error(capsys, _import_args(tmp_path / "q.toml", [bad]))
    assert f"{bad}, line 3: GITTER_ID_100m = 'CRS3035RES1kmN3158E4144' is no 100 m grid id" in err
    comma = tmp_path / "comma.csv"
    comma.write_text("GITTER_ID_100m,Einwohner\nCRS3035RES100mN3158000E4144000,12\n", encoding="utf-8")
    err = _error(capsys, _import_args(tmp_path / "q.toml", [comma]))
    assert f"{comma}: no column GITTER_ID_100m" in err and "';'-separated" in err
    text = tmp_path / "text.csv"
    text.write_text("GITTER_ID_100m;Einwohner\nCRS3035RES100mN3158000E4144000;zwölf\n", encoding="utf-8")
    err = _error(capsys, _import_args(tmp_path / "q.toml", [text]))
    assert f"{text}, line 2: Einwohner = 'zwölf' is no number" in err
    no_pop = tmp_path / "age.csv"
    no_pop.write_text("GITTER_ID_100m;Unter18\nCRS3035RES100mN3158000E4144000;3\n", encoding="utf-8")
    err = _error(capsys, _import_args(tmp_path / "q.toml", [no_pop]))
    assert "no table has the column Einwohner" in err


def _write_boundary(tmp_path: Path, name: str, crs, geometry) -> Path:
    p = tmp_path / name
    with warnings.catch_warnings():  # pyogrio warns of a layer without CRS: that is the point
        warnings.simplefilter("ignore", UserWarning)
        gpd.GeoDataFrame({"name": ["q"]}, geometry=[geometry], crs=crs).to_file(p, engine="pyogrio")
    return p


def test_boundary_without_crs(tmp_path: Path, capsys) -> None:
    box = shapely.box(4143500, 3157800, 4144500, 3158700)
    p = _write_boundary(tmp_path, "nocrs.gpkg", None, box)
    err = _error(capsys, _import_args(tmp_path / "q.toml", boundary=p))
    assert f"{p}: the boundary has no CRS; accepted: EPSG:3035" in err and "EPSG:25832" in err


def test_boundary_in_a_crs_that_is_not_accepted(tmp_path: Path, capsys) -> None:
    box = gpd.GeoSeries([shapely.box(4143500, 3157800, 4144500, 3158700)], crs=3035).to_crs(3857)[0]
    p = _write_boundary(tmp_path, "webmercator.gpkg", "EPSG:3857", box)
    err = _error(capsys, _import_args(tmp_path / "q.toml", boundary=p))
    assert f"{p}: the boundary is in EPSG:3857 (WGS 84 / Pseudo-Mercator); accepted: EPSG:3035" in err


def test_boundary_whose_coordinates_do_not_fit_its_crs(tmp_path: Path, capsys) -> None:
    # UTM metres in a GeoJSON without a "crs" member: GDAL reads them as lon/lat (EPSG:4326)
    box = gpd.GeoSeries([shapely.box(4143500, 3157800, 4144500, 3158700)], crs=3035).to_crs(25832)[0]
    p = tmp_path / "utm-as-lonlat.geojson"
    p.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
                 f'"geometry": {shapely.to_geojson(box)}}}]}}', encoding="utf-8")
    err = _error(capsys, _import_args(tmp_path / "q.toml", boundary=p))
    assert f"{p}: the boundary's coordinates" in err and "do not lie in Germany in its CRS EPSG:4326" in err
    assert "accepted: EPSG:3035" in err


def test_grid_that_does_not_overlap_the_boundary(tmp_path: Path, capsys) -> None:
    elsewhere = shapely.box(4300000, 3000000, 4301000, 3001000)  # in Germany, 170 km away
    p = _write_boundary(tmp_path, "elsewhere.gpkg", "EPSG:3035", elsewhere)
    err = _error(capsys, _import_args(tmp_path / "q.toml", boundary=p, points=None, barriers=None))
    assert f"{GRID[0]}" in err and "none of the" in err and f"lies inside the boundary {p}" in err


def test_unknown_point_kind(tmp_path: Path, capsys) -> None:
    pts = gpd.read_file(SAMPLE / "points.geojson")
    pts.loc[0, "kind"] = "town_hall"
    p = tmp_path / "points.geojson"
    pts.to_file(p, engine="pyogrio")
    err = _error(capsys, _import_args(tmp_path / "q.toml", points=p))
    assert f"{p}: unknown kind 'town_hall'; allowed: municipal_office, carrier_premises" in err


def test_import_without_the_geo_extra(tmp_path: Path, capsys, monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "geopandas" else real(name, *a))
    err = _error(capsys, _import_args(tmp_path / "q.toml"))
    assert "quartiersim import needs the 'geo' extra (geopandas not installed): pip install -e '.[geo]'" in err
    assert not (tmp_path / "q.toml").exists()


# --------------------------------------------------------------------------- sample data
def test_sample_generator_remakes_the_sample(tmp_path: Path) -> None:
    script = ROOT / "scripts" / "make_sample_quarter.py"
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, capture_output=True)
    for f in sorted(SAMPLE.iterdir()):
        assert (tmp_path / f.name).read_bytes() == f.read_bytes(), f.name
    assert "SYNTHETIC" in (SAMPLE / "README.md").read_text(encoding="utf-8")
    header = GRID[0].read_text(encoding="utf-8").splitlines()[0]
    assert header == "GITTER_ID_100m;x_mp_100m;y_mp_100m;Einwohner"


# --------------------------------------------------------------------------- the README
def _readme_commands() -> list[list[str]]:
    """The ``quartiersim`` commands of the README's "Your own quarter" block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Your own quarter", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1).replace("\\\n", " ")
    return [shlex.split(line)[1:] for line in block.splitlines() if line.startswith("quartiersim ")]


def test_readme_commands_make_a_matching_geopackage(tmp_path: Path, monkeypatch, capsys) -> None:
    commands = _readme_commands()
    assert [c[0] for c in commands] == ["import", "compare"]
    (tmp_path / "tests").symlink_to(ROOT / "tests")  # the README's relative paths
    monkeypatch.chdir(tmp_path)
    assert main(commands[0]) == 0
    assert (tmp_path / "scenarios" / "sample-quarter.toml").is_file()
    capsys.readouterr()
    quick = ["--seeds", "2", "--years", "1", "--workers", "1", "--models", "municipal,innovation_lab",
             "--json"]
    assert main(commands[1] + quick) == 0
    table = {r["model"]: r for r in json.loads(capsys.readouterr().out)}
    cells = gpd.read_file(tmp_path / "results" / "sample-quarter.gpkg", layer="cells")
    for model, row in table.items():
        sub = cells[cells["model"] == model]
        pooled = sub["served_hours"].sum() / sub["need_hours"].sum()
        assert pooled == pytest.approx(row["served_hours_mean"] / row["need_hours_mean"], rel=1e-9)
        assert pooled == pytest.approx(row["coverage_mean"], abs=0.002)  # mean of ratios over 2 seeds
