"""Who is calling: session cookie (browser), bearer token (API), or nothing.

Every HTTP view and socket handler resolves the actor here and asks `dispatch.access.can`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from console.i18n import remember_language
from data import scope_repo, users_repo
from data.db import session_scope
from dispatch.access import Action, Actor, Visibility, can, effective_scope, sees_order, sees_worker
from dispatch.errors import AppError, deny

ApiError = AppError
"""The one error type (`dispatch/errors.py`) under the name the edges have used."""


class Auth:
    """Resolves actors for one app; cached per request on `flask.g`."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        # A bearer token is looked up on a Core connection of the sessions' engine: no session per request.
        bind = sessions.kw.get("bind")
        self._engine = bind if isinstance(bind, Engine) else None

    def current_actor(self) -> Actor | None:
        if "actor" not in flask.g:
            flask.g.actor = self._resolve()
        return flask.g.actor  # type: ignore[no-any-return]

    def _resolve(self) -> Actor | None:
        token = self.bearer_token()
        if token is not None:
            return self.actor_for_token(token)
        user_id = flask.session.get("user_id")
        version = flask.session.get("session_version")
        if isinstance(user_id, int) and isinstance(version, int):
            with session_scope(self._sessions) as session:
                return users_repo.actor_for_session(session, user_id=user_id, version=version)
        return None

    def bearer_token(self) -> str | None:
        """The request's bearer token (`Authorization: Bearer ...`); None when it has none (a browser's session)."""
        header = flask.request.headers.get("Authorization", "")
        return header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None

    def actor_for_token(self, token: str) -> Actor | None:
        if not token:
            return None
        if self._engine is not None:
            with self._engine.connect() as connection:
                return users_repo.actor_for_token(connection, token)
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

    def require_worker(self, action: Action, worker_id: int) -> Actor:
        """`require(action, worker_id=)`, then 404 (as for a worker that does not exist) when the worker is
        outside the actor's team scope: a scoped user learns nothing of other teams' workers."""
        actor = self.require(action, worker_id=worker_id)
        self.check_worker_in_scope(actor, worker_id)
        return actor

    def check_worker_in_scope(self, actor: Actor, worker_id: int) -> None:
        if effective_scope(actor).all_teams:
            return
        with session_scope(self._sessions) as session:
            team = scope_repo.worker_team(session, worker_id)
        if team is None or not sees_worker(actor, team):
            deny(404, f"no worker with id {worker_id}")

    def require_order(self, action: Action, order_id: int) -> Actor:
        """`require(action)`, then 404 (as for an order that does not exist) when the order's worker is
        outside the actor's team scope. Unassigned orders are every office user's."""
        actor = self.require(action)
        self.check_order_in_scope(actor, order_id)
        return actor

    def check_order_in_scope(self, actor: Actor, order_id: int) -> None:
        if effective_scope(actor).all_teams:
            return
        with session_scope(self._sessions) as session:
            exists, team = scope_repo.order_owner(session, order_id)
        if exists and not sees_order(actor, team):
            deny(404, f"no work order with id {order_id}")

    def alert_in_scope(self, actor: Actor, alert_id: int) -> bool:
        """Whether the alert (when it exists) is about a worker in the actor's scope."""
        if effective_scope(actor).all_teams:
            return True
        with session_scope(self._sessions) as session:
            exists, worker_id = scope_repo.alert_worker(session, alert_id)
            team = scope_repo.worker_team(session, worker_id) if worker_id is not None else None
        return not exists or (team is not None and sees_worker(actor, team))

    def photo_in_scope(self, actor: Actor, photo_id: int) -> bool:
        """Whether the photo (when it exists) was taken by a worker in the actor's scope."""
        return self._worker_of_in_scope(actor, lambda session: scope_repo.photo_worker(session, photo_id))

    def checkin_in_scope(self, actor: Actor, checkin_id: int) -> bool:
        """Whether the check-in (when it exists) is a worker's in the actor's scope."""
        return self._worker_of_in_scope(actor, lambda session: scope_repo.checkin_worker(session, checkin_id))

    def _worker_of_in_scope(self, actor: Actor, worker_of: Callable[[Session], int | None]) -> bool:
        if effective_scope(actor).all_teams:
            return True
        with session_scope(self._sessions) as session:
            worker_id = worker_of(session)
            team = scope_repo.worker_team(session, worker_id) if worker_id is not None else None
        return worker_id is None or (team is not None and sees_worker(actor, team))

    def visibility(self, actor: Actor) -> Visibility:
        """The actor's scope over every worker's team, for filtering lists (no query for an all-teams actor)."""
        if effective_scope(actor).all_teams:
            return Visibility(actor, {})
        with session_scope(self._sessions) as session:
            return Visibility(actor, scope_repo.teams_by_worker(session))

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
            language = users_repo.language(session, actor.id) if actor is not None else None
        if actor is not None and version is not None:
            flask.session.clear()
            flask.session["user_id"] = actor.id
            flask.session["session_version"] = version
            if language is not None:
                remember_language(language)  # the console's language this user chose (console/i18n.py)
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
