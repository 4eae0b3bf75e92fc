"""Geofence crossings get their own table, `fence_crossings`, keyed (worker, site, time, type), one b-tree.

Every crossing the alert evaluator stored went into `events` and its five b-trees (the table, the dedup key, (site,
worker, time), worker, time): ~8 µs of the ~18 µs storing one cost, plus the pages to checkpoint. In
`fence_crossings` the key is the row (SQLite `WITHOUT ROWID`; PostgreSQL a plain table with that primary key): a
crossing is stored once however many processes see it by its key alone, and a pair's last crossing is one seek in it
(bench/README.md, "Alerts", thirteenth session).

The upgrade moves the stored crossings (`geofence_enter`/`geofence_exit` events naming a worker and a site) into
the new table, their confirmation time and fix id out of `details` into columns, the type as the API words it
(`enter`, `exit`); one crossing stored twice in `events` (the same instant under two UTC offsets, two dedup keys) is
kept once. A crossing an alert points at (`alerts.event_id`; the evaluator's alerts point at their own events, never
at a crossing, but a row made by hand or by another tool might) is copied and also left in `events`, so the alert
stays whole; crossings whose worker or site was deleted (NULL there) cannot be keyed and stay in `events` until the
retention purge takes them. The downgrade moves the crossings back into `events` (their dedup key made again from
the row, in UTC; one still there, an alert's, is not doubled) and drops the table.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 02:30:00+00:00
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql, sqlite

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_CHUNK = 5_000
_TYPE = {"geofence_enter": "enter", "geofence_exit": "exit"}
"""`events.type` of a crossing, and `fence_crossings.type` (the API's own words, shorter in the key)."""
_EVENT_TYPE = {short: long for long, short in _TYPE.items()}

_events = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("type", sa.String),
    sa.column("worker_id", sa.Integer),
    sa.column("order_id", sa.Integer),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("details", sa.JSON),
    sa.column("site_id", sa.Integer),
    sa.column("dedup_key", sa.String),
)
_alerts = sa.table("alerts", sa.column("event_id", sa.Integer))
_crossings = sa.table(
    "fence_crossings",
    sa.column("worker_id", sa.Integer),
    sa.column("site_id", sa.Integer),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("type", sa.String),
    sa.column("confirmed_at", sa.DateTime(timezone=True)),
    sa.column("position_id", sa.BigInteger),
)


def _movable() -> Sequence[sa.ColumnElement[bool]]:
    return (_events.c.type.in_(list(_TYPE)), _events.c.worker_id.is_not(None), _events.c.site_id.is_not(None))


def _utc(value: datetime) -> datetime:
    """A stored time as aware UTC (SQLite hands back naive UTC text, PostgreSQL an aware time)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _stored(value: datetime, dialect: str) -> datetime:
    """An aware time as the database stores it: naive UTC on SQLite (as `data.tables.UTCDateTime` writes it)."""
    value = _utc(value)
    return value.replace(tzinfo=None) if dialect == "sqlite" else value


def _insert(dialect: str, table: Any) -> Any:
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def upgrade() -> None:
    op.create_table(
        "fence_crossings",
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(length=5), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.CheckConstraint("type IN ('enter', 'exit')", name=op.f("ck_fence_crossings_type")),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_fence_crossings_site_id_sites"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["workers.id"], name=op.f("fk_fence_crossings_worker_id_workers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("worker_id", "site_id", "at", "type", name=op.f("pk_fence_crossings")),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    dialect = bind.dialect.name
    insert = _insert(dialect, _crossings).on_conflict_do_nothing()
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(_events.c.id, _events.c.type, _events.c.worker_id, _events.c.site_id, _events.c.at,
                      _events.c.details)  # fmt: skip
            .where(*_movable(), _events.c.id > last_id)
            .order_by(_events.c.id)
            .limit(_CHUNK)
        ).all()
        if not rows:
            break
        last_id = rows[-1].id
        moved = []
        for _id, kind, worker_id, site_id, at, details in rows:
            details = details if isinstance(details, dict) else json.loads(details or "{}")
            confirmed = details.get("confirmed_at")
            position_id = details.get("position_id")
            moved.append({
                "worker_id": worker_id,
                "site_id": site_id,
                "at": _stored(at, dialect),
                "type": _TYPE[kind],
                "confirmed_at": _stored(datetime.fromisoformat(confirmed) if isinstance(confirmed, str) else at, dialect),
                "position_id": int(position_id) if isinstance(position_id, int) else None,
            })  # fmt: skip
        bind.execute(insert, moved)
    pointed_at = sa.exists().where(_alerts.c.event_id == _events.c.id)
    bind.execute(sa.delete(_events).where(*_movable(), ~pointed_at))


def downgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    insert = _insert(dialect, _events).on_conflict_do_nothing(index_elements=["dedup_key"])
    key = (_crossings.c.worker_id, _crossings.c.site_id, _crossings.c.at, _crossings.c.type)
    last: tuple[Any, ...] | None = None
    while True:
        query = sa.select(*key, _crossings.c.confirmed_at, _crossings.c.position_id).order_by(*key).limit(_CHUNK)
        if last is not None:
            query = query.where(sa.tuple_(*key) > sa.tuple_(*(sa.literal(v, c.type) for v, c in zip(last, key, strict=True))))
        rows = bind.execute(query).all()
        if not rows:
            break
        last = tuple(rows[-1][:4])
        back = []
        for worker_id, site_id, at, kind, confirmed_at, position_id in rows:
            at_utc = _utc(at)
            back.append({
                "type": _EVENT_TYPE[kind],
                "worker_id": worker_id,
                "order_id": None,
                "at": _stored(at, dialect),
                "site_id": site_id,
                "dedup_key": f"{_EVENT_TYPE[kind]}:{worker_id}:{site_id}:{at_utc.isoformat()}",
                "details": {"confirmed_at": _utc(confirmed_at).isoformat(), "position_id": position_id},
            })  # fmt: skip
        bind.execute(insert, back)
    op.drop_table("fence_crossings")
