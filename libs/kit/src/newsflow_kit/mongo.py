"""MongoDB client factory (works with MongoDB and FerretDB: see docs/infra.md for what not to use)."""

from typing import Any

from pymongo import AsyncMongoClient, MongoClient

from newsflow_kit.settings import MongoSettings


def _options(settings: MongoSettings) -> dict[str, Any]:
    return {
        "serverSelectionTimeoutMS": settings.timeout_ms,
        "connectTimeoutMS": settings.timeout_ms,
        "tz_aware": True,
        "uuidRepresentation": "standard",
        "retryWrites": False,  # FerretDB has no retryable writes; our writes are idempotent instead
    }


def async_mongo(settings: MongoSettings) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(settings.uri, **_options(settings))


def sync_mongo(settings: MongoSettings) -> MongoClient[dict[str, Any]]:
    """For worker threads and CLIs, which have no event loop."""
    return MongoClient(settings.uri, **_options(settings))


def mongo_check(client: AsyncMongoClient[dict[str, Any]]) -> Any:
    async def check() -> None:
        await client.admin.command("ping")

    return check
