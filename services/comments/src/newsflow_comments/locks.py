"""Per-document locks inside one process.

FerretDB 1.x (the local MongoDB-wire server) applies an update as read-modify-write without
isolation: two concurrent updates of one document can lose one of them, even ``$inc`` and even a
filter on ``version`` (measured: 600 concurrent ``$inc`` → 397). MongoDB itself is atomic per
document. Serialising this process's writes to one document closes the hole for a single replica
here and costs nothing on MongoDB.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class KeyedLocks:
    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
