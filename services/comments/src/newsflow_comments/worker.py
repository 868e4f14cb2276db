"""``newsflow-comments worker``: the comments service's single background writer.

Every ``outbox_sweep_s`` it publishes queued events (:class:`~newsflow_comments.outbox.Relay`, the
kit's :class:`~newsflow_kit.outbox.Outbox` shape, as ingest's relay),
folds changed votes into scores (:class:`~newsflow_comments.scores.ScoreFolder`) and, once a minute
(FerretDB answers those deletes by a scan), drops expired claims, rate-limit hits and old history.
Run one: a second would publish duplicates (harmless: consumers dedupe on the event id) and compete
for the same comments for nothing.
"""

import asyncio
import logging
from datetime import datetime, timedelta

from newsflow_comments.context import utcnow
from newsflow_comments.outbox import Relay
from newsflow_comments.scores import ScoreFolder
from newsflow_comments.store import Store
from newsflow_kit.outbox import relay_forever

log = logging.getLogger(__name__)
HISTORY = timedelta(days=1)
CLEAN_EVERY = timedelta(minutes=1)


class Worker:
    def __init__(self, store: Store, relay: Relay, folder: ScoreFolder, *, period_s: float) -> None:
        self.store, self.relay, self.folder, self.period_s = store, relay, folder, period_s
        self._cleaned: datetime | None = None

    async def run_once(self) -> bool:
        """One pass: publish, fold scores, clean up; True when a backlog remains (the next pass follows at
        once). Not merely when something was published: every pass reads the last seconds again
        (checkpoint.py), so back-to-back passes under a steady trickle would read the same records
        over and over."""
        await self.relay.run_once()
        await self.folder.run_once()
        now = utcnow()
        if self._cleaned is None or now - self._cleaned >= CLEAN_EVERY:
            await self.store.clean_expired(now, now - HISTORY)
            self._cleaned = now
        return self.relay.behind or self.folder.behind

    async def run(self, stop: asyncio.Event) -> None:
        """Passes until ``stop`` (a broker or database outage is logged; the next pass retries)."""
        await relay_forever(self, stop, period_s=self.period_s, name="comments worker")
