"""Socket.IO handlers: authenticate on connect, then join the rooms the caller may see.

Handlers stay a few lines (Flask-SocketIO's examples); the policy lives in dispatch.access.
Office users join the live-map room, and those who may plan routes the plans room (route-plan
progress); a field worker's push-link page joins that worker's room only. An office socket's
credential is checked again every `recheck_s` seconds: once its token is revoked or its user's
sessions end (logout, password change, deactivation), the socket is disconnected.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import flask
import orjson
from flask_socketio import SocketIO, join_room

from dispatch.access import Action, Actor, can, effective_scope
from realtime.relay import LIVE_ROOM, PLANS_ROOM, SCOPED_ROOM, team_room, worker_room

log = logging.getLogger("outfield.sockets")

Recheck = Callable[[], Actor | None]


class SocketJson:
    """Socket.IO's JSON module (`SocketIO(json=SocketJson)`): its packets to the browsers and its messages between
    the console processes over Redis, through orjson.

    The relay's `positions` event for a window of fixes was written by the standard library's encoder in the relay's
    process and read again by every console process, a sizeable share of a fix's CPU while no console listened
    (bench/README.md, "Ingestion", ninth session). orjson writes the same JSON (compact, as Socket.IO asks; NaN as
    `null`, which browsers' `JSON.parse` accepts and the standard library's `NaN` is not). What orjson refuses is
    left to the standard library as before: an integer beyond 64 bits to write, and `NaN`/`Infinity` literals to
    read (the standard library wrote them in the write-only emitters of the planner and worker processes).
    """

    @staticmethod
    def dumps(value: Any, **_options: Any) -> str:
        try:
            return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
        except orjson.JSONEncodeError:
            return json.dumps(value, separators=(",", ":"))

    @staticmethod
    def loads(text: str | bytes, **_options: Any) -> Any:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return json.loads(text)


def register(
    socketio: SocketIO,
    *,
    authenticate: Callable[[Any], Actor | None],
    authenticate_link: Callable[[str], int | None],
    recheck: Callable[[Any], Recheck] | None = None,
    recheck_s: float = 5.0,
) -> None:
    """`authenticate(auth)` resolves an office actor; `authenticate_link(token)` a push link's worker id;
    `recheck(auth)`, called at connect, gives a function that resolves the same credential again later."""
    watched: dict[str, Recheck] = {}  # sid -> its credential, resolved again
    joined: dict[str, list[str]] = {}  # sid -> the live-map rooms it joined (its scope then)
    started = threading.Event()

    def sweep_forever() -> None:
        while True:
            socketio.sleep(recheck_s)
            try:
                gone = stale(watched, joined)
            except Exception:  # the database away: keep the sockets and try again next time
                log.exception("could not check the connected sockets' sessions")
                continue
            for sid in gone:
                watched.pop(sid, None)
                joined.pop(sid, None)
                socketio.server.disconnect(sid, namespace="/")

    @socketio.on("connect")
    def connect(auth: Any = None) -> None:
        if isinstance(auth, dict) and isinstance(auth.get("link"), str):
            worker_id = authenticate_link(auth["link"])
            if worker_id is None:
                raise ConnectionRefusedError("the link is invalid, expired or revoked")
            join_room(worker_room(worker_id))
            return
        actor = authenticate(auth)
        decision = can(actor, Action.VIEW_LIVE_MAP)
        if not decision.allowed:
            raise ConnectionRefusedError(decision.reason or "unauthorized")
        assert actor is not None
        for room in office_rooms(actor):
            join_room(room)
        if can(actor, Action.PLAN_ROUTES).allowed:
            join_room(PLANS_ROOM)
        if recheck is not None:
            watched[flask.request.sid] = recheck(auth)  # type: ignore[attr-defined]
            joined[flask.request.sid] = office_rooms(actor)  # type: ignore[attr-defined]
            if not started.is_set():
                started.set()
                socketio.start_background_task(sweep_forever)

    @socketio.on("disconnect")
    def disconnect(*_reason: Any) -> None:
        watched.pop(flask.request.sid, None)  # type: ignore[attr-defined]
        joined.pop(flask.request.sid, None)  # type: ignore[attr-defined]


def office_rooms(actor: Actor) -> list[str]:
    """The live-map rooms of an office socket: every team's stream, or a team-scoped user's teams' rooms."""
    scope = effective_scope(actor)
    if scope.all_teams:
        return [LIVE_ROOM]
    return [SCOPED_ROOM, *(team_room(t) for t in sorted(scope.teams))]


def stale(watched: Mapping[str, Recheck], rooms: Mapping[str, list[str]] | None = None) -> list[str]:
    """The sockets whose credential no longer gives an actor allowed on the live map, or whose team scope
    changed since they joined their rooms (they reconnect and join the rooms of their new scope)."""
    gone = []
    for sid, again in list(watched.items()):
        actor = again()
        if not can(actor, Action.VIEW_LIVE_MAP).allowed:
            gone.append(sid)
        elif rooms is not None and actor is not None and sid in rooms and rooms[sid] != office_rooms(actor):
            gone.append(sid)
    return gone
