"""The poller at scale (issue 16): batched claims, leases that outlive the work, first imports in bulk.

Real local feed server, real MongoDB (FerretDB) and Kafka; the store's commands are counted with
pymongo's command monitoring.
"""

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.monitoring import CommandFailedEvent, CommandListener, CommandStartedEvent, CommandSucceededEvent

from newsflow_ingest.fetch import SafeFetcher
from newsflow_ingest.poller import Poller
from newsflow_ingest.service import Ingestor
from newsflow_ingest.settings import FetchSettings, PollerSettings, Settings
from newsflow_ingest.store import ArticlesRepo, SourceLeases, due_tick
from newsflow_ingest.store.mappers import source_of
from newsflow_kit.kafka import AsyncPublisher

from .conftest import FeedServer, Route

LONG = "The regional council approved the water quality plan after long public hearings. " * 6


def rss(n: int, items: int) -> bytes:
    entries = "".join(
        f"<item><guid>f{n}-{i}</guid><title>Feed {n} story {i}</title><link>https://s.example/{n}/{i}</link>"
        f"<description>{LONG} {n}-{i}</description></item>"
        for i in range(items)
    )
    return f'<rss version="2.0"><channel><title>f{n}</title>{entries}</channel></rss>'.encode()


@dataclass
class Commands(CommandListener):
    seen: Counter[tuple[str, str]] = field(default_factory=Counter)

    def started(self, event: CommandStartedEvent) -> None:
        collection = event.command.get(event.command_name)
        self.seen[(event.command_name, str(collection))] += 1

    def succeeded(self, event: CommandSucceededEvent) -> None:
        pass

    def failed(self, event: CommandFailedEvent) -> None:
        pass


@dataclass
class Scale:
    settings: Settings
    db: Any
    commands: Commands
    make: Callable[..., Poller]


@pytest.fixture
async def scale(settings: Settings, local_fetch: FetchSettings) -> AsyncIterator[Scale]:
    commands = Commands()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongo.uri, tz_aware=True, retryWrites=False, event_listeners=[commands]
    )
    db = mongo[settings.database]
    await SourceLeases(db).ensure_indexes()
    publisher = AsyncPublisher(settings.kafka, client_id="test-poller-scale")
    fetchers: list[SafeFetcher] = []

    def make(**poller: Any) -> Poller:
        tuned = settings.model_copy(
            update={"fetch": local_fetch, "poller": PollerSettings(**{"tick_s": 0.1, **poller})}
        )
        fetcher = SafeFetcher(local_fetch)
        fetchers.append(fetcher)
        repo = ArticlesRepo(db)
        return Poller(tuned, SourceLeases(db), Ingestor(repo, publisher, settings.kafka.articles_topic), fetcher)

    yield Scale(settings, db, commands, make)
    for fetcher in fetchers:
        await fetcher.aclose()
    await publisher.close()
    await mongo.close()


async def add_sources(db: Any, server: FeedServer, count: int, items: int = 2) -> list[str]:
    now = datetime.now(UTC)
    docs = []
    for n in range(count):
        server.routes[f"/f/{n}"] = Route(body=rss(n, items), headers={"Content-Type": "application/rss+xml"})
        docs.append(
            {
                "_id": f"s{n:05d}",
                "name": f"feed {n}",
                "kind": "feed",
                "feed_url": server.url(f"/f/{n}"),
                "language": "en",
                "min_interval_s": 300,
                "max_interval_s": 3600,
                "fetch_full_text": False,
                "paused": False,
                "created_at": now,
                "next_poll_at": now,
                "due_tick": due_tick(now),
                "interval_s": 300,
                "lease_until": now,
                "error_count": 0,
                "consecutive_errors": 0,
                "articles_seen": 0,
                "items_skipped": 0,
            }
        )
    await db["sources"].insert_many(docs)
    return [d["_id"] for d in docs]


async def until(check: Callable[[], Any], timeout: float = 60.0) -> None:
    """Polls an async condition (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_claims_come_in_batches_not_one_scan_per_feed(scale: Scale, feed_server: FeedServer) -> None:
    await add_sources(scale.db, feed_server, 100)
    poller, other = scale.make(claim_batch=64), scale.make(claim_batch=64)
    scale.commands.seen.clear()
    first, second = await asyncio.gather(poller.claim_batch(64), other.claim_batch(64))
    # a read per batch of 64, not one per source (on FerretDB a poller's first claim also reads every
    # feed once, for the earliest due tick: docs/ingest.md)
    assert scale.commands.seen[("find", "sources")] <= 4
    mine, theirs = {s.id for s in first}, {s.id for s in second}
    # both may read the same 64 due sources; the claims split them, never give one to both
    assert not mine & theirs and len(mine | theirs) >= 64
    rest = await poller.claim_batch(64)
    assert len(mine | theirs | {s.id for s in rest}) == 100  # everything due is claimed exactly once
    assert await poller.claim_batch(64) == []  # leased sources are not due


async def test_a_run_reads_the_sources_once_per_batch(scale: Scale, feed_server: FeedServer) -> None:
    ids = await add_sources(scale.db, feed_server, 60)
    poller = scale.make(claim_batch=32, concurrency=16, tick_s=1.0)  # few idle looks once all are claimed
    scale.commands.seen.clear()
    stop = asyncio.Event()
    run = asyncio.create_task(poller.run(stop))

    async def all_polled() -> bool:
        return await scale.db["sources"].count_documents({"last_status": 200}) == len(ids)

    await until(all_polled)
    stop.set()
    await run
    assert all(feed_server.hits[f"/f/{n}"] == 1 for n in range(60))
    # 60 feeds in batches of up to 32, topped up at half: a handful of reads, far fewer than one per feed
    assert scale.commands.seen[("find", "sources")] <= 12, scale.commands.seen


async def test_a_lease_outlives_a_slow_poll(scale: Scale, feed_server: FeedServer) -> None:
    """A poll slower than the lease: the holder renews it, so the other poller never fetches it too."""
    await add_sources(scale.db, feed_server, 2)
    feed_server.delay_s = 2.5
    pollers = [scale.make(lease_s=1.2), scale.make(lease_s=1.2)]
    stop = asyncio.Event()
    runs = [asyncio.create_task(p.run(stop)) for p in pollers]

    async def polled() -> bool:
        return await scale.db["sources"].count_documents({"last_status": 200}) == 2

    await until(polled)
    stop.set()
    await asyncio.gather(*runs)
    assert feed_server.hits == {"/f/0": 1, "/f/1": 1}, feed_server.hits


async def test_a_first_import_writes_new_items_in_bulk(scale: Scale, feed_server: FeedServer) -> None:
    await add_sources(scale.db, feed_server, 3, items=40)
    poller = scale.make()
    scale.commands.seen.clear()
    for source in await poller.claim_batch(3):
        await poller.poll(source)
    assert await scale.db["article_versions"].count_documents({}) == 120
    assert scale.commands.seen[("insert", "article_versions")] == 3  # one insert per feed, not one per item
    seqs = [d["seq"] for d in await scale.db["article_versions"].find({}, {"seq": 1}).to_list()]
    assert len(set(seqs)) == 120
    statuses = await scale.db["sources"].find({}, {"articles_seen": 1}).to_list()
    assert [s["articles_seen"] for s in statuses] == [40, 40, 40]
    # a second poll of the same items writes nothing new
    scale.commands.seen.clear()
    for doc in await scale.db["sources"].find({}).to_list():
        await poller.poll(replace(source_of(doc), lease_owner=poller.owner))
    assert scale.commands.seen[("insert", "article_versions")] == 0
