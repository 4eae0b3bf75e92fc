from __future__ import annotations

from pathlib import Path

import pytest

from data.scenario import monaco_pois, sites_on_roads
from routing.__main__ import main
from routing.roads import RoadsBuildFailed, RoadsBuilt, build_roads
from routing.travel import OsrmRoads, osrm_files_present


def test_build_roads_if_missing_keeps_a_built_network(monaco_osrm: Path) -> None:
    """Tests that `--if-missing` does nothing when the network is already there."""
    before = {p.name: p.stat().st_mtime_ns for p in monaco_osrm.parent.iterdir()}
    result = build_roads(Path("/no/such/extract.osm.pbf"), monaco_osrm.parent, if_missing=True)
    assert isinstance(result, RoadsBuilt) and result.steps == ()
    assert {p.name: p.stat().st_mtime_ns for p in monaco_osrm.parent.iterdir()} == before


def test_build_roads_reports_a_missing_extract(tmp_path: Path) -> None:
    """Tests that a missing OpenStreetMap extract is a failure value naming the file."""
    result = build_roads(tmp_path / "missing.osm.pbf", tmp_path / "out")
    assert isinstance(result, RoadsBuildFailed)
    assert result.step == "input" and "missing.osm.pbf" in result.reason


def test_a_failed_build_leaves_no_partial_network(tmp_path: Path) -> None:
    """Tests that a corrupt extract fails at `extract` with OSRM's message and leaves no network files behind."""
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"this is not a protocol buffer file")
    out = tmp_path / "out"
    result = build_roads(bad, out)
    assert isinstance(result, RoadsBuildFailed)
    assert result.step == "extract" and "exited with" in result.reason
    assert list(out.iterdir()) == []
    assert not osrm_files_present(out)


def test_cli_builds_into_the_out_folder_and_says_how_long_it_took(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tests that `python -m routing build-roads --out DIR` builds a loadable network and prints the time taken."""
    assert main(["build-roads", "--out", str(tmp_path)]) == 0
    assert osrm_files_present(tmp_path)
    out = capsys.readouterr().out
    assert "built road network" in out and " s (extract " in out
    assert main(["build-roads", "--if-missing", "--out", str(tmp_path)]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_cli_exits_non_zero_with_a_reason_when_the_extract_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tests that the command fails with exit status 1 and says which file is missing."""
    assert main(["build-roads", "--pbf", str(tmp_path / "nope.osm.pbf"), "--out", str(tmp_path / "o")]) == 1
    assert "nope.osm.pbf does not exist" in capsys.readouterr().err


def test_the_built_roads_reach_every_demo_site_but_peillons_post_office(roads: OsrmRoads) -> None:
    """Tests that the Monaco extract's roads connect every demo POI but one: Peillon's post office, over the border,
    which the demo therefore gives no order and no worker's home (`data.scenario.sites_on_roads`)."""
    pois = monaco_pois()
    reached = sites_on_roads(pois, roads)
    assert {p.name for p in pois if p.external_ref not in reached} == {"Peillon"}
