"""`python -m data import-gpx`: a worker's history from GPX files, with a JSON summary of what was stored and why not.

The contract (one JSON line on stdout, exit codes, one error line on stderr) is checked through a
subprocess; the other cases run `main()` in-process with the same environment, to keep the suite fast.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from data.__main__ import main
from data.db import make_engine, make_sessionmaker
from data.positions_repo import positions_between

REPO_ROOT = Path(__file__).resolve().parents[2]
GPX_DIR = REPO_ROOT / "data" / "datasets" / "gpx"
ALL_TIME = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {"DATABASE_URL": f"sqlite:///{tmp_path / 'outfield.db'}", "OUTFIELD_VAR": str(tmp_path / "var")}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    return {**os.environ, **values}


@pytest.fixture
def worker_id(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> int:
    """A worker without a shift calendar (every fix is theirs to keep)."""
    assert main(["add-worker", "--name", "Ana Rossi", "--device-id", "garmin-1"]) == 0
    return int(capsys.readouterr().out.strip())


def gpx_file(tmp_path: Path, body: str, name: str = "track.gpx") -> str:
    path = tmp_path / name
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">{body}</gpx>\n',
        encoding="utf-8",
    )
    return str(path)


def import_in_process(capsys: pytest.CaptureFixture[str], worker_id: int, path: str) -> tuple[int, dict, str]:
    code = main(["import-gpx", "--worker-id", str(worker_id), path])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


def stored(env: dict[str, str], worker_id: int):
    with make_sessionmaker(make_engine(env["DATABASE_URL"]))() as session:
        return positions_between(session, worker_id=worker_id, start=ALL_TIME[0], end=ALL_TIME[1])


def test_a_real_run_is_stored_once_per_time_and_summarised_as_json(env, worker_id, tmp_path):
    """Tests the contract on the Washington run (206 points, one time twice): exit 0, one JSON line on stdout with
    205 stored, the duplicate counted, first and last in UTC; a second import stores nothing and exits 1 saying why."""
    path = shutil.copy(GPX_DIR / "garmin-connect-run-washington.gpx", tmp_path / "run.gpx")
    args = [sys.executable, "-m", "data", "import-gpx", "--worker-id", str(worker_id), str(path)]
    first = subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert len(first.stdout.splitlines()) == 1
    assert json.loads(first.stdout) == {
        "worker_id": worker_id,
        "stored": 205,
        "skipped": {"duplicate time": 1},
        "first": "2012-10-24T23:29:40+00:00",
        "last": "2012-10-24T23:45:28+00:00",
    }
    positions = stored(env, worker_id)
    assert len(positions) == len({p.fix_time for p in positions}) == 205
    assert positions[0].device_id == "garmin-1" and positions[0].attributes == {"source": "gpx", "file": "run.gpx"}
    again = subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1
    assert json.loads(again.stdout)["skipped"] == {"already stored": 205, "duplicate time": 1}
    assert again.stderr.strip() == f"error: {path}: nothing importable (205 already stored, 1 duplicate time)"
    assert len(stored(env, worker_id)) == 205


def test_broken_xml_exits_non_zero_with_one_clear_line_and_no_traceback(env, worker_id, tmp_path):
    """Tests that a GPX file cut off in the middle exits 1 with one line naming the file, nothing on stdout,
    no traceback, and nothing stored."""
    good = (GPX_DIR / "around-visnjan-with-car.gpx").read_text(encoding="utf-8")
    path = tmp_path / "cut.gpx"
    path.write_text(good[: len(good) // 2], encoding="utf-8")
    args = [sys.executable, "-m", "data", "import-gpx", "--worker-id", str(worker_id), str(path)]
    result = subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {path}: not a GPX file: not readable as XML (")
    assert len(result.stderr.strip().splitlines()) == 1
    assert stored(env, worker_id) == []


def test_xml_that_is_not_gpx_is_refused(env, worker_id, tmp_path, capsys):
    """Tests that a KML document is refused as not GPX, naming its root element."""
    path = tmp_path / "places.kml"
    path.write_text('<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>')
    code, summary, err = import_in_process(capsys, worker_id, str(path))
    assert (code, summary) == (1, {})
    assert err == f"error: {path}: not a GPX file: the document is <kml>, not <gpx>\n"


def test_points_without_time_are_never_stored_and_counted_with_the_reason(env, worker_id, tmp_path, capsys):
    """Tests that of a track with two timed points, an untimed one and one with an unreadable time, a route point
    and a waypoint with times, the four timed ones are stored and two are skipped as "no time"."""
    path = gpx_file(
        tmp_path,
        '<wpt lat="43.74" lon="7.42"><time>2025-03-03T07:59:00Z</time></wpt>'
        '<rte><rtept lat="43.741" lon="7.421"><time>2025-03-03T08:05:00Z</time></rtept></rte>'
        "<trk><trkseg>"
        '<trkpt lat="43.7394" lon="7.4276"><time>2025-03-03T08:00:00Z</time></trkpt>'
        '<trkpt lat="43.7395" lon="7.4277"></trkpt>'
        '<trkpt lat="43.7396" lon="7.4278"><time>yesterday</time></trkpt>'
        '<trkpt lat="43.7397" lon="7.4279"><time>2025-03-03T08:01:00Z</time></trkpt>'
        "</trkseg></trk>",
    )
    code, summary, _ = import_in_process(capsys, worker_id, path)
    assert code == 0
    assert (summary["stored"], summary["skipped"]) == (4, {"no time": 2})
    assert [p.latitude for p in stored(env, worker_id)] == [43.74, 43.7394, 43.7397, 43.741]


def test_a_file_with_only_untimed_points_exits_non_zero_saying_why(env, worker_id, tmp_path, capsys):
    """Tests that a track whose points have no time stores nothing and exits 1 with the reason and the count."""
    path = gpx_file(tmp_path, '<trk><trkseg><trkpt lat="43.7" lon="7.4"/><trkpt lat="43.8" lon="7.5"/></trkseg></trk>')
    code, summary, err = import_in_process(capsys, worker_id, path)
    assert (code, summary["stored"], summary["skipped"]) == (1, 0, {"no time": 2})
    assert err == f"error: {path}: nothing importable (2 no time)\n"
    assert stored(env, worker_id) == []


def test_an_empty_gpx_file_exits_non_zero(env, worker_id, tmp_path, capsys):
    """Tests that a GPX document without points, and a zero-byte file, each exit 1 with a clear line."""
    code, _, err = import_in_process(capsys, worker_id, gpx_file(tmp_path, "<metadata><name>x</name></metadata>"))
    assert (code, err.strip().endswith("nothing importable (it holds no points)")) == (1, True)
    empty = tmp_path / "empty.gpx"
    empty.write_bytes(b"")
    code, _, err = import_in_process(capsys, worker_id, str(empty))
    assert (code, err) == (1, f"error: {empty}: not a GPX file: it is empty\n")


def test_time_zone_offsets_become_utc_and_duplicates_by_instant_are_stored_once(env, worker_id, tmp_path, capsys):
    """Tests that 10:00+02:00 is stored as 08:00Z, that 08:00Z later in the file is the same instant (a duplicate),
    and that a time without a zone is taken as UTC, as GPX prescribes."""
    path = gpx_file(
        tmp_path,
        "<trk><trkseg>"
        '<trkpt lat="43.7394" lon="7.4276"><time>2025-03-03T10:00:00+02:00</time></trkpt>'
        '<trkpt lat="43.7395" lon="7.4277"><time>2025-03-03T08:00:00Z</time></trkpt>'
        '<trkpt lat="43.7396" lon="7.4278"><time>2025-03-03T03:30:00-05:00</time></trkpt>'
        '<trkpt lat="43.7397" lon="7.4279"><time>2025-03-03T09:00:00</time></trkpt>'
        "</trkseg></trk>",
    )
    code, summary, _ = import_in_process(capsys, worker_id, path)
    assert code == 0
    assert summary == {
        "worker_id": worker_id,
        "stored": 3,
        "skipped": {"duplicate time": 1},
        "first": "2025-03-03T08:00:00+00:00",
        "last": "2025-03-03T09:00:00+00:00",
    }
    assert [(p.fix_time.isoformat(), p.latitude) for p in stored(env, worker_id)] == [
        ("2025-03-03T08:00:00+00:00", 43.7394),
        ("2025-03-03T08:30:00+00:00", 43.7396),
        ("2025-03-03T09:00:00+00:00", 43.7397),
    ]


def test_points_off_shift_out_of_range_or_in_the_future_are_skipped_with_reasons(env, tmp_path, capsys):
    """Tests that for a worker on shift Mon-Fri 07:00-15:30, a Monday 20:00 point is skipped "off shift", a
    latitude of 95 "coordinates out of range", one in 2999 "in the future"; an unknown worker is a usage error."""
    assert main(["add-worker", "--name", "Ben", "--device-id", "b-1", "--shift", "Mon-Fri 07:00-15:30"]) == 0
    ben = int(capsys.readouterr().out.strip())
    path = gpx_file(
        tmp_path,
        "<trk><trkseg>"
        '<trkpt lat="43.7394" lon="7.4276"><time>2025-03-03T08:00:00Z</time></trkpt>'
        '<trkpt lat="43.7394" lon="7.4276"><time>2025-03-03T20:00:00Z</time></trkpt>'
        '<trkpt lat="95" lon="7.4276"><time>2025-03-03T09:00:00Z</time></trkpt>'
        '<trkpt lat="43.7394" lon="7.4276"><time>2999-03-04T08:00:00Z</time></trkpt>'
        "</trkseg></trk>",
    )
    code, summary, _ = import_in_process(capsys, ben, path)
    assert (code, summary["stored"]) == (0, 1)
    assert summary["skipped"] == {"coordinates out of range": 1, "in the future": 1, "off shift": 1}
    with pytest.raises(SystemExit) as exit_info:
        main(["import-gpx", "--worker-id", "999", path])
    assert exit_info.value.code == 2
    assert "--worker-id: no worker with id 999" in capsys.readouterr().err
