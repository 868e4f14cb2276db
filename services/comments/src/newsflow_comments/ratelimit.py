"""Fixed-window rate limits kept in MongoDB, so every replica counts together.

One counter document per (scope, key, hour) holds the hour's count and one count per minute, so a
single ``$inc`` with upsert counts both windows; ``expires_at`` serves the clean-up sweep (FerretDB
has no TTL indexes).
"""

import asyncio
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from newsflow_comments.repository import Store
from newsflow_kit.errors import RateLimited


@dataclass(frozen=True)
class Limit:
    scope: str
    per_minute: int
    per_hour: int


async def hit(store: Store, *, limits: list[tuple[Limit, str]], now: datetime) -> None:
    """Counts one action against every (limit, key); 429 with Retry-After when any window is exhausted."""
    waits = await asyncio.gather(*(_hit_one(store, limit, key, now) for limit, key in limits))
    worst = max(waits)
    if worst > 0:
        raise RateLimited("too many comments; try again later", retry_after=worst)


async def _hit_one(store: Store, limit: Limit, key: str, now: datetime) -> int:
    epoch = now.timestamp()
    hour = int(epoch // 3600) * 3600
    minute = int(epoch // 60) * 60
    counts = await store.count_hit(
        f"{limit.scope}:{key}:{hour}", f"m{(minute - hour) // 60}", datetime.fromtimestamp(hour + 3600, UTC)
    )
    if counts[0] > limit.per_hour:
        return max(1, math.ceil(hour + 3600 - epoch))
    if counts[1] > limit.per_minute:
        return max(1, math.ceil(minute + 60 - epoch))
    return 0
