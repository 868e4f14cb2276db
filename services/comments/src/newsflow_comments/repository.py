"""MongoDB access: the collections of ``newsflow_comments``, written only with replica-safe patterns.

    comments       one document per comment: its current state (``version``) and its posted event
    revisions      one record per change of a comment after posting: {_id: "<comment>:<version>", set, event}
    published      {_id: event id}: events the worker has handed to Kafka
    article_refs   projection of articles.v1: {_id, status, version}
    votes          {_id: "<comment>:<voter>", comment_id, value, at}: one per voter, replaced on a change
    marks          per-client records, insert-only: ``ban:<fp>``, ``known:<fp>``, post claims
                   (duplicate window / Idempotency-Key) and rate-limit hits, the last two with ``expires_at``
    settings       {_id: "policy", ...} and the worker's scan positions

FerretDB 1.x (the local MongoDB-wire server) applies every update as read-modify-write without
isolation: two concurrent updates of one document can lose one, whatever fields they touch, and a
``version``-filtered update can succeed twice. Inserts guarded by a unique index are atomic on it
and on MongoDB. So every write here is one of:

- an insert whose ``_id`` is the claim (a comment, a revision, a mark, a published marker);
- a write to a comment by whoever inserted the revision record ``<comment>:<version>`` first: one
  writer per version, so writes to one comment never overlap (the revision holds the fields, so a
  change whose writer died is rolled forward by the worker);
- a replace of a document only its own voter writes (a vote), or of a single-writer document
  (the worker's positions, the policy).

Scores are folded from the votes by the single worker; counts and visibility are computed on read.

Comments, revisions and votes carry ``tick``, the minute of their time (:func:`tick_of`), so that the
worker's "changed since" reads are equality matches, which FerretDB answers from an index (a range
it answers by reading the whole collection); see :meth:`Store.changed_since`.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pymongo
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.database import Database
from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError, PyMongoError

from newsflow_contracts import ArticleData, CommentData
from newsflow_kit.mongo import bulk_write_sync, equality_only, find_in

Doc = dict[str, Any]
_DUPLICATE_KEY = 11000
SHOWN_STATUSES = ["visible", "removed"]
TICK_S = 60  # the width of a ``tick``
MAX_TICKS = 24 * 60  # further back than this, a "changed since" read is one range query instead
TICKS_AT_ONCE = 16


def tick_of(at: datetime) -> int:
    """The ``tick`` of a record written at ``at``: its minute since the epoch."""
    return int(at.timestamp() // TICK_S)


StoreUnavailable = ConnectionFailure  # the store does not answer (the api maps it to 503)


class StoreBusy(Exception):
    """The store did not answer within the deadline of :func:`deadline`."""


@asynccontextmanager
async def deadline(seconds: float) -> AsyncIterator[None]:
    """Every store command inside shares one deadline; running out raises :class:`StoreBusy`."""
    try:
        with pymongo.timeout(seconds):
            yield
    except PyMongoError as exc:
        if not exc.timeout:
            raise
        raise StoreBusy(str(exc)) from exc


Order = list[tuple[str, int]]
# The sort keys of each kind of page (the last key is unique, so a cursor names one position).
ORDERS: dict[str, Order] = {
    "oldest": [("created_at", ASCENDING), ("_id", ASCENDING)],
    "newest": [("created_at", DESCENDING), ("_id", DESCENDING)],
    "top": [("score", DESCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)],
    "queue": [("created_at", ASCENDING), ("_id", ASCENDING)],
}


def keyset_after(order: Order, keys: list[Any]) -> list[Doc]:
    """The keyset condition "strictly after ``keys`` in ``order``" as a list of ``$or`` branches."""
    branches = []
    for i, (field, direction) in enumerate(order):
        branch: Doc = {f: keys[j] for j, (f, _) in enumerate(order[:i])}
        branch[field] = {"$gt" if direction == ASCENDING else "$lt": keys[i]}
        branches.append(branch)
    return branches


def comment_of(doc: Doc) -> CommentData:
    """The one mapping of a stored comment document (its secrets stay behind)."""
    return CommentData(
        id=doc["_id"],
        article_id=doc["article_id"],
        parent_id=doc.get("parent_id"),
        depth=doc["depth"],
        author_name=doc["author_name"],
        body=doc["body"],
        status=doc["status"],
        version=doc["version"],
        score=doc.get("score", 0),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
    )


def revision_id(comment_id: str, version: int) -> str:
    return f"{comment_id}:{version}"


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

    async def comment(self, comment_id: str) -> Doc | None:
        return await self.comments.find_one({"_id": comment_id})

    async def insert(self, doc: Doc) -> bool:
        """False when a comment with this id exists already (a concurrent twin of the post won)."""
        return await _claim(self.comments, doc)

    async def claim_revision(self, record: Doc) -> bool:
        """Inserts the revision record ``<comment>:<version>``; False when another writer holds that version."""
        return await _claim(self.revisions, record)

    async def apply_revision(self, record: Doc) -> bool:
        """Writes a claimed revision's fields onto the comment (only its claimant or the worker call this)."""
        result = await self.comments.update_one(
            {"_id": record["comment_id"], "version": record["version"] - 1},
            {"$set": {**record["set"], "version": record["version"]}},
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

    async def posted_since(self, since: datetime, limit: int, *, now: datetime, scan: bool = False) -> list[Doc]:
        projection = {"posted": 1, "article_id": 1, "created_at": 1}
        return await self.changed_since(
            self.comments, "created_at", since, limit, now=now, projection=projection, scan=scan
        )

    async def revisions_since(self, since: datetime, limit: int, *, now: datetime, scan: bool = False) -> list[Doc]:
        return await self.changed_since(self.revisions, "at", since, limit, now=now, scan=scan)

    async def changed_since(
        self,
        collection: AsyncCollection[Doc],
        field: str,
        since: datetime,
        limit: int,
        *,
        now: datetime,
        projection: Doc | None = None,
        scan: bool = False,
    ) -> list[Doc]:
        """The first ``limit`` records whose ``field`` is at or after ``since``, in (``field``, ``_id``) order.

        On FerretDB, tick by tick from ``since``'s to the minute after ``now``'s (a writer's clock may
        run a little ahead), each an indexed equality match; one range query on MongoDB, when asked to
        ``scan`` (the worker's first pass, which also finds records older than their ``tick``) or
        when ``since`` is more than ``MAX_TICKS`` back.
        """
        order = [(field, ASCENDING), ("_id", ASCENDING)]
        first, last = tick_of(since), tick_of(max(now, datetime.now(UTC))) + 1
        if scan or last - first > MAX_TICKS or not await equality_only(self.db.client):
            return await collection.find({field: {"$gte": since}}, projection).sort(order).limit(limit).to_list()
        found: list[Doc] = []
        for start in range(first, last + 1, TICKS_AT_ONCE):
            ticks = range(start, min(start + TICKS_AT_ONCE, last + 1))
            found += [
                doc for doc in await find_in(collection, "tick", ticks, projection=projection) if doc[field] >= since
            ]
            if len(found) >= limit:
                break
        found.sort(key=lambda doc: (doc[field], doc["_id"]))
        return found[:limit]

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
            if any(e.get("code") != _DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
                raise

    async def voted_since(self, since: datetime, limit: int, *, now: datetime, scan: bool = False) -> list[Doc]:
        projection = {"comment_id": 1, "at": 1}
        return await self.changed_since(self.votes, "at", since, limit, now=now, projection=projection, scan=scan)

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

    async def article_ref(self, article_id: str) -> Doc | None:
        return await self.article_refs.find_one({"_id": article_id})

    async def set_vote(self, comment_id: str, voter: str, value: int, at: datetime) -> None:
        """The voter's vote, replaced as a whole: only this voter writes this document."""
        doc = {"_id": f"{comment_id}:{voter}", "comment_id": comment_id, "value": value, "at": at, "tick": tick_of(at)}
        for _ in range(3):
            try:
                await self.votes.replace_one({"_id": doc["_id"]}, doc, upsert=True)
                return
            except DuplicateKeyError:  # a concurrent first vote of this voter inserted it: replace again
                continue

    async def vote_sum(self, comment_id: str) -> int:
        return (await self.vote_sums([comment_id])).get(comment_id, 0)

    # -- per-client marks: bans, known authors, post claims, rate-limit hits ----------------------

    async def claim_post(self, records: list[Doc]) -> bool:
        """Inserts the post claim, then its rate-limit hit and other marks, in order, in one command.

        False when the claim (the first record) exists: an identical post or a retry with the same
        key; nothing else is inserted then. A later duplicate (``known:`` held already) is fine.
        """
        try:
            await self.marks.insert_many(records, ordered=True)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != _DUPLICATE_KEY for e in errors):
                raise
            return not any(e.get("index") == 0 for e in errors)
        return True

    async def release_post(self, claim_id: str, comment_id: str) -> None:
        """A refused post gives its claim back, so that a retry is a new attempt."""
        await self.marks.delete_one({"_id": claim_id, "comment_id": comment_id})

    async def client_marks(self, fingerprint: str, address: str, since: datetime, limit: int) -> list[Doc]:
        """Ban and known marks of ``fingerprint``, then its or ``address``'s newest hits: ``limit`` marks at most.

        One ``$or`` of the two lookups (by fingerprint, by address) on MongoDB; on FerretDB, which
        answers ``$or`` by a collection scan, the two are sent at once as equality lookups.
        """
        lookups: list[Doc] = [{"fp": fingerprint}, {"addr": address, "kind": "hit"}]
        if await equality_only(self.db.client):
            parts = await asyncio.gather(*(self.marks.find(lookup).to_list() for lookup in lookups))
        else:
            parts = [await self.marks.find({"$or": lookups}).to_list()]
        found = {m["_id"]: m for part in parts for m in part}
        standing = [m for m in found.values() if m.get("kind") in ("ban", "known")]
        hits = sorted(
            (m for m in found.values() if m.get("kind") == "hit" and m["at"] >= since),
            key=lambda m: m["at"],
            reverse=True,
        )
        return standing + hits[: max(limit - len(standing), 0)]

    async def banned(self, fingerprint: str) -> bool:
        return await self.marks.find_one({"_id": f"ban:{fingerprint}"}, {"_id": 1}) is not None

    async def ban(self, fingerprint: str, at: datetime) -> datetime:
        """Bans (insert-only); returns when the ban started (the first one when banned already)."""
        try:
            await self.marks.insert_one({"_id": f"ban:{fingerprint}", "kind": "ban", "fp": fingerprint, "at": at})
            return at
        except DuplicateKeyError:
            existing = await self.marks.find_one({"_id": f"ban:{fingerprint}"})
            return existing["at"] if existing else at

    async def mark_known(self, fingerprint: str, at: datetime) -> None:
        with contextlib.suppress(DuplicateKeyError):
            await self.marks.insert_one({"_id": f"known:{fingerprint}", "kind": "known", "fp": fingerprint, "at": at})

    async def clean_expired(self, now: datetime, history_before: datetime) -> None:
        """Drops expired claims and hits, and revisions and markers older than the worker ever rescans."""
        await self.marks.delete_many({"expires_at": {"$lt": now}})
        await self.revisions.delete_many({"at": {"$lt": history_before}})
        await self.published.delete_many({"at": {"$lt": history_before}})

    # -- policy --------------------------------------------------------------------------------

    async def policy(self) -> Doc | None:
        return await self.settings.find_one({"_id": "policy"}, {"_id": 0})

    async def save_policy(self, policy: Doc) -> None:
        """The whole policy at once: concurrent saves end with one of them, never a mix."""
        await self.settings.replace_one({"_id": "policy"}, {"_id": "policy", **policy}, upsert=True)

    # -- reading -------------------------------------------------------------------------------

    async def shown_roots(self, article_id: str, order: str, after: list[Any] | None, limit: int) -> list[Doc]:
        """Up to ``limit`` shown top-level comments of an article after the keys ``after`` in ``ORDERS[order]``."""
        query = {"article_id": article_id, "depth": 0, "status": {"$in": SHOWN_STATUSES}}
        return await self._page(query, ORDERS[order], after, limit)

    async def held(self, after: list[Any] | None, limit: int) -> list[Doc]:
        """Up to ``limit`` comments held for moderation, oldest first, after the keys ``after``."""
        return await self._page({"status": "pending"}, ORDERS["queue"], after, limit)

    async def _page(self, query: Doc, order: Order, after: list[Any] | None, limit: int) -> list[Doc]:
        if after is not None:
            query = {**query, "$or": keyset_after(order, after)}
        return await self.comments.find(query).sort(order).limit(limit).to_list()

    async def replies(self, article_id: str, root_ids: list[str]) -> list[Doc]:
        """The shown replies under these roots, oldest first (the article's equality match finds them on any server)."""
        query = {
            "article_id": article_id,
            "root_id": {"$in": root_ids},
            "depth": {"$gt": 0},
            "status": {"$in": SHOWN_STATUSES},
        }
        return await self.comments.find(query).sort([("created_at", ASCENDING), ("_id", ASCENDING)]).to_list()

    async def visible_counts(self, article_ids: list[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        shown = await find_in(
            self.comments, "article_id", article_ids, where={"status": "visible"}, projection={"article_id": 1}
        )
        for doc in shown:
            counts[doc["article_id"]] = counts.get(doc["article_id"], 0) + 1
        return counts


async def _claim(collection: AsyncCollection[Doc], doc: Doc) -> bool:
    """Inserts ``doc``; False when its ``_id`` is taken (the unique index makes one writer win)."""
    try:
        await collection.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True


class ArticleRefs:
    """``article_refs`` as the projection role writes it (synchronous: the consumer loop is a thread)."""

    def __init__(self, db: Database[Doc]) -> None:
        self.refs = db["article_refs"]

    def apply(self, articles: list[ArticleData]) -> None:
        """Records each article's {status, version}; an older or equal version never overwrites a newer one.

        New articles are inserted (a duplicate means we hold it already), known ones updated only from an
        older version. No upsert that collides: FerretDB answers such a bulk write with a reply pymongo
        cannot read, which would stall the projection on a replayed or reordered event.
        """
        latest: dict[str, ArticleData] = {}
        for a in articles:
            if a.id not in latest or a.version > latest[a.id].version:
                latest[a.id] = a
        if not latest:
            return
        docs = [{"_id": a.id, "status": a.status.value, "version": a.version} for a in latest.values()]
        try:
            self.refs.insert_many(docs, ordered=False)
            return
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != _DUPLICATE_KEY for e in errors):
                raise
            known = [docs[e["index"]] for e in errors]
        bulk_write_sync(
            self.refs,
            [
                UpdateOne(
                    {"_id": d["_id"], "version": {"$lt": d["version"]}},
                    {"$set": {k: d[k] for k in ("status", "version")}},
                )
                for d in known
            ],
            ordered=False,
        )
