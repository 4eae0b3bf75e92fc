"""Who is calling: session cookie (browser), bearer token (API), or nothing.

Every HTTP view and socket handler resolves the actor here and asks `dispatch.access.can`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask
from sqlalchemy.orm import Session, sessionmaker

from data import users_repo
from data.db import session_scope
from dispatch.access import Action, Actor, can
from dispatch.errors import AppError, deny

ApiError = AppError
"""The one error type (`dispatch/errors.py`) under the name the edges have used."""


class Auth:
    """Resolves actors for one app; cached per request on `flask.g`."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def current_actor(self) -> Actor | None:
        if "actor" not in flask.g:
            flask.g.actor = self._resolve()
        return flask.g.actor  # type: ignore[no-any-return]

    def _resolve(self) -> Actor | None:
        header = flask.request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return self.actor_for_token(header.removeprefix("Bearer ").strip())
        user_id = flask.session.get("user_id")
        version = flask.session.get("session_version")
        if isinstance(user_id, int) and isinstance(version, int):
            with session_scope(self._sessions) as session:
                return users_repo.actor_for_session(session, user_id=user_id, version=version)
        return None

    def actor_for_token(self, token: str) -> Actor | None:
        if not token:
            return None
        with session_scope(self._sessions) as session:
            return users_repo.actor_for_token(session, token)

    def require(self, action: Action, *, worker_id: int | None = None) -> Actor:
        """The calling actor if allowed, else ApiError 401 (nobody) or 403 (with the reason)."""
        actor = self.current_actor()
        decision = can(actor, action, worker_id=worker_id)
        if not decision.allowed:
            deny(401 if actor is None else 403, decision.reason)
        assert actor is not None
        return actor

    def authenticate_socket(self, auth: Any) -> Actor | None:
        """The actor of a socket connection: `auth={"token": ...}` or the browser's session cookie."""
        if isinstance(auth, dict) and isinstance(auth.get("token"), str):
            return self.actor_for_token(auth["token"])
        return self.current_actor()

    def socket_recheck(self, auth: Any) -> Callable[[], Actor | None]:
        """Called at a socket's connect: a function resolving the same credential again later, outside the
        request, so a socket whose token is revoked or whose sessions ended (logout, password change,
        deactivation) can be cut off."""
        if isinstance(auth, dict) and isinstance(auth.get("token"), str):
            token: str = auth["token"]
            return lambda: self.actor_for_token(token)
        user_id, version = flask.session.get("user_id"), flask.session.get("session_version")

        def again() -> Actor | None:
            if not isinstance(user_id, int) or not isinstance(version, int):
                return None
            with session_scope(self._sessions) as session:
                return users_repo.actor_for_session(session, user_id=user_id, version=version)

        return again

    def login(self, name: str, password: str) -> Actor | None:
        with session_scope(self._sessions) as session:
            actor = users_repo.check_password(session, name=name, password=password)
            version = users_repo.session_version(session, actor.id) if actor is not None else None
        if actor is not None and version is not None:
            flask.session.clear()
            flask.session["user_id"] = actor.id
            flask.session["session_version"] = version
            flask.session.permanent = True
            return actor
        return None

    def logout(self) -> None:
        """End every session of the signed-in user (a copied cookie stops working too) and clear this one."""
        actor = self.current_actor() if "Authorization" not in flask.request.headers else None
        if actor is not None:
            with session_scope(self._sessions) as session:
                users_repo.end_sessions(session, user_id=actor.id)
        flask.session.clear()
