"""Redis pub/sub and the relay leader lock: the only module that talks to Redis.

Messages are JSON objects. Publishing never blocks a request: `publish`/`publish_many` put the
messages on a bounded outbox that a background thread sends in pipelined batches; the messages of
one `publish_many` travel as one Redis message (a JSON array), which `listen` yields one by one, so
a batch of 500 fixes costs Redis and every subscriber one message instead of 500, and so do the
one-fix `publish_many` calls of concurrent phone requests that queue up while a batch is sent (orjson:
the publisher's and the relay's JSON work was a sizeable share of a fix's cost). While Redis is
down or stalled the thread drops what it cannot send (a live map only wants the newest positions;
consoles re-read the snapshot when the stream resumes) and says so once per outage, not once per
message. The request path's own Redis call (`ping`, for health checks) gives up after ~0.1 s.

`listen` survives Redis restarts and slow-subscriber disconnects by reconnecting and resubscribing
(Debian's default output-buffer limit drops a relay that lags), and after an outage it yields
`(RESYNC, {})` once it is subscribed again, so the relay can tell the consoles to catch up.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

POSITIONS = "outfield:positions"
ORDERS = "outfield:orders"
ALERTS = "outfield:alerts"
WORKERS = "outfield:workers"
"""A worker added, changed or (de)activated by an administrator: the live map draws or drops their marker."""
RESYNC = "outfield:resync"
REMINDERS = "outfield:reminders"  # a reminder for one field worker's open pages (realtime/reminders.py)
"""Not a Redis channel: what `listen` yields once it is subscribed again after losing Redis."""

REQUEST_TIMEOUT_S = 0.1
BACKGROUND_TIMEOUT_S = 1.0
OUTBOX_SIZE = 20_000
PUBLISH_BATCH = 1000
PUBLISH_EVERY_S = 0.01
"""While busy the publisher sends at most once per this interval: what comes in between travels as one message.

Each Redis message costs the publisher (a pipelined round trip) and every subscriber (a wake-up, a read, a
decode) some 50 µs of Python whatever it carries, and concurrent phones' one-fix requests each queued their own
(bench/request_cost.py --per-thread: publisher and relay 0.12 ms per `/osmand` fix of 0.5). A quiet server sends
at once; a busy one adds at most this much to a live update, which the relay then holds for its 50 ms window anyway.
"""


class Bus:
    """A handle on one Redis server used as a message bus, with a background publisher."""

    def __init__(
        self,
        redis_url: str,
        *,
        request_timeout_s: float = REQUEST_TIMEOUT_S,
        background_timeout_s: float = BACKGROUND_TIMEOUT_S,
        outbox_size: int = OUTBOX_SIZE,
        publish_every_s: float = PUBLISH_EVERY_S,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._url = redis_url
        # Calls made while a request waits (health checks) fail fast; the publisher, relay and locks
        # run in their own threads and may wait longer before calling Redis lost.
        # No client-side retries (redis-py retries with backoff by default, which turns a 0.1 s timeout
        # into seconds): each caller's own loop decides when to try again.
        self._fast = redis.Redis.from_url(
            redis_url,
            socket_connect_timeout=request_timeout_s,
            socket_timeout=request_timeout_s,
            retry=Retry(NoBackoff(), 0),
        )
        self._redis = redis.Redis.from_url(
            redis_url,
            socket_connect_timeout=background_timeout_s,
            socket_timeout=background_timeout_s,
            health_check_interval=30,
            retry=Retry(NoBackoff(), 0),
        )
        # Each entry is one publish_many call; `_queued` counts their messages against `outbox_size`.
        self._outbox: queue.SimpleQueue[tuple[str, list[dict[str, Any]]]] = queue.SimpleQueue()
        self._outbox_size = outbox_size
        self._queued = 0
        self._publish_every_s = publish_every_s
        self._monotonic = monotonic
        self._sleep = sleep
        self._publisher: threading.Thread | None = None
        self._publisher_pid = 0
        self._start_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._down = False
        self._dropped = 0
        # Started now, not on the first publish: a request may come during shutdown, when Python
        # refuses to start threads (and again after a fork, see `_ensure_publisher`).
        self._ensure_publisher()

    def ping(self) -> bool:
        """Whether the server answers within ~0.1 s (health checks and start-up waits)."""
        try:
            return bool(self._fast.ping())
        except redis.RedisError:
            return False

    def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Queue one message for publishing; returns at once (see `publish_many`)."""
        self.publish_many(channel, [message])

    def publish_many(self, channel: str, messages: list[dict[str, Any]]) -> None:
        """Queue messages for publishing, in order; returns at once, never raises on a Redis outage.

        When the outbox is full (Redis stalled for a while) the messages are dropped and counted.
        """
        if not messages:
            return
        self._ensure_publisher()
        with self._state_lock:
            full = self._queued + len(messages) > self._outbox_size
            if not full:
                self._queued += len(messages)
        if full:
            self._note_failure(f"outbox full ({self._outbox_size} messages)", dropped=len(messages))
            return
        self._outbox.put((channel, list(messages)))

    def _ensure_publisher(self) -> None:
        # Started on first use and again in a forked child (a thread does not survive a fork).
        if self._publisher is not None and self._publisher_pid == os.getpid() and self._publisher.is_alive():
            return
        with self._start_lock:
            if self._publisher is None or self._publisher_pid != os.getpid() or not self._publisher.is_alive():
                self._publisher = threading.Thread(
                    target=self._publish_loop, name="outfield-bus-publisher", daemon=True
                )
                self._publisher_pid = os.getpid()
                self._publisher.start()

    def _publish_loop(self) -> None:
        sent_at = float("-inf")
        while True:
            batch = [self._outbox.get()]
            wait_s = sent_at + self._publish_every_s - self._monotonic()
            if wait_s > 0:  # sent a moment ago: let what the next few ms bring go along in the same message
                self._sleep(wait_s)
            sent_at = self._monotonic()
            count = len(batch[0][1])
            while count < PUBLISH_BATCH:
                try:
                    entry = self._outbox.get_nowait()
                except queue.Empty:
                    break
                batch.append(entry)
                count += len(entry[1])
            with self._state_lock:
                self._queued -= count
            self.send(batch)

    def send(self, batch: list[tuple[str, list[dict[str, Any]]]]) -> None:
        """Publish a batch in one pipelined round trip (the publisher thread's step); drops it if Redis fails.

        Consecutive entries for one channel go as one Redis message (the phones' one-fix requests queued
        while the last batch was sent: one message for the lot, not one per request), in order: the object
        itself when it is alone, else a JSON array.
        """
        merged: list[tuple[str, list[dict[str, Any]]]] = []
        for channel, messages in batch:
            if merged and merged[-1][0] == channel:
                merged[-1][1].extend(messages)
            else:
                merged.append((channel, list(messages)))
        try:
            pipe = self._redis.pipeline(transaction=False)
            for channel, messages in merged:
                pipe.publish(channel, orjson.dumps(messages[0] if len(messages) == 1 else messages))
            pipe.execute()
        except redis.RedisError as exc:
            self._note_failure(type(exc).__name__, dropped=sum(len(messages) for _, messages in batch))
            return
        self._note_success()

    def _note_failure(self, why: str, *, dropped: int) -> None:
        with self._state_lock:
            first = not self._down
            self._down = True
            self._dropped += dropped
        if first:
            log.warning("Redis unreachable (%s): live updates are dropped until it answers again", why)

    def _note_success(self) -> None:
        with self._state_lock:
            if not self._down:
                return
            dropped, self._down, self._dropped = self._dropped, False, 0
        log.warning("Redis answers again: %d live updates were dropped while it did not", dropped)

    def listen(
        self, channels: list[str], *, stop: threading.Event, timeout_s: float = 0.05
    ) -> Iterator[tuple[str, dict[str, Any]] | None]:
        """Yield (channel, message) as they arrive, or None every `timeout_s` of silence.

        The None ticks let the caller flush batches and check `stop` without a second thread.
        After losing Redis, `(RESYNC, {})` comes once the subscription is back: messages published
        in between were missed.
        """
        lost = False
        while not stop.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(*channels)
                if lost:
                    log.warning("bus subscription restored")
                    lost = False
                    yield RESYNC, {}
                while not stop.is_set():
                    raw = pubsub.get_message(timeout=timeout_s)
                    if raw is None:
                        yield None
                        continue
                    try:
                        channel, data = raw["channel"].decode(), orjson.loads(raw["data"])
                    except (ValueError, AttributeError):
                        log.warning("dropped a malformed bus message on %s", raw.get("channel"))
                        continue
                    for message in data if isinstance(data, list) else [data]:  # a publish_many batch
                        if isinstance(message, dict):
                            yield channel, message
            except redis.RedisError as exc:
                if not lost:
                    log.warning("bus connection lost (%s); reconnecting", type(exc).__name__)
                lost = True
                stop.wait(0.5)
                yield None
            finally:
                try:
                    pubsub.close()
                except redis.RedisError:
                    pass

    def subscribers(self, channel: str) -> int | None:
        """How many connections subscribe to `channel` (None when Redis does not answer)."""
        try:
            counts = self._redis.pubsub_numsub(channel)
            return int(counts[0][1]) if counts else 0
        except redis.RedisError:
            return None

    def hold_lock(self, name: str, holder: str, ttl_ms: int) -> bool:
        """Take or renew a lock that expires after `ttl_ms`; True while `holder` has it.

        One relay in the whole deployment forwards positions to browsers; every server process
        runs a candidate, and the lock picks one. If it dies the lock lapses and another takes over.
        """
        try:
            if self._redis.set(name, holder, nx=True, px=ttl_ms):
                return True
            current = self._redis.get(name)
            if current is not None and current.decode() == holder:
                self._redis.pexpire(name, ttl_ms)
                return True
            return False
        except redis.RedisError:
            return False

    def release_lock(self, name: str, holder: str) -> None:
        """Give up the lock if `holder` still has it."""
        try:
            current = self._redis.get(name)
            if current is not None and current.decode() == holder:
                self._redis.delete(name)
        except redis.RedisError:
            pass
