"""Users, passwords and API tokens, returned as `dispatch.access.Actor` values.

An API token is shown once, when it is minted, and stored only as its SHA-256 hash: a leaked
database does not leak working tokens. Passwords are stored as werkzeug (scrypt) hashes.

A browser session carries the user's `session_version`; logout, a password change and deactivation
bump it, which ends every session of that user at once.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from data.tables import ApiTokenRow, UserRow, WorkerRow
from dispatch.access import ALL_TEAMS, Actor, Role, TeamScope
from dispatch.clock import SystemClock


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _to_actor(row: UserRow) -> Actor:
    scope = ALL_TEAMS if row.all_teams else TeamScope.of(str(t) for t in row.team_scope or ())
    return Actor(id=row.id, name=row.name, role=Role(row.role), worker_id=row.worker_id, scope=scope)


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ValueError(f"role: {role!r} is not one of {', '.join(r.value for r in Role)}") from None


def _check_password_value(password: str) -> None:
    if not password:
        raise ValueError("password: must not be empty")


def create_user(
    session: Session,
    *,
    name: str,
    role: Role | str,
    password: str | None = None,
    worker_id: int | None = None,
    now: datetime | None = None,
) -> tuple[Actor, str]:
    """Create a user and mint their first API token; returns the actor and the token (shown only now).

    Raises ValueError naming the field for an empty or taken `name`, an unknown `role`, an empty
    `password` or a `worker_id` that does not exist. `now` stamps the token (default: the system clock).
    A caller with nobody to hand the token to uses `add_user`: a working token that nobody holds is a
    credential nobody answers for.
    """
    actor = add_user(session, name=name, role=role, password=password, worker_id=worker_id)
    return actor, issue_token(session, user_id=actor.id, now=now)


def add_user(
    session: Session, *, name: str, role: Role | str, password: str | None = None, worker_id: int | None = None
) -> Actor:
    """Create a user without an API token (they sign in with `password`, or get a token later by `issue_token`).

    Raises ValueError as `create_user` does.
    """
    name = name.strip()
    if not name:
        raise ValueError("name: must not be empty")
    role = _role(role)
    if password is not None:
        _check_password_value(password)
    if session.scalar(select(UserRow.id).where(UserRow.name == name)) is not None:
        raise ValueError(f"name: a user named {name!r} already exists")
    if worker_id is not None and session.get(WorkerRow, worker_id) is None:
        raise ValueError(f"worker_id: no worker with id {worker_id}")
    row = UserRow(
        name=name,
        role=role.value,
        password_hash=generate_password_hash(password) if password is not None else None,
        worker_id=worker_id,
        active=True,
        session_version=0,
    )
    session.add(row)
    session.flush()
    return _to_actor(row)


def issue_token(session: Session, *, user_id: int, now: datetime | None = None) -> str:
    """Mint another API token for a user (older tokens stay valid); raises ValueError for an unknown `user_id`."""
    if session.get(UserRow, user_id) is None:
        raise ValueError(f"user_id: no user with id {user_id}")
    token = secrets.token_urlsafe(32)
    session.add(ApiTokenRow(token_sha256=_hash_token(token), user_id=user_id, created_at=now or SystemClock().now()))
    session.flush()
    return token


def revoke_token(session: Session, *, token: str, now: datetime | None = None) -> bool:
    """Revoke a token so it no longer authenticates; False when it was unknown or already revoked."""
    row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_sha256 == _hash_token(token)))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now or SystemClock().now()
    session.flush()
    return True


# The bearer token's look-up, built once (SQLAlchemy finds its compiled form in its cache): one seek in the unique
# token index and one in the users' primary key, the columns an `Actor` needs, no ORM objects (the batch endpoint asks
# it once per request: the ORM query was ~7 % of a batch request's thread, bench/README.md "Ingestion", eleventh session).
_TOKEN_ACTOR = (
    select(UserRow.id, UserRow.name, UserRow.role, UserRow.worker_id, UserRow.all_teams, UserRow.team_scope)
    .join(ApiTokenRow, ApiTokenRow.user_id == UserRow.id)
    .where(ApiTokenRow.token_sha256 == bindparam("token_sha256"), ApiTokenRow.revoked_at.is_(None), UserRow.active)
)


def actor_for_token(db: Session | Connection, token: str) -> Actor | None:
    """The actor a bearer token belongs to; None for an unknown or revoked token or an inactive user.

    Asked of the database every time (no cache): revoking a token or deactivating its user refuses the next request.
    `db` is a session or, cheaper, a Core connection (`console.auth.Auth` asks on one).
    """
    if not token:
        return None
    row = db.execute(_TOKEN_ACTOR, {"token_sha256": _hash_token(token)}).first()
    if row is None:
        return None
    user_id, name, role, worker_id, all_teams, team_scope = row
    scope = ALL_TEAMS if all_teams else TeamScope.of(str(t) for t in team_scope or ())
    return Actor(id=user_id, name=name, role=Role(role), worker_id=worker_id, scope=scope)


@cache
def _dummy_hash() -> str:
    """A hash to check unknown names against, so that they take as long as known ones."""
    return generate_password_hash(secrets.token_hex(16))


def check_password(session: Session, *, name: str, password: str) -> Actor | None:
    """The actor when `name` and `password` match an active user with a password; None otherwise.

    The password is hashed whether or not the name is known, so the answer's time does not tell.
    """
    row = session.scalar(select(UserRow).where(UserRow.name == name.strip(), UserRow.active))
    stored = row.password_hash if row is not None else None
    matches = check_password_hash(stored or _dummy_hash(), password)
    if row is None or stored is None or not password or not matches:
        return None
    return _to_actor(row)


def session_version(session: Session, user_id: int) -> int | None:
    """The version a new browser session of this active user carries; None for an unknown or inactive user."""
    row = session.get(UserRow, user_id)
    return row.session_version if row is not None and row.active else None


def actor_for_session(session: Session, *, user_id: int, version: int) -> Actor | None:
    """The actor of a browser session; None once the user is inactive or their sessions were ended."""
    row = session.get(UserRow, user_id)
    if row is None or not row.active or row.session_version != version:
        return None
    return _to_actor(row)


def end_sessions(session: Session, *, user_id: int) -> None:
    """End every browser session of the user (logout ends them all); API tokens are revoked on their own."""
    row = session.get(UserRow, user_id)
    if row is None:
        raise ValueError(f"user_id: no user with id {user_id}")
    row.session_version += 1
    session.flush()


def set_active(session: Session, *, user_id: int, active: bool) -> None:
    """Activate or deactivate a user; deactivating ends their sessions (their tokens stop with `active`)."""
    row = session.get(UserRow, user_id)
    if row is None:
        raise ValueError(f"user_id: no user with id {user_id}")
    row.active = active
    if not active:
        row.session_version += 1
    session.flush()


def names_with_passwords(session: Session, logins: Iterable[tuple[str, str]]) -> list[str]:
    """The names among `logins` whose active user still signs in with the given password (e.g. the demo's)."""
    out = []
    for name, password in logins:
        row = session.scalar(select(UserRow).where(UserRow.name == name, UserRow.active))
        if row is not None and row.password_hash is not None and check_password_hash(row.password_hash, password):
            out.append(name)
    return out


def set_password(session: Session, *, user_id: int, password: str | None) -> None:
    """Set (or, with None, remove) a user's password; raises ValueError for an unknown `user_id` or empty password."""
    row = session.get(UserRow, user_id)
    if row is None:
        raise ValueError(f"user_id: no user with id {user_id}")
    if password is not None:
        _check_password_value(password)
    row.password_hash = generate_password_hash(password) if password is not None else None
    row.session_version += 1  # a changed password ends every session signed in with the old one
    session.flush()


def get_actor(session: Session, user_id: int) -> Actor | None:
    """The user with `user_id` as an actor (active or not), or None when there is none."""
    row = session.get(UserRow, user_id)
    return _to_actor(row) if row is not None else None


def actor_by_name(session: Session, name: str) -> Actor | None:
    """The user called `name` as an actor, or None."""
    row = session.scalar(select(UserRow).where(UserRow.name == name.strip()))
    return _to_actor(row) if row is not None else None


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user as the administration screens show them (never the password or token hashes)."""

    id: int
    name: str
    role: Role
    active: bool
    worker_id: int | None
    has_password: bool


def _record(row: UserRow) -> UserRecord:
    return UserRecord(row.id, row.name, Role(row.role), row.active, row.worker_id, row.password_hash is not None)


def list_users(session: Session) -> list[UserRecord]:
    """Every user, active or not, by name."""
    return [_record(r) for r in session.scalars(select(UserRow).order_by(UserRow.name, UserRow.id))]


def get_user(session: Session, user_id: int) -> UserRecord | None:
    row = session.get(UserRow, user_id)
    return _record(row) if row is not None else None


def set_role(session: Session, *, user_id: int, role: Role | str) -> None:
    """Change a user's role (effective on their next request: the role is read on every request)."""
    row = session.get(UserRow, user_id)
    if row is None:
        raise ValueError(f"user_id: no user with id {user_id}")
    row.role = _role(role).value
    session.flush()


def revoke_user_tokens(session: Session, *, user_id: int, now: datetime) -> int:
    """Revoke every API token of the user that still works; returns how many."""
    result = session.execute(
        update(ApiTokenRow)
        .where(ApiTokenRow.user_id == user_id, ApiTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


def set_scope(session: Session, *, user_id: int, scope: TeamScope) -> Actor:
    """Set which teams the user sees (takes effect on their next request and live-stream check).

    Raises ValueError naming the field for an unknown `user_id`.
    """
    row = session.get(UserRow, user_id)
    if row is None:
        raise ValueError(f"user_id: no user with id {user_id}")
    row.all_teams = scope.all_teams
    row.team_scope = sorted(scope.teams)
    session.flush()
    return _to_actor(row)


def language(session: Session, user_id: int) -> str | None:
    """The console language `user_id` chose, None when they never chose one (or no such user)."""
    row = session.get(UserRow, user_id)
    return row.language if row is not None else None


def set_language(session: Session, *, user_id: int, language: str | None) -> None:
    """Remember `language` as `user_id`'s console language (the caller checks it is one we ship)."""
    row = session.get(UserRow, user_id)
    if row is not None:
        row.language = language
