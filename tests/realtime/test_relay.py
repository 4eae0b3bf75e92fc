from __future__ import annotations

import threading

import fakeredis
import orjson
import pytest

from realtime.bus import ORDERS, POSITIONS, WORKERS, Bus
from realtime.relay import LEADER_LOCK, LIVE_ROOM, Coalescer, TeamDirectory, run_relay
from tests.support.servers import wait_until


@pytest.fixture
def bus(monkeypatch):
    """A Bus on fakeredis (unit tests only; integration tests use a real redis-server)."""
    server = fakeredis.FakeServer()
    b = Bus("redis://127.0.0.1:1/0")
    b._redis = fakeredis.FakeRedis(server=server)  # noqa: SLF001 - swap the transport for a fake
    return b


def test_coalescer_keeps_only_the_latest_update_per_worker():
    """Tests that a burst of 100 pings from 3 workers reaches the browser as 3 updates."""
    c = Coalescer()
    for i in range(100):
        c.add({"worker_id": i % 3, "seq": i})
    batch = c.drain()
    assert sorted(u["seq"] for u in batch) == [97, 98, 99]
    assert c.drain() == []


def test_relay_batches_positions_into_one_event(bus):
    """Tests that positions published on the bus reach the live room as one coalesced batch."""
    sent: list[tuple[str, dict, str]] = []
    stop = threading.Event()
    t = threading.Thread(
        target=run_relay,
        kwargs={
            "bus": bus,
            "emit": lambda e, p, r: sent.append((e, p, r)),
            "batch_ms": 100,
            "stop": stop,
            "holder": "a",
        },
    )
    t.start()
    wait_until(lambda: bus._redis.pubsub_numsub(POSITIONS)[0][1] > 0, 5, "the relay's subscription")  # noqa: SLF001
    bus.publish_many(POSITIONS, [{"worker_id": 1, "lat": 43.7, "lon": 7.4, "n": n} for n in range(50)])
    # The bus publishes in the background, so the 50 may straddle a window: wait for the last one.
    wait_until(lambda: any(u["n"] == 49 for _, p, _ in sent for u in p["updates"]), 5, "the 50th position")
    stop.set()
    t.join(5)
    assert {(event, room) for event, _, room in sent} == {("positions", LIVE_ROOM)}
    assert all(len(payload["updates"]) == 1 for _, payload, _ in sent)  # one update per worker per batch
    assert len(sent) < 5 and sent[-1][1]["updates"][0]["n"] == 49
    assert bus._redis.get(LEADER_LOCK) is None  # released on stop  # noqa: SLF001


def test_a_worker_change_reaches_the_live_room_as_a_worker_event(bus):
    """Tests that a worker added by an administrator (published on the workers channel) reaches the wall screens'
    room as one `worker` event carrying the marker, so the new worker appears without a reload."""
    sent: list[tuple[str, dict, str]] = []
    stop = threading.Event()
    kwargs = {"bus": bus, "emit": lambda e, p, r: sent.append((e, p, r)), "batch_ms": 50, "stop": stop, "holder": "a"}
    t = threading.Thread(target=run_relay, kwargs=kwargs)
    t.start()
    wait_until(lambda: bus._redis.pubsub_numsub(WORKERS)[0][1] > 0, 5, "the relay's subscription")  # noqa: SLF001
    feature = {"type": "Feature", "properties": {"worker_id": 9, "name": "Zoe"}}
    bus.publish(WORKERS, {"feature": feature, "active": True})
    wait_until(lambda: any(event == "worker" for event, _, _ in sent), 5, "the worker event")
    stop.set()
    t.join(5)
    assert [(p, r) for e, p, r in sent if e == "worker"] == [({"feature": feature, "active": True}, LIVE_ROOM)]


def test_only_one_relay_holds_the_lock(bus):
    """Tests that of two relay candidates only one forwards, so consoles never see duplicates."""
    assert bus.hold_lock(LEADER_LOCK, "a", 3000)
    assert not bus.hold_lock(LEADER_LOCK, "b", 3000)
    assert bus.hold_lock(LEADER_LOCK, "a", 3000)  # renewal
    bus.release_lock(LEADER_LOCK, "a")
    assert bus.hold_lock(LEADER_LOCK, "b", 3000)


def test_a_batch_of_positions_is_one_redis_message_and_each_listener_gets_every_position(bus):
    """Tests that publish_many of 500 positions costs Redis one message, and `listen` still yields all 500 in order."""
    raw = bus._redis.pubsub(ignore_subscribe_messages=True)  # noqa: SLF001
    raw.subscribe(POSITIONS)
    stop = threading.Event()
    heard: list[dict] = []

    def listen() -> None:
        for item in bus.listen([POSITIONS], stop=stop):
            if item is not None:
                heard.append(item[1])
            if len(heard) == 500:
                stop.set()

    t = threading.Thread(target=listen)
    t.start()
    wait_until(lambda: bus._redis.pubsub_numsub(POSITIONS)[0][1] >= 2, 5, "both listeners' subscriptions")  # noqa: SLF001
    bus.publish_many(POSITIONS, [{"worker_id": n % 7, "n": n} for n in range(500)])
    t.join(5)
    assert [m["n"] for m in heard] == list(range(500))
    # Everything published has been heard above; read what the plain subscriber got (None: a subscribe reply).
    messages = [m for m in (raw.get_message(timeout=0.05) for _ in range(5)) if m is not None]
    assert len(messages) == 1


def test_a_team_scoped_console_gets_only_its_teams_fixes_orders_and_alerts(bus):
    """Tests that with the team directory the relay sends every fix to the all-teams room and each team's fixes,
    orders and alerts only to that team's room; unassigned orders go to every scoped console, a worker of no
    known team to no team room."""
    from realtime.bus import ALERTS, ORDERS
    from realtime.relay import SCOPED_ROOM, team_room

    sent: list[tuple[str, dict, str]] = []
    stop = threading.Event()
    teams = {1: "north", 2: "south", 3: ""}
    t = threading.Thread(
        target=run_relay,
        kwargs={"bus": bus, "emit": lambda e, p, r: sent.append((e, p, r)), "batch_ms": 50, "stop": stop,
                "holder": "a", "team_of": teams.get},
    )  # fmt: skip
    t.start()
    wait_until(lambda: bus._redis.pubsub_numsub(POSITIONS)[0][1] > 0, 5, "the relay's subscription")  # noqa: SLF001
    bus.publish_many(POSITIONS, [{"worker_id": w, "lat": 43.7, "lon": 7.4} for w in (1, 2, 3)])
    bus.publish(ORDERS, {"order": {"order_id": 9, "assigned_worker_id": 2}, "previous_worker_id": None})
    bus.publish(ORDERS, {"order": {"order_id": 10, "assigned_worker_id": None}, "previous_worker_id": None})
    bus.publish(ALERTS, {"id": 4, "worker_id": 1})
    wait_until(lambda: any(e == "alert" and r == team_room("north") for e, _, r in sent), 5, "the north alert")
    wait_until(
        lambda: sum(len(p["updates"]) for e, p, r in sent if e == "positions" and r == LIVE_ROOM) >= 3, 5, "fixes"
    )
    stop.set()
    t.join(5)
    fixes = {r: sorted(u["worker_id"] for e, p, rr in sent if e == "positions" and rr == r for u in p["updates"])
             for r in (LIVE_ROOM, team_room("north"), team_room("south"))}  # fmt: skip
    assert fixes == {LIVE_ROOM: [1, 2, 3], team_room("north"): [1], team_room("south"): [2]}
    orders = {(p["order"]["order_id"], r) for e, p, r in sent if e == "orders"}
    assert orders == {(9, LIVE_ROOM), (9, team_room("south")), (10, LIVE_ROOM), (10, SCOPED_ROOM)}
    assert {r for e, _, r in sent if e == "alert"} == {LIVE_ROOM, team_room("north")}


def test_a_scoped_socket_joins_its_teams_rooms_and_is_cut_off_when_its_scope_changes():
    """Tests that an all-teams office user joins the live room, a north-scoped one the scoped and north rooms,
    and that a socket whose user's scope changed counts as stale (it reconnects into its new rooms)."""
    from dispatch.access import Actor, Role, TeamScope
    from realtime.relay import SCOPED_ROOM, team_room
    from realtime.sockets import office_rooms, stale

    north = Actor(1, "nd", Role.DISPATCHER, scope=TeamScope.of(["north"]))
    widened = Actor(1, "nd", Role.DISPATCHER)
    assert office_rooms(widened) == [LIVE_ROOM]
    assert office_rooms(north) == [SCOPED_ROOM, team_room("north")]
    joined = {"sid": office_rooms(north)}
    assert stale({"sid": lambda: north}, joined) == []
    assert stale({"sid": lambda: widened}, joined) == ["sid"]


def test_single_fixes_queued_together_are_one_redis_message_in_order(bus):
    """Tests that what many one-fix requests queued while the publisher was busy goes to Redis as one message
    per channel run (not one per request), and `listen` yields every position and order in the order queued."""
    raw = bus._redis.pubsub(ignore_subscribe_messages=True)  # noqa: SLF001
    raw.subscribe(POSITIONS, ORDERS)
    queued = [(POSITIONS, [{"worker_id": n, "n": n}]) for n in range(40)]
    queued += [(ORDERS, [{"n": 40}]), (POSITIONS, [{"worker_id": 41, "n": 41}])]
    bus.send(queued)
    messages = [m for m in (raw.get_message(timeout=0.05) for _ in range(6)) if m is not None]
    assert [(m["channel"].decode(), len(orjson.loads(m["data"])) if m["data"].startswith(b"[") else 1) for m in messages] == [
        (POSITIONS, 40), (ORDERS, 1), (POSITIONS, 1)
    ]  # fmt: skip
    assert [m["n"] for m in orjson.loads(messages[0]["data"])] == list(range(40))


def test_positions_published_just_after_a_send_wait_and_travel_together_as_one_message():
    """Tests that a busy server's one-fix publishes (phones reporting at once) cost Redis and every console process
    one message per publishing interval, not one each: the first goes at once, those right after it wait for the
    interval and go together, in order."""
    server = fakeredis.FakeServer()
    napping, wake = threading.Event(), threading.Event()

    def sleep(_seconds: float) -> None:  # the interval since the last send: held until the test has published
        napping.set()
        wake.wait(10)

    bus = Bus("redis://127.0.0.1:1/0", monotonic=lambda: 100.0, sleep=sleep)
    bus._redis = fakeredis.FakeRedis(server=server)  # noqa: SLF001 - swap the transport for a fake
    raw = bus._redis.pubsub(ignore_subscribe_messages=True)  # noqa: SLF001
    raw.subscribe(POSITIONS)
    heard: list[bytes] = []

    def hear() -> bool:
        message = raw.get_message(timeout=0.05)
        if message is not None:
            heard.append(message["data"])
        return bool(heard)

    bus.publish(POSITIONS, {"worker_id": 0, "n": 0})
    wait_until(hear, 5, "the first position, sent at once")
    for n in range(1, 31):
        bus.publish(POSITIONS, {"worker_id": n, "n": n})
    wait_until(napping.is_set, 5, "the publisher's wait for the interval")
    wake.set()
    wait_until(lambda: hear() and len(heard) == 2, 5, "the positions queued meanwhile")
    assert orjson.loads(heard[0]) == {"worker_id": 0, "n": 0}
    assert [m["n"] for m in orjson.loads(heard[1])] == list(range(1, 31))


def test_a_worker_added_since_the_teams_were_read_reaches_their_team_at_their_first_fix():
    """Tests that the relay's team directory re-reads the teams at once when a worker it does not know is asked for
    the first time (a worker added just after a read: their first fixes must reach their team's consoles), and that
    a worker still unknown after that makes it re-read at most once a second, and every `refresh_s` anyway."""
    teams = {1: "North"}
    reads = [0]
    now = [100.0]

    def load() -> dict[int, str]:
        reads[0] += 1
        return dict(teams)

    team_of = TeamDirectory(load, refresh_s=5.0, monotonic=lambda: now[0])
    assert team_of(1) == "North" and reads[0] == 1
    teams[2] = "South"  # added right after that read
    now[0] += 0.2
    assert team_of(2) == "South" and reads[0] == 2  # its first ask re-reads, not a second later
    now[0] += 0.1
    assert team_of(9) is None and reads[0] == 3  # an unknown worker's first ask re-reads once ...
    now[0] += 0.1
    assert team_of(9) is None and reads[0] == 3  # ... then at most once a second
    now[0] += 1.0
    assert team_of(9) is None and reads[0] == 4
    now[0] += 0.5
    assert team_of(1) == "North" and team_of(2) == "South" and reads[0] == 4  # known: no read before `refresh_s`
    now[0] += 5.0
    assert team_of(1) == "North" and reads[0] == 5


class HandedOverBus:
    """A bus whose relay lock is lost at the first renewal, after one fix arrived: taken by another process while
    Redis answers, or with Redis gone (`answers=False`)."""

    def __init__(self, stop: threading.Event, *, answers: bool = True) -> None:
        self.stop = stop
        self.answers = answers
        self.lock_answers = [True, False]  # taken, then lost at the renewal

    def hold_lock(self, name: str, holder: str, ttl_ms: int) -> bool:
        if not self.lock_answers:
            self.stop.set()  # the relay is back among the candidates: the test has seen enough
            return False
        return self.lock_answers.pop(0)

    def subscribers(self, channel: str) -> int | None:
        return 1 if self.answers or self.lock_answers else None  # Redis went away with the lock

    def listen(self, channels, *, stop, timeout_s):
        yield POSITIONS, {"worker_id": 7, "lat": 43.73, "lon": 7.42, "fix_time": "2026-12-07T10:00:00+00:00"}
        while not stop.is_set():
            yield None

    def release_lock(self, name: str, holder: str) -> None:
        pass


@pytest.mark.parametrize("redis_answers", [True, False])
def test_a_relay_that_loses_the_lock_mid_window_still_sends_the_fixes_it_received(redis_answers):
    """Tests that a fix the leader received in a window cut short by a takeover reaches the live room (the new
    leader may have subscribed after it was published), rather than vanishing with the old leader's window; and that
    a relay that lost the lock with Redis does not try to send (an emit would wait on a stalled Redis)."""
    sent: list[tuple[str, dict, str]] = []
    stop = threading.Event()
    ticks = iter(range(1_000_000))
    run_relay(
        bus=HandedOverBus(stop, answers=redis_answers),  # type: ignore[arg-type]
        emit=lambda e, p, r: sent.append((e, p, r)),
        batch_ms=60_000,  # the window does not end before the renewal
        stop=stop,
        holder="a",
        monotonic=lambda: next(ticks) * 0.1,
        wall_ms=lambda: 1,
    )
    positions = [(r, [u["lat"] for u in p["updates"]]) for e, p, r in sent if e == "positions"]
    assert positions == ([(LIVE_ROOM, [43.73])] if redis_answers else [])
