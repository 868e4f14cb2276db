"""WebSub in: a polled feed that names a hub is also subscribed to, and pushed content is ingested at once.

    poller fetches a feed ── Link rel=hub (header or in the feed) ──► POST hub.mode=subscribe to the hub
        hub ──GET <callback>/<source id>?hub.challenge──► ingest api: known topic? echo it (lease stored)
        hub ──POST <callback>/<source id> (X-Hub-Signature)──► ingest api: HMAC checked, items ingested

Polling goes on as before: it is the fallback when the hub is silent or the lease lapses, and every
poll that sees the lease within ``WEBSUB__RENEW_BEFORE_S`` of its end subscribes again (renewal).
Each source gets its own random secret; content whose signature does not match is ignored (and
answered 2xx, as WebSub asks, so a forger learns nothing). Off unless ``WEBSUB__CALLBACK_URL`` is set.
"""

import hashlib
import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import feedparser
import httpx
from prometheus_client import Counter

from newsflow_ingest.domain.feeds import FeedItem, parse_feed
from newsflow_ingest.fetch import FetchRefused, SafeFetcher
from newsflow_ingest.records import HubSubscription, Source
from newsflow_ingest.schemas import ArticleIn
from newsflow_ingest.service import Ingestor
from newsflow_ingest.settings import WebSubInSettings
from newsflow_ingest.store import HubSubscriptions

log = logging.getLogger(__name__)
PUSHES = Counter("newsflow_ingest_websub_pushes_total", "Content pushed by WebSub hubs", ["outcome"])
_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?([^";]+)"?')
DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


@dataclass(frozen=True)
class Advert:
    hub: str
    topic: str


def discover(body: bytes, headers: httpx.Headers | dict[str, str], feed_url: str) -> Advert | None:
    """The hub and self URL a feed names: HTTP ``Link`` headers first, then the document."""
    links: dict[str, str] = {}
    for url, rel in _LINK.findall(headers.get("link", "") or ""):
        for name in rel.split():
            links.setdefault(name.lower(), urljoin(feed_url, url))
    if "hub" not in links and b"hub" in body:
        if body.lstrip()[:1] == b"{":
            links.update(_json_links(body, feed_url))
        else:
            for link in feedparser.parse(body).feed.get("links", []):
                if link.get("rel") in ("hub", "self") and link.get("href"):
                    links.setdefault(str(link["rel"]), urljoin(feed_url, str(link["href"])))
    if "hub" not in links:
        return None
    return Advert(hub=links["hub"], topic=links.get("self", feed_url))


def _json_links(body: bytes, feed_url: str) -> dict[str, str]:
    """JSON Feed names its hubs in ``hubs`` and itself in ``feed_url``."""
    try:
        doc = json.loads(body)
    except ValueError:
        return {}
    hubs = doc.get("hubs") if isinstance(doc, dict) else None
    if not isinstance(hubs, list) or not hubs or not isinstance(hubs[0], dict) or not hubs[0].get("url"):
        return {}
    out = {"hub": urljoin(feed_url, str(hubs[0]["url"]))}
    if isinstance(doc.get("feed_url"), str):
        out["self"] = urljoin(feed_url, doc["feed_url"])
    return out


def valid_signature(secret: str, body: bytes, header: str | None) -> bool:
    if not header or "=" not in header:
        return False
    method, _, given = header.partition("=")
    digest = DIGESTS.get(method.strip().lower())
    if digest is None:
        return False
    return hmac.compare_digest(hmac.new(secret.encode(), body, digest).hexdigest(), given.strip().lower())


class WebSubIn:
    """Subscriptions of ingest's feed sources to hubs (collection ``websub_subscriptions``)."""

    def __init__(self, settings: WebSubInSettings, subs: HubSubscriptions) -> None:
        self.settings = settings
        self.subs = subs

    def callback(self, source_id: str) -> str:
        assert self.settings.callback_url
        return f"{self.settings.callback_url.rstrip('/')}/{source_id}"

    async def after_fetch(self, fetcher: SafeFetcher, source: Source, body: bytes, headers: Any) -> None:
        """Called by the poller after each good fetch: subscribes when the feed names a hub and the
        subscription is missing, for another hub or topic, or near the end of its lease. Never raises:
        polling goes on whatever happens here."""
        try:
            await self._maybe_subscribe(fetcher, source, body, headers)
        except Exception:
            log.exception("websub: subscribing source %s failed", source.id)

    async def _maybe_subscribe(self, fetcher: SafeFetcher, source: Source, body: bytes, headers: Any) -> None:
        advert = discover(body, headers, str(source.feed_url))
        if advert is None:
            return
        now = datetime.now(UTC)
        current = await self.subs.get(source.id)
        if current is not None and current.hub == advert.hub and current.topic == advert.topic:
            lease_until = _aware(current.lease_until)
            requested = _aware(current.requested_at)
            if lease_until is not None and lease_until - now > timedelta(seconds=self.settings.renew_before_s):
                return
            if current.state == "pending" and requested and now - requested < timedelta(seconds=60):
                return
        secret = current.secret if current is not None else secrets.token_hex(32)
        # Recorded before the hub is asked: a hub may verify intent before it even answers the POST, and
        # a verification for a topic not yet on record is refused (the subscription would stay pending).
        await self.subs.save(
            HubSubscription(
                source_id=source.id,
                hub=advert.hub,
                topic=advert.topic,
                secret=secret,
                state="active" if current is not None and current.state == "active" else "pending",
                lease_until=current.lease_until if current is not None else None,
                requested_at=now,
            )
        )
        try:
            await fetcher._pin(advert.hub)  # the same address rules as any fetch
            answer = await fetcher.client.post(
                advert.hub,
                data={
                    "hub.mode": "subscribe",
                    "hub.topic": advert.topic,
                    "hub.callback": self.callback(str(source.id)),
                    "hub.lease_seconds": str(self.settings.lease_s),
                    "hub.secret": secret,
                },
            )
        except (FetchRefused, httpx.HTTPError) as exc:
            log.info("websub: subscribing %s at %s failed: %r", source.id, advert.hub, exc)
            await self._undo(source.id, current)
            return
        if not answer.is_success:
            log.info("websub: hub %s refused %s: HTTP %d", advert.hub, source.id, answer.status_code)
            await self._undo(source.id, current)

    async def _undo(self, source_id: str, previous: HubSubscription | None) -> None:
        """The hub was not reached or said no: the record is put back as it was (the next poll retries)."""
        if previous is None:
            await self.subs.forget(source_id)
        else:
            await self.subs.save(previous)

    async def confirm(self, source_id: str, *, mode: str, topic: str, lease_seconds: str | None) -> bool:
        """A hub verifies intent: yes for the topic we asked for (or for an unsubscription we want)."""
        current = await self.subs.get(source_id)
        if mode == "unsubscribe":
            return current is None or current.topic != topic
        if mode != "subscribe" or current is None or current.topic != topic:
            return False
        seconds = int(lease_seconds) if lease_seconds and lease_seconds.isdigit() else self.settings.lease_s
        await self.subs.activate(source_id, datetime.now(UTC) + timedelta(seconds=seconds))
        return True

    async def receive(
        self, *, ingestor: Ingestor, source: Source, body: bytes, content_type: str, signature: str | None
    ) -> int:
        """Pushed content: checked against the source's secret, then ingested; returns new articles."""
        current = await self.subs.get(source.id)
        if current is None or current.state != "active":
            PUSHES.labels("unknown-subscription").inc()
            return 0
        if not valid_signature(current.secret, body, signature):
            PUSHES.labels("bad-signature").inc()
            log.warning("websub: push for %s with a bad signature ignored", source.id)
            return 0
        feed = parse_feed(body, content_type)
        new = 0
        for item in feed.items:
            try:
                new += await ingest_item(ingestor, source, item)
            except Exception as exc:  # one bad item never stops the others
                log.warning("websub: item %s of %s skipped: %s", item.url, source.id, exc)
        PUSHES.labels("ingested").inc()
        return new


async def ingest_item(ingestor: Ingestor, source: Source, item: FeedItem) -> int:
    """A pushed item as the poller would ingest it (without fetching the page for a teaser)."""
    if item.retracted:
        return 0
    article = ArticleIn.model_validate(
        {
            "title": item.title,
            "url": item.url,
            "body": item.body or item.summary or item.title,
            "summary": item.summary,
            "tags": item.tags[:50],
            "authors": item.authors[:20],
            "image_url": item.image_url,
            "published_at": item.published_at,
        }
    )
    result = await ingestor.ingest(article, source=source)
    return 1 if result.status.value in ("created", "updated") else 0


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
