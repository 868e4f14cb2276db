"""The comments' collections behind :class:`Store`: domain records in, domain records out."""

import asyncio
import contextlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from newsflow_comments.policy import Policy
from newsflow_comments.records import ArticleRef, Mark, QueuedEvent, Revision, StoredComment, Vote
from newsflow_comments.store.mappers import (
    Doc,
    article_ref_of,
    change_doc,
    comment_doc,
    comment_of,
    event_of,
    mark_doc,
    mark_of,
    policy_doc,
    policy_of,
    revision_doc,
    revision_of,
    vote_doc,
)
from newsflow_comments.store.queries import ORDERS, Order, changed_since, claim, keyset_after
from newsflow_kit.mongo import equality_only, find_in

DUPLICATE_KEY = 11000
SHOWN_STATUSES = ["visible", "removed"]


class Store:
    def __init__(self, client: AsyncMongoClient[Doc], database: str) -> None:
        self.db: AsyncDatabase[Doc] = client[database]
        self.comments: AsyncCollection[Doc] = self.db["comments"]
        self.revisions: AsyncCollection[Doc] = self.db["revisions"]
        self.published: AsyncCollection[Doc] = self.db["published"]
        self.article_refs: AsyncCollection[Doc] = self.db["article_refs"]
        self.votes: AsyncCollection[Doc] = self.db["votes"]
        self.marks: AsyncCollection[Doc] = self.db["marks"]
        self.settings: AsyncCollection[Doc] = self.db["settings"]

    async def ensure_indexes(self) -> None:
        await self.comments.create_index([("article_id", ASCENDING), ("depth", ASCENDING), ("created_at", ASCENDING)])
        await self.comments.create_index([("article_id", ASCENDING), ("score", DESCENDING), ("created_at", ASCENDING)])
        await self.comments.create_index([("root_id", ASCENDING)])
        await self.comments.create_index([("article_id", ASCENDING), ("status", ASCENDING)])
        await self.comments.create_index([("status", ASCENDING), ("created_at", ASCENDING)])
        await self.comments.create_index([("created_at", ASCENDING)])
        await self.comments.create_index([("fingerprint", ASCENDING), ("status", ASCENDING)])
        await self.comments.create_index([("tick", ASCENDING)])
        await self.revisions.create_index([("tick", ASCENDING)])
        await self.votes.create_index([("tick", ASCENDING)])
        await self.revisions.create_index([("at", ASCENDING)])
        await self.published.create_index([("at", ASCENDING)])
        await self.votes.create_index([("comment_id", ASCENDING)])
        await self.votes.create_index([("at", ASCENDING)])
        await self.marks.create_index([("fp", ASCENDING), ("at", ASCENDING)])
        await self.marks.create_index([("addr", ASCENDING), ("at", ASCENDING)])
        await self.marks.create_index([("expires_at", ASCENDING)])

    # -- comments ------------------------------------------------------------------------------

    async def comment(self, comment_id: str) -> StoredComment | None:
        doc = await self.comments.find_one({"_id": comment_id})
        return comment_of(doc) if doc is not None else None

    async def insert(self, comment: StoredComment, posted: QueuedEvent) -> bool:
        """False when a comment with this id exists already (a concurrent twin of the post won)."""
        return await claim(self.comments, comment_doc(comment, posted))

    async def claim_revision(self, revision: Revision) -> bool:
        """Inserts the revision record ``<comment>:<version>``; False when another writer holds that version."""
        return await claim(self.revisions, revision_doc(revision))

    async def apply_revision(self, revision: Revision) -> bool:
        """Writes a claimed revision's fields onto the comment (only its claimant or the worker call this)."""
        result = await self.comments.update_one(
            {"_id": revision.comment_id, "version": revision.version - 1},
            {"$set": {**change_doc(revision.change), "version": revision.version}},
        )
        return result.modified_count == 1

    async def versions(self, comment_ids: Iterable[str]) -> dict[str, int]:
        ids = sorted(set(comment_ids))
        if not ids:
            return {}
        return {
            d["_id"]: int(d["version"]) for d in await find_in(self.comments, "_id", ids, projection={"version": 1})
        }

    async def scores(self, comment_ids: list[str]) -> dict[str, tuple[int, int]]:
        """{comment id: (stored score, version)}."""
        found = await find_in(self.comments, "_id", comment_ids, projection={"score": 1, "version": 1})
        return {d["_id"]: (int(d.get("score", 0)), int(d["version"])) for d in found}

    # -- the worker's scans ----------------------------------------------------------------------

    async def posted_since(
        self, since: datetime, limit: int, *, now: datetime, scan: bool = False, until: datetime | None = None
    ) -> list[tuple[datetime, QueuedEvent | None]]:
        """Comments posted at or after ``since`` (before ``until``): (when, its comment.posted event), oldest first."""
        projection = {"posted": 1, "article_id": 1, "created_at": 1}
        docs = await changed_since(
            self.comments, "created_at", since, limit, now=now, projection=projection, scan=scan, until=until
        )
        return [(d["created_at"], event_of(d["posted"]) if d.get("posted") else None) for d in docs]

    async def revisions_since(
        self, since: datetime, limit: int, *, now: datetime, scan: bool = False, until: datetime | None = None
    ) -> list[Revision]:
        docs = await changed_since(self.revisions, "at", since, limit, now=now, scan=scan, until=until)
        return [revision_of(d) for d in docs]

    async def voted_since(
        self, since: datetime, limit: int, *, now: datetime, scan: bool = False, until: datetime | None = None
    ) -> list[tuple[str, datetime]]:
        """(comment id, when) of the votes cast or changed at or after ``since`` (before ``until``), oldest first."""
        projection = {"comment_id": 1, "at": 1}
        docs = await changed_since(
            self.votes, "at", since, limit, now=now, projection=projection, scan=scan, until=until
        )
        return [(d["comment_id"], d["at"]) for d in docs]

    async def published_of(self, event_ids: list[str]) -> set[str]:
        if not event_ids:
            return set()
        return {d["_id"] for d in await find_in(self.published, "_id", event_ids, projection={"_id": 1})}

    async def mark_published(self, event_ids: list[str], at: datetime) -> None:
        if not event_ids:
            return
        try:
            await self.published.insert_many([{"_id": e, "at": at} for e in event_ids], ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
                raise

    async def vote_sums(self, comment_ids: list[str]) -> dict[str, int]:
        sums: dict[str, int] = {}
        for vote in await find_in(self.votes, "comment_id", comment_ids, projection={"comment_id": 1, "value": 1}):
            sums[vote["comment_id"]] = sums.get(vote["comment_id"], 0) + int(vote["value"])
        return sums

    async def position(self, name: str) -> datetime | None:
        doc = await self.settings.find_one({"_id": f"worker:{name}"})
        return doc["at"] if doc else None

    async def save_position(self, name: str, at: datetime) -> None:
        """Only the worker writes its positions (one writer: a plain replace is safe)."""
        await self.settings.replace_one({"_id": f"worker:{name}"}, {"_id": f"worker:{name}", "at": at}, upsert=True)

    # -- articles, votes --------------------------------------------------------------------------

    async def article_ref(self, article_id: str) -> ArticleRef | None:
        doc = await self.article_refs.find_one({"_id": article_id})
        return article_ref_of(doc) if doc is not None else None

    async def set_vote(self, comment_id: str, voter: str, value: int, at: datetime) -> None:
        """The voter's vote, replaced as a whole: only this voter writes this document."""
        doc = vote_doc(Vote(id=f"{comment_id}:{voter}", comment_id=comment_id, value=value, at=at))
        for _ in range(3):
            try:
                await self.votes.replace_one({"_id": doc["_id"]}, doc, upsert=True)
                return
            except DuplicateKeyError:  # a concurrent first vote of this voter inserted it: replace again
                continue

    async def vote_sum(self, comment_id: str) -> int:
        return (await self.vote_sums([comment_id])).get(comment_id, 0)

    # -- per-client marks: bans, known authors, post claims, rate-limit hits ----------------------

    async def claim_post(self, marks: list[Mark]) -> bool:
        """Inserts the post claim, then its rate-limit hit, in order, in one command.

        False when the claim (the first mark) exists: an identical post or a retry with the same
        key; nothing else is inserted then.
        """
        try:
            await self.marks.insert_many([mark_doc(m) for m in marks], ordered=True)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            return not any(e.get("index") == 0 for e in errors)
        return True

    async def release_post(self, claim_id: str, comment_id: str) -> None:
        """A refused post gives its claim back, so that a retry is a new attempt."""
        await self.marks.delete_one({"_id": claim_id, "comment_id": comment_id})

    async def client_marks(self, fingerprint: str, address: str, since: datetime, limit: int) -> list[Mark]:
        """Ban and known marks of ``fingerprint``, then its or ``address``'s newest hits: ``limit`` marks at most.

        One ``$or`` of the two lookups (by fingerprint, by address) on MongoDB; on FerretDB, which
        answers ``$or`` by a collection scan, the two are sent at once as equality lookups.
        """
        lookups: list[Doc] = [{"fp": fingerprint}, {"addr": address, "kind": "hit"}]
        if await equality_only(self.db.client):
            parts = await asyncio.gather(*(self.marks.find(lookup).to_list() for lookup in lookups))
        else:
            parts = [await self.marks.find({"$or": lookups}).to_list()]
        found = {m.id: m for part in parts for m in map(mark_of, part)}
        standing = [m for m in found.values() if m.kind in ("ban", "known")]
        hits = sorted(
            (m for m in found.values() if m.kind == "hit" and m.at >= since), key=lambda m: m.at, reverse=True
        )
        return standing + hits[: max(limit - len(standing), 0)]

    async def banned(self, fingerprint: str) -> bool:
        return await self.marks.find_one({"_id": f"ban:{fingerprint}"}, {"_id": 1}) is not None

    async def ban(self, fingerprint: str, at: datetime) -> datetime:
        """Bans (insert-only); returns when the ban started (the first one when banned already)."""
        try:
            await self.marks.insert_one(mark_doc(Mark.ban(fingerprint, at)))
            return at
        except DuplicateKeyError:
            existing = await self.marks.find_one({"_id": f"ban:{fingerprint}"})
            return existing["at"] if existing else at

    async def mark_known(self, fingerprint: str, at: datetime) -> None:
        with contextlib.suppress(DuplicateKeyError):
            await self.marks.insert_one(mark_doc(Mark.known(fingerprint, at)))

    async def clean_expired(self, now: datetime, history_before: datetime) -> None:
        """Drops expired claims and hits, and revisions and markers older than the worker ever rescans."""
        await self.marks.delete_many({"expires_at": {"$lt": now}})
        await self.revisions.delete_many({"at": {"$lt": history_before}})
        await self.published.delete_many({"at": {"$lt": history_before}})

    # -- policy --------------------------------------------------------------------------------

    async def policy(self) -> Policy | None:
        doc = await self.settings.find_one({"_id": "policy"}, {"_id": 0})
        return policy_of(doc) if doc is not None else None

    async def save_policy(self, policy: Policy) -> None:
        """The whole policy at once: concurrent saves end with one of them, never a mix."""
        await self.settings.replace_one({"_id": "policy"}, policy_doc(policy), upsert=True)

    # -- reading -------------------------------------------------------------------------------

    async def shown_roots(
        self, article_id: str, order: str, after: list[Any] | None, limit: int
    ) -> list[StoredComment]:
        """Up to ``limit`` shown top-level comments of an article after the keys ``after`` in ``ORDERS[order]``."""
        query = {"article_id": article_id, "depth": 0, "status": {"$in": SHOWN_STATUSES}}
        return await self._page(query, ORDERS[order], after, limit)

    async def held(self, after: list[Any] | None, limit: int) -> list[StoredComment]:
        """Up to ``limit`` comments held for moderation, oldest first, after the keys ``after``."""
        return await self._page({"status": "pending"}, ORDERS["queue"], after, limit)

    async def _page(self, query: Doc, order: Order, after: list[Any] | None, limit: int) -> list[StoredComment]:
        if after is not None:
            query = {**query, "$or": keyset_after(order, after)}
        return [comment_of(d) for d in await self.comments.find(query).sort(order).limit(limit).to_list()]

    async def replies(self, article_id: str, root_ids: list[str]) -> list[StoredComment]:
        """The shown replies under these roots, oldest first (the article's equality match finds them on any server)."""
        query = {
            "article_id": article_id,
            "root_id": {"$in": root_ids},
            "depth": {"$gt": 0},
            "status": {"$in": SHOWN_STATUSES},
        }
        order = [("created_at", ASCENDING), ("_id", ASCENDING)]
        return [comment_of(d) for d in await self.comments.find(query).sort(order).to_list()]

    async def visible_counts(self, article_ids: list[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        shown = await find_in(
            self.comments, "article_id", article_ids, where={"status": "visible"}, projection={"article_id": 1}
        )
        for doc in shown:
            counts[doc["article_id"]] = counts.get(doc["article_id"], 0) + 1
        return counts
