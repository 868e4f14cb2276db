"""``newsflow-gateway websub``: notifies the hub's subscribers of new and changed articles.

A Kafka consumer group (one delivery per event however many notifier replicas run) reads
``articles.v1``; for each batch it finds the live subscriptions whose topic lists one of the
articles (latest, its tags, its source, its language) and queues one delivery per subscription:
the topic's format holding just those articles, signed with the subscriber's secret. Deliveries
wait in a bounded queue (full: the new one is dropped and counted); a failed one is retried with
doubling delays up to ``WEBSUB__MAX_ATTEMPTS``. Queued deliveries live in memory: a crash loses
them, as any hub's best effort does; the subscriber's poll of the feed is the fallback.
"""

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Any

import httpx
from confluent_kafka import Message
from prometheus_client import Counter
from pydantic import ValidationError

from newsflow_contracts import ArticleData, ArticleStatus, Envelope
from newsflow_gateway.compat.outfeeds import Feed, Format, Scope, render
from newsflow_gateway.compat.websub import Subscriptions, signature
from newsflow_gateway.settings import Settings
from newsflow_kit.consumer import ConsumerLoop, Poison, run_until_signalled
from newsflow_kit.mongo import async_mongo

log = logging.getLogger(__name__)
DELIVERIES = Counter("newsflow_gateway_websub_deliveries_total", "WebSub deliveries by outcome", ["outcome"])
MAX_DELAY_S = 600.0


@dataclass(frozen=True)
class Delivery:
    callback: str
    topic: str
    hub: str
    media_type: str
    body: bytes
    secret: str | None
    attempt: int = 1


def scopes_of(article: ArticleData) -> list[tuple[str, str]]:
    """The pushable topics an article appears in."""
    return [
        ("latest", ""),
        ("source", article.source_id),
        ("language", article.language),
        *(("tag", tag) for tag in article.tags),
    ]


def deliveries_for(subscriptions: list[dict[str, Any]], articles: list[ArticleData]) -> list[Delivery]:
    """One delivery per subscription, holding the batch's articles of its topic, newest first."""
    out = []
    for sub in subscriptions:
        scope = Scope(sub["kind"], sub["value"])
        entries = [a for a in articles if (scope.kind, scope.value) in scopes_of(a)]
        if not entries:
            continue
        entries.sort(key=lambda a: a.published_at, reverse=True)
        fmt = Format(sub["format"])
        hub = f"{sub['base_url']}/websub/hub"
        feed = Feed(scope=scope, base_url=sub["base_url"], entries=entries, hub_url=hub)
        body = render(feed, fmt, sub.get("content", "full"))
        out.append(Delivery(sub["callback"], sub["topic"], hub, fmt.media_type, body, sub.get("secret")))
    return out


class Notifier:
    """The delivery side: an event loop in its own thread with a bounded queue and workers."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings.websub
        self.loop = asyncio.new_event_loop()
        self.queue: asyncio.Queue[Delivery] | None = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="websub-deliveries", daemon=True)
        self._mongo = async_mongo(settings.mongo)
        self._database = settings.database

    def start(self) -> None:
        self.thread.start()
        self.ready.wait(10)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.queue = asyncio.Queue(maxsize=self.settings.queue_size)
        self.client = httpx.AsyncClient(timeout=self.settings.timeout_s, follow_redirects=False)
        self.subscriptions = Subscriptions(self._mongo[self._database])
        for n in range(self.settings.workers):
            self.loop.create_task(self._worker(), name=f"websub-worker-{n}")
        self.ready.set()
        self.loop.run_forever()

    def handle(self, messages: list[Message]) -> list[Poison]:
        """The consumer's handler: find the subscriptions and queue the deliveries (then offsets move on)."""
        articles = []
        for msg in messages:
            if msg.error() is not None:
                continue
            try:
                envelope = Envelope[ArticleData].model_validate_json(msg.value() or b"")
            except ValidationError as exc:
                log.warning("websub: skipping undecodable %s@%s: %s", msg.topic(), msg.offset(), exc)
                continue
            if envelope.data.status is ArticleStatus.PUBLISHED:
                articles.append(envelope.data)
        if articles:
            asyncio.run_coroutine_threadsafe(self._fan_out(articles), self.loop).result(timeout=30)
        return []

    async def _fan_out(self, articles: list[ArticleData]) -> None:
        wanted = sorted({scope for a in articles for scope in scopes_of(a)})
        for delivery in deliveries_for(await self.subscriptions.matching(wanted), articles):
            self._offer(delivery)

    def _offer(self, delivery: Delivery) -> None:
        assert self.queue is not None
        try:
            self.queue.put_nowait(delivery)
        except asyncio.QueueFull:
            DELIVERIES.labels("dropped-queue-full").inc()
            log.warning("websub: queue full, delivery to %s dropped", delivery.callback)

    async def _worker(self) -> None:
        assert self.queue is not None
        while True:
            delivery = await self.queue.get()
            try:
                await self._deliver(delivery)
            except Exception:
                log.exception("websub: delivery to %s failed unexpectedly", delivery.callback)
            finally:
                self.queue.task_done()

    async def _deliver(self, delivery: Delivery) -> None:
        headers = {
            "Content-Type": delivery.media_type,
            "Link": f'<{delivery.hub}>; rel="hub", <{delivery.topic}>; rel="self"',
        }
        if delivery.secret:
            headers["X-Hub-Signature"] = signature(delivery.secret, delivery.body)
        try:
            answer = await self.client.post(delivery.callback, content=delivery.body, headers=headers)
            ok, why = answer.is_success, f"HTTP {answer.status_code}"
        except httpx.HTTPError as exc:
            ok, why = False, repr(exc)
        if ok:
            DELIVERIES.labels("delivered").inc()
            return
        if delivery.attempt >= self.settings.max_attempts:
            DELIVERIES.labels("dropped-after-retries").inc()
            log.warning("websub: gave up on %s after %d attempts (%s)", delivery.callback, delivery.attempt, why)
            return
        DELIVERIES.labels("retried").inc()
        delay = min(MAX_DELAY_S, self.settings.retry_base_s * 2 ** (delivery.attempt - 1))
        again = Delivery(**{**delivery.__dict__, "attempt": delivery.attempt + 1})
        self.loop.call_later(delay, self._offer, again)


def run(settings: Settings) -> None:
    notifier = Notifier(settings)
    notifier.start()
    loop = ConsumerLoop(
        settings.kafka,
        name="gateway-websub",
        group_id="gateway-websub",
        topics=[settings.kafka.articles_topic],
        handler=notifier.handle,
    )
    try:
        run_until_signalled(loop)
    finally:
        notifier.stop()
