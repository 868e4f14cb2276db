"""Fixed-window rate limits counted from insert-only hit records, so every replica counts together.

Each post attempt inserts one hit {fp, addr, at} (in the same command as its claim) and then reads the
recent hits of its fingerprint and address. An insert is atomic on FerretDB and MongoDB alike, and
each attempt counts after its own insert, so the last of any group of concurrent attempts sees them
all: a limit is never exceeded (concurrent attempts at the edge may all be refused). Refused attempts
count too. Hits expire with the hour (``expires_at``; the worker deletes them: FerretDB has no TTL).
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from newsflow_comments.records import Mark


@dataclass(frozen=True)
class Limit:
    scope: Literal["fp", "addr"]  # the hit field it counts: "fp" (one reader's device) or "addr" (a network)
    per_minute: int
    per_hour: int


def hour_start(now: datetime) -> datetime:
    return datetime.fromtimestamp(int(now.timestamp() // 3600) * 3600, UTC)


def hits_to_read(limits: list[tuple[Limit, str]]) -> int:
    """Enough hits to decide: with more than the sum of the hourly limits, one of them is exceeded."""
    return sum(limit.per_hour for limit, _ in limits) + 3  # + the ban and known marks


def retry_after(marks: list[Mark], limits: list[tuple[Limit, str]], now: datetime, *, read: int) -> int:
    """Seconds until the exhausted window ends (0: allowed); ``marks`` as read with limit ``read``."""
    epoch = now.timestamp()
    hour = int(epoch // 3600) * 3600
    minute = int(epoch // 60) * 60
    hits = [m for m in marks if m.kind == "hit"]
    if len(marks) >= read:  # truncated: one hourly limit is exceeded for sure
        return max(1, math.ceil(hour + 3600 - epoch))
    worst = 0
    for limit, key in limits:
        mine = [m.at.timestamp() for m in hits if (m.fp if limit.scope == "fp" else m.addr) == key]
        if sum(1 for at in mine if at >= hour) > limit.per_hour:
            worst = max(worst, math.ceil(hour + 3600 - epoch))
        elif sum(1 for at in mine if at >= minute) > limit.per_minute:
            worst = max(worst, math.ceil(minute + 60 - epoch))
    return max(1, worst) if worst else 0
