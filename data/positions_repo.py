"""Stored GPS positions, as `dispatch.positions.Position` values.

Positions are personal data: this module never logs them, and `purge_positions` enforces retention.
"Latest" always means the greatest `fix_time` (when the fix was taken), not the order of arrival,
because phones flush offline buffers late.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from types import MappingProxyType

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from data.tables import PositionRow
from dispatch.positions import Position


def _to_domain(row: PositionRow) -> Position:
    return Position(
        id=row.id,
        worker_id=row.worker_id,
        device_id=row.device_id,
        fix_time=row.fix_time,
        device_time=row.device_time,
        server_time=row.server_time,
        latitude=row.latitude,
        longitude=row.longitude,
        accuracy_m=row.accuracy_m,
        speed_mps=row.speed_mps,
        bearing_deg=row.bearing_deg,
        altitude_m=row.altitude_m,
        battery_pct=row.battery_pct,
        charging=row.charging,
        mock=row.mock,
        valid=row.valid,
        attributes=MappingProxyType(dict(row.attributes or {})),
    )


def _to_row(position: Position) -> PositionRow:
    return PositionRow(
        worker_id=position.worker_id,
        device_id=position.device_id,
        fix_time=position.fix_time,
        device_time=position.device_time,
        server_time=position.server_time,
        latitude=position.latitude,
        longitude=position.longitude,
        accuracy_m=position.accuracy_m,
        speed_mps=position.speed_mps,
        bearing_deg=position.bearing_deg,
        altitude_m=position.altitude_m,
        battery_pct=position.battery_pct,
        charging=position.charging,
        mock=position.mock,
        valid=position.valid,
        attributes=dict(position.attributes),
    )


def add_position(session: Session, position: Position) -> Position:
    """Store a position and return it with its new id (any id it carried is ignored)."""
    row = _to_row(position)
    session.add(row)
    session.flush()
    return replace(position, id=row.id)


def last_position(session: Session, *, worker_id: int) -> Position | None:
    """The worker's position with the greatest fix time (ties: the last stored), or None."""
    row = session.scalar(
        select(PositionRow)
        .where(PositionRow.worker_id == worker_id)
        .order_by(PositionRow.fix_time.desc(), PositionRow.id.desc())
        .limit(1)
    )
    return _to_domain(row) if row is not None else None


def latest_positions(session: Session) -> dict[int, Position]:
    """Every worker's latest position (greatest fix time), keyed by worker id, in one query.

    Uses a window function (SQLite >= 3.25, PostgreSQL), so the database scans the
    (worker_id, fix_time) index once instead of being asked once per worker.
    """
    ranked = select(
        PositionRow.id,
        func.row_number()
        .over(partition_by=PositionRow.worker_id, order_by=(PositionRow.fix_time.desc(), PositionRow.id.desc()))
        .label("rank"),
    ).subquery()
    rows = session.scalars(
        select(PositionRow)
        .join(ranked, ranked.c.id == PositionRow.id)
        .where(ranked.c.rank == 1)
        .order_by(PositionRow.worker_id)
    )
    return {row.worker_id: _to_domain(row) for row in rows}


def positions_between(session: Session, *, worker_id: int, start: datetime, end: datetime) -> list[Position]:
    """The worker's positions with `start <= fix_time <= end`, oldest first (aware datetimes required)."""
    rows = session.scalars(
        select(PositionRow)
        .where(PositionRow.worker_id == worker_id, PositionRow.fix_time >= start, PositionRow.fix_time <= end)
        .order_by(PositionRow.fix_time, PositionRow.id)
    )
    return [_to_domain(row) for row in rows]


def purge_positions(session: Session, *, before: datetime) -> int:
    """Delete every position whose fix time is strictly before `before`; returns how many were deleted."""
    result = session.execute(delete(PositionRow).where(PositionRow.fix_time < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
