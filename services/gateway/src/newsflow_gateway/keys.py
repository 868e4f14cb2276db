"""API keys: created once (the plain key is shown only then), stored as a SHA-256 hash, revocable.

A key reads ``nfk_<key id>_<secret>``: the id finds the record, the hash of the whole key is compared
in constant time. Keys carry 256 random bits, so a fast hash is enough (no password stretching).
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from cachetools import TTLCache
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from newsflow_kit.errors import NotFound

PREFIX = "nfk"
BOOTSTRAP_ID = "bootstrap-admin"


class Role(StrEnum):
    PUBLISHER = "publisher"
    ADMIN = "admin"
    READER = "reader"  # reads where a key is required (the NewsAPI-compatible /v2)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, its role and, for a publisher, its source."""

    key_id: str
    role: Role
    source_id: str | None = None


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    role: Role
    source_id: str | None
    created_at: datetime
    revoked_at: datetime | None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh ``(key_id, plain key)``."""
    key_id = secrets.token_hex(8)
    return key_id, f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


def key_id_of(key: str) -> str | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or len(parts[1]) != 16:
        return None
    return parts[1]


KEY_CACHE_SIZE = 10_000


class KeyStore:
    """The ``api_keys`` collection of the gateway's own database, with a bounded TTL cache of valid keys.

    A cache hit costs no store command. Only valid keys are cached (a key created on another replica
    works at once); a revocation removes the key from this replica's cache immediately and from the
    others' when their entry expires, ``cache_ttl_s`` at most.
    """

    def __init__(
        self, db: AsyncDatabase[dict[str, Any]], *, bootstrap_admin_key: str, cache_ttl_s: float = 30.0
    ) -> None:
        self._keys = db["api_keys"]
        self._bootstrap_hash = hash_key(bootstrap_admin_key) if bootstrap_admin_key else ""
        self._cache: TTLCache[str, Principal] | None = (
            TTLCache(maxsize=KEY_CACHE_SIZE, ttl=cache_ttl_s) if cache_ttl_s > 0 else None
        )

    async def ensure_indexes(self) -> None:
        await self._keys.create_index([("key_id", ASCENDING)], unique=True, name="key_id_unique")

    async def create(self, *, name: str, role: Role, source_id: str | None) -> tuple[ApiKey, str]:
        key_id, plain = new_key()
        record = ApiKey(key_id, name, role, source_id, datetime.now(UTC), None)
        await self._keys.insert_one({**_to_doc(record), "hash": hash_key(plain)})
        return record, plain

    async def list(self) -> list[ApiKey]:
        return [_from_doc(doc) async for doc in self._keys.find({}).sort("created_at", ASCENDING)]

    async def revoke(self, key_id: str) -> ApiKey:
        doc = await self._keys.find_one({"key_id": key_id})
        if doc is None:
            raise NotFound(f"no API key {key_id}")
        if self._cache is not None:
            for presented in [h for h, p in self._cache.items() if p.key_id == key_id]:
                self._cache.pop(presented, None)
        if doc.get("revoked_at") is None:
            doc["revoked_at"] = datetime.now(UTC)
            await self._keys.update_one({"key_id": key_id}, {"$set": {"revoked_at": doc["revoked_at"]}})
        return _from_doc(doc)

    async def authenticate(self, key: str) -> Principal | None:
        """The principal of a valid, unrevoked key; None otherwise."""
        presented = hash_key(key)
        if self._bootstrap_hash and hmac.compare_digest(presented, self._bootstrap_hash):
            return Principal(BOOTSTRAP_ID, Role.ADMIN)
        key_id = key_id_of(key)
        if key_id is None:
            return None
        if self._cache is not None and (cached := self._cache.get(presented)) is not None:
            return cached
        doc = await self._keys.find_one({"key_id": key_id})
        if doc is None or doc.get("revoked_at") is not None:
            return None
        if not hmac.compare_digest(presented, str(doc.get("hash", ""))):
            return None
        principal = Principal(key_id, Role(doc["role"]), doc.get("source_id"))
        if self._cache is not None:
            self._cache[presented] = principal
        return principal


def _to_doc(key: ApiKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "name": key.name,
        "role": key.role.value,
        "source_id": key.source_id,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
    }


def _from_doc(doc: dict[str, Any]) -> ApiKey:
    return ApiKey(
        key_id=doc["key_id"],
        name=doc.get("name", ""),
        role=Role(doc["role"]),
        source_id=doc.get("source_id"),
        created_at=doc["created_at"],
        revoked_at=doc.get("revoked_at"),
    )
