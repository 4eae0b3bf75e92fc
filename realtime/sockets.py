"""Socket.IO handlers: authenticate on connect, then join the rooms the actor may see.

Handlers stay a few lines (Flask-SocketIO's examples); the policy lives in dispatch.access.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_socketio import SocketIO, join_room

from dispatch.access import Action, Actor, can
from realtime.relay import LIVE_ROOM


def register(socketio: SocketIO, *, authenticate: Callable[[Any], Actor | None]) -> None:
    """`authenticate(auth)` resolves the connecting actor from the auth payload or the cookie."""

    @socketio.on("connect")
    def connect(auth: Any = None) -> None:
        actor = authenticate(auth)
        decision = can(actor, Action.VIEW_LIVE_MAP)
        if not decision.allowed:
            raise ConnectionRefusedError(decision.reason or "unauthorized")
        join_room(LIVE_ROOM)
