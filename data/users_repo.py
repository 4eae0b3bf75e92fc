"""Users, passwords and API tokens, returned as `dispatch.access.Actor` values.

An API token is shown once, when it is minted, and stored only as its SHA-256 hash: a leaked
database does not leak working tokens. Passwords are stored as werkzeug (scrypt) hashes.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from data.tables import ApiTokenRow, UserRow, WorkerRow
from dispatch.access import Actor, Role
from dispatch.clock import SystemClock


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _to_actor(row: UserRow) -> Actor:
    return Actor(id=row.id, name=row.name, role=Role(row.role), worker_id=row.worker_id)


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
    )
    session.add(row)
    session.flush()
    return _to_actor(row), issue_token(session, user_id=row.id, now=now)


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


def actor_for_token(session: Session, token: str) -> Actor | None:
    """The actor a bearer token belongs to; None for an unknown or revoked token or an inactive user."""
    if not token:
        return None
    row = session.scalar(
        select(UserRow)
        .join(ApiTokenRow, ApiTokenRow.user_id == UserRow.id)
        .where(ApiTokenRow.token_sha256 == _hash_token(token), ApiTokenRow.revoked_at.is_(None), UserRow.active)
    )
    return _to_actor(row) if row is not None else None


def check_password(session: Session, *, name: str, password: str) -> Actor | None:
    """The actor when `name` and `password` match an active user with a password; None otherwise."""
    row = session.scalar(select(UserRow).where(UserRow.name == name.strip(), UserRow.active))
    if row is None or row.password_hash is None or not password:
        return None
    return _to_actor(row) if check_password_hash(row.password_hash, password) else None


def set_password(session: Session, *, user_id: int, password: str | None) -> None:
    """Set (or, with None, remove) a user's password; raises ValueError for an unknown `user_id` or empty password."""
    row = session.get(UserRow, user_id)
    if row is None:
        raise ValueError(f"user_id: no user with id {user_id}")
    if password is not None:
        _check_password_value(password)
    row.password_hash = generate_password_hash(password) if password is not None else None
    session.flush()


def get_actor(session: Session, user_id: int) -> Actor | None:
    """The user with `user_id` as an actor (active or not), or None when there is none."""
    row = session.get(UserRow, user_id)
    return _to_actor(row) if row is not None else None


def actor_by_name(session: Session, name: str) -> Actor | None:
    """The user called `name` as an actor, or None."""
    row = session.scalar(select(UserRow).where(UserRow.name == name.strip()))
    return _to_actor(row) if row is not None else None
