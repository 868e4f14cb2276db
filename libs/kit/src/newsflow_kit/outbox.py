"""The outbox relay role shared by ingest and comments.

A service writes each change together with its event (one insert: the transactional outbox); a
relay role publishes what is not yet published and marks it, so a crash between the write and the
publish only delays the event, and a crash between the publish and the mark only re-sends it (with
the same ``event_id``: consumers dedupe on it). Each service's ``Relay`` implements :class:`Outbox`
over its repository; :func:`relay_forever` is the role's loop.
"""

import asyncio
import contextlib
import logging
from typing import Protocol

log = logging.getLogger(__name__)


class Outbox(Protocol):
    async def run_once(self) -> int:
        """Publishes one batch of what is pending and marks it published; truthy while more may be waiting
        (ingest's relay: how many went out; the comments worker: whether it read a full batch)."""
        ...


async def relay_forever(outbox: Outbox, stop: asyncio.Event, *, period_s: float, name: str) -> None:
    """Runs passes until ``stop``: back to back while a pass says more may be waiting, else every ``period_s``.

    A pass that fails (the broker or the database is down) is logged and retried on the next tick;
    the pass in hand finishes before ``stop`` takes effect.
    """
    while not stop.is_set():
        try:
            while await outbox.run_once() and not stop.is_set():
                pass
        except Exception:  # MongoDB or Kafka unavailable: the next pass retries
            log.exception("%s: relay pass failed; retrying", name)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), period_s)
