"""Socket.IO handlers: authenticate on connect, then join the rooms the caller may see.

Handlers stay a few lines (Flask-SocketIO's examples); the policy lives in dispatch.access.
Office users join the live-map room, and those who may plan routes the plans room (route-plan
progress); a field worker's push-link page joins that worker's room only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_socketio import SocketIO, join_room

from dispatch.access import Action, Actor, can
from realtime.relay import LIVE_ROOM, worker_room

PLANS_ROOM = "plans"


def register(
    socketio: SocketIO,
    *,
    authenticate: Callable[[Any], Actor | None],
    authenticate_link: Callable[[str], int | None],
) -> None:
    """`authenticate(auth)` resolves an office actor; `authenticate_link(token)` a push link's worker id."""

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
        join_room(LIVE_ROOM)
        if can(actor, Action.PLAN_ROUTES).allowed:
            join_room(PLANS_ROOM)
