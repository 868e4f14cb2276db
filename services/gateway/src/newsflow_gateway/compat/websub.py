"""WebSub hub of the out-feeds: subscriptions (verified intent, leases, secrets) and signed deliveries.

    subscriber ──POST /websub/hub (form)──► gateway api ──202, then GET callback?hub.challenge──► subscriber
                                                 └─ echoed: subscription stored (lease) / removed
    articles.v1 ──► newsflow-gateway websub (consumer group) ──► matching subscriptions ──► bounded queue
                                                 └─ workers POST the new entries, X-Hub-Signature: sha256=HMAC
                                                    retries with back-off, then drop (counted)

Topics are the gateway's out-feeds (``/feeds/latest|tags|sources|languages/...``); search feeds are
not pushed. A delivery carries the topic's format with only the new or changed entries.
"""

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from newsflow_gateway.compat.outfeeds import Format, Scope
from newsflow_gateway.settings import WebSubSettings
from newsflow_kit.errors import InvalidInput

log = logging.getLogger(__name__)
COLLECTION = "websub_subscriptions"
FOLDERS = {"tags": "tag", "sources": "source", "languages": "language"}


@dataclass(frozen=True)
class Topic:
    url: str
    base_url: str
    scope: Scope
    fmt: Format
    content: str


@dataclass(frozen=True)
class SubscribeRequest:
    mode: str
    callback: str
    topic: Topic
    lease_seconds: int
    secret: str | None


def parse_topic(url: str) -> Topic:
    """One of the gateway's pushable out-feeds, or 400."""
    parts = urlsplit(url)
    path, _, ext = parts.path.rpartition(".")
    if parts.scheme not in ("http", "https") or not parts.netloc or ext not in {f.value for f in Format}:
        raise InvalidInput("hub.topic must be one of this gateway's /feeds/... URLs")
    segments = path.split("/")
    if path == "/feeds/latest":
        scope = Scope("latest")
    elif len(segments) == 4 and segments[1] == "feeds" and segments[2] in FOLDERS and segments[3]:
        scope = Scope(FOLDERS[segments[2]], unquote(segments[3]))  # type: ignore[arg-type]
    else:
        raise InvalidInput(
            "hub.topic must be a /feeds/latest, /tags, /sources or /languages feed (search is not pushed)"
        )
    content = parse_qs(parts.query).get("content", ["full"])[0]
    if content not in ("full", "summary"):
        raise InvalidInput("hub.topic has an unknown content mode")
    return Topic(url, f"{parts.scheme}://{parts.netloc}", scope, Format(ext), content)


def parse_request(form: dict[str, list[str]], settings: WebSubSettings) -> SubscribeRequest:
    def one(name: str) -> str | None:
        values = form.get(name)
        return values[0].strip() if values else None

    mode, callback, topic = one("hub.mode"), one("hub.callback"), one("hub.topic")
    if mode not in ("subscribe", "unsubscribe"):
        raise InvalidInput("hub.mode must be subscribe or unsubscribe")
    if not callback or urlsplit(callback).scheme not in ("http", "https") or not urlsplit(callback).hostname:
        raise InvalidInput("hub.callback must be an http(s) URL")
    if len(callback) > 2000 or not topic or len(topic) > 2000:
        raise InvalidInput("hub.callback and hub.topic are required (at most 2000 characters)")
    lease = one("hub.lease_seconds")
    seconds = int(lease) if lease and lease.isdigit() else settings.default_lease_s
    secret = one("hub.secret")
    if secret is not None and not 0 < len(secret.encode()) < 200:
        raise InvalidInput("hub.secret must be 1..199 bytes")
    return SubscribeRequest(
        mode, callback, parse_topic(topic), max(settings.min_lease_s, min(seconds, settings.max_lease_s)), secret
    )


async def callback_refused(url: str, allow: list[str]) -> str | None:
    """Why the hub must not call ``url`` (a non-public address not in the allow-list), or None."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if host in allow or f"{host}:{port}" in allow:
        return None
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return "the callback host does not resolve"
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return "the callback resolves to a non-public address"
    return None


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def subscription_id(callback: str, topic: str) -> str:
    return hashlib.sha256(f"{callback}\n{topic}".encode()).hexdigest()[:24]


class Subscriptions:
    """The ``websub_subscriptions`` collection of the gateway's database."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self._subs = db[COLLECTION]

    async def ensure_indexes(self) -> None:
        await self._subs.create_index([("kind", ASCENDING), ("value", ASCENDING)], name="scope")

    async def save(self, request: SubscribeRequest) -> None:
        now = datetime.now(UTC)
        doc = {
            "callback": request.callback,
            "topic": request.topic.url,
            "base_url": request.topic.base_url,
            "kind": request.topic.scope.kind,
            "value": request.topic.scope.value,
            "format": request.topic.fmt.value,
            "content": request.topic.content,
            "secret": request.secret,
            "lease_until": now + timedelta(seconds=request.lease_seconds),
            "verified_at": now,
        }
        await self._subs.replace_one({"_id": subscription_id(request.callback, request.topic.url)}, doc, upsert=True)

    async def remove(self, request: SubscribeRequest) -> None:
        await self._subs.delete_one({"_id": subscription_id(request.callback, request.topic.url)})

    async def matching(self, scopes: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """Live subscriptions to any of ``scopes`` ((kind, value) pairs)."""
        if not scopes:
            return []
        wanted = [{"kind": kind, "value": value} for kind, value in scopes]
        query = {"$or": wanted, "lease_until": {"$gt": datetime.now(UTC)}}
        return [doc async for doc in self._subs.find(query)]


async def verify_intent(
    *, client: httpx.AsyncClient, subscriptions: Subscriptions, request: SubscribeRequest, allow: list[str]
) -> bool:
    """Asks the subscriber to echo a challenge; only then is the (un)subscription carried out."""
    refused = await callback_refused(request.callback, allow)
    if refused is not None:
        log.info("websub: %s refused: %s", request.callback, refused)
        return False
    challenge = secrets.token_urlsafe(24)
    params = {"hub.mode": request.mode, "hub.topic": request.topic.url, "hub.challenge": challenge}
    if request.mode == "subscribe":
        params["hub.lease_seconds"] = str(request.lease_seconds)
    try:
        answer = await client.get(request.callback, params=params)
    except httpx.HTTPError as exc:
        log.info("websub: verifying %s failed: %r", request.callback, exc)
        return False
    if not answer.is_success or answer.text.strip() != challenge:
        log.info("websub: %s did not confirm (%d)", request.callback, answer.status_code)
        return False
    if request.mode == "subscribe":
        await subscriptions.save(request)
    else:
        await subscriptions.remove(request)
    return True
