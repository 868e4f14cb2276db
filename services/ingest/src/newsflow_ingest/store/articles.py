"""The change log of articles, ``article_versions``: one document per version (see the package's doc)."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from newsflow_ingest.records import ArticleVersion
from newsflow_ingest.store.mappers import BUCKET, Doc, version_doc, version_of
from newsflow_kit.mongo import bulk_write, find_in

SEQ_COUNTER = "article_seq"  # a lower bound of the head, moved at bucket boundaries: where a walk starts
SCAN_LIMIT = 2_000  # changes one page read looks at when a filter matches few of them
DUPLICATE_KEY = 11000
WALK_BEFORE_JUMP = 3  # taken seqs stepped over one at a time before looking the head up
# FerretDB 1.24 splits a larger insert into batches of 100 and, when one fails, reports as inserted
# only what that batch inserted: an insert of 250 that met a taken seq in its second batch answered
# nInserted 1 with 101 stored, and the stored ones came round again as "unchanged" (test_concurrent_
# batches.py). An insert of at most one such batch keeps nInserted true.
INSERT_CHUNK = 100


class VersionTaken(Exception):
    """Another writer stored this version of the article first: re-read and decide again.

    ``stored`` are the versions of the same call stored before it (committed; publish them).
    """

    def __init__(self, article_id: str, stored: list[ArticleVersion]) -> None:
        super().__init__(f"article {article_id}: version taken by another writer")
        self.article_id, self.stored = article_id, stored


@dataclass(frozen=True)
class ChangePage:
    """Changes after a cursor: the matches, the last position looked at, and whether more may follow."""

    items: list[ArticleVersion]
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

    async def latest(self, article_id: str) -> ArticleVersion | None:
        """The newest version of an article (one command)."""
        docs = await self.versions.find({"article_id": article_id}).sort("version", DESCENDING).limit(1).to_list()
        return version_of(docs[0]) if docs else None

    async def latest_many(self, article_ids: Sequence[str]) -> dict[str, ArticleVersion]:
        """The newest version of each of these articles that exists (their versions, by index on either server)."""
        newest: dict[str, Doc] = {}
        for doc in await find_in(self.versions, "article_id", article_ids):
            held = newest.get(doc["article_id"])
            if held is None or doc["version"] > held["version"]:
                newest[doc["article_id"]] = doc
        return {article_id: version_of(doc) for article_id, doc in newest.items()}

    async def append(self, versions: list[ArticleVersion]) -> list[ArticleVersion]:
        """Stores new versions at the next positions of the change log, in order, in inserts of ``INSERT_CHUNK``.

        Returns the stored versions (with their ``seq``); it stops at the first version another
        writer took, so the caller re-reads that article and decides again.
        """
        if not versions:
            return []
        async with self._append_turn:
            return await self._append(versions)

    async def _append(self, versions: list[ArticleVersion]) -> list[ArticleVersion]:
        stored: list[ArticleVersion] = []
        walked = 0
        if not self._hint_known:
            self._hint, self._hint_known = await self.head(), True
        while len(stored) < len(versions):
            first = self._hint + 1
            chunk = [replace(v, seq=first + i) for i, v in enumerate(versions[len(stored) :][:INSERT_CHUNK])]
            batch = [version_doc(v) for v in chunk]
            try:
                await self.versions.insert_many(batch, ordered=True)
            except BulkWriteError as exc:
                inserted = int(exc.details.get("nInserted", 0))
                stored += chunk[:inserted]
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
            stored += chunk
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
        """Flips the given changes to ``sent`` (one equality update each, a few per command: see the kit).

        The filter is the ``_id`` alone. With ``bus: pending`` beside it, PostgreSQL planned from
        statistics taken while nothing was pending (the last ANALYZE after a quiet spell) and chose
        the ``bus`` index, so during a burst each update scanned every pending change: 9 ms a call
        instead of 0.15 ms, the ingest store's CPU doubled (docs/benchmarks.md, tenth session).
        Setting ``sent`` on a change already sent changes nothing."""
        if seqs:
            await bulk_write(
                self.versions,
                [UpdateOne({"_id": seq}, {"$set": {"bus": "sent"}}) for seq in seqs],
                ordered=False,
            )

    async def pending(self, changed_before: datetime, limit: int) -> list[ArticleVersion]:
        """Up to ``limit`` changes still ``pending`` that changed before the cutoff, in ``seq`` order."""
        docs = await (
            self.versions.find({"bus": "pending", "changed_at": {"$lte": changed_before}})
            .sort("seq", ASCENDING)
            .limit(limit)
            .to_list()
        )
        return [version_of(d) for d in docs]

    async def since(self, seq: int, *, source: str | None, tag: str | None, lang: str | None, limit: int) -> ChangePage:
        """Changes after ``seq`` matching the filters, in ``seq`` order, never past a position not yet committed."""
        items: list[ArticleVersion] = []
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
                    items.append(version_of(doc))
                    if len(items) == limit:
                        return ChangePage(items, position, more=True)
            if expected != (bucket + 1) * BUCKET:
                return ChangePage(items, expected - 1, more=False)
            if scanned >= SCAN_LIMIT:
                return ChangePage(items, expected - 1, more=True)
            bucket += 1


def _matches(doc: Doc, *, source: str | None, tag: str | None, lang: str | None) -> bool:
    return (
        (source is None or doc.get("source_id") == source)
        and (tag is None or tag in doc.get("tags", ()))
        and (lang is None or doc.get("language") == lang)
    )
