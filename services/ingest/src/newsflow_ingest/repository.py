"""MongoDB storage of articles and sources (the system of record). Runs on MongoDB and FerretDB.

An article document is the latest version of the article plus its outbox state: ``bus`` is
``pending`` until Kafka acknowledged that version, then ``sent``; ``event_type`` says what the pending
change is. Every change takes the next ``seq`` from a counter (an atomic ``$inc``): the stable cursor
of ``GET /articles?since=``.
"""

import asyncio
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

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


def database(client: AsyncMongoClient[Doc], name: str) -> AsyncDatabase[Doc]:
    return client[name]
