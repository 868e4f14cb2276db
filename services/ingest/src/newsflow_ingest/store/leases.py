"""Which poller polls which feed source now: leases on ``sources``, claims in ``poll_claims``."""

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from newsflow_ingest.records import PollOutcome, Source
from newsflow_ingest.store.mappers import Doc, due_tick, outcome_doc, source_of, with_due_tick
from newsflow_kit.mongo import bulk_write, equality_only

TICKS_AT_ONCE = 16  # due ticks read at once
TICK_READ = 128  # feeds read from one tick at most per claim (FerretDB stops decoding there)
RESCAN_S = 300.0  # how often a poller looks for the earliest due tick again (one read of every feed)


class SourceLeases:
    """Which poller polls which feed source now: claims in batches, leases renewed while the work runs.

    One claim round trip reads up to ``limit`` due sources (one scan of ``sources`` per batch, never
    one per feed: FerretDB filters by scanning), then inserts ``<source id>:<lease epoch>`` for each into
    ``poll_claims`` in one ``insert_many``: the unique ``_id`` makes exactly one poller win an epoch, on
    MongoDB and on FerretDB alike (whose read-modify-write updates are not atomic across connections).
    The winner moves the epochs on and sets ``lease_until`` *and* ``next_poll_at`` to the lease's end in
    one bulk write: a held source is not due, a crashed poller's sources fall due when the lease ends,
    and a live poller renews the leases of everything it holds (``renew``) so a lease outlives the work.

    Finding the due sources: one range query on MongoDB. FerretDB answers a range by reading every
    feed (seconds at 10,000 sources, every tick of every poller), so there each source also carries
    ``due_tick`` (its ``next_poll_at`` in 10 s steps, :func:`with_due_tick`) and a poller reads tick
    by tick, each an indexed equality match, from the earliest tick that may still hold a due source
    (``_low``, found by one full read at start and every ``RESCAN_S``) up to now.
    """

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.sources = db["sources"]
        self.claims = db["poll_claims"]
        self._low: int | None = None  # no due source sits in an earlier tick
        self._scanned_at = 0.0
        # A renewal and the end of a poll must not write one source at once: FerretDB applies an update
        # by reading the document and writing it back whole, so a renewal that read the source before
        # the poll's end landed wrote the lease back over it, and the source came due again a minute
        # later (2 of 10,000 feeds fetched twice in a first import). Both writers are this process.
        self._renewing: Counter[str] = Counter()  # renewals in flight per source
        self._finishing: set[str] = set()
        self._turns = asyncio.Condition()

    async def ensure_indexes(self) -> None:
        """Creates ``poll_claims`` up front: pollers inserting into a missing collection at once would
        each create it, which FerretDB handles badly."""
        await self.sources.create_index([("kind", ASCENDING), ("next_poll_at", ASCENDING)])
        await self.sources.create_index([("kind", ASCENDING), ("paused", ASCENDING), ("due_tick", ASCENDING)])
        await self.claims.create_index([("at", ASCENDING)])

    async def _due(self, now: datetime, limit: int) -> list[Doc]:
        """Up to ``limit`` feeds due at ``now`` (not paused, not leased), the longest due first."""
        query: Doc = {"kind": "feed", "paused": False}
        if not await equality_only(self.sources.database.client):
            query |= {"next_poll_at": {"$lte": now}, "lease_until": {"$lte": now}}
            return await self.sources.find(query).sort("next_poll_at", ASCENDING).limit(limit).to_list()
        last = due_tick(now)
        if self._low is None or time.monotonic() - self._scanned_at > RESCAN_S:
            self._low, self._scanned_at = await self._earliest_tick(last), time.monotonic()
        found: list[Doc] = []
        waiting: list[int] = []  # ticks of the feeds seen but not taken (not due yet, leased, past the limit)
        read = max(2 * limit, TICK_READ)  # per tick: a first import puts every feed in one tick
        tick = self._low
        while tick <= last and len(found) < limit:
            ticks = range(tick, min(tick + TICKS_AT_ONCE, last + 1))
            parts = await asyncio.gather(
                *(self.sources.find({**query, "due_tick": t}).limit(read).to_list() for t in ticks)
            )
            for t, part in zip(ticks, parts, strict=True):
                for source in part:
                    if source["next_poll_at"] <= now and source["lease_until"] <= now:
                        found.append(source)
                    else:
                        waiting.append(t)
                if len(part) >= read:  # more in this tick than was read: the walk goes on from here
                    waiting.append(t)
            tick = ticks[-1] + 1
            if len(found) >= limit or any(len(part) >= read for part in parts):
                break
        found.sort(key=lambda s: s["next_poll_at"])
        waiting += [due_tick(s["next_poll_at"]) for s in found[limit:]]
        self._low = min([*waiting, tick, last])
        return found[:limit]

    async def _earliest_tick(self, last: int) -> int:
        """The earliest ``due_tick`` of any feed (one read of them all); ticks are added where missing."""
        feeds = await self.sources.find({"kind": "feed"}, {"next_poll_at": 1, "due_tick": 1}).to_list()
        missing = [s for s in feeds if "due_tick" not in s and isinstance(s.get("next_poll_at"), datetime)]
        if missing:  # written before due ticks existed, or straight into the store
            await bulk_write(
                self.sources,
                [
                    UpdateOne({"_id": s["_id"]}, {"$set": with_due_tick({"next_poll_at": s["next_poll_at"]})})
                    for s in missing
                ],
                ordered=False,
            )
        ticks = [due_tick(s["next_poll_at"]) for s in feeds if isinstance(s.get("next_poll_at"), datetime)]
        return min([*ticks, last])

    async def claim_due(self, *, owner: str, limit: int, lease_s: float, now: datetime) -> list[Source]:
        """The due sources this poller won, under its lease until ``now + lease_s``."""
        due = await self._due(now, limit)
        if not due:
            return []
        claims = [{"_id": f"{s['_id']}:{int(s.get('lease_epoch', 0))}", "owner": owner, "at": now} for s in due]
        lost: set[int] = set()
        try:
            await self.claims.insert_many(claims, ordered=False)
        except BulkWriteError as exc:  # another poller won these
            lost = {int(e["index"]) for e in exc.details.get("writeErrors", [])}
        until = now + timedelta(seconds=lease_s)
        won = []
        for index, source in enumerate(due):
            if index in lost:
                continue
            lease = {
                "lease_epoch": int(source.get("lease_epoch", 0)) + 1,
                "lease_owner": owner,
                "lease_until": until,
                "next_poll_at": until,
            }
            won.append({**source, **lease})
        if won:
            await bulk_write(
                self.sources,
                [
                    UpdateOne(
                        {"_id": s["_id"]},
                        {
                            "$set": with_due_tick(
                                {k: s[k] for k in ("lease_epoch", "lease_owner", "lease_until", "next_poll_at")}
                            )
                        },
                    )
                    for s in won
                ],
                ordered=False,
            )
        return [source_of(s) for s in won]

    async def renew(self, source_ids: list[str], *, owner: str, lease_s: float) -> None:
        """Moves the end of this owner's leases on (a source another poller took over is left alone)."""
        ids = [i for i in source_ids if i not in self._finishing]  # those ending now need no renewal
        if not ids:
            return
        self._renewing.update(ids)
        try:
            until = datetime.now(UTC) + timedelta(seconds=lease_s)
            await self._set_owned(ids, owner, {"lease_until": until, "next_poll_at": until})
        finally:
            self._renewing.subtract(ids)
            self._renewing = +self._renewing  # drops the sources no renewal holds any more
            async with self._turns:
                self._turns.notify_all()

    async def release(self, source_ids: list[str], *, owner: str) -> None:
        """Gives back leases that were claimed but not worked on (a poller stopping): due again now."""
        if source_ids:
            now = datetime.now(UTC)
            await self._set_owned(source_ids, owner, {"lease_until": now, "next_poll_at": now})

    async def _set_owned(self, source_ids: list[str], owner: str, fields: Doc) -> None:
        """Sets ``fields`` on those of these sources this owner holds: one equality update each."""
        await bulk_write(
            self.sources,
            [
                UpdateOne({"_id": source_id, "lease_owner": owner}, {"$set": with_due_tick(fields)})
                for source_id in source_ids
            ],
            ordered=False,
        )

    async def finish(self, source_id: str, *, owner: str, outcome: PollOutcome, now: datetime) -> None:
        """Records a poll's outcome (fields set, counters counted up) and ends this owner's lease now."""
        fields, added = outcome_doc(outcome)
        update: Doc = {"$set": with_due_tick({**fields, "lease_until": now, "lease_owner": None})}
        if added:
            update["$inc"] = added
        self._finishing.add(source_id)
        try:
            async with self._turns:
                await self._turns.wait_for(lambda: self._renewing[source_id] <= 0)
            await self.sources.update_one({"_id": source_id, "lease_owner": owner}, update)
        finally:
            self._finishing.discard(source_id)

    async def prune_claims(self) -> None:
        """Claims only matter while a lease can still be contended; a day later they are history."""
        await self.claims.delete_many({"at": {"$lt": datetime.now(UTC) - timedelta(days=1)}})
