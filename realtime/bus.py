"""Redis pub/sub and the relay leader lock: the only module that talks to Redis.

Messages are JSON objects. `listen` survives Redis restarts and slow-subscriber disconnects by
reconnecting and resubscribing (Debian's default output-buffer limit drops a relay that lags).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import redis

log = logging.getLogger(__name__)

POSITIONS = "outfield:positions"
ORDERS = "outfield:orders"


class Bus:
    """A thin handle on one Redis server used as a message bus."""

    def __init__(self, redis_url: str) -> None:
        self._url = redis_url
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=5, health_check_interval=30)

    def ping(self) -> bool:
        """Whether the server answers (used by health checks and start-up waits)."""
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False

    def publish(self, channel: str, message: dict[str, Any]) -> int:
        """Publish one message; returns the number of subscribers that got it."""
        return int(self._redis.publish(channel, json.dumps(message, separators=(",", ":"))))

    def publish_many(self, channel: str, messages: list[dict[str, Any]]) -> None:
        """Publish several messages in one round trip, in order."""
        if not messages:
            return
        pipe = self._redis.pipeline(transaction=False)
        for message in messages:
            pipe.publish(channel, json.dumps(message, separators=(",", ":")))
        pipe.execute()

    def listen(
        self, channels: list[str], *, stop: threading.Event, timeout_s: float = 0.05
    ) -> Iterator[tuple[str, dict[str, Any]] | None]:
        """Yield (channel, message) as they arrive, or None every `timeout_s` of silence.

        The None ticks let the caller flush batches and check `stop` without a second thread.
        """
        while not stop.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(*channels)
                while not stop.is_set():
                    raw = pubsub.get_message(timeout=timeout_s)
                    if raw is None:
                        yield None
                        continue
                    try:
                        yield raw["channel"].decode(), json.loads(raw["data"])
                    except (ValueError, AttributeError):
                        log.warning("dropped a malformed bus message on %s", raw.get("channel"))
            except redis.RedisError as exc:
                log.warning("bus connection lost (%s); reconnecting", type(exc).__name__)
                stop.wait(0.5)
                yield None
            finally:
                try:
                    pubsub.close()
                except redis.RedisError:
                    pass

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
