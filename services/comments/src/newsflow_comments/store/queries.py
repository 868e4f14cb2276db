"""The store's query pieces: page orders and keyset conditions, the command deadline, claims by insert."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pymongo
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import ConnectionFailure, DuplicateKeyError, PyMongoError

from newsflow_comments.records import StoredComment
from newsflow_comments.store.mappers import Doc, tick_of
from newsflow_kit.mongo import equality_only, find_in

MAX_TICKS = 24 * 60  # further back than this (24 minutes), a "changed since" read is one range query instead
TICKS_AT_ONCE = 16
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


def sort_keys(order: str, comment: StoredComment) -> list[Any]:
    """The keys of ``comment`` in ``ORDERS[order]``: what a cursor after it holds."""
    values = {"_id": comment.id, "created_at": comment.created_at, "score": comment.score}
    return [values[field] for field, _ in ORDERS[order]]


def keyset_after(order: Order, keys: list[Any]) -> list[Doc]:
    """The keyset condition "strictly after ``keys`` in ``order``" as a list of ``$or`` branches."""
    branches = []
    for i, (field, direction) in enumerate(order):
        branch: Doc = {f: keys[j] for j, (f, _) in enumerate(order[:i])}
        branch[field] = {"$gt" if direction == ASCENDING else "$lt": keys[i]}
        branches.append(branch)
    return branches


async def claim(collection: AsyncCollection[Doc], doc: Doc) -> bool:
    """Inserts ``doc``; False when its ``_id`` is taken (the unique index makes one writer win)."""
    try:
        await collection.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True


async def changed_since(
    collection: AsyncCollection[Doc],
    field: str,
    since: datetime,
    limit: int,
    *,
    now: datetime,
    projection: Doc | None = None,
    scan: bool = False,
    until: datetime | None = None,
) -> list[Doc]:
    """The first ``limit`` records whose ``field`` is at or after ``since`` (and before ``until``), in
    (``field``, ``_id``) order.

    On FerretDB, tick by tick from ``since``'s to ``until``'s or ``now``'s (a record from a writer
    whose clock runs ahead is read by a later pass, which reads from before it), each an indexed
    equality match; one range query on MongoDB, when asked to ``scan`` (the worker's first pass, which also
    finds records older than their ``tick``) or when ``since`` is more than ``MAX_TICKS`` back.
    """
    order = [(field, ASCENDING), ("_id", ASCENDING)]
    first = tick_of(since)
    last = tick_of(until) if until is not None else tick_of(max(now, datetime.now(UTC)))
    if scan or last - first > MAX_TICKS or not await equality_only(collection.database.client):
        bounds = {"$gte": since} if until is None else {"$gte": since, "$lt": until}
        return await collection.find({field: bounds}, projection).sort(order).limit(limit).to_list()
    found: list[Doc] = []
    for start in range(first, last + 1, TICKS_AT_ONCE):
        ticks = range(start, min(start + TICKS_AT_ONCE, last + 1))
        found += [
            doc
            for doc in await find_in(collection, "tick", ticks, projection=projection, concurrency=1)
            if doc[field] >= since and (until is None or doc[field] < until)
        ]
        if len(found) >= limit:
            break
    found.sort(key=lambda doc: (doc[field], doc["_id"]))
    return found[:limit]
