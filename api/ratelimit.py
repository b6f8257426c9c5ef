"""Per-key request budgets: a token bucket per caller, held in this process's memory.

With N worker processes each keeps its own buckets, so a key's effective limit is up to N
times its rate; a shared limit needs a shared store (a proxy or Redis), not this module.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

MAX_BUCKETS = 100_000  # idle callers are forgotten first beyond this


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Token buckets keyed by caller: ``rate_per_minute`` refill, a burst of a few seconds."""

    def __init__(
        self, burst_seconds: float = 60.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._burst_seconds = burst_seconds
        self._monotonic = monotonic
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def capacity(self, rate_per_minute: int) -> float:
        """Largest burst a caller may send: ``burst_seconds`` of its rate, at least one."""
        return max(1.0, rate_per_minute * self._burst_seconds / 60.0)

    def take(self, caller: str, rate_per_minute: int) -> int:
        """Spend one token; 0 when allowed, else the seconds to wait before retrying."""
        if rate_per_minute <= 0:
            return 60  # a zero rate blocks the caller entirely
        per_second = rate_per_minute / 60.0
        cap = self.capacity(rate_per_minute)
        now = self._monotonic()
        with self._lock:
            bucket = self._buckets.pop(caller, None) or _Bucket(cap, now)
            bucket.tokens = min(cap, bucket.tokens + (now - bucket.updated) * per_second)
            bucket.updated = now
            self._buckets[caller] = bucket  # most recently used last
            while len(self._buckets) > MAX_BUCKETS:
                self._buckets.popitem(last=False)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0
            return max(1, math.ceil((1.0 - bucket.tokens) / per_second))
