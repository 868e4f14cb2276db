"""MongoDB storage of articles and sources (the system of record). Runs on MongoDB and FerretDB.

An article document is the latest version of the article plus its outbox state: ``bus`` is
``pending`` until Kafka acknowledged that version, then ``sent``; ``event_type`` says what the pending
change is. Every change takes the next ``seq`` from a counter (an atomic ``$inc``): the stable cursor
of ``GET /articles?since=``.
"""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from newsflow_contracts import EventType

Doc = dict[str, Any]


class ArticlesRepo:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.articles = db["articles"]
        self.counters = db["counters"]
        self._seq_lock = asyncio.Lock()

    async def ensure_indexes(self) -> None:
        await self.articles.create_index([("seq", ASCENDING)], unique=True)
        await self.articles.create_index([("bus", ASCENDING), ("seq", ASCENDING)])
        await self.articles.create_index([("source_id", ASCENDING), ("seq", ASCENDING)])

    async def next_seq(self) -> int:
        """The next change sequence number. Unique by index: a value two writers got is retried.

        One ``$inc`` at a time per process: FerretDB's is not atomic across connections, so
        concurrent writes of one batch would otherwise keep taking the same number.
        """
        for _ in range(10):
            try:
                async with self._seq_lock:
                    doc = await self.counters.find_one_and_update(
                        {"_id": "articles"}, {"$inc": {"seq": 1}}, upsert=True, return_document=ReturnDocument.AFTER
                    )
            except DuplicateKeyError:  # two first-ever upserts raced
                continue
            assert doc is not None
            return int(doc["seq"])
        raise RuntimeError("could not take a sequence number")

    async def get(self, article_id: str) -> Doc | None:
        return await self.articles.find_one({"_id": article_id})

    async def save(self, fields: Doc) -> tuple[Doc, EventType | None]:
        """Stores a new version when the content changed; returns the document and the event, if any.

        Optimistic concurrency: an update applies only to the version it was computed from, and an
        insert that loses a race becomes an update, so concurrent pushes of one article never lose a
        version or skip one.
        """
        for _ in range(10):
            existing = await self.get(fields["_id"])
            if existing and existing["content_hash"] == fields["content_hash"] and existing["status"] == "published":
                return existing, None
            now = datetime.now(UTC)
            seq = await self.next_seq()
            change = {**fields, "seq": seq, "status": "published", "bus": "pending", "changed_at": now}
            if existing is None:
                doc = {**change, "version": 1, "event_type": EventType.ARTICLE_PUBLISHED.value}
                try:
                    await self.articles.insert_one(doc)
                    return doc, EventType.ARTICLE_PUBLISHED
                except DuplicateKeyError:
                    continue
            version = int(existing["version"]) + 1
            change |= {
                "version": version,
                "event_type": EventType.ARTICLE_UPDATED.value,
                "published_at": existing["published_at"],
            }
            try:
                done = await self.articles.find_one_and_update(
                    {"_id": fields["_id"], "version": existing["version"]},
                    {"$set": change},
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:  # a seq two writers took (FerretDB's $inc is not atomic): retry
                continue
            if done is not None:
                return done, EventType.ARTICLE_UPDATED
        raise RuntimeError(f"article {fields['_id']}: too much write contention")

    async def insert_new(self, fields: list[Doc]) -> tuple[list[Doc], list[Doc]]:
        """Stores as version 1, in bulk, those of the articles (distinct ids) that do not exist yet.

        One read of the ids, one ``$inc`` that takes a whole range of ``seq`` numbers, one unordered
        ``insert_many``: a first import costs three round trips per batch instead of three per item.
        Returns the inserted documents and the fields left for ``save`` (existing articles, and any
        insert the unique indexes refused, e.g. a ``seq`` another process took: FerretDB's ``$inc`` is
        not atomic across connections).
        """
        if not fields:
            return [], []
        existing = {
            d["_id"]
            for d in await self.articles.find({"_id": {"$in": [f["_id"] for f in fields]}}, {"_id": 1}).to_list()
        }
        new = [f for f in fields if f["_id"] not in existing]
        rest = [f for f in fields if f["_id"] in existing]
        if not new:
            return [], rest
        try:
            async with self._seq_lock:
                counter = await self.counters.find_one_and_update(
                    {"_id": "articles"}, {"$inc": {"seq": len(new)}}, upsert=True, return_document=ReturnDocument.AFTER
                )
        except DuplicateKeyError:  # two first-ever upserts raced: the one-by-one path copes
            return [], fields
        assert counter is not None
        first, now = int(counter["seq"]) - len(new) + 1, datetime.now(UTC)
        docs = [
            {
                **f,
                "seq": first + i,
                "status": "published",
                "bus": "pending",
                "changed_at": now,
                "version": 1,
                "event_type": EventType.ARTICLE_PUBLISHED.value,
            }
            for i, f in enumerate(new)
        ]
        refused: set[int] = set()
        try:
            await self.articles.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            refused = {int(e["index"]) for e in exc.details.get("writeErrors", [])}
        return [d for i, d in enumerate(docs) if i not in refused], rest + [new[i] for i in sorted(refused)]

    async def retract(self, article_id: str) -> Doc | None:
        """Marks the article retracted as a new version (idempotent); None when unknown."""
        for _ in range(10):
            existing = await self.get(article_id)
            if existing is None:
                return None
            if existing["status"] == "retracted":
                return existing
            change = {
                "status": "retracted",
                "version": int(existing["version"]) + 1,
                "seq": await self.next_seq(),
                "bus": "pending",
                "event_type": EventType.ARTICLE_RETRACTED.value,
                "changed_at": datetime.now(UTC),
                "updated_at": datetime.now(UTC),
            }
            try:
                done = await self.articles.find_one_and_update(
                    {"_id": article_id, "version": existing["version"]},
                    {"$set": change},
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:  # a seq two writers took (FerretDB's $inc is not atomic): retry
                continue
            if done is not None:
                return done
        raise RuntimeError(f"article {article_id}: too much write contention")

    async def mark_sent_many(self, versions: list[tuple[str, int]]) -> None:
        """Flips the given (article id, version) changes to ``sent``; a newer version stays pending."""
        if versions:
            await self.articles.bulk_write(
                [
                    UpdateOne({"_id": article_id, "version": version, "bus": "pending"}, {"$set": {"bus": "sent"}})
                    for article_id, version in versions
                ],
                ordered=False,
            )

    async def since(self, seq: int, *, source: str | None, tag: str | None, lang: str | None, limit: int) -> list[Doc]:
        query: Doc = {"seq": {"$gt": seq}}
        if source:
            query["source_id"] = source
        if tag:
            query["tags"] = tag
        if lang:
            query["language"] = lang
        return await self.articles.find(query).sort("seq", ASCENDING).limit(limit).to_list()


class SourcesRepo:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.sources = db["sources"]

    async def ensure_indexes(self) -> None:
        await self.sources.create_index([("name", ASCENDING)], unique=True)
        await self.sources.create_index([("kind", ASCENDING), ("next_poll_at", ASCENDING)])

    async def create(self, doc: Doc) -> Doc:
        await self.sources.insert_one(doc)
        return doc

    async def get(self, source_id: str) -> Doc | None:
        return await self.sources.find_one({"_id": source_id})

    async def by_name(self, name: str) -> Doc | None:
        return await self.sources.find_one({"name": name})

    async def all(self) -> list[Doc]:
        return await self.sources.find({}).sort("created_at", ASCENDING).to_list()

    async def update(self, source_id: str, changes: Doc) -> Doc | None:
        return await self.sources.find_one_and_update(
            {"_id": source_id}, {"$set": changes}, return_document=ReturnDocument.AFTER
        )

    async def delete(self, source_id: str) -> bool:
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
    """

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.sources = db["sources"]
        self.claims = db["poll_claims"]

    async def claim_due(self, *, owner: str, limit: int, lease_s: float, now: datetime) -> list[Doc]:
        due = await (
            self.sources.find(
                {"kind": "feed", "paused": False, "next_poll_at": {"$lte": now}, "lease_until": {"$lte": now}}
            )
            .sort("next_poll_at", ASCENDING)
            .limit(limit)
            .to_list()
        )
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
            await self.sources.bulk_write(
                [
                    UpdateOne(
                        {"_id": s["_id"]},
                        {"$set": {k: s[k] for k in ("lease_epoch", "lease_owner", "lease_until", "next_poll_at")}},
                    )
                    for s in won
                ],
                ordered=False,
            )
        return won

    async def renew(self, source_ids: list[str], *, owner: str, lease_s: float) -> None:
        """Moves the end of this owner's leases on (a source another poller took over is left alone)."""
        if source_ids:
            until = datetime.now(UTC) + timedelta(seconds=lease_s)
            await self.sources.update_many(
                {"_id": {"$in": source_ids}, "lease_owner": owner},
                {"$set": {"lease_until": until, "next_poll_at": until}},
            )

    async def release(self, source_ids: list[str], *, owner: str) -> None:
        """Gives back leases that were claimed but not worked on (a poller stopping): due again now."""
        if source_ids:
            now = datetime.now(UTC)
            await self.sources.update_many(
                {"_id": {"$in": source_ids}, "lease_owner": owner},
                {"$set": {"lease_until": now, "next_poll_at": now}},
            )

    async def finish(self, source_id: str, *, owner: str, update: Doc) -> None:
        """Records a poll's outcome and ends the lease, unless the lease was lost meanwhile."""
        await self.sources.update_one({"_id": source_id, "lease_owner": owner}, update)

    async def prune_claims(self) -> None:
        """Claims only matter while a lease can still be contended; a day later they are history."""
        await self.claims.delete_many({"at": {"$lt": datetime.now(UTC) - timedelta(days=1)}})


def database(client: AsyncMongoClient[Doc], name: str) -> AsyncDatabase[Doc]:
    return client[name]
