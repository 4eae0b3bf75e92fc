"""Learning travel times from stored fixes: trips found, factors fitted and kept, used at start."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from data.positions_repo import insert_positions
from data.workers_repo import add_worker
from dispatch.geo import LatLon
from dispatch.positions import Position
from routing.learned import LearnedTravel
from routing.travel import StraightLine
from services import travel_learning

REPO = Path(__file__).resolve().parents[2]
ROADS = StraightLine()
HOME, SITE = LatLon(43.7300, 7.4150), LatLon(43.7420, 7.4260)
FIRST = date(2026, 3, 2)
HOURS = (7, 8, 9, 13, 15, 17)


def _fixes(worker_id: int, *, days: int) -> list[Position]:
    """Each day six trips between home and a site: 10 minutes standing at one end (a fix every 30 s), then
    driving straight to the other (a fix every 10 s), 1.5 times the road time from 7:00 to 9:59."""
    fixes = []
    for d in range(days):
        for n, hour in enumerate(HOURS):
            a, b = (HOME, SITE) if n % 2 == 0 else (SITE, HOME)
            t = datetime.combine(FIRST + timedelta(days=d), datetime.min.time(), UTC) + timedelta(hours=hour)
            for s in range(0, 600, 30):  # standing at a
                fixes.append((t + timedelta(seconds=s), a))
            drive_s = ROADS.duration_s(a, b) * (1.5 if hour < 10 else 1.0)
            steps = int(drive_s // 10)
            for i in range(1, steps + 1):
                f = i / steps
                fixes.append((t + timedelta(seconds=600 + i * 10), LatLon(a.lat + (b.lat - a.lat) * f,
                                                                          a.lon + (b.lon - a.lon) * f)))  # fmt: skip
            for s in range(30, 600, 30):  # standing at b
                fixes.append((t + timedelta(seconds=600 + steps * 10 + s), b))
    return [
        Position(worker_id=worker_id, device_id="learn", fix_time=at, device_time=at, server_time=at,
                 latitude=p.lat, longitude=p.lon, accuracy_m=5.0)
        for at, p in fixes
    ]  # fmt: skip


def test_learning_finds_the_stored_trips_and_their_morning_factor(session: Session, tmp_path: Path) -> None:
    """Tests that the trips of eight stored days are found, the morning factor learned (1.5), the held-out
    error drops with it, and the console's travel times use the saved factors (road times without them)."""
    worker = add_worker(session, name="W", device_id="learn").id
    insert_positions(session, _fixes(worker, days=8))
    session.commit()
    sessions = sessionmaker(bind=session.get_bind())
    trips = travel_learning.trips_of_period(sessions, first=FIRST, last=FIRST + timedelta(days=7))
    assert len(trips) == 48
    report = travel_learning.evaluate(trips, ROADS)
    assert report.factors is not None and report.held_out == 12
    assert report.factors.by_hour[8] == pytest.approx(1.5, abs=0.1)
    assert report.factors.by_hour[13] == pytest.approx(1.0, abs=0.1)
    assert report.after is not None and report.after.mape < report.before.mape / 2

    assert travel_learning.travel_times(ROADS, tmp_path, lambda: datetime.now(UTC)) is ROADS  # nothing learned
    travel_learning.save(report.factors, tmp_path / travel_learning.LEARNED_FILE)
    morning = datetime.combine(FIRST, datetime.min.time(), UTC) + timedelta(hours=8)
    learned = travel_learning.travel_times(ROADS, tmp_path, lambda: morning)
    assert isinstance(learned, LearnedTravel)
    assert learned.duration_s(HOME, SITE) == pytest.approx(1.5 * ROADS.duration_s(HOME, SITE), rel=0.1)


def test_an_unreadable_factors_file_leaves_the_road_times(tmp_path: Path) -> None:
    (tmp_path / travel_learning.LEARNED_FILE).write_text("{not json")
    assert travel_learning.travel_times(ROADS, tmp_path, lambda: datetime.now(UTC)) is ROADS


def test_learn_travel_command_reports_and_refuses_bad_options(tmp_path: Path) -> None:
    """Tests that `python -m console learn-travel` on a database without trips says nothing was learned
    (exit 0, no factors kept), that its days and hours are the office's (OUTFIELD_TIMEZONE, Europe/Monaco when
    unset) unless --timezone names another, and a bad option gets a message naming it."""
    env = {"OUTFIELD_VAR": str(tmp_path), "OUTFIELD_OSRM_DIR": str(tmp_path / "no-osrm"), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "data", "migrate"], env=env, check=True, capture_output=True, cwd=REPO)
    done = subprocess.run([sys.executable, "-m", "console", "learn-travel", "--days", "7"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (summary["learned"], summary["trips"], summary["timezone"]) == (False, 0, "Europe/Monaco")
    assert not (tmp_path / travel_learning.LEARNED_FILE).exists()
    bad = subprocess.run([sys.executable, "-m", "console", "learn-travel", "--timezone", "Mars/Olympus"], env=env,
                         cwd=REPO, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert bad.returncode == 2 and "--timezone" in bad.stderr
