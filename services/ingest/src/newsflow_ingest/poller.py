"""``newsflow-ingest poller``: fetches due feeds politely and ingests their items.

Several pollers may run: a source is claimed with an atomic ``find_one_and_update`` that sets a
lease, so one source is fetched by at most one poller at a time; a crashed poller's lease expires.
Each fetch is a conditional GET (ETag / If-Modified-Since). The next poll adapts to the feed: sooner
when it had news, later when not, never outside the source's bounds, never before
``Cache-Control: max-age`` or ``Retry-After``; errors back off exponentially with jitter.
"""

import asyncio
import contextlib
import logging
import random
import signal
import uuid
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any

import trafilatura
from pymongo.errors import DuplicateKeyError

from newsflow_ingest.domain import normalize
from newsflow_ingest.domain.feeds import FeedItem, parse_feed
from newsflow_ingest.fetch import FetchRefused, SafeFetcher
from newsflow_ingest.metrics import FEEDS_FETCHED, ITEMS_SKIPPED
from newsflow_ingest.repository import ArticlesRepo, Doc
from newsflow_ingest.schemas import ArticleIn
from newsflow_ingest.service import Ingestor
from newsflow_ingest.settings import Settings
from newsflow_kit.kafka import AsyncPublisher
from newsflow_kit.mongo import async_mongo

log = logging.getLogger(__name__)
STOP_GRACE_S = 10.0
FULL_TEXT_BELOW = 400  # characters of text under which a feed item is a teaser


class Poller:
    def __init__(self, settings: Settings, db: Any, ingestor: Ingestor, fetcher: SafeFetcher) -> None:
        self.settings = settings
        self.sources = db["sources"]
        self.claims = db["poll_claims"]
        self.ingestor = ingestor
        self.fetcher = fetcher
        self.owner = uuid.uuid4().hex
        self.slots = asyncio.Semaphore(settings.poller.concurrency)

    async def claim(self) -> Doc | None:
        """Takes the lease of one due source, or None when none is due.

        The claim is an insert of ``<source id>:<lease epoch>`` into ``poll_claims``: the unique
        ``_id`` makes exactly one poller win an epoch, on MongoDB and on FerretDB alike (whose
        read-modify-write updates are not atomic across connections). The winner then moves the
        source's epoch on and sets its lease; a crashed winner's lease simply expires.
        """
        now = datetime.now(UTC)
        due = (
            self.sources.find(
                {"kind": "feed", "paused": False, "next_poll_at": {"$lte": now}, "lease_until": {"$lte": now}}
            )
            .sort("next_poll_at", 1)
            .limit(20)
        )
        async for source in due:
            epoch = int(source.get("lease_epoch", 0))
            try:
                await self.claims.insert_one({"_id": f"{source['_id']}:{epoch}", "owner": self.owner, "at": now})
            except DuplicateKeyError:
                continue  # another poller won this one
            lease = {
                "lease_epoch": epoch + 1,
                "lease_owner": self.owner,
                "lease_until": now + timedelta(seconds=self.settings.poller.lease_s),
            }
            await self.sources.update_one({"_id": source["_id"]}, {"$set": lease})
            return {**source, **lease}
        return None

    async def prune_claims(self) -> None:
        """Claims only matter while a lease can still be contended; a day later they are history."""
        await self.claims.delete_many({"at": {"$lt": datetime.now(UTC) - timedelta(days=1)}})

    async def run(self, stop: asyncio.Event) -> None:
        tasks: set[asyncio.Task[None]] = set()
        await self.prune_claims()
        while not stop.is_set():
            try:
                while not stop.is_set():
                    await self.slots.acquire()
                    source = await self.claim()
                    if source is None:
                        self.slots.release()
                        break
                    task = asyncio.create_task(self._guarded(source))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
            except Exception:  # MongoDB unavailable: try again next tick
                log.exception("poller: claiming sources failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.poller.tick_s)
        if tasks:  # let fetches in flight finish, within reason
            _done, late = await asyncio.wait(tasks, timeout=STOP_GRACE_S)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _guarded(self, source: Doc) -> None:
        try:
            await self.poll(source)
        except Exception:
            log.exception("poller: source %s failed unexpectedly", source["_id"])
            await self._finish(source, status=None, error="internal error", failed=True, delay=None)
        finally:
            self.slots.release()

    async def poll(self, source: Doc) -> None:
        """One conditional fetch of a source and the ingestion of its items."""
        headers = {}
        if source.get("etag"):
            headers["If-None-Match"] = source["etag"]
        if source.get("last_modified"):
            headers["If-Modified-Since"] = source["last_modified"]
        try:
            answer = await self.fetcher.get(
                source["feed_url"], max_bytes=self.settings.fetch.feed_max_bytes, headers=headers
            )
        except (FetchRefused, OSError, Exception) as exc:
            FEEDS_FETCHED.labels("error").inc()
            await self._finish(source, status=None, error=f"{type(exc).__name__}: {exc}"[:500], failed=True, delay=None)
            return
        if answer.status == 304:
            FEEDS_FETCHED.labels("not-modified").inc()
            await self._finish(source, status=304, error=None, failed=False, delay=self._delay(source, answer, False))
            return
        if answer.status in (429, 503) or answer.status >= 400:
            FEEDS_FETCHED.labels("http-error").inc()
            await self._finish(
                source,
                status=answer.status,
                error=f"HTTP {answer.status}",
                failed=True,
                delay=_retry_after(answer.headers.get("retry-after")),
            )
            return
        feed = parse_feed(answer.body, answer.headers.get("content-type", ""))
        for reason, n in feed.skipped.items():
            ITEMS_SKIPPED.labels(reason).inc(n)
        if feed.error:
            FEEDS_FETCHED.labels("unreadable").inc()
            await self._finish(source, status=answer.status, error=feed.error, failed=True, delay=None)
            return
        FEEDS_FETCHED.labels("ok").inc()
        new = 0
        for item in feed.items:
            try:
                new += await self._ingest(source, item)
            except Exception as exc:  # one bad item never stops the others
                feed.skip("invalid-item")
                ITEMS_SKIPPED.labels("invalid-item").inc()
                log.warning("poller: item %s of %s skipped: %s", item.url, source["_id"], exc)
        changes: Doc = {"etag": answer.headers.get("etag"), "last_modified": answer.headers.get("last-modified")}
        skipped = sum(feed.skipped.values())
        note = f"{skipped} items skipped: {feed.skipped}" if skipped else None
        await self._finish(
            source,
            status=answer.status,
            error=note,
            failed=False,
            delay=self._delay(source, answer, new > 0),
            extra=changes,
            counts={"articles_seen": new, "items_skipped": skipped},
        )

    async def _ingest(self, source: Doc, item: FeedItem) -> int:
        if item.retracted:
            from newsflow_ingest.domain.identity import article_id, canonical_url

            doc = await self.ingestor.repo.get(article_id(canonical_url(item.url)))
            if doc is not None and doc["status"] != "retracted":
                await self.ingestor.retract(doc)
            return 0
        # RSS often carries the whole article in <description> (feedparser's summary); a short text is
        # only a teaser, and then the page itself is fetched and its main text extracted.
        body = item.body or item.summary
        if source.get("fetch_full_text") or len(normalize.html_to_text(body)) < FULL_TEXT_BELOW:
            body = await self._full_text(item.url) or body
        article = ArticleIn.model_validate(
            {
                "title": item.title,
                "url": item.url,
                "body": body or item.title,
                "summary": item.summary,
                "tags": item.tags[:50],
                "authors": item.authors[:20],
                "image_url": item.image_url,
                "published_at": item.published_at,
            }
        )
        result = await self.ingestor.ingest(article, source=source)
        return 1 if result.status.value in ("created", "updated") else 0

    async def _full_text(self, url: str) -> str | None:
        """The page's main text, extracted; None when the page cannot be had."""
        try:
            page = await self.fetcher.get(url, max_bytes=self.settings.fetch.page_max_bytes)
        except Exception as exc:
            log.info("poller: full text of %s not fetched: %s", url, exc)
            return None
        if page.status != 200:
            return None
        html = page_html(page.body, page.headers.get("content-type", ""))
        return await asyncio.to_thread(trafilatura.extract, html, output_format="html", include_images=False)

    def _delay(self, source: Doc, answer: Any, had_news: bool) -> float:
        low, high = float(source["min_interval_s"]), float(source["max_interval_s"])
        current = float(source.get("interval_s") or low)
        interval = max(low, current / 2) if had_news else min(high, current * 1.5)
        max_age = _max_age(answer.headers.get("cache-control"))
        return min(high, max(interval, max_age or 0.0))

    async def _finish(
        self,
        source: Doc,
        *,
        status: int | None,
        error: str | None,
        failed: bool,
        delay: float | None,
        extra: Doc | None = None,
        counts: Doc | None = None,
    ) -> None:
        now = datetime.now(UTC)
        errors = int(source.get("consecutive_errors", 0)) + 1 if failed else 0
        if delay is None:  # exponential back-off with full jitter, capped
            cap = min(self.settings.poller.max_backoff_s, float(source["min_interval_s"]) * 2**errors)
            delay = random.uniform(float(source["min_interval_s"]), max(cap, float(source["min_interval_s"])))
        update: Doc = {
            "$set": {
                "last_fetch_at": now,
                "last_status": status,
                "last_error": error,
                "consecutive_errors": errors,
                "next_poll_at": now + timedelta(seconds=delay),
                "lease_until": now,
                "interval_s": delay if not failed else source.get("interval_s", source["min_interval_s"]),
                **(extra or {}),
            }
        }
        inc = {"error_count": 1} if failed else {}
        inc |= {k: v for k, v in (counts or {}).items() if v}
        if inc:
            update["$inc"] = inc
        await self.sources.update_one({"_id": source["_id"], "lease_owner": self.owner}, update)


def page_html(body: bytes, content_type: str) -> str | bytes:
    """A fetched page decoded by its declared charset; without one, bytes (trafilatura detects it).

    (``httpx.Headers.encoding`` is the encoding of the header values, not of the page.)
    """
    message = Message()
    message["content-type"] = content_type
    charset = message.get_content_charset()
    if charset:
        with contextlib.suppress(LookupError):
            return body.decode(charset, errors="replace")
    return body


def _max_age(value: str | None) -> float | None:
    for part in (value or "").split(","):
        name, _, number = part.strip().partition("=")
        if name.lower() == "max-age" and number.isdigit():
            return float(number)
    return None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


async def _main(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    mongo = async_mongo(settings.mongo)
    db = mongo[settings.database]
    publisher = AsyncPublisher(settings.kafka, client_id="ingest-poller")
    fetcher = SafeFetcher(settings.fetch)
    ingestor = Ingestor(ArticlesRepo(db), publisher, settings.kafka.articles_topic, producer="ingest.poller")
    log.info("poller: started")
    try:
        await Poller(settings, db, ingestor, fetcher).run(stop)
    finally:
        await fetcher.aclose()
        await publisher.close()
        await mongo.close()
        log.info("poller: stopped")


def run(settings: Settings) -> None:
    asyncio.run(_main(settings))
