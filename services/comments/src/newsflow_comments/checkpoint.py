"""Where a worker's pass over changed records starts: the relay's and the score folder's."""

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from newsflow_comments.store import Store

EPOCH = datetime(1970, 1, 2, tzinfo=UTC)
RECENT_S = 2.0
RESCAN_S = 10.0


class Checkpoint:
    """The position saved under ``name``, and how far before it each pass reads.

    A record can commit after a pass has read past its timestamp (a post's store commands take
    milliseconds, up to its 2.5 s deadline), so passes read again before the position: ``recent_s``
    (2 s) each pass, the whole ``margin_s`` (30 s) every ``rescan_s`` (10 s). Rereading the whole
    margin on every pass made the worker read each comment some forty times, and most of the store's
    CPU went to that (docs/benchmarks.md). A record that commits later than ``recent_s`` after its
    timestamp is still read, at most ``rescan_s`` late. The first pass reads by range, so it also
    finds records written before their ``tick``.
    """

    def __init__(
        self,
        store: Store,
        name: str,
        *,
        margin_s: float,
        recent_s: float = RECENT_S,
        rescan_s: float = RESCAN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store, self.name, self.clock = store, name, clock
        self.margin = timedelta(seconds=margin_s)
        self.recent = timedelta(seconds=min(recent_s, margin_s))
        self.rescan_s = rescan_s
        self.oldest = EPOCH  # the oldest time the current pass (or a later one) may read from
        self._scanned = False
        self._rescanned: float | None = None

    async def start(self) -> tuple[datetime, bool]:
        """``(since, scan)`` of this pass (the first run ever reads everything)."""
        position = await self.store.position(self.name) or EPOCH
        self.oldest = position - self.margin
        at = self.clock()
        if self._rescanned is None or at - self._rescanned >= self.rescan_s:
            since, self._rescanned = self.oldest, at
        else:
            since = position - self.recent
        scan, self._scanned = not self._scanned, True
        return since, scan

    async def save(self, position: datetime) -> None:
        await self.store.save_position(self.name, position)
