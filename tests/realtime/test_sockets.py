from __future__ import annotations

import json
import math

from socketio import packet

from realtime.sockets import SocketJson


class _Packet(packet.Packet):
    json = SocketJson  # what `SocketIO(json=SocketJson)` sets on python-socketio's packets


def _window() -> dict:
    updates = tuple(
        {"worker_id": i, "lat": 43.73 + i * 1e-4, "lon": 7.4246, "fix_time": "2026-12-05T12:00:00+00:00",
         "speed_mps": 2.5, "bearing_deg": None, "accuracy_m": 6.0, "battery_pct": 80, "state": "moving",
         "server_ms": 1764936000000}
        for i in range(3)
    )  # fmt: skip
    return {"updates": updates, "sent_ms": 1764936000050}


def test_a_relay_window_reaches_a_console_as_a_plain_event_whose_fixes_are_an_array():
    """Tests that the relay's `positions` event (its fixes in a tuple) is sent to a browser as an ordinary
    Socket.IO event whose `updates` is the JSON array of the window's fixes, value for value."""
    payload = _window()
    encoded = _Packet(packet.EVENT, data=["positions", payload], namespace="/").encode()
    assert isinstance(encoded, str) and encoded.startswith("2[")  # an EVENT, not a binary event with attachments
    event, received = json.loads(encoded[1:])
    assert event == "positions"
    assert received == {"updates": [dict(u) for u in payload["updates"]], "sent_ms": payload["sent_ms"]}


def test_socket_json_reads_back_what_it_writes_and_what_the_standard_library_wrote():
    """Tests that a message written by another process (the planner's and worker's emitters write with the standard
    library, `NaN` included) is read as that process meant it, and that what a console process writes reads back
    the same."""
    message = {"method": "emit", "event": "plan_progress", "data": [{"best": 1.5, "ids": [1, 2]}], "room": "plans"}
    assert SocketJson.loads(SocketJson.dumps(message)) == message
    assert SocketJson.loads(json.dumps(message)) == message
    assert math.isnan(SocketJson.loads(json.dumps({"gap": float("nan")}))["gap"])


def test_socket_json_writes_json_a_browser_can_parse():
    """Tests that a value JSON has no word for is written as `null` (a browser's `JSON.parse` refuses `NaN`), that an
    integer beyond 64 bits is still written, and that a dict keyed by numbers is written with text keys."""
    assert json.loads(SocketJson.dumps({"gap": float("nan"), "far": float("inf")})) == {"gap": None, "far": None}
    assert json.loads(SocketJson.dumps({"big": 2**70})) == {"big": 2**70}
    assert json.loads(SocketJson.dumps({7: "a"})) == {"7": "a"}
