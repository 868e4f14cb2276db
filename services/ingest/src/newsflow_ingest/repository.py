"""MongoDB storage of articles and sources (the system of record). Runs on MongoDB and FerretDB.

Articles are an append-only change log, ``article_versions``: one document per version, whose
``_id`` is its ``seq`` (the position in the change log) and which a unique index on
``(article_id, version)`` makes the only holder of its version. Both are claimed by one insert, so
no read-modify-write command is needed anywhere (FerretDB 1.x does not make those atomic):

- a version is taken by exactly one writer (the unique index); a loser re-reads and retries;
- a ``seq`` is taken by exactly one writer (the unique ``_id``), and a writer only tries ``n + 1``
  after it saw ``n`` committed (its own insert, a duplicate-key answer, the head found by
  :meth:`ArticlesRepo.head`), so changes commit in ``seq`` order and the log never has a hole: a
  reader that sees ``n`` has every change below it.

``bucket`` (``seq // BUCKET``) makes the change-cursor read an equality match (FerretDB 1.x pushes
equality filters down to its backend; ranges and sorts it answers by reading the whole collection).
Each version also carries its outbox state: ``bus`` is ``pending`` until Kafka acknowledged it.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cachetools import TTLCache
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from newsflow_kit.mongo import bulk_write, equality_only, find_in

Doc = dict[str, Any]
Database = AsyncDatabase[Doc]
BUCKET = 64  # changes per bucket of the change log
SEQ_COUNTER = "article_seq"  # a lower bound of the head, moved at bucket boundaries: where a walk starts
SCAN_LIMIT = 2_000  # changes one page read looks at when a filter matches few of them
DUPLICATE_KEY = 11000
WALK_BEFORE_JUMP = 3  # taken seqs stepped over one at a time before looking the head up
# FerretDB 1.24 splits a larger insert into batches of 100 and, when one fails, reports as inserted
# only what that batch inserted: an insert of 250 that met a taken seq in its second batch answered
# nInserted 1 with 101 stored, and the stored ones came round again as "unchanged" (test_concurrent_
# batches.py). An insert of at most one such batch keeps nInserted true.
INSERT_CHUNK = 100
DUE_TICK_S = 10  # the width of a source's ``due_tick``
TICKS_AT_ONCE = 16  # due ticks read at once
TICK_READ = 128  # feeds read from one tick at most per claim (FerretDB stops decoding there)
RESCAN_S = 300.0  # how often a poller looks for the earliest due tick again (one read of every feed)


def due_tick(at: datetime) -> int:
    """The ``due_tick`` of a source due at ``at``: equality-indexed, unlike ``next_poll_at``."""
    return int(at.timestamp() // DUE_TICK_S)


def with_due_tick(fields: Doc) -> Doc:
    """``fields`` plus the ``due_tick`` of their ``next_poll_at`` (every write of it goes through here)."""
    at = fields.get("next_poll_at")
    return {**fields, "due_tick": due_tick(at)} if isinstance(at, datetime) else fields


class VersionTaken(Exception):
    """Another writer stored this version of the article first: re-read and decide again.

    ``stored`` are the versions of the same call stored before it (committed; publish them).
    """

    def __init__(self, article_id: str, stored: list[Doc]) -> None:
        super().__init__(f"article {article_id}: version taken by another writer")
        self.article_id, self.stored = article_id, stored


@dataclass(frozen=True)
class ChangePage:
    """Changes after a cursor: the matches, the last position looked at, and whether more may follow."""

    items: list[Doc]
    position: int
    more: bool


class ArticlesRepo:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.versions = db["article_versions"]
        self.counters = db["counters"]
        self._hint = 0  # a committed seq (or 0): the next claim tries hint + 1
        self._hint_known = False
        # Appends of one process take turns. Not for correctness (the unique _id decides who gets a seq,
        # across processes too) but for speed: concurrent appends from one process would all try the
        # same next seq, and each loser pays a failed insert, a lookup and a retry per collision (a first
        # import with 32 feeds in flight spent most of the store's time on them).
        self._append_turn = asyncio.Lock()

    async def ensure_indexes(self) -> None:
        await self.versions.create_index([("article_id", ASCENDING), ("version", ASCENDING)], unique=True)
        await self.versions.create_index([("bucket", ASCENDING)])
        await self.versions.create_index([("bus", ASCENDING)])
        self._hint = await self.head()
        self._hint_known = True

    async def head(self) -> int:
        """The highest committed ``seq`` (0 when none): the counter's bucket, then full buckets onwards."""
        counter = await self.counters.find_one({"_id": SEQ_COUNTER})
        bucket = max(int(counter["seq"]) if counter else 0, self._hint) // BUCKET
        top = max(self._hint, bucket * BUCKET - 1, 0)
        while True:
            seqs = [int(d["_id"]) async for d in self.versions.find({"bucket": bucket}, {"_id": 1})]
            if not seqs:
                return top
            top = max(top, *seqs)
            if len(seqs) < BUCKET - (1 if bucket == 0 else 0):  # bucket 0 has no seq 0
                return top
            bucket += 1

    async def latest(self, article_id: str) -> Doc | None:
        """The newest version of an article (one command)."""
        docs = await self.versions.find({"article_id": article_id}).sort("version", DESCENDING).limit(1).to_list()
        return docs[0] if docs else None

    async def latest_many(self, article_ids: Sequence[str]) -> dict[str, Doc]:
        """The newest version of each of these articles that exists (their versions, by index on either server)."""
        newest: dict[str, Doc] = {}
        for doc in await find_in(self.versions, "article_id", article_ids):
            held = newest.get(doc["article_id"])
            if held is None or doc["version"] > held["version"]:
                newest[doc["article_id"]] = doc
        return newest

    async def append(self, docs: list[Doc]) -> list[Doc]:
        """Stores new versions at the next positions of the change log, in order, in inserts of ``INSERT_CHUNK``.

        Returns the stored documents (with ``_id``/``seq``/``bucket``); it stops at the first version
        another writer took, so the caller re-reads that article and decides again.
        """
        if not docs:
            return []
        async with self._append_turn:
            return await self._append(docs)

    async def _append(self, docs: list[Doc]) -> list[Doc]:
        stored: list[Doc] = []
        walked = 0
        if not self._hint_known:
            self._hint, self._hint_known = await self.head(), True
        while len(stored) < len(docs):
            first = self._hint + 1
            batch = [_stamp(doc, first + i) for i, doc in enumerate(docs[len(stored) :][:INSERT_CHUNK])]
            try:
                await self.versions.insert_many(batch, ordered=True)
            except BulkWriteError as exc:
                inserted = int(exc.details.get("nInserted", 0))
                stored += batch[:inserted]
                error = (exc.details.get("writeErrors") or [{}])[0]
                if error.get("code") != DUPLICATE_KEY:
                    raise
                failed = batch[inserted]
                self._hint = max(self._hint, first + inserted - 1)
                if await self._version_taken(failed, error):
                    raise VersionTaken(failed["article_id"], stored) from exc
                self._hint = max(self._hint, int(failed["_id"]))  # that seq is committed: step over it
                walked += 1
                if walked >= WALK_BEFORE_JUMP:
                    self._hint = max(self._hint, await self.head())
                    walked = 0
                continue
            stored += batch
            self._hint = max(self._hint, int(batch[-1]["_id"]))
            await self._mark_bucket(batch)
        return stored

    async def _version_taken(self, doc: Doc, error: Doc) -> bool:
        pattern = error.get("keyPattern")
        if isinstance(pattern, dict):  # MongoDB names the index; FerretDB does not
            return "_id" not in pattern
        found = await self.versions.find_one({"article_id": doc["article_id"], "version": doc["version"]}, {"_id": 1})
        return found is not None and found["_id"] != doc["_id"]

    async def _mark_bucket(self, batch: list[Doc]) -> None:
        """Moves the counter when a bucket boundary was crossed (once per ``BUCKET`` changes)."""
        first, last = int(batch[0]["_id"]), int(batch[-1]["_id"])
        if first % BUCKET == 0 or first // BUCKET != last // BUCKET:
            await self.counters.update_one({"_id": SEQ_COUNTER}, {"$max": {"seq": last}}, upsert=True)

    async def mark_sent_many(self, seqs: list[int]) -> None:
        """Flips the given changes to ``sent`` (one equality update each, a few per command: see the kit)."""
        if seqs:
            await bulk_write(
                self.versions,
                [UpdateOne({"_id": seq, "bus": "pending"}, {"$set": {"bus": "sent"}}) for seq in seqs],
                ordered=False,
            )

    async def pending(self, changed_before: datetime, limit: int) -> list[Doc]:
        """Up to ``limit`` changes still ``pending`` that changed before the cutoff, in ``seq`` order."""
        return await (
            self.versions.find({"bus": "pending", "changed_at": {"$lte": changed_before}})
            .sort("seq", ASCENDING)
            .limit(limit)
            .to_list()
        )

    async def since(self, seq: int, *, source: str | None, tag: str | None, lang: str | None, limit: int) -> ChangePage:
        """Changes after ``seq`` matching the filters, in ``seq`` order, never past a position not yet committed."""
        items: list[Doc] = []
        expected = seq + 1
        bucket = expected // BUCKET
        scanned = 0
        while True:
            docs = sorted(await self.versions.find({"bucket": bucket}).to_list(), key=lambda d: int(d["_id"]))
            for doc in docs:
                position = int(doc["_id"])
                if position < expected:
                    continue
                if position != expected:  # not committed yet: nothing after it is visible either
                    return ChangePage(items, expected - 1, more=False)
                expected += 1
                scanned += 1
                if _matches(doc, source=source, tag=tag, lang=lang):
                    items.append(doc)
                    if len(items) == limit:
                        return ChangePage(items, position, more=True)
            if expected != (bucket + 1) * BUCKET:
                return ChangePage(items, expected - 1, more=False)
            if scanned >= SCAN_LIMIT:
                return ChangePage(items, expected - 1, more=True)
            bucket += 1


def _stamp(doc: Doc, seq: int) -> Doc:
    return {**doc, "_id": seq, "seq": seq, "bucket": seq // BUCKET}


def _matches(doc: Doc, *, source: str | None, tag: str | None, lang: str | None) -> bool:
    return (
        (source is None or doc.get("source_id") == source)
        and (tag is None or tag in doc.get("tags", ()))
        and (lang is None or doc.get("language") == lang)
    )


SOURCE_CACHE_SIZE = 10_000
SOURCE_CACHE_TTL_S = 30.0


class NameTaken(Exception):
    """Another source has this name (names are unique)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class SourcesRepo:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.sources = db["sources"]
        # Pushes look their source up on every article: a bounded cache saves that round trip. A change
        # made through another replica is seen within the TTL (sources change rarely).
        self._cache: TTLCache[str, Doc] = TTLCache(maxsize=SOURCE_CACHE_SIZE, ttl=SOURCE_CACHE_TTL_S)

    async def cached(self, source_id: str) -> Doc | None:
        """The source, from the cache when it was read in the last ``SOURCE_CACHE_TTL_S`` seconds."""
        doc = self._cache.get(source_id)
        if doc is None:
            doc = await self.get(source_id)
            if doc is not None:
                self._cache[source_id] = doc
        return doc

    async def ensure_indexes(self) -> None:
        await self.sources.create_index([("name", ASCENDING)], unique=True)
        await self.sources.create_index([("kind", ASCENDING), ("next_poll_at", ASCENDING)])
        await SourceLeases(self.sources.database).ensure_indexes()

    async def create(self, doc: Doc) -> Doc:
        """Stores a new source; :class:`NameTaken` when another source has its name."""
        doc = with_due_tick(doc)
        try:
            await self.sources.insert_one(doc)
        except DuplicateKeyError:
            raise NameTaken(doc["name"]) from None
        return doc

    async def get(self, source_id: str) -> Doc | None:
        return await self.sources.find_one({"_id": source_id})

    async def by_name(self, name: str) -> Doc | None:
        return await self.sources.find_one({"name": name})

    async def all(self) -> list[Doc]:
        return await self.sources.find({}).sort("created_at", ASCENDING).to_list()

    async def update(self, source_id: str, changes: Doc) -> Doc | None:
        """The source after the change (None if gone); :class:`NameTaken` when the new name is another's."""
        self._cache.pop(source_id, None)
        try:
            return await self.sources.find_one_and_update(
                {"_id": source_id}, {"$set": with_due_tick(changes)}, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:
            raise NameTaken(str(changes.get("name"))) from None

    async def delete(self, source_id: str) -> bool:
        self._cache.pop(source_id, None)
        return (await self.sources.delete_one({"_id": source_id})).deleted_count == 1


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

    async def claim_due(self, *, owner: str, limit: int, lease_s: float, now: datetime) -> list[Doc]:
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
            won.append({**source, **lease, "due_at": source.get("next_poll_at")})
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
        return won

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

    async def finish(self, source_id: str, *, owner: str, fields: Doc, added: dict[str, int], now: datetime) -> None:
        """Records a poll's outcome (``fields`` set, ``added`` counted up) and ends this owner's lease now."""
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


class HubSubscriptions:
    """``websub_subscriptions``: one record per feed source subscribed to a WebSub hub (docs/compat.md)."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.subs = db["websub_subscriptions"]

    async def get(self, source_id: str) -> Doc | None:
        return await self.subs.find_one({"_id": source_id})

    async def save(self, source_id: str, fields: Doc) -> None:
        """Creates or updates the source's subscription record with ``fields``."""
        await self.subs.update_one({"_id": source_id}, {"$set": fields}, upsert=True)

    async def activate(self, source_id: str, lease_until: datetime) -> None:
        """The hub confirmed: the subscription is active until ``lease_until``."""
        await self.subs.update_one({"_id": source_id}, {"$set": {"state": "active", "lease_until": lease_until}})


def database(client: AsyncMongoClient[Doc], name: str) -> AsyncDatabase[Doc]:
    return client[name]
