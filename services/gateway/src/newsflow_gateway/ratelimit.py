"""Token buckets per API key and per client address, held in this process.

Each replica limits on its own, so with N replicas behind a balancer a client gets up to N times the
configured rate; that is the price of needing no shared store (docs/gateway.md). The table of buckets
is bounded: the least recently used bucket is forgotten first (a forgotten bucket is a full one).
"""

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from newsflow_kit.errors import RateLimited


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int


class RateLimiter:
    def __init__(self, *, max_buckets: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._max = max_buckets
        self._clock = clock

    def hit(self, key: str, rate: Rate) -> None:
        """Takes one token from ``key``'s bucket, or raises 429 saying when the next one comes."""
        now = self._clock()
        tokens, at = self._buckets.pop(key, (float(rate.burst), now))
        tokens = min(float(rate.burst), tokens + (now - at) * rate.per_second)
        if tokens < 1.0:
            self._remember(key, tokens, now)
            raise RateLimited("rate limit exceeded", retry_after=math.ceil((1.0 - tokens) / rate.per_second))
        self._remember(key, tokens - 1.0, now)

    def _remember(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
