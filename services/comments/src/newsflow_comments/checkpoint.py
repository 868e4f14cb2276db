"""Where a worker's pass over changed records starts: the relay's and the score folder's."""

from datetime import UTC, datetime, timedelta

from newsflow_comments.store import Store

EPOCH = datetime(1970, 1, 2, tzinfo=UTC)
RECENT_S = 1.0
SLICE_S = 2.0


class Checkpoint:
    """The position saved under ``name``, and what a pass reads again behind it.

    A record can commit after a pass has read past its timestamp (a post's store commands take
    milliseconds, up to its 2.5 s deadline), so each pass reads from ``recent_s`` (1 s) before the
    position, plus one ``slice_s`` (2 s) slice of the ``margin_s`` (30 s) before that, the next slice
    each pass. At two passes a second the slices gain 1.5 s a pass on the moving margin: the whole
    margin is read again about every 10 s, and a record that committed late is read at most that
    late. Rereading the whole margin at once, on every pass or every 10 s, is what the store's CPU
    went to and what stalled the posts meanwhile (docs/benchmarks.md). The first pass reads the whole
    margin by range, so it also finds records written before their ``tick``.
    """

    def __init__(
        self, store: Store, name: str, *, margin_s: float, recent_s: float = RECENT_S, slice_s: float = SLICE_S
    ) -> None:
        self.store, self.name = store, name
        self.margin = timedelta(seconds=margin_s)
        self.recent = timedelta(seconds=min(recent_s, margin_s))
        self.slice = timedelta(seconds=slice_s)
        self.oldest = EPOCH  # the oldest time this pass reads (what a later pass may read is no older)
        self.older: tuple[datetime, datetime] | None = None  # this pass's slice of the margin
        self._scanned = False
        self._next: datetime | None = None  # where the next slice starts

    async def start(self) -> tuple[datetime, bool]:
        """``(since, scan)`` of this pass's main read, and its slice in :attr:`older`."""
        position = await self.store.position(self.name) or EPOCH
        self.oldest, recent = position - self.margin, position - self.recent
        if not self._scanned:
            self._scanned, self.older, self._next = True, None, None
            return self.oldest, True
        start = self._next if self._next is not None and self.oldest <= self._next < recent else self.oldest
        self._next = min(start + self.slice, recent)
        self.older = (start, self._next) if start < recent else None
        return recent, False

    async def save(self, position: datetime) -> None:
        await self.store.save_position(self.name, position)
