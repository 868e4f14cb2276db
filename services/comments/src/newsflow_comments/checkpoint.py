"""Where a worker's pass over changed records starts: the relay's and the score folder's."""

from datetime import UTC, datetime, timedelta

from newsflow_comments.store import Store

EPOCH = datetime(1970, 1, 2, tzinfo=UTC)


class Checkpoint:
    """The position saved under ``name``. Each pass reads from it minus ``margin_s`` (for writes that
    committed late); the first pass reads by range, so it also finds records written before ``tick``."""

    def __init__(self, store: Store, name: str, *, margin_s: float) -> None:
        self.store, self.name = store, name
        self.margin = timedelta(seconds=margin_s)
        self._scanned = False

    async def start(self) -> tuple[datetime, bool]:
        """``(since, scan)`` of this pass (the first run ever reads everything)."""
        since = (await self.store.position(self.name) or EPOCH) - self.margin
        scan, self._scanned = not self._scanned, True
        return since, scan

    async def save(self, position: datetime) -> None:
        await self.store.save_position(self.name, position)
