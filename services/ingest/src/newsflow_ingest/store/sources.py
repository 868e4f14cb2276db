"""Sources (``sources``) and their WebSub subscriptions (``websub_subscriptions``)."""

from datetime import datetime

from cachetools import TTLCache
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from newsflow_ingest.records import HubSubscription, Source
from newsflow_ingest.schemas import SourceUpdate
from newsflow_ingest.store.leases import SourceLeases
from newsflow_ingest.store.mappers import Doc, source_doc, source_of, subscription_doc, subscription_of, with_due_tick

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
        self._cache: TTLCache[str, Source] = TTLCache(maxsize=SOURCE_CACHE_SIZE, ttl=SOURCE_CACHE_TTL_S)

    async def cached(self, source_id: str) -> Source | None:
        """The source, from the cache when it was read in the last ``SOURCE_CACHE_TTL_S`` seconds."""
        source = self._cache.get(source_id)
        if source is None:
            source = await self.get(source_id)
            if source is not None:
                self._cache[source_id] = source
        return source

    async def ensure_indexes(self) -> None:
        await self.sources.create_index([("name", ASCENDING)], unique=True)
        await self.sources.create_index([("kind", ASCENDING), ("next_poll_at", ASCENDING)])
        await SourceLeases(self.sources.database).ensure_indexes()

    async def create(self, source: Source) -> Source:
        """Stores a new source; :class:`NameTaken` when another source has its name."""
        try:
            await self.sources.insert_one(source_doc(source))
        except DuplicateKeyError:
            raise NameTaken(source.name) from None
        return source

    async def get(self, source_id: str) -> Source | None:
        doc = await self.sources.find_one({"_id": source_id})
        return source_of(doc) if doc is not None else None

    async def by_name(self, name: str) -> Source | None:
        doc = await self.sources.find_one({"name": name})
        return source_of(doc) if doc is not None else None

    async def all(self) -> list[Source]:
        return [source_of(d) for d in await self.sources.find({}).sort("created_at", ASCENDING).to_list()]

    async def update(self, source_id: str, changes: SourceUpdate) -> Source | None:
        """The source after the change (None if gone); :class:`NameTaken` when the new name is another's."""
        return await self._set(source_id, changes.model_dump(mode="json", exclude_unset=True))

    async def pause(self, source_id: str) -> Source | None:
        """Stops polling the source; None when it is gone."""
        return await self._set(source_id, {"paused": True})

    async def resume(self, source_id: str, now: datetime) -> Source | None:
        """Polls the source again, due ``now``; None when it is gone."""
        return await self._set(source_id, {"paused": False, "next_poll_at": now})

    async def _set(self, source_id: str, fields: Doc) -> Source | None:
        self._cache.pop(source_id, None)
        try:
            doc = await self.sources.find_one_and_update(
                {"_id": source_id}, {"$set": with_due_tick(fields)}, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:
            raise NameTaken(str(fields.get("name"))) from None
        return source_of(doc) if doc is not None else None

    async def delete(self, source_id: str) -> bool:
        self._cache.pop(source_id, None)
        return (await self.sources.delete_one({"_id": source_id})).deleted_count == 1


class HubSubscriptions:
    """``websub_subscriptions``: one record per feed source subscribed to a WebSub hub (docs/compat.md)."""

    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self.subs = db["websub_subscriptions"]

    async def get(self, source_id: str) -> HubSubscription | None:
        doc = await self.subs.find_one({"_id": source_id})
        return subscription_of(doc) if doc is not None else None

    async def save(self, sub: HubSubscription) -> None:
        """Creates or updates the source's subscription record."""
        await self.subs.update_one({"_id": sub.source_id}, {"$set": subscription_doc(sub)}, upsert=True)

    async def forget(self, source_id: str) -> None:
        await self.subs.delete_one({"_id": source_id})

    async def activate(self, source_id: str, lease_until: datetime) -> None:
        """The hub confirmed: the subscription is active until ``lease_until``."""
        await self.subs.update_one({"_id": source_id}, {"$set": {"state": "active", "lease_until": lease_until}})
