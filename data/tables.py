"""SQLAlchemy ORM classes for the whole domain. Never imported outside `data/`.

Repositories turn these rows into `dispatch` values and back; nothing else should hold a row.
Every datetime column is `UTCDateTime`: written as UTC, read back as aware UTC on every database.
Statuses and kinds are the `StrEnum` values of the domain, stored as plain strings.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy import event as sa_event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names, identical on SQLite and PostgreSQL, so that later migrations can
# drop or alter a constraint by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Positions grow fastest; a 64-bit id on PostgreSQL, SQLite's rowid INTEGER (already 64-bit).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC and always returned as aware UTC.

    PostgreSQL keeps the zone (`timestamptz`); SQLite has no zone type, so the value is stored as
    naive UTC text and the zone is attached again on the way out. A naive datetime is refused:
    guessing its zone would silently shift times by hours.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"datetime {value.isoformat()} must be timezone-aware")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


ORDER_SEARCH_TABLE = "work_orders_search"
"""SQLite only (migration 0017): the FTS5 trigram index of the orders' reference and notes, kept by
triggers. It and its shadow tables (`work_orders_search_data`, ...) are not models."""


def is_search_table(name: str | None) -> bool:
    """Whether a table name is the order search index or one of its shadow tables."""
    return name is not None and (name == ORDER_SEARCH_TABLE or name.startswith(ORDER_SEARCH_TABLE + "_"))


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'dispatcher', 'manager', 'field_worker')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id", ondelete="SET NULL"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped by logout, a password change and deactivation: a session cookie names the version it was
    # signed in with, so every older session of the user stops working at once.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Which teams' workers and orders a dispatcher or manager sees (0012): every team, or those named in
    # team_scope. Users from before 0012 see every team, as they did.
    all_teams: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    team_scope: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    # The console language the user chose ("en", "zh_CN"); None: taken from the browser (Accept-Language).
    language: Mapped[str | None] = mapped_column(String(10))


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class WorkerRow(Base):
    __tablename__ = "workers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    device_id: Mapped[str] = mapped_column(String(100), unique=True)
    skills: Mapped[list[Any]] = mapped_column(default=list)
    team: Mapped[str] = mapped_column(String(100), default="")
    # The team's row (0011); `team` keeps its name for the code that reads names. NULL: no team, or a
    # free-text team from the command line or a CSV import.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    home_lat: Mapped[float | None] = mapped_column(Float)
    home_lon: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when the worker left and was anonymised (0012): irreversible, and done once.
    anonymised_at: Mapped[datetime | None]
    # The IANA zone the worker's shift times are read in (their own, set from the office's when added by the
    # CLI); None: UTC, as for every worker stored before time zones (migration 0014).
    timezone: Mapped[str | None] = mapped_column(String(64))


class TeamRow(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class UserTeamRow(Base):
    """A user's membership of a team (which teams a manager or dispatcher answers for)."""

    __tablename__ = "user_teams"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True, index=True)


class WorkerShiftRow(Base):
    __tablename__ = "worker_shifts"

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), index=True)
    weekdays: Mapped[list[Any]]
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)


class WorkerLeaveRow(Base):
    __tablename__ = "worker_leaves"

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")


class CustomerRow(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    external_ref: Mapped[str | None] = mapped_column(String(100), unique=True)


class SiteRow(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(Text, default="")
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    geofence_radius_m: Mapped[float] = mapped_column(Float, default=50.0)
    # A GeoJSON Polygon, when the site's outline is known; otherwise the radius alone is used.
    geofence_polygon: Mapped[str | None] = mapped_column(Text)
    external_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    category: Mapped[str] = mapped_column(String(100), default="")


class WorkOrderRow(Base):
    __tablename__ = "work_orders"
    __table_args__ = (CheckConstraint("priority BETWEEN 1 AND 5", name="priority"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(100), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    type: Mapped[str] = mapped_column(String(20))
    priority: Mapped[int] = mapped_column(Integer)
    required_skills: Mapped[list[Any]] = mapped_column(default=list)
    window_start: Mapped[datetime] = mapped_column(index=True)
    window_end: Mapped[datetime]
    service_duration_s: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True)
    assigned_worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id"), index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(index=True)
    # Milestones kept beside the status history so reports read one row per order (0008):
    # first assigned, first on site, last done/failed, and whether it ever failed.
    assigned_at: Mapped[datetime | None]
    on_site_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    failed_once: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class OrderStatusHistoryRow(Base):
    __tablename__ = "order_status_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    # Who made the move when no person did: "geofence" for an automatic arrival; "" otherwise.
    source: Mapped[str] = mapped_column(String(20), default="", server_default="")


class PositionRow(Base):
    __tablename__ = "positions"
    # One fix per worker and fix time: a phone's resend (it retries when an answer is lost) is stored
    # once. The unique index also serves "latest fix of a worker" lookups and, per worker, every question by fix
    # time (the purge, a day's kilometres): there is no index on fix_time alone (migration 0020).
    __table_args__ = (UniqueConstraint("worker_id", "fix_time"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"))
    device_id: Mapped[str] = mapped_column(String(100))
    fix_time: Mapped[datetime]
    device_time: Mapped[datetime]
    server_time: Mapped[datetime]
    # NULL for a report without coordinates (cell towers / Wi-Fi only) from a worker with no earlier
    # fix: kept as network data (valid False, attribute outdated), never a place on the map.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)
    bearing_deg: Mapped[float | None] = mapped_column(Float)
    altitude_m: Mapped[float | None] = mapped_column(Float)
    battery_pct: Mapped[float | None] = mapped_column(Float)
    charging: Mapped[bool | None] = mapped_column(Boolean)
    mock: Mapped[bool] = mapped_column(Boolean, default=False)
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)


class VisitRow(Base):
    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    planned_arrival: Mapped[datetime | None]
    planned_start: Mapped[datetime | None]
    planned_end: Mapped[datetime | None]
    actual_arrival: Mapped[datetime | None]
    actual_start: Mapped[datetime | None]
    actual_end: Mapped[datetime | None]


class CheckinRow(Base):
    __tablename__ = "checkins"
    __table_args__ = (CheckConstraint("kind IN ('in', 'out')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="SET NULL"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(3))
    at: Mapped[datetime]
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(30))
    distance_m: Mapped[float | None] = mapped_column(Float)
    # The id the phone gave the action, so a retried upload is recognised and not stored twice.
    client_action_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    # How much to trust it (dispatch.confidence): 0-100, the reasons [[code, points, text], ...] and the
    # evidence it was scored from (kept so a photo arriving later re-scores it). NULL before 0006.
    confidence_score: Mapped[int | None] = mapped_column(Integer)
    confidence_reasons: Mapped[list[Any] | None]
    confidence_evidence: Mapped[dict[str, Any] | None]
    # not_needed | needs_review (scored under the threshold) | approved | rejected (by a manager, with a note).
    review_status: Mapped[str] = mapped_column(
        String(20), default="not_needed", server_default="not_needed", index=True
    )
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str] = mapped_column(Text, default="", server_default="")


class RoutePlanRow(Base):
    __tablename__ = "route_plans"
    __table_args__ = (CheckConstraint("status IN ('draft', 'published')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    created_at: Mapped[datetime]
    objective: Mapped[float | None] = mapped_column(Float)
    cost: Mapped[float | None] = mapped_column(Float)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class RouteStopRow(Base):
    __tablename__ = "route_stops"
    __table_args__ = (UniqueConstraint("plan_id", "worker_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("route_plans.id", ondelete="CASCADE"), index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    arrival: Mapped[datetime | None]
    service_start: Mapped[datetime | None]
    service_end: Mapped[datetime | None]


class EventRow(Base):
    __tablename__ = "events"
    # A geofence pair's last crossing in one seek (migration 0019); by site alone through its first column. By order
    # only the events that name one (a crossing names none, so it writes no entry there; every question by order
    # compares it with a value): migration 0021, which also dropped the index on `type` that no query needs.
    __table_args__ = (
        Index("ix_events_site_worker_at", "site_id", "worker_id", "at"),
        Index(
            "ix_events_order_id",
            "order_id",
            sqlite_where=text("order_id IS NOT NULL"),
            postgresql_where=text("order_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(50))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id", ondelete="SET NULL"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(index=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The site of a geofence enter/exit event.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    # Set for events that must be stored once however many processes see them (geofence crossings before migration
    # 0022 moved them to `fence_crossings`: type, worker, site and fix time); NULL for the rest.
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)


class FenceCrossingRow(Base):
    """A geofence crossing: the worker entered or left the site at the fix time `at` (after the dwell, confirmed at
    `confirmed_at` by the fix `position_id`), migration 0022.

    The key (worker, site, time, type) is the table's one b-tree (SQLite `WITHOUT ROWID`; on PostgreSQL a plain
    table with that primary key): a crossing is stored once however many processes see it (no separate dedup key),
    storing one writes one b-tree instead of `events`' five, and a (worker, site) pair's last crossing is one seek in
    it. A worker's crossings over a time range, and where they stand, are read by the key's worker prefix. No index
    on time alone: the retention purge reads the table whole (one scan an hour, bench/README.md "Alerts", thirteenth
    session) rather than every crossing paying a second b-tree. The worker's and the site's crossings go with them.
    """

    __tablename__ = "fence_crossings"
    __table_args__ = (
        CheckConstraint("type IN ('enter', 'exit')", name="type"),
        {"sqlite_with_rowid": False},
    )

    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    at: Mapped[datetime] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(5), primary_key=True)
    confirmed_at: Mapped[datetime]
    # The fix that confirmed it (no foreign key: fixes are purged sooner than crossings).
    position_id: Mapped[int | None] = mapped_column(BigId)


FENCE_CROSSINGS_ALTERNATE = (
    "CREATE TRIGGER fence_crossings_alternate BEFORE INSERT ON fence_crossings "
    "WHEN (SELECT type FROM fence_crossings WHERE worker_id = NEW.worker_id AND site_id = NEW.site_id "
    "ORDER BY at DESC, type DESC LIMIT 1) IS NEW.type "
    "BEGIN SELECT RAISE(IGNORE); END"
)
"""On SQLite a (worker, site) pair's crossings alternate by the table itself (migration 0023): a crossing of the same
type as the pair's newest stored one is ignored (not stored, not counted in the insert's changes, no error), so
`alerts_repo.add_fence_events` stores and checks a batch with its insert alone. Declared here too so that a schema
made by `create_all` has it (a test holds it to the migration's text)."""
sa_event.listen(FenceCrossingRow.__table__, "after_create", DDL(FENCE_CROSSINGS_ALTERNATE).execute_if(dialect="sqlite"))


class AlertRow(Base):
    """An exception for the dispatcher: open until acknowledged (with a note) or cleared by its condition ending.

    `open_key` ("kind:worker:order") is set while the alert is open and NULL after: its unique index
    makes "one open alert per kind, worker and order" hold across every process writing alerts.
    """

    __tablename__ = "alerts"
    __table_args__ = (CheckConstraint("status IN ('open', 'acknowledged', 'cleared')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acknowledged_at: Mapped[datetime | None]
    kind: Mapped[str] = mapped_column(String(40), default="", server_default="")
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id", ondelete="SET NULL"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id", ondelete="SET NULL"))
    raised_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    cleared_at: Mapped[datetime | None]
    open_key: Mapped[str | None] = mapped_column(String(100), unique=True)


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(100))
    subject_type: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(index=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


__all__ = [
    "AlertRow",
    "ApiTokenRow",
    "AuditRow",
    "Base",
    "CheckinRow",
    "CustomerRow",
    "EventRow",
    "FenceCrossingRow",
    "OrderStatusHistoryRow",
    "PositionRow",
    "RoutePlanRow",
    "RouteStopRow",
    "SiteRow",
    "TeamRow",
    "UTCDateTime",
    "UserRow",
    "UserTeamRow",
    "VisitRow",
    "WorkOrderRow",
    "WorkerLeaveRow",
    "WorkerRow",
    "WorkerShiftRow",
]


class FieldActionRow(Base):
    """One action a field worker took on the push-link page (accept, check-in, ...), exactly once.

    `client_action_id` is minted by the phone; a replayed offline queue finds its actions here
    and is told "duplicate" instead of applying them twice. `event_time` is when the worker acted
    (the phone's clock), `server_time` when it reached us.
    """

    __tablename__ = "field_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_action_id: Mapped[str] = mapped_column(String(100), unique=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    event_time: Mapped[datetime]
    server_time: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PhotoRow(Base):
    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_action_id: Mapped[str] = mapped_column(String(100), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    path: Mapped[str] = mapped_column(String(500))
    thumbnail_path: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(50))
    size_bytes: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime]
    created_at: Mapped[datetime]
    # What the photo's EXIF says (None when it says nothing), and the server's stamped copy (0006).
    exif_taken_at: Mapped[datetime | None]
    exif_latitude: Mapped[float | None] = mapped_column(Float)
    exif_longitude: Mapped[float | None] = mapped_column(Float)
    watermarked_path: Mapped[str | None] = mapped_column(String(500))


class ServiceReportRow(Base):
    __tablename__ = "service_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_action_id: Mapped[str] = mapped_column(String(100), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    checklist: Mapped[dict[str, Any]] = mapped_column(default=dict)
    parts: Mapped[list[Any]] = mapped_column(default=list)
    signature_path: Mapped[str | None] = mapped_column(String(500))
    signed_by: Mapped[str] = mapped_column(String(200), default="")
    written_at: Mapped[datetime]
    created_at: Mapped[datetime]
    # The form version it was filled with and the answers {field id: answer} (0009; NULL for a report
    # sent with the old fixed checklist). status: dispatch.forms.ReportStatus; a manager's decision below.
    form_id: Mapped[int | None] = mapped_column(ForeignKey("forms.id", ondelete="RESTRICT"), index=True)
    answers: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(String(20), default="submitted", server_default="submitted", index=True)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str] = mapped_column(Text, default="", server_default="")


class FormRow(Base):
    """One version of an order type's service-report form (dispatch.forms.FormDefinition); never changed once saved."""

    __tablename__ = "forms"
    __table_args__ = (UniqueConstraint("order_type", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_type: Mapped[str] = mapped_column(String(20), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(120))
    fields: Mapped[list[Any]]
    needs_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class PushLinkRow(Base):
    """The current push-link version of a worker: raising it revokes every link issued before."""

    __tablename__ = "push_links"

    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    revoked_at: Mapped[datetime | None]


class ReportDeliveryRow(Base):
    """A scheduled report delivered for one period (and team, "" for all): never sent twice."""

    __tablename__ = "report_deliveries"
    __table_args__ = (UniqueConstraint("schedule", "team", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule: Mapped[str] = mapped_column(String(10))
    team: Mapped[str] = mapped_column(String(100))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime]


class WorkerDayKmRow(Base):
    """Kilometres a worker drove on one day (the office's local day since migration 0018), summed from their
    fixes once the day is over."""

    __tablename__ = "worker_day_km"

    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    km: Mapped[float] = mapped_column(Float)


class KmDayRow(Base):
    """A day whose kilometres are in worker_day_km (every worker with fixes that day has a row)."""

    __tablename__ = "km_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    computed_at: Mapped[datetime]


class ReportMonthRow(Base):
    """A month (UTC, by the orders' window start) whose report sums may be kept in `report_month_sums`.

    On SQLite, triggers (migration 0018) add one to `generation` on every change to the month's orders,
    their check-ins and ratings, or a worker's team; the kept sums are valid while `kept_generation`
    equals it. PostgreSQL computes a report's sums directly and keeps none.
    """

    __tablename__ = "report_months"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-03"
    generation: Mapped[int] = mapped_column(Integer, default=0)
    kept_generation: Mapped[int | None] = mapped_column(Integer)


class ReportMonthSumsRow(Base):
    """One (worker, team, order type)'s report sums over one month: `dispatch.reports.SUM_COLUMNS`."""

    __tablename__ = "report_month_sums"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    worker_id: Mapped[int | None] = mapped_column(Integer)
    team: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(20))
    orders: Mapped[float] = mapped_column(Float)
    visits_done: Mapped[float] = mapped_column(Float)
    checked_in: Mapped[float] = mapped_column(Float)
    verified: Mapped[float] = mapped_column(Float)
    anomalous: Mapped[float] = mapped_column(Float)
    on_site: Mapped[float] = mapped_column(Float)
    on_time: Mapped[float] = mapped_column(Float)
    attempted: Mapped[float] = mapped_column(Float)
    first_time_fix: Mapped[float] = mapped_column(Float)
    assign_sum_s: Mapped[float] = mapped_column(Float)
    assign_n: Mapped[float] = mapped_column(Float)
    response_sum_s: Mapped[float] = mapped_column(Float)
    response_n: Mapped[float] = mapped_column(Float)
    handling_sum_s: Mapped[float] = mapped_column(Float)
    handling_n: Mapped[float] = mapped_column(Float)
    on_site_s: Mapped[float] = mapped_column(Float)
    rating_sum: Mapped[float] = mapped_column(Float)
    rating_n: Mapped[float] = mapped_column(Float)


class CustomerLinkRow(Base):
    """A customer's link to one order: the token carries `id`, the row says until when and whether revoked."""

    __tablename__ = "customer_links"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class SurveyAnswerRow(Base):
    """A customer's rating of a visit: one per order (the unique order_id refuses a second)."""

    __tablename__ = "survey_answers"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), unique=True)
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id", ondelete="SET NULL"), index=True)
    link_id: Mapped[str] = mapped_column(String(32))
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime] = mapped_column(index=True)


class WebhookRow(Base):
    """An admin's outgoing webhook: where, which events, and the secret its deliveries are signed with."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[Any]] = mapped_column(default=list)
    secret: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class WebhookDeliveryRow(Base):
    """One event for one webhook: the source of truth of the delivery queue (pending until delivered or given up)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(String(32), index=True)
    event_type: Mapped[str] = mapped_column(String(50))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


class ClockEventRow(Base):
    """A worker's clock-in or clock-out for the shift (0013): the phone's time and fix, and its verdict."""

    __tablename__ = "clock_events"
    __table_args__ = (CheckConstraint("kind IN ('in', 'out')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_action_id: Mapped[str] = mapped_column(String(100), unique=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(3))
    at: Mapped[datetime] = mapped_column(index=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    # dispatch.checkin.CheckinKind against the home base / first site, or "not_checked" (no place to check).
    verdict: Mapped[str] = mapped_column(String(30))
    verdict_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class LateEntryRow(Base):
    """A missed check-in or check-out entered afterwards with its real time and a reason (0013).

    It counts (hours, the order's times) only once a manager approved it.
    """

    __tablename__ = "late_entries"
    __table_args__ = (
        CheckConstraint("kind IN ('in', 'out')", name="kind"),
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_action_id: Mapped[str] = mapped_column(String(100), unique=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(3))
    at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")


class DayReportRow(Base):
    """A worker's report at the end of a day (0013): one per worker and day."""

    __tablename__ = "day_reports"
    __table_args__ = (UniqueConstraint("worker_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_action_id: Mapped[str] = mapped_column(String(100), unique=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    done: Mapped[str] = mapped_column(Text, default="")
    problems: Mapped[str] = mapped_column(Text, default="")
    km: Mapped[float | None] = mapped_column(Float)
    notes: Mapped[str] = mapped_column(Text, default="")
    order_ids: Mapped[list[Any]] = mapped_column(default=list)
    written_at: Mapped[datetime]
    created_at: Mapped[datetime]


class TimesheetApprovalRow(Base):
    """A manager's approval of one worker's day, with the figures approved (0013)."""

    __tablename__ = "timesheet_approvals"

    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime]
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ReminderRow(Base):
    """A reminder sent to a worker (0013); `dedup_key` makes each one be sent once."""

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(index=True)
    channels: Mapped[list[Any]] = mapped_column(default=list)


class ReminderSettingRow(Base):
    """A worker's reminder switch (0013); no row: reminders on."""

    __tablename__ = "reminder_settings"

    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class PushSubscriptionRow(Base):
    """A browser's Web Push subscription for a worker's phone (0013)."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), index=True)
    endpoint_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    subscription: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class VapidKeyRow(Base):
    """The server's VAPID key pair for Web Push, generated once (0013)."""

    __tablename__ = "vapid_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    private_pem: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class WorkerConsentRow(Base):
    """A worker's consent to location tracking under one version of the consent text (0012).

    The current consent is the newest row; it counts while `withdrawn_at` is NULL. `given_by` is the
    user who recorded it (an admin, for consent given on paper); NULL when the worker gave it on their
    own push-link page.
    """

    __tablename__ = "worker_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), index=True)
    text_version: Mapped[str] = mapped_column(String(50))
    given_at: Mapped[datetime]
    given_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(20))
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
