"""MongoDB access: the collections of ``newsflow_comments`` and the few writes that need care.

    comments       one document per comment, its visibility, its pending events (``outbox``)
    article_refs   projection of articles.v1: {_id, status, version}
    votes          {_id: "<comment>:<voter>", value}
    authors        {_id: fingerprint, banned_at}
    post_keys      duplicate detection: {_id: hash of the post, comment_id, at}
    rate_counters  fixed-window counters {_id, count, expires_at} (cleaned in code: no TTL on FerretDB)
    settings       {_id: "policy", ...}

FerretDB has no transactions, so every change of a comment is one conditional single-document update
(optimistic on ``version``) that carries its own event in ``outbox``. Writes to one document are
serialised in this process (see ``locks.py``: FerretDB does not isolate concurrent updates).
"""

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from newsflow_comments.locks import KeyedLocks

Doc = dict[str, Any]


class Store:
    def __init__(self, client: AsyncMongoClient[Doc], database: str) -> None:
        self.db: AsyncDatabase[Doc] = client[database]
        self.comments: AsyncCollection[Doc] = self.db["comments"]
        self.article_refs: AsyncCollection[Doc] = self.db["article_refs"]
        self.votes: AsyncCollection[Doc] = self.db["votes"]
        self.authors: AsyncCollection[Doc] = self.db["authors"]
        self.post_keys: AsyncCollection[Doc] = self.db["post_keys"]
        self.rate_counters: AsyncCollection[Doc] = self.db["rate_counters"]
        self.settings: AsyncCollection[Doc] = self.db["settings"]
        self._locks = KeyedLocks()

    async def ensure_indexes(self) -> None:
        await self.comments.create_index([("article_id", ASCENDING), ("depth", ASCENDING), ("created_at", ASCENDING)])
        await self.comments.create_index([("article_id", ASCENDING), ("score", DESCENDING), ("created_at", ASCENDING)])
        await self.comments.create_index([("root_id", ASCENDING)])
        await self.comments.create_index([("article_id", ASCENDING), ("status", ASCENDING)])
        await self.comments.create_index([("status", ASCENDING), ("created_at", ASCENDING)])
        await self.comments.create_index([("bus", ASCENDING), ("bus_at", ASCENDING)])
        await self.comments.create_index([("fingerprint", ASCENDING), ("status", ASCENDING)])
        await self.rate_counters.create_index([("expires_at", ASCENDING)])
        await self.post_keys.create_index([("at", ASCENDING)])

    # -- comments ------------------------------------------------------------------------------

    async def comment(self, comment_id: str) -> Doc | None:
        return await self.comments.find_one({"_id": comment_id})

    async def insert(self, doc: Doc) -> bool:
        """False when a comment with this id exists already (a concurrent identical post won)."""
        try:
            await self.comments.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def change(self, doc: Doc, fields: Doc, *, outbox_entry: Doc) -> Doc | None:
        """Applies ``fields`` and queues the event if nobody changed the comment since ``doc`` was read."""
        version = outbox_entry["version"]
        async with self._locks.hold(doc["_id"]):
            return await self.comments.find_one_and_update(
                {"_id": doc["_id"], "version": doc["version"]},
                {
                    "$set": {
                        **fields,
                        "version": version,
                        "bus": "pending",
                        "bus_at": fields["updated_at"],
                        f"outbox.v{version}": outbox_entry,
                    }
                },
                return_document=ReturnDocument.AFTER,
            )

    async def add_score(self, comment_id: str, delta: int) -> Doc | None:
        return await self._inc(self.comments, comment_id, "score", delta)

    async def add_shown_children(self, comment_id: str, delta: int) -> Doc | None:
        return await self._inc(self.comments, comment_id, "shown_children", delta)

    async def _inc(self, collection: AsyncCollection[Doc], doc_id: str, field: str, delta: int) -> Doc | None:
        async with self._locks.hold(doc_id):
            return await collection.find_one_and_update(
                {"_id": doc_id}, {"$inc": {field: delta}}, return_document=ReturnDocument.AFTER
            )

    async def count_hit(self, counter_id: str, minute: str, expires_at: datetime) -> tuple[int, int]:
        """Adds one to a rate counter's hour and to one of its minutes; returns both counts."""
        async with self._locks.hold(counter_id):
            counter = await self.rate_counters.find_one_and_update(
                {"_id": counter_id},
                {"$inc": {"count": 1, minute: 1}, "$setOnInsert": {"expires_at": expires_at}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        return (int(counter["count"]), int(counter[minute])) if counter else (1, 1)

    async def set_shown(self, comment_id: str, shown: bool) -> bool:
        """Flips ``shown`` only if it still follows from the state (safe against concurrent flips)."""
        if shown:
            cond: Doc = {"shown": False, "$or": [{"status": "visible"}, {"shown_children": {"$gt": 0}}]}
        else:
            cond = {"shown": True, "status": {"$ne": "visible"}, "shown_children": {"$lte": 0}}
        async with self._locks.hold(comment_id):
            result = await self.comments.update_one({"_id": comment_id, **cond}, {"$set": {"shown": shown}})
        return result.modified_count == 1

    async def sent(self, comment_id: str, version: int, *, last: bool) -> None:
        """Drops a delivered event from the outbox; the comment is ``sent`` once the outbox is empty.

        ``last``: the caller knows no other event was queued (one write when no change came since).
        """
        unset = {"$unset": {f"outbox.v{version}": ""}}
        async with self._locks.hold(comment_id):
            if last:
                done = await self.comments.update_one(
                    {"_id": comment_id, "version": version}, {**unset, "$set": {"bus": "sent"}}
                )
                if done.modified_count:
                    return
            await self.comments.update_one({"_id": comment_id}, unset)
            await self.comments.update_one(
                {"_id": comment_id, "bus": "pending", "outbox": {}}, {"$set": {"bus": "sent"}}
            )

    def pending_events(self, before: datetime, limit: int) -> Any:
        return self.comments.find({"bus": "pending", "bus_at": {"$lt": before}}, {"outbox": 1, "article_id": 1}).limit(
            limit
        )

    # -- articles, authors, votes --------------------------------------------------------------

    async def article_ref(self, article_id: str) -> Doc | None:
        return await self.article_refs.find_one({"_id": article_id})

    async def author(self, fingerprint: str) -> Doc | None:
        return await self.authors.find_one({"_id": fingerprint})

    async def has_visible_comment(self, fingerprint: str) -> bool:
        """A known author: one of their comments is visible (posted so, or approved)."""
        return await self.comments.find_one({"fingerprint": fingerprint, "status": "visible"}, {"_id": 1}) is not None

    async def ban(self, fingerprint: str, at: datetime) -> None:
        async with self._locks.hold(fingerprint):
            await self.authors.update_one({"_id": fingerprint}, {"$set": {"banned_at": at}}, upsert=True)

    async def set_vote(self, comment_id: str, voter: str, value: int) -> int:
        """Records the vote; returns the previous value (0 when new)."""
        vote_id = f"{comment_id}:{voter}"
        async with self._locks.hold(vote_id):
            before = await self.votes.find_one_and_update(
                {"_id": vote_id},
                {"$set": {"comment_id": comment_id, "value": value}},
                upsert=True,
                return_document=ReturnDocument.BEFORE,
            )
        return int(before["value"]) if before else 0

    # -- duplicate posts -----------------------------------------------------------------------

    async def claim_post_key(self, key: str, comment_id: str, now: datetime, stale_before: datetime) -> str | None:
        """Claims ``key`` for ``comment_id``: None when claimed, else the comment id of a fresh earlier claim."""
        try:
            await self.post_keys.insert_one({"_id": key, "comment_id": comment_id, "at": now})
            return None
        except DuplicateKeyError:
            pass
        taken = await self.post_keys.find_one_and_update(
            {"_id": key, "at": {"$lt": stale_before}},
            {"$set": {"comment_id": comment_id, "at": now}},
            return_document=ReturnDocument.AFTER,
        )
        if taken is not None:
            return None
        current = await self.post_keys.find_one({"_id": key})
        return str(current["comment_id"]) if current else None

    async def release_post_key(self, key: str, comment_id: str) -> None:
        await self.post_keys.delete_one({"_id": key, "comment_id": comment_id})

    async def clean_expired(self, now: datetime, post_keys_before: datetime) -> None:
        await self.rate_counters.delete_many({"expires_at": {"$lt": now}})
        await self.post_keys.delete_many({"at": {"$lt": post_keys_before}})

    # -- policy --------------------------------------------------------------------------------

    async def policy(self) -> Doc | None:
        return await self.settings.find_one({"_id": "policy"}, {"_id": 0})

    async def save_policy(self, policy: Doc) -> None:
        await self.settings.replace_one({"_id": "policy"}, {"_id": "policy", **policy}, upsert=True)

    # -- reading -------------------------------------------------------------------------------

    async def find(self, query: Doc, order: list[tuple[str, int]], limit: int) -> list[Doc]:
        return await self.comments.find(query).sort(order).limit(limit).to_list()

    async def replies(self, root_ids: list[str]) -> list[Doc]:
        query = {"root_id": {"$in": root_ids}, "depth": {"$gt": 0}, "shown": True}
        return await self.comments.find(query).sort([("created_at", ASCENDING), ("_id", ASCENDING)]).to_list()

    async def visible_counts(self, article_ids: list[str]) -> dict[str, int]:
        pipeline: list[Doc] = [
            {"$match": {"article_id": {"$in": article_ids}, "status": "visible"}},
            {"$group": {"_id": "$article_id", "n": {"$sum": 1}}},
        ]
        return {row["_id"]: int(row["n"]) async for row in await self.comments.aggregate(pipeline)}
