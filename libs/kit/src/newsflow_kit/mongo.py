"""MongoDB client factory and the query helpers both servers answer from an index.

Works with MongoDB and FerretDB (see docs/infra.md for what not to use). FerretDB 1.x sends only
top-level equality filters to its backend, where the local stack indexes them; ``$in``, ``$or``,
ranges and sorts it answers by reading the whole collection. :func:`find_in` is ``$in`` written so
that both servers use their indexes, and :func:`bulk_write` keeps FerretDB clear of a deadlock.
"""

import asyncio
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

from pymongo import AsyncMongoClient, MongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.collection import Collection
from pymongo.operations import DeleteOne, InsertOne, ReplaceOne, UpdateMany, UpdateOne

from newsflow_kit.settings import MongoSettings

Doc = dict[str, Any]
Write = InsertOne[Doc] | UpdateOne | UpdateMany | ReplaceOne[Doc] | DeleteOne
# FerretDB 1.24 holds one backend connection for each statement of a write command until the whole
# command ends; a command with more statements than its pool (200 here) waits for itself forever, and
# every other client with it. 150 statements took 1.8 s and 250 never returned (docs/infra.md).
STATEMENTS_PER_COMMAND = 16
_equality_only: "weakref.WeakKeyDictionary[AsyncMongoClient[Doc], bool]" = weakref.WeakKeyDictionary()


def _options(settings: MongoSettings) -> dict[str, Any]:
    return {
        "serverSelectionTimeoutMS": settings.timeout_ms,
        "connectTimeoutMS": settings.timeout_ms,
        "maxPoolSize": settings.max_pool_size,
        "tz_aware": True,
        "uuidRepresentation": "standard",
        "retryWrites": False,  # FerretDB has no retryable writes; our writes are idempotent instead
    }


def async_mongo(settings: MongoSettings) -> AsyncMongoClient[Doc]:
    return AsyncMongoClient(settings.uri, **_options(settings))


def sync_mongo(settings: MongoSettings) -> MongoClient[Doc]:
    """For worker threads and CLIs, which have no event loop."""
    return MongoClient(settings.uri, **_options(settings))


def mongo_check(client: AsyncMongoClient[Doc]) -> Any:
    async def check() -> None:
        await client.admin.command("ping")

    return check


async def equality_only(client: AsyncMongoClient[Doc]) -> bool:
    """True when the server indexes only equality filters (FerretDB 1.x); asked once per client."""
    known = _equality_only.get(client)
    if known is None:
        info = await client.admin.command("buildInfo")
        known = _equality_only[client] = "ferretdbVersion" in info
    return known


async def find_in(
    collection: AsyncCollection[Doc],
    field: str,
    values: Iterable[Any],
    *,
    where: Mapping[str, Any] | None = None,
    projection: Mapping[str, Any] | None = None,
    concurrency: int = 16,
) -> list[Doc]:
    """The documents whose ``field`` is one of ``values`` (and that match ``where``), in no order.

    One ``$in`` query on MongoDB; on a server that indexes only equality, one equality query per
    value, ``concurrency`` at a time, so each is an index lookup instead of a collection scan.
    """
    wanted = list(dict.fromkeys(values))
    base = dict(where or {})
    if not wanted:
        return []
    if len(wanted) == 1 or not await equality_only(collection.database.client):
        condition = wanted[0] if len(wanted) == 1 else {"$in": wanted}
        return await collection.find({**base, field: condition}, projection).to_list()
    gate = asyncio.Semaphore(concurrency)

    async def one(value: Any) -> list[Doc]:
        async with gate:
            return await collection.find({**base, field: value}, projection).to_list()

    found = await asyncio.gather(*(one(value) for value in wanted))
    return [doc for docs in found for doc in docs]


async def bulk_write(collection: AsyncCollection[Doc], writes: list[Write], *, ordered: bool = False) -> None:
    """``collection.bulk_write`` in commands of at most ``STATEMENTS_PER_COMMAND`` (see above)."""
    for start in range(0, len(writes), STATEMENTS_PER_COMMAND):
        await collection.bulk_write(writes[start : start + STATEMENTS_PER_COMMAND], ordered=ordered)


def bulk_write_sync(collection: Collection[Doc], writes: list[Write], *, ordered: bool = False) -> None:
    """:func:`bulk_write` for the synchronous client."""
    for start in range(0, len(writes), STATEMENTS_PER_COMMAND):
        collection.bulk_write(writes[start : start + STATEMENTS_PER_COMMAND], ordered=ordered)
