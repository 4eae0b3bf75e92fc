"""Alerts and geofence events in the database, as `dispatch.alerts.Alert` / `GeofenceEvent` values.

One open alert per kind, worker and order holds across processes: an open alert carries its
`open_key`, which is unique, and a raise first looks for it and then inserts with
`ON CONFLICT DO NOTHING`, so two gunicorn workers raising the same alert at once store one.
A geofence crossing is stored once by its key in `fence_crossings` (worker, site, time, type; migration 0022); on
SQLite the table itself leaves out a crossing that does not alternate with its pair's newest (a trigger, 0023).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from data import webhooks_repo
from data.tables import AlertRow, EventRow, FenceCrossingRow
from dispatch.alerts import Alert, AlertKind, AlertStatus, Clear, Raise, open_key
from dispatch.geofences import FenceEventType, GeofenceEvent
from dispatch.webhooks import EventType

_FENCE_TYPE = {FenceEventType.ENTER: "enter", FenceEventType.EXIT: "exit"}
"""The text `fence_crossings.type` holds for each type (a dict look-up: an enum's `.value` is a descriptor call)."""
_FENCE_EVENT_TYPE = {text: kind for kind, text in _FENCE_TYPE.items()}


def _alert(row: AlertRow) -> Alert:
    return Alert(
        id=row.id,
        kind=AlertKind(row.kind),
        worker_id=row.worker_id,
        order_id=row.order_id,
        raised_at=row.raised_at if row.raised_at is not None else row.acknowledged_at or datetime.fromtimestamp(0, UTC),
        reason=row.reason,
        status=AlertStatus(row.status),
        note=row.note,
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=row.acknowledged_at,
        cleared_at=row.cleared_at,
    )


def _insert(session: Session, table: Any, key_column: str) -> Any:
    dialect_insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    return dialect_insert(table).on_conflict_do_nothing(index_elements=[key_column]).returning(table.c.id)


def raise_alert(
    session: Session, decision: Raise, *, details: dict[str, Any] | None = None, event_type: str | None = None
) -> Alert | None:
    """Store an event (of `event_type`, default the kind) and an open alert for `decision`; None (nothing
    stored) when one is open already."""
    key = open_key(decision.kind, decision.worker_id, decision.order_id)
    if session.scalar(select(AlertRow.id).where(AlertRow.open_key == key)) is not None:
        return None
    event = EventRow(
        type=event_type or decision.kind.value,
        worker_id=decision.worker_id,
        order_id=decision.order_id,
        at=decision.at,
        details={"reason": decision.reason, **(details or {})},
    )
    session.add(event)
    session.flush()
    new_id = session.scalar(
        _insert(session, AlertRow.__table__, "open_key"),
        [
            {
                "event_id": event.id,
                "status": AlertStatus.OPEN.value,
                "kind": decision.kind.value,
                "worker_id": decision.worker_id,
                "order_id": decision.order_id,
                "raised_at": decision.at,
                "reason": decision.reason,
                "note": "",
                "open_key": key,
            }
        ],
    )
    if new_id is None:  # another process raised it meanwhile
        session.execute(delete(EventRow).where(EventRow.id == event.id))
        return None
    row = session.get(AlertRow, new_id)
    assert row is not None
    # Subscribers hear of it in the same transaction (no position: the alert's kind, whom, why).
    webhooks_repo.emit(session, EventType.ALERT_RAISED, {
        "alert_id": row.id, "kind": row.kind, "worker_id": row.worker_id, "order_id": row.order_id,
        "raised_at": decision.at.isoformat(), "reason": row.reason,
    }, at=decision.at)  # fmt: skip
    return _alert(row)


def clear_alert(session: Session, decision: Clear) -> Alert | None:
    """Close the open alert `decision` names (its condition ended); None when none is open."""
    key = open_key(decision.kind, decision.worker_id, decision.order_id)
    row = session.scalar(select(AlertRow).where(AlertRow.open_key == key))
    if row is None:
        return None
    row.status, row.cleared_at, row.open_key = AlertStatus.CLEARED.value, decision.at, None
    session.flush()
    return _alert(row)


def acknowledge(session: Session, alert_id: int, *, user_id: int, note: str, at: datetime) -> Alert | None:
    """Mark an open alert acknowledged by `user_id` with `note`; None for an unknown id.

    Acknowledging an alert that is no longer open changes nothing and returns it as it is.
    """
    row = session.get(AlertRow, alert_id)
    if row is None:
        return None
    if row.status == AlertStatus.OPEN.value:
        row.status, row.note, row.acknowledged_by, row.acknowledged_at, row.open_key = (
            AlertStatus.ACKNOWLEDGED.value, note, user_id, at, None,
        )  # fmt: skip
        session.flush()
    return _alert(row)


def open_alert(session: Session, kind: AlertKind, *, worker_id: int | None, order_id: int | None) -> Alert | None:
    """The open alert of that kind, worker and order, if there is one."""
    row = session.scalar(select(AlertRow).where(AlertRow.open_key == open_key(kind, worker_id, order_id)))
    return _alert(row) if row is not None else None


def get_alert(session: Session, alert_id: int) -> Alert | None:
    row = session.get(AlertRow, alert_id)
    return _alert(row) if row is not None else None


def list_alerts(
    session: Session, *, statuses: Iterable[AlertStatus] | None = None, worker_id: int | None = None, limit: int = 500
) -> list[Alert]:
    """Alerts newest first, of the given statuses (all when None) and worker (every worker when None)."""
    query = select(AlertRow).where(AlertRow.kind != "").order_by(AlertRow.raised_at.desc(), AlertRow.id.desc())
    if statuses is not None:
        query = query.where(AlertRow.status.in_([s.value for s in statuses]))
    if worker_id is not None:
        query = query.where(AlertRow.worker_id == worker_id)
    return [_alert(r) for r in session.scalars(query.limit(limit))]


def open_keys(session: Session) -> set[str]:
    """The keys of every open alert (the evaluator's cache: it clears only what is open)."""
    return {k for k in session.scalars(select(AlertRow.open_key).where(AlertRow.open_key.is_not(None))) if k}


def add_fence_events(session: Session, events: Iterable[GeofenceEvent]) -> list[GeofenceEvent]:
    """Store geofence crossings, each once however often it is given; returns those stored now, in order.

    A worker's crossings of one site alternate, enter then exit: a crossing of the same type as the last one
    stored for that worker and site is not stored (another web process, which saw other fixes of the same
    phone, stored that arrival or departure already, with its own first fix).

    On SQLite one statement for the whole batch, however many crossings it holds: the insert (`ON CONFLICT DO
    NOTHING` on the key, inside a savepoint, which tells apart a crossing not stored), `fence_crossings`' trigger
    leaving out each crossing that does not alternate (migration 0023). On PostgreSQL two: one query for the last
    stored crossing of each (worker, site) pair the batch names (one seek each in the key), and one insert of those
    that alternate with it, the batch's own crossings taken in order.
    """
    given = list(events)
    if not given:
        return []
    if session.get_bind().dialect.name == "sqlite":
        return _add_fence_events_sqlite(session, given)
    last = _last_crossings(session, {(e.worker_id, e.site_id) for e in given})
    candidates = _alternating(given, last)
    if not candidates:
        return []
    rows = [
        {
            "worker_id": e.worker_id,
            "site_id": e.site_id,
            "at": e.at,
            "type": _FENCE_TYPE[e.type],
            "confirmed_at": e.confirmed_at,
            "position_id": e.position_id,
        }
        for e in candidates
    ]
    table = FenceCrossingRow.__table__
    statement = (
        postgresql.insert(table)
        .on_conflict_do_nothing()
        .returning(table.c.worker_id, table.c.site_id, table.c.at, table.c.type)
    )
    stored = {(w, s, at, kind) for w, s, at, kind in session.execute(statement, rows)}
    out: list[GeofenceEvent] = []
    for e in candidates:
        key = (e.worker_id, e.site_id, e.at, _FENCE_TYPE[e.type])
        if key in stored:
            stored.discard(key)  # a crossing given twice is stored once, and returned once
            out.append(e)
    return out


def _alternating(given: list[GeofenceEvent], last: dict[tuple[int, int], tuple[datetime, str]]) -> list[GeofenceEvent]:
    """The crossings that alternate with their pair's last one (stored, or earlier in `given`); `last` is updated."""
    out: list[GeofenceEvent] = []
    for e in given:
        pair = (e.worker_id, e.site_id)
        known = last.get(pair)
        kind = _FENCE_TYPE[e.type]
        if known is not None and known[1] == kind:
            continue
        out.append(e)
        if known is None or (e.at, kind) >= known:  # the newest crossing of the pair, as the key orders them
            last[pair] = (e.at, kind)
    return out


def _sqlite_text(value: datetime, iso: str) -> str:
    """`_sqlite_time(value)`, sliced from `iso` (its `isoformat()`) when it is in UTC: a time formatted once per
    crossing, not twice (~1.5 µs each)."""
    if value.tzinfo is UTC:
        return f"{iso[:10]} {iso[11:26]}" if len(iso) == 32 else f"{iso[:10]} {iso[11:19]}.000000"
    return _sqlite_time(value)


_SQLITE_INSERT_CROSSING = (
    f"INSERT INTO {FenceCrossingRow.__tablename__} (worker_id, site_id, at, type, confirmed_at, position_id) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)


def _add_fence_events_sqlite(session: Session, given: list[GeofenceEvent]) -> list[GeofenceEvent]:
    """`add_fence_events` on SQLite: each crossing made into its row in SQLite's storage form, then one DB-API
    `executemany` of those rows, which alone keeps the alternation: `fence_crossings`' trigger (migration 0023) ignores a
    crossing of the same type as its pair's newest stored one, the rows taken in order, so the batch's own crossings of
    a pair alternate against each other and against what any process stored before.

    No read of the pairs' last crossings first (one seek each, ~4.5 µs per crossing in the evaluator's thread): the
    trigger's look-up finds the pair's leaf the insert then writes (bench/README.md "Alerts", fourteenth session,
    `alerts14`). Driver SQL (no statement to build, compile or look up; the driver's own `executemany`): SQLAlchemy's
    statement building, cache key and per-value processing (the times) were most of what storing a crossing cost the
    evaluator. The values are written exactly as the ORM writes them (`UTCDateTime` as naive UTC text with
    microseconds; that text orders as the times do, so the trigger compares it with the stored times as it is).
    `executemany` tells only how many rows it stored (a row the trigger ignores, or one stored already, is not
    counted): when that is all of them, those are the ones stored now. When fewer, the insert is undone to a savepoint
    and made again a row at a time, each telling whether it stored its row (a crossing that does not alternate is rare:
    the evaluator decides crossings from a worker's own state, and a crossing is keyed by its first fix, which one
    process evaluates).
    """
    rows: list[tuple[int, int, str, str, str, int | None]] = []
    for e in given:
        confirmed_at = e.confirmed_at
        rows.append((e.worker_id, e.site_id, _sqlite_text(e.at, e.at.isoformat()), _FENCE_TYPE[e.type],
                     _sqlite_text(confirmed_at, confirmed_at.isoformat()),
                     None if e.position_id is None else int(e.position_id)))  # fmt: skip
    session.flush()  # anything the caller added to the session goes first, as a Core insert would have it
    connection = session.connection()
    # Transaction control straight on the driver's connection (~15 µs less each than through SQLAlchemy, which has
    # nothing to track: the savepoint is released here, and a failure rolls back the caller's whole transaction).
    driver = connection.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    if not driver.in_transaction:
        # pysqlite begins a transaction only before an INSERT, UPDATE or DELETE: a savepoint outside one would begin
        # its own, and releasing it would commit the crossings apart from the rest of the caller's transaction.
        driver.execute("BEGIN")
    driver.execute("SAVEPOINT crossings")
    kept = given
    if connection.exec_driver_sql(_SQLITE_INSERT_CROSSING, rows).rowcount != len(rows):  # type: ignore[arg-type]
        driver.execute("ROLLBACK TO crossings")
        kept = [e for e, row in zip(given, rows, strict=True) if _inserted(connection, row)]
    driver.execute("RELEASE crossings")
    return kept


def _inserted(connection: Connection, row: tuple[int, int, str, str, str, int | None]) -> bool:
    """Whether the one crossing `row` was stored now."""
    return bool(connection.exec_driver_sql(_SQLITE_INSERT_CROSSING, row).rowcount == 1)


def _sqlite_time(value: datetime) -> str:
    """`UTCDateTime`'s SQLite form: naive UTC, `YYYY-MM-DD HH:MM:SS.ffffff` (SQLAlchemy's DATETIME text)."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _last_crossings(session: Session, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], tuple[datetime, str]]:
    """The last stored crossing (time, type) of each (worker, site) pair that has one, in one query.

    Only those pairs are looked at: not every crossing of the batch's workers at any of its sites, which over a day
    is most of their crossings, each ranked, returned and parsed to be dropped here."""
    row = FenceCrossingRow
    ranked = (
        select(
            row.worker_id,
            row.site_id,
            row.at,
            row.type,
            func.row_number()
            .over(partition_by=(row.worker_id, row.site_id), order_by=(row.at.desc(), row.type.desc()))
            .label("rank"),
        )
        .where(tuple_(row.worker_id, row.site_id).in_(sorted(pairs)))
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.worker_id, ranked.c.site_id, ranked.c.at, ranked.c.type).where(ranked.c.rank == 1)
    )
    return {(w, s): (at, kind) for w, s, at, kind in rows}


def fence_events(session: Session, *, worker_id: int, start: datetime, end: datetime) -> list[GeofenceEvent]:
    """The worker's geofence crossings with `at` in [start, end], oldest first."""
    row = FenceCrossingRow
    rows = session.execute(
        select(row.type, row.site_id, row.at, row.confirmed_at, row.position_id)
        .where(row.worker_id == worker_id, row.at >= start, row.at <= end)
        .order_by(row.at, row.type)
    )
    return [
        GeofenceEvent(
            type=_FENCE_EVENT_TYPE[kind],
            worker_id=worker_id,
            site_id=site_id,
            at=at,
            confirmed_at=confirmed_at,
            position_id=position_id,
        )
        for kind, site_id, at, confirmed_at, position_id in rows
    ]


def sites_inside(session: Session, *, worker_id: int, since: datetime) -> dict[int, datetime]:
    """The sites the worker's last stored crossing (since `since`) entered and did not leave: {site: entered at}.

    This is how a process (re)starting learns where a worker is, so a restart makes no second enter event.
    """
    return sites_inside_many(session, worker_ids=[worker_id], since=since)[worker_id]


def sites_inside_many(
    session: Session, *, worker_ids: Iterable[int], since: datetime
) -> dict[int, dict[int, datetime]]:
    """`sites_inside` of each of `worker_ids`, in one query (an evaluator meeting a batch's workers for the
    first time asked once per worker)."""
    wanted = set(worker_ids)
    inside: dict[int, dict[int, datetime]] = {w: {} for w in wanted}
    if not wanted:
        return inside
    row = FenceCrossingRow
    rows = session.execute(
        select(row.worker_id, row.site_id, row.type, row.at)
        .where(row.worker_id.in_(wanted), row.at >= since)
        .order_by(row.at, row.type)
    ).all()
    for worker_id, site_id, kind, at in rows:
        if kind == _FENCE_TYPE[FenceEventType.ENTER]:
            inside[worker_id][site_id] = at
        else:
            inside[worker_id].pop(site_id, None)
    return inside
