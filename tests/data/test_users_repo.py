"""Users, API tokens and passwords, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from data.tables import ApiTokenRow, UserRow
from data.users_repo import (
    actor_by_name,
    actor_for_token,
    add_user,
    check_password,
    create_user,
    get_actor,
    issue_token,
    revoke_token,
    set_password,
)
from data.workers_repo import add_worker
from dispatch.access import Actor, Role

NOW = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


def test_created_user_round_trips_as_an_actor_and_their_token_authenticates(session: Session) -> None:
    """Tests that create_user returns the actor and a token that actor_for_token resolves to the same actor."""
    actor, token = create_user(session, name="dora", role=Role.DISPATCHER, now=NOW)
    session.commit()
    assert actor == Actor(id=actor.id, name="dora", role=Role.DISPATCHER, worker_id=None)
    assert get_actor(session, actor.id) == actor
    assert actor_by_name(session, "dora") == actor
    assert actor_for_token(session, token) == actor
    assert len(token) >= 43


def test_a_user_added_without_a_token_signs_in_by_password_and_gets_a_token_only_when_one_is_issued(
    session: Session,
) -> None:
    """Tests that add_user stores the user with no API token at all, that the password works, and that a token
    issued later authenticates as that user."""
    actor = add_user(session, name="fay", role=Role.MANAGER, password="fay-pass")
    session.commit()
    assert session.scalar(select(ApiTokenRow.id)) is None
    assert check_password(session, name="fay", password="fay-pass") == actor
    token = issue_token(session, user_id=actor.id, now=NOW)
    assert actor_for_token(session, token) == actor
    with pytest.raises(ValueError, match="^name: a user named 'fay' already exists$"):
        add_user(session, name="fay", role=Role.MANAGER)


def test_tokens_are_stored_only_as_their_sha256_hash(session: Session) -> None:
    """Tests that the database never holds the token itself, only a 64-hex-digit hash of it."""
    _, token = create_user(session, name="eve", role=Role.ADMIN, now=NOW)
    stored = session.scalars(select(ApiTokenRow.token_sha256)).all()
    assert len(stored) == 1 and stored[0] != token and len(stored[0]) == 64
    assert token not in str(session.scalars(select(UserRow.password_hash)).all())
    assert session.scalar(select(ApiTokenRow.created_at)) == NOW


def test_unknown_and_revoked_tokens_do_not_authenticate(session: Session) -> None:
    """Tests that a made-up token, an empty token and a revoked token all give None."""
    actor, token = create_user(session, name="finn", role=Role.MANAGER, now=NOW)
    second = issue_token(session, user_id=actor.id, now=NOW)
    assert actor_for_token(session, "not-a-token") is None
    assert actor_for_token(session, "") is None
    assert revoke_token(session, token=token, now=NOW) is True
    assert revoke_token(session, token=token, now=NOW) is False
    assert actor_for_token(session, token) is None
    assert actor_for_token(session, second) == actor


def test_duplicate_user_name_is_refused_naming_the_field(session: Session) -> None:
    """Tests that a second user with the same name raises ValueError that names `name`."""
    create_user(session, name="gus", role=Role.ADMIN, now=NOW)
    with pytest.raises(ValueError, match=r"^name: a user named 'gus' already exists"):
        create_user(session, name="gus", role=Role.MANAGER, now=NOW)


def test_bad_role_empty_name_and_unknown_worker_are_refused_naming_the_field(session: Session) -> None:
    """Tests that each invalid argument of create_user is reported by its field name."""
    with pytest.raises(ValueError, match=r"^role: 'boss' is not one of admin, dispatcher"):
        create_user(session, name="x", role="boss")
    with pytest.raises(ValueError, match=r"^name: must not be empty"):
        create_user(session, name="  ", role=Role.ADMIN)
    with pytest.raises(ValueError, match=r"^worker_id: no worker with id 999"):
        create_user(session, name="x", role=Role.FIELD_WORKER, worker_id=999)
    with pytest.raises(ValueError, match=r"^password: must not be empty"):
        create_user(session, name="x", role=Role.ADMIN, password="")


def test_field_worker_user_carries_their_worker_id(session: Session) -> None:
    """Tests that a field worker's actor points at their worker record."""
    worker = add_worker(session, name="Ida", device_id="ida-phone")
    actor, token = create_user(session, name="ida", role=Role.FIELD_WORKER, worker_id=worker.id, now=NOW)
    assert actor.worker_id == worker.id
    assert actor_for_token(session, token) == Actor(actor.id, "ida", Role.FIELD_WORKER, worker.id)


def test_passwords_are_checked_against_a_hash_and_can_be_changed(session: Session) -> None:
    """Tests that the right password logs in, a wrong or empty one does not, and set_password replaces it."""
    actor, _ = create_user(session, name="hal", role=Role.ADMIN, password="s3cret", now=NOW)
    assert session.scalar(select(UserRow.password_hash)) != "s3cret"
    assert check_password(session, name="hal", password="s3cret") == actor
    assert check_password(session, name="hal", password="wrong") is None
    assert check_password(session, name="hal", password="") is None
    assert check_password(session, name="nobody", password="s3cret") is None
    set_password(session, user_id=actor.id, password="n3w")
    assert check_password(session, name="hal", password="s3cret") is None
    assert check_password(session, name="hal", password="n3w") == actor


def test_user_without_password_cannot_log_in_with_one(session: Session) -> None:
    """Tests that a token-only user (no password) is never matched by check_password."""
    create_user(session, name="ivy", role=Role.DISPATCHER, now=NOW)
    assert check_password(session, name="ivy", password="anything") is None


def test_inactive_users_neither_log_in_nor_authenticate_by_token(session: Session) -> None:
    """Tests that deactivating a user stops both their password and their tokens."""
    actor, token = create_user(session, name="jo", role=Role.ADMIN, password="pw", now=NOW)
    session.get(UserRow, actor.id).active = False
    session.flush()
    assert actor_for_token(session, token) is None
    assert check_password(session, name="jo", password="pw") is None


def test_issuing_a_token_for_an_unknown_user_is_refused(session: Session) -> None:
    """Tests that issue_token and set_password name `user_id` when the user does not exist."""
    with pytest.raises(ValueError, match=r"^user_id: no user with id 42"):
        issue_token(session, user_id=42, now=NOW)
    with pytest.raises(ValueError, match=r"^user_id: no user with id 42"):
        set_password(session, user_id=42, password="x")
    assert get_actor(session, 42) is None
