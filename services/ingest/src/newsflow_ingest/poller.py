"""``newsflow-ingest poller``: fetches due feeds politely and ingests their items.

Several pollers may run: sources are claimed in batches under leases (``SourceLeases``), so one
source is fetched by at most one poller at a time; held leases are renewed while the work runs, and a
crashed poller's leases expire. A feed's new items are written in batches. Each fetch is a
conditional GET (ETag / If-Modified-Since). The next poll adapts to the feed: sooner
when it had news, later when not, never outside the source's bounds, never before
``Cache-Control: max-age`` or ``Retry-After``; errors back off exponentially with jitter.
"""

import asyncio
import contextlib
import logging
import random
import uuid
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import trafilatura

from newsflow_ingest.domain import identity, normalize
from newsflow_ingest.domain.articles import NotTheOwner
from newsflow_ingest.domain.feeds import FeedItem, ParsedFeed, parse_feed
from newsflow_ingest.domain.memo import PollMemo, body_digest
from newsflow_ingest.fetch import FetchRefused, SafeFetcher
from newsflow_ingest.metrics import FEEDS_FETCHED, ITEMS_SKIPPED
from newsflow_ingest.processes import run_off_loop
from newsflow_ingest.records import FeedMemo, PollOutcome, Source, Validators
from newsflow_ingest.schemas import ArticleIn, ArticleWrite, WriteStatus
from newsflow_ingest.service import Ingestor
from newsflow_ingest.settings import Settings
from newsflow_ingest.store import SourceLeases
from newsflow_ingest.websub import WebSubIn
from newsflow_kit.errors import Conflict, NewsflowError, NotFound

log = logging.getLogger(__name__)
STOP_GRACE_S = 10.0
FULL_TEXT_BELOW = 400  # characters of text under which a feed item is a teaser
WRITE_BATCH = 100  # items of one feed written per batch call


class Poller:
    """Claims due sources in batches into a local queue that ``concurrency`` workers drain.

    Everything claimed (queued or being polled) is *held*: a heartbeat renews the leases of all held
    sources every third of ``lease_s``, so a slow poll (a first import, a slow server) never loses its
    lease to another poller; a stopping poller gives its queued, untouched sources back.
    """

    def __init__(
        self,
        settings: Settings,
        leases: SourceLeases,
        ingestor: Ingestor,
        fetcher: SafeFetcher,
        websub: WebSubIn | None = None,
    ) -> None:
        self.settings = settings
        self.leases = leases
        self.ingestor = ingestor
        self.fetcher = fetcher
        self.owner = uuid.uuid4().hex
        self.held: dict[str, Source] = {}
        self.websub = websub  # subscribes feeds that name a hub (docs/compat.md); None when WebSub is off

    async def claim(self) -> Source | None:
        """Takes the lease of one due source, or None when none is due."""
        batch = await self.claim_batch(1)
        return batch[0] if batch else None

    async def claim_batch(self, limit: int) -> list[Source]:
        """Takes the leases of up to ``limit`` due sources in one round trip of reads and one of writes."""
        won = await self.leases.claim_due(
            owner=self.owner, limit=limit, lease_s=self.settings.poller.lease_s, now=datetime.now(UTC)
        )
        for source in won:
            self.held[source.id] = source
        return won

    async def prune_claims(self) -> None:
        await self.leases.prune_claims()

    async def run(self, stop: asyncio.Event) -> None:
        cfg = self.settings.poller
        queue: asyncio.Queue[Source | None] = asyncio.Queue()
        hungry = asyncio.Event()
        await self.leases.ensure_indexes()
        await self.prune_claims()
        workers = [asyncio.create_task(self._worker(queue, hungry)) for _ in range(cfg.concurrency)]
        heartbeat = asyncio.create_task(self._heartbeat(stop))
        batch, low = max(1, cfg.claim_batch), max(1, cfg.claim_batch // 2)
        while not stop.is_set():
            hungry.clear()
            wanted, more = batch - queue.qsize(), True
            if queue.qsize() < low:
                sources: list[Source] = []
                try:
                    sources = await self.claim_batch(wanted)
                except Exception:  # MongoDB unavailable: try again next tick
                    log.exception("poller: claiming sources failed")
                for source in sources:
                    queue.put_nowait(source)
                more = len(sources) == wanted  # a full batch: more may be due
            # claim again as soon as the queue runs low while there is more; else look again in a tick
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first(hungry, stop) if more else stop.wait(), cfg.tick_s)
        await self._drain(queue, workers)
        heartbeat.cancel()
        await asyncio.gather(heartbeat, return_exceptions=True)

    async def _drain(self, queue: "asyncio.Queue[Source | None]", workers: list["asyncio.Task[None]"]) -> None:
        """Gives back what was queued but not started, lets polls in flight finish (within reason)."""
        untouched = []
        while not queue.empty():
            source = queue.get_nowait()
            if source is not None:
                untouched.append(source.id)
                self.held.pop(source.id, None)
        with contextlib.suppress(Exception):
            await self.leases.release(untouched, owner=self.owner)
        for _ in workers:
            queue.put_nowait(None)
        _done, late = await asyncio.wait(workers, timeout=STOP_GRACE_S)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    async def _worker(self, queue: "asyncio.Queue[Source | None]", hungry: asyncio.Event) -> None:
        low = max(1, self.settings.poller.claim_batch // 2)
        while (source := await queue.get()) is not None:
            if queue.qsize() < low:
                hungry.set()
            await self._guarded(source)

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        """Renews every held lease well before it ends, for as long as the poller runs."""
        every = self.settings.poller.lease_s / 3
        while True:
            await asyncio.sleep(every)
            try:
                await self.leases.renew(list(self.held), owner=self.owner, lease_s=self.settings.poller.lease_s)
            except Exception:
                log.exception("poller: renewing leases failed")

    async def _guarded(self, source: Source) -> None:
        try:
            await self.poll(source)
        except Exception:
            log.exception("poller: source %s failed unexpectedly", source.id)
            try:
                await self._finish(
                    source, status=None, error="internal error", kind="internal", failed=True, delay=None
                )
            except Exception:  # the store is down too: the lease runs out and the source is polled again
                log.exception("poller: recording the failure of source %s failed", source.id)
        finally:
            self.held.pop(source.id, None)

    async def poll(self, source: Source) -> None:
        """One conditional fetch of a source and the ingestion of its items."""
        headers = {}
        if source.etag:
            headers["If-None-Match"] = source.etag
        if source.last_modified:
            headers["If-Modified-Since"] = source.last_modified
        try:
            answer = await self.fetcher.get(
                str(source.feed_url), max_bytes=self.settings.fetch.feed_max_bytes, headers=headers
            )
        except Exception as exc:
            FEEDS_FETCHED.labels("error").inc()
            kind = fetch_error_kind(exc)
            await self._finish(
                source,
                status=None,
                error=f"{kind}: {type(exc).__name__}: {exc}"[:500],
                kind=kind,
                failed=True,
                delay=None,
            )
            return
        if answer.status == 304:
            FEEDS_FETCHED.labels("not-modified").inc()
            await self._finish(source, status=304, error=None, failed=False, delay=self._delay(source, answer, False))
            return
        if answer.status >= 300:
            FEEDS_FETCHED.labels("http-error").inc()
            await self._finish(
                source,
                status=answer.status,
                error=f"HTTP {answer.status}",
                kind=f"http-{answer.status}",
                failed=True,
                delay=_retry_after(answer.headers.get("retry-after")),
            )
            return
        validators = Validators(answer.headers.get("etag"), answer.headers.get("last-modified"))
        content_type = answer.headers.get("content-type", "")
        memo = PollMemo.of(body_digest(answer.body, content_type, source.fetch_full_text), source.memo)
        if source.memo is not None and memo.body == source.memo.body_digest:  # the same document as last time
            FEEDS_FETCHED.labels("unchanged").inc()
            await self._finish(
                source,
                status=answer.status,
                error=source.last_error,
                failed=False,
                delay=self._delay(source, answer, False),
                validators=validators,
                problems=list(source.last_problems),
            )
            return
        feed = await run_off_loop(
            self.ingestor.workers, parse_feed, answer.body, content_type, answer.url or str(source.feed_url)
        )
        if feed.error:
            FEEDS_FETCHED.labels("unreadable").inc()
            await self._finish(
                source,
                status=answer.status,
                error=feed.error,
                kind=feed.error_kind,
                failed=True,
                delay=None,
                problems=feed.problems,
            )
            return
        FEEDS_FETCHED.labels("ok").inc()
        if self.websub is not None:  # the feed may name a hub: subscribe (push in), polling stays the fallback
            await self.websub.after_fetch(self.fetcher, source, answer.body, answer.headers)
        new = await self._ingest_all(source, feed, memo)
        for reason, n in feed.skipped.items():
            ITEMS_SKIPPED.labels(reason).inc(n)
        skipped = sum(feed.skipped.values())
        note = f"{skipped} items skipped: {feed.skipped}" if skipped else None
        await self._finish(
            source,
            status=answer.status,
            error=note,
            failed=False,
            delay=self._delay(source, answer, new > 0),
            validators=validators,
            memo=memo.remembered(),
            seen=new,
            skipped=skipped,
            problems=feed.problems + [f"{n} items kept with {fix}" for fix, n in feed.repaired.items()],
        )

    async def _ingest_all(self, source: Source, feed: ParsedFeed, memo: PollMemo) -> int:
        """Retractions one by one, every other item in batches (a first import is one round of batches);
        items the memo holds unchanged are skipped, and each item handled is remembered."""
        articles: list[ArticleIn] = []
        digests: list[str] = []
        for item in feed.items:
            same, digest = memo.unchanged(item)
            if same:
                memo.handled.append(digest)
                continue
            try:
                if item.retracted:
                    await self._retract(source, item)
                    memo.handled.append(digest)
                else:
                    articles.append(self._article(item))
                    digests.append(digest)
            except Exception as exc:  # one bad item never stops the others
                feed.skip("invalid-item")
                memo.failed = True
                log.warning("poller: item %s of %s skipped: %s", item.url, source.id, exc)
        await self._add_full_text(source, articles)
        first = source.memo is None  # never ingested before (its items are new, mostly)
        new = 0
        for start in range(0, len(articles), WRITE_BATCH):
            chunk = articles[start : start + WRITE_BATCH]
            results: list[ArticleWrite | NewsflowError | None]
            try:
                results = list(await self.ingestor.import_many([(a, source) for a in chunk], first=first))
            except Exception:  # a failing write fails the batch call: retry the items alone
                results = []
                for article in chunk:
                    try:
                        results.append(await self.ingestor.ingest(article, source=source))
                    except Conflict as exc:
                        results.append(exc)
                    except Exception as exc:
                        results.append(None)
                        feed.skip("invalid-item")
                        memo.failed = True
                        log.warning("poller: item %s of %s skipped: %s", article.url, source.id, exc)
            for result, digest in zip(results, digests[start : start + WRITE_BATCH], strict=True):
                if isinstance(result, NewsflowError):  # another source's article, or a retracted one
                    feed.skip(result.code)
                if result is not None:  # stored, unchanged or refused for good: not worth another try
                    memo.handled.append(digest)
            new += sum(
                1
                for r in results
                if isinstance(r, ArticleWrite) and r.status in (WriteStatus.CREATED, WriteStatus.UPDATED)
            )
        return new

    @staticmethod
    def _article(item: FeedItem) -> ArticleIn:
        return ArticleIn.model_validate(
            {
                "title": item.title[:500],
                "url": item.url,
                "body": item.body or item.summary or item.title,
                "summary": item.summary[:5000],
                "tags": [t[:64] for t in item.tags if t.strip()][:50],
                "authors": [a[:200] for a in item.authors if a.strip()][:20],
                "image_url": item.image_url,
                "published_at": item.published_at,
                "external_id": item.external_id,
            }
        )

    async def _add_full_text(self, source: Source, articles: list[ArticleIn]) -> None:
        """RSS often carries the whole article in <description>; a short text is only a teaser, and then
        the page itself is fetched and its main text extracted."""

        async def fill(index: int) -> None:
            body = await self._full_text(str(articles[index].url))
            if body:
                articles[index] = articles[index].model_copy(update={"body": body})

        wanted = [
            i
            for i, a in enumerate(articles)
            if source.fetch_full_text or len(normalize.html_to_text(a.body)) < FULL_TEXT_BELOW
        ]
        await asyncio.gather(*(fill(i) for i in wanted))

    async def _retract(self, source: Source, item: FeedItem) -> None:
        if item.external_id:
            key = identity.external_article_id(source.id, item.external_id)
        else:
            key = identity.article_id(identity.canonical_url(item.url))
        # Only the source's own article: a marker in another source's feed retracts nothing.
        with contextlib.suppress(NotFound, NotTheOwner):
            await self.ingestor.retract(key, source_id=source.id)

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

    def _delay(self, source: Source, answer: Any, had_news: bool) -> float:
        low, high = float(source.min_interval_s), float(source.max_interval_s)
        current = float(source.interval_s or low)
        interval = max(low, current / 2) if had_news else min(high, current * 1.5)
        max_age = _max_age(answer.headers.get("cache-control"))
        return min(high, max(interval, max_age or 0.0))

    async def _finish(
        self,
        source: Source,
        *,
        status: int | None,
        error: str | None,
        failed: bool,
        delay: float | None,
        kind: str | None = None,
        validators: Validators | None = None,
        memo: FeedMemo | None = None,
        seen: int = 0,
        skipped: int = 0,
        problems: list[str] | None = None,
    ) -> None:
        now = datetime.now(UTC)
        errors = source.consecutive_errors + 1 if failed else 0
        low = float(source.min_interval_s)
        if delay is None:  # exponential back-off with full jitter, capped
            cap = min(self.settings.poller.max_backoff_s, low * 2**errors)
            delay = random.uniform(low, max(cap, low))
        outcome = PollOutcome(
            fetched_at=now,
            status=status,
            error=error,
            error_kind=kind if failed else None,
            problems=tuple((problems or [])[:20]),
            consecutive_errors=errors,
            next_poll_at=now + timedelta(seconds=delay),
            interval_s=delay if not failed else (source.interval_s or source.min_interval_s),
            validators=validators,
            memo=memo,
            errors_added=1 if failed else 0,
            articles_added=seen,
            skipped_added=skipped,
        )
        self.held.pop(source.id, None)
        await self.leases.finish(source.id, owner=self.owner, outcome=outcome, now=now)


async def _first(*events: asyncio.Event) -> None:
    """Returns when any of the events is set."""
    waits = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


def fetch_error_kind(exc: BaseException) -> str:
    """A short, stable name for why a fetch gave no answer (shown on the source's status)."""
    if isinstance(exc, FetchRefused):
        return exc.reason
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        return "connect"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.LocalProtocolError):
        return "protocol"
    if isinstance(exc, httpx.HTTPError | OSError):
        return "network"
    return "internal"


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
