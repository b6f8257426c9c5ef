"""Per-caller request budgets and caps on requests in flight, in a store the replicas share.

``EKYC_RATE_LIMIT_STORAGE`` picks the store: ``memory://`` (the default) keeps everything in
this process, so with N worker processes or replicas a key gets up to N times its rate and N
times its in-flight cap; ``redis://host:port/db`` keeps them in one Redis every replica uses,
so a key has one budget and one cap whoever serves it.

Budgets use the ``limits`` library's moving window on either store: at most
``rate × burst_seconds / 60`` requests (at least one) in any window of ``burst_seconds``
(stretched so that the window's average never exceeds the rate), which gives the same
long-run rate and burst as a token bucket of ``burst_seconds`` of the rate.

In-flight caps: per process a counter; in Redis a sorted set of slot ids per caller, each
slot expiring on its own after ``slot_ttl_seconds``, so a replica that dies holding slots
cannot leak them for longer than that.

When the store cannot be reached (Redis down, or slower than ``STORE_TIMEOUT_SECONDS``),
the request is refused with ``LimitsUnavailable`` (503 ``limits_unavailable``): an eKYC
service does not run biometric checks unmetered. The outage is logged, at most every
``_LOG_EVERY_SECONDS``.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

import redis
from limits import RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter

from api.errors import LimitsUnavailable, TooManyInflight

log = logging.getLogger(__name__)

#: seconds one call to the shared store may take (connect, then each reply)
STORE_TIMEOUT_SECONDS = 0.5
#: Retry-After of ``limits_unavailable``
UNAVAILABLE_RETRY_SECONDS = 5
#: Retry-After of ``too_many_inflight``
INFLIGHT_RETRY_SECONDS = 1
_LOG_EVERY_SECONDS = 10.0
_PREFIX = "ekyc"

# one atomic step: drop expired slots, refuse at the cap, else add one that expires on its own
_ACQUIRE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], t + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) * 1000))
return 1
"""


def window(rate_per_minute: int, burst_seconds: float) -> tuple[int, int]:
    """(requests, seconds) of the moving window for a rate: ``burst_seconds`` of the rate,
    at least one request, the window stretched (whole seconds) so it never beats the rate."""
    amount = max(1, math.floor(rate_per_minute * burst_seconds / 60.0))
    return amount, max(1, math.ceil(amount * 60.0 / rate_per_minute))


class _Slots(Protocol):
    def acquire(self, key: str, cap: int) -> str | None: ...

    def release(self, key: str, slot: str) -> None: ...


class _MemorySlots:
    """In-flight counts of this process."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, cap: int) -> str | None:
        with self._lock:
            held = self._counts.get(key, 0)
            if held >= cap:
                return None
            self._counts[key] = held + 1
            return key

    def release(self, key: str, slot: str) -> None:
        with self._lock:
            held = self._counts.get(key, 0) - 1
            if held > 0:
                self._counts[key] = held
            else:
                self._counts.pop(key, None)


class _RedisSlots:
    """In-flight slots in Redis: a sorted set per caller, each slot scored by its expiry."""

    def __init__(self, client: redis.Redis, ttl_seconds: float) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._acquire = client.register_script(_ACQUIRE)

    def acquire(self, key: str, cap: int) -> str | None:
        slot = os.urandom(12).hex()
        return slot if self._acquire([key], [cap, self._ttl, slot]) == 1 else None

    def release(self, key: str, slot: str) -> None:
        self._client.zrem(key, slot)


class Limiter:
    """Request budgets (``take``) and in-flight caps (``slot``) per caller key."""

    def __init__(
        self,
        storage_url: str = "memory://",
        burst_seconds: float = 60.0,
        slot_ttl_seconds: float = 300.0,
        timeout_seconds: float = STORE_TIMEOUT_SECONDS,
    ) -> None:
        scheme = urlsplit(storage_url).scheme
        self.storage_url = storage_url
        self._burst_seconds = burst_seconds
        self._last_logged = -math.inf
        self._storage: MemoryStorage | RedisStorage
        self._slots: _Slots
        if scheme == "memory":
            self._storage = MemoryStorage(wrap_exceptions=True)
            self._slots = _MemorySlots()
        elif scheme in ("redis", "rediss", "redis+unix"):
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            options: dict[str, Any] = {
                "socket_timeout": timeout_seconds,
                "socket_connect_timeout": timeout_seconds,
                "retry": Retry(NoBackoff(), 1),  # one retry (a stale pooled connection)
            }
            self._storage = RedisStorage(
                storage_url, key_prefix=_PREFIX, wrap_exceptions=True, **options
            )
            self._client = cast(redis.Redis, self._storage.get_connection())
            self._slots = _RedisSlots(self._client, slot_ttl_seconds)
        else:
            raise ValueError(
                f"EKYC_RATE_LIMIT_STORAGE: memory:// or redis://host:port/db, not {scheme!r}://"
            )
        self._windows = MovingWindowRateLimiter(self._storage)

    def take(self, caller: str, rate_per_minute: int) -> int:
        """Spend one request of ``caller``'s budget; 0 when allowed, else the seconds to wait
        before retrying. ``LimitsUnavailable`` when the store cannot be reached."""
        if rate_per_minute <= 0:
            return 60  # a zero rate blocks the caller entirely
        amount, seconds = window(rate_per_minute, self._burst_seconds)
        item = RateLimitItemPerSecond(amount, seconds, namespace="rate")
        with self._store():
            if self._windows.hit(item, caller):
                return 0
            reset, _left = self._windows.get_window_stats(item, caller)
        return max(1, math.ceil(reset - time.time()))

    @contextmanager
    def slot(self, caller: str, cap: int) -> Iterator[None]:
        """Hold one of ``caller``'s ``cap`` in-flight slots for the block (0: no cap);
        ``TooManyInflight`` when all are taken. Released however the block ends."""
        if cap <= 0:
            yield
            return
        key = f"{_PREFIX}:inflight:{caller}"
        with self._store():
            slot = self._slots.acquire(key, cap)
        if slot is None:
            raise TooManyInflight(INFLIGHT_RETRY_SECONDS, cap)
        try:
            yield
        finally:
            try:
                with self._store():
                    self._slots.release(key, slot)
            except LimitsUnavailable:
                pass  # logged; the slot expires on its own

    def ping(self) -> bool:
        """Whether the store answers."""
        try:
            with self._store():
                return bool(self._storage.check())
        except LimitsUnavailable:
            return False

    def reset(self) -> None:
        """Forget every budget (tests; in Redis only the budgets, not slots in flight)."""
        with self._store():
            self._storage.reset()

    def close(self) -> None:
        if isinstance(self._storage, MemoryStorage):
            self._storage.timer.cancel()
        else:
            self._client.close()

    @contextmanager
    def _store(self) -> Iterator[None]:
        try:
            yield
        except (StorageError, redis.RedisError, OSError) as e:
            now = time.monotonic()
            if now - self._last_logged >= _LOG_EVERY_SECONDS:
                self._last_logged = now
                log.error(
                    "rate-limit store %s unreachable, refusing requests (503): %s",
                    _redacted(self.storage_url),
                    e,
                )
            raise LimitsUnavailable(UNAVAILABLE_RETRY_SECONDS) from e


def _redacted(url: str) -> str:
    """The store's URL without a password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}{port}").geturl()
