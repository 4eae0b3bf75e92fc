"""Field workers and their shifts, as `dispatch.workers.Worker` values.

A worker's device id is their natural key: the phone reports under it and CSV re-imports match on it.
Skills are stored sorted so that the same set always gives the same row.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, time, tzinfo
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from data.tables import TeamRow, WorkerLeaveRow, WorkerRow, WorkerShiftRow
from dispatch import localtime
from dispatch.assign import Leave
from dispatch.geo import LatLon
from dispatch.workers import Shift, Worker


def _shift_rows(session: Session, worker_id: int) -> list[WorkerShiftRow]:
    return list(
        session.scalars(select(WorkerShiftRow).where(WorkerShiftRow.worker_id == worker_id).order_by(WorkerShiftRow.id))
    )


def _to_shift(row: Any, zone: tzinfo = UTC) -> Shift:
    return Shift(
        weekdays=tuple(int(d) for d in row.weekdays), start=_naive(row.start_time), end=_naive(row.end_time), zone=zone
    )


def _zone(name: str | None) -> tzinfo:
    """A worker's stored zone (UTC when none is stored)."""
    return localtime.zone(name) if name else UTC


def _naive(value: time) -> time:
    return value.replace(tzinfo=None)


def _to_domain(row: Any, shifts: Iterable[Any]) -> Worker:
    """A worker from its row (ORM object or plain row: the same attributes) and its shift rows."""
    home = LatLon(row.home_lat, row.home_lon) if row.home_lat is not None and row.home_lon is not None else None
    return Worker(
        id=row.id,
        name=row.name,
        device_id=row.device_id,
        skills=frozenset(row.skills),
        shifts=tuple(_to_shift(s, _zone(row.timezone)) for s in shifts),
        home_base=home,
        team=row.team,
        active=row.active,
        zone=localtime.zone(row.timezone) if row.timezone else None,
    )


def _validate(*, name: str, device_id: str) -> tuple[str, str]:
    name, device_id = name.strip(), device_id.strip()
    if not name:
        raise ValueError("name: must not be empty")
    if not device_id:
        raise ValueError("device_id: must not be empty")
    return name, device_id


def _skills(skills: Iterable[str]) -> list[str]:
    cleaned = sorted({s.strip() for s in skills if s.strip()})
    return cleaned


def _team_id(session: Session, name: str) -> int | None:
    """The id of the team called `name`, created when none is (the command line and CSV imports name teams
    freely); None for no team. Every worker's team name thus has its row in `teams`."""
    if not name:
        return None
    found = session.scalar(select(TeamRow.id).where(TeamRow.name == name))
    if found is not None:
        return found
    team = TeamRow(name=name, active=True)
    session.add(team)
    session.flush()
    return team.id


def _write(
    session: Session,
    row: WorkerRow,
    *,
    name: str,
    skills: Iterable[str],
    shifts: Iterable[Shift],
    home_base: LatLon | None,
    team: str,
    timezone: str | None = None,
) -> None:
    row.name = name
    row.timezone = localtime.zone(timezone).key if timezone else None
    row.skills = _skills(skills)
    row.team = team.strip()
    row.team_id = _team_id(session, row.team)
    row.home_lat = home_base.lat if home_base is not None else None
    row.home_lon = home_base.lon if home_base is not None else None
    if row.id is None:
        session.add(row)
        session.flush()
    for old in _shift_rows(session, row.id):
        session.delete(old)
    for shift in shifts:
        session.add(
            WorkerShiftRow(
                worker_id=row.id, weekdays=sorted(set(shift.weekdays)), start_time=shift.start, end_time=shift.end
            )
        )
    session.flush()


def add_worker(
    session: Session,
    *,
    name: str,
    device_id: str,
    skills: Iterable[str] = (),
    shifts: Iterable[Shift] = (),
    home_base: LatLon | None = None,
    team: str = "",
    timezone: str | None = None,
) -> Worker:
    """Store a new, active worker and return it with its id; `timezone` (IANA) is where their shift times are read
    (None: UTC).

    Raises ValueError naming the field for an empty `name` or `device_id`, or a `device_id` that
    another worker already uses (a device reports for exactly one worker).
    """
    name, device_id = _validate(name=name, device_id=device_id)
    existing = session.scalar(select(WorkerRow.id).where(WorkerRow.device_id == device_id))
    if existing is not None:
        raise ValueError(f"device_id: {device_id!r} is already used by worker {existing}")
    row = WorkerRow(device_id=device_id, active=True)
    _write(session, row, name=name, skills=skills, shifts=shifts, home_base=home_base, team=team, timezone=timezone)
    return _to_domain(row, _shift_rows(session, row.id))


def upsert_worker_by_device(
    session: Session,
    *,
    name: str,
    device_id: str,
    skills: Iterable[str] = (),
    shifts: Iterable[Shift] = (),
    home_base: LatLon | None = None,
    team: str = "",
    timezone: str | None = None,
) -> tuple[Worker, bool]:
    """Create the worker with `device_id`, or overwrite its name, skills, shifts, home base and team.

    Returns the stored worker and whether it was created. The `active` flag of an existing worker is
    kept: re-importing a roster does not bring back a deactivated worker.
    """
    name, device_id = _validate(name=name, device_id=device_id)
    row = session.scalar(select(WorkerRow).where(WorkerRow.device_id == device_id))
    created = row is None
    if row is None:
        row = WorkerRow(device_id=device_id, active=True)
    _write(session, row, name=name, skills=skills, shifts=shifts, home_base=home_base, team=team, timezone=timezone)
    return _to_domain(row, _shift_rows(session, row.id)), created


def set_active(session: Session, *, worker_id: int, active: bool) -> Worker:
    """Activate or deactivate a worker (deactivated workers are kept for history but never on shift)."""
    row = session.get(WorkerRow, worker_id)
    if row is None:
        raise ValueError(f"worker_id: no worker with id {worker_id}")
    row.active = active
    session.flush()
    return _to_domain(row, _shift_rows(session, row.id))


def get_worker(session: Session, worker_id: int) -> Worker | None:
    """The worker with `worker_id`, or None."""
    row = session.get(WorkerRow, worker_id)
    return _to_domain(row, _shift_rows(session, row.id)) if row is not None else None


def worker_by_device(session: Session, device_id: str) -> Worker | None:
    """The worker whose phone reports as `device_id`, or None."""
    row = session.scalar(select(WorkerRow).where(WorkerRow.device_id == device_id.strip()))
    return _to_domain(row, _shift_rows(session, row.id)) if row is not None else None


def active_worker_id_for_device(session: Session, device_id: str) -> int | None:
    """The id of the active worker whose phone reports as `device_id`, or None (one indexed query).

    The ingestion hot path needs only this, not the whole worker with its shifts.
    """
    return session.scalar(
        select(WorkerRow.id).where(WorkerRow.device_id == device_id.strip(), WorkerRow.active.is_(True))
    )


def list_workers(session: Session) -> list[Worker]:
    """All workers, active or not, ordered by id; shifts are loaded in one extra query.

    Read as plain rows, not ORM objects: every look at an order's candidates reads the whole fleet,
    and building 1,000 tracked objects for 500 workers cost more than the ranking itself.
    """
    rows = session.execute(select(*_WORKER_FIELDS).order_by(WorkerRow.id))
    shifts: dict[int, list[tuple[Any, ...]]] = {}
    for shift in session.execute(select(WorkerShiftRow.worker_id, *_SHIFT_FIELDS).order_by(WorkerShiftRow.id)):
        shifts.setdefault(shift.worker_id, []).append((tuple(shift.weekdays), shift.start_time, shift.end_time))
    return [_worker_of(_hashable(row), tuple(shifts.get(row.id, ()))) for row in rows]


# What `list_workers` reads of a worker and of a shift, in this order (skills and weekdays are JSON lists).
_WORKER_FIELDS = (WorkerRow.id, WorkerRow.name, WorkerRow.device_id, WorkerRow.skills, WorkerRow.team,
                  WorkerRow.home_lat, WorkerRow.home_lon, WorkerRow.active, WorkerRow.timezone)  # fmt: skip
_SHIFT_FIELDS = (WorkerShiftRow.weekdays, WorkerShiftRow.start_time, WorkerShiftRow.end_time)
_WorkerFields = namedtuple("_WorkerFields", [c.key for c in _WORKER_FIELDS])  # noqa: PYI024 - a row's shape, not API
_ShiftFields = namedtuple("_ShiftFields", [c.key for c in _SHIFT_FIELDS])  # noqa: PYI024


def _hashable(row: Any) -> tuple[Any, ...]:
    return tuple(tuple(value) if isinstance(value, list) else value for value in row)


@lru_cache(maxsize=8192)
def _worker_of(row: tuple[Any, ...], shifts: tuple[tuple[Any, ...], ...]) -> Worker:
    """A worker from its stored values, remembered by them: every look at an order's candidates reads the whole
    fleet, and making 500 `Worker`s with their shifts and zones again cost more than reading the rows. The values
    are the key, so a changed row (or shift) makes a new `Worker`; an unchanged one gives the same frozen value."""
    return _to_domain(_WorkerFields(*row), [_ShiftFields(*shift) for shift in shifts])


def update_worker(
    session: Session,
    *,
    worker_id: int,
    name: str,
    device_id: str,
    skills: Iterable[str],
    shifts: Iterable[Shift],
    home_base: LatLon | None,
    team: str,
) -> Worker:
    """Overwrite a worker's fields (its `active` flag is `set_active`'s; its time zone is kept).

    Raises LookupError for an unknown worker and ValueError naming the field for an empty `name` or
    `device_id`, or a `device_id` another worker uses.
    """
    row = session.get(WorkerRow, worker_id)
    if row is None:
        raise LookupError(f"worker_id: no worker with id {worker_id}")
    name, device_id = _validate(name=name, device_id=device_id)
    existing = session.scalar(select(WorkerRow.id).where(WorkerRow.device_id == device_id, WorkerRow.id != worker_id))
    if existing is not None:
        raise ValueError(f"device_id: {device_id!r} is already used by worker {existing}")
    row.device_id = device_id
    _write(session, row, name=name, skills=skills, shifts=shifts, home_base=home_base, team=team, timezone=row.timezone)
    return _to_domain(row, _shift_rows(session, row.id))


def worker_id_for_device(session: Session, device_id: str) -> int | None:
    """The id of the worker (active or not) whose phone reports as `device_id`, or None."""
    return session.scalar(select(WorkerRow.id).where(WorkerRow.device_id == device_id.strip()))


@dataclass(frozen=True, slots=True)
class LeaveEntry:
    """A stored leave: whole days `start`..`end`, both included."""

    id: int
    worker_id: int
    start: date
    end: date
    reason: str


def add_leave(session: Session, *, worker_id: int, start: date, end: date, reason: str = "") -> LeaveEntry:
    """Record that a worker is away from `start` to `end` (whole days, both included).

    Raises ValueError naming the field: `end` before `start`, an unknown worker, or days that overlap one of the
    worker's leaves (a leave sent twice, or days already taken: remove or shorten that one first).
    """
    if end < start:
        raise ValueError("end: the leave ends before it starts")
    # The worker's row locked (PostgreSQL) so that two requests cannot both find the days free.
    if session.get(WorkerRow, worker_id, with_for_update=True) is None:
        raise ValueError(f"worker_id: no worker with id {worker_id}")
    taken = session.scalars(
        select(WorkerLeaveRow)
        .where(
            WorkerLeaveRow.worker_id == worker_id, WorkerLeaveRow.start_date <= end, WorkerLeaveRow.end_date >= start
        )
        .order_by(WorkerLeaveRow.start_date)
        .limit(1)
    ).first()
    if taken is not None:
        raise ValueError(
            f"start: worker {worker_id} is already away {taken.start_date.isoformat()} – {taken.end_date.isoformat()}"
        )
    row = WorkerLeaveRow(worker_id=worker_id, start_date=start, end_date=end, reason=reason)
    session.add(row)
    session.flush()
    return LeaveEntry(row.id, worker_id, start, end, reason)


def leaves_of(session: Session, worker_id: int) -> list[LeaveEntry]:
    """A worker's leaves, earliest first."""
    rows = session.scalars(
        select(WorkerLeaveRow)
        .where(WorkerLeaveRow.worker_id == worker_id)
        .order_by(WorkerLeaveRow.start_date, WorkerLeaveRow.id)
    )
    return [LeaveEntry(r.id, r.worker_id, r.start_date, r.end_date, r.reason or "") for r in rows]


def delete_leave(session: Session, *, worker_id: int, leave_id: int) -> LeaveEntry | None:
    """Remove one of the worker's leaves; the removed entry, or None when the worker has no such leave."""
    row = session.get(WorkerLeaveRow, leave_id)
    if row is None or row.worker_id != worker_id:
        return None
    entry = LeaveEntry(row.id, row.worker_id, row.start_date, row.end_date, row.reason or "")
    session.delete(row)
    session.flush()
    return entry


def leaves_overlapping(session: Session, *, start: date, end: date, zone: tzinfo = UTC) -> dict[int, list[Leave]]:
    """Leaves touching the days [start, end], by worker, as aware UTC periods [first day, day after last): local
    days, cut at the worker's own midnight where they have a zone, else at `zone`'s (the office's)."""
    rows = session.execute(
        select(WorkerLeaveRow, WorkerRow.timezone)
        .join(WorkerRow, WorkerRow.id == WorkerLeaveRow.worker_id)
        .where(WorkerLeaveRow.start_date <= end, WorkerLeaveRow.end_date >= start)
    )
    out: dict[int, list[Leave]] = {}
    for row, own in rows:
        tz = localtime.day_zone(_zone(own) if own else None, zone)
        begin = localtime.day_bounds(row.start_date, tz)[0]
        finish = localtime.day_bounds(row.end_date, tz)[1]
        out.setdefault(row.worker_id, []).append(Leave(row.worker_id, begin, finish, row.reason or "leave"))
    return out
