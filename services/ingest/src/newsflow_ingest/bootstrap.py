"""The composition root of ingest: the only module that builds clients and wires them into the roles.

``cli.py`` maps each role to a ``run_*`` function here; ``main.py`` (the api) takes its state from
:func:`api_state`. Everything below receives what it needs (repositories, a publisher, a fetcher).
Each function imports its role's modules itself, so a process loads only its own role's code (the
relay does not pay for the poller's HTML extraction or the api's language model at start).
"""

import argparse
import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from newsflow_ingest.settings import Settings
from newsflow_ingest.store import ArticlesRepo, Database, HubSubscriptions, SourceLeases, SourcesRepo
from newsflow_kit.app import serve
from newsflow_kit.kafka import AsyncPublisher, kafka_check
from newsflow_kit.mongo import async_mongo, mongo_check
from newsflow_kit.outbox import relay_forever
from newsflow_kit.roles import run_until_stopped

if TYPE_CHECKING:
    from newsflow_ingest.deps import State

log = logging.getLogger(__name__)


@asynccontextmanager
async def api_state(settings: Settings) -> AsyncIterator["State"]:
    """The api's clients and repositories, open for the app's lifespan."""
    from newsflow_ingest.deps import State
    from newsflow_ingest.service import Ingestor
    from newsflow_ingest.websub import WebSubIn

    mongo = async_mongo(settings.mongo)
    db = mongo[settings.database]
    articles, sources = ArticlesRepo(db), SourcesRepo(db)
    await articles.ensure_indexes()
    await sources.ensure_indexes()
    publisher = AsyncPublisher(settings.kafka, client_id="ingest-api") if settings.fast_path else None
    ingestor = Ingestor(articles, publisher, settings.kafka.articles_topic, answer_first=True)
    try:
        yield State(
            settings=settings,
            articles=articles,
            sources=sources,
            ingestor=ingestor,
            websub=WebSubIn(settings.websub, HubSubscriptions(db)),
            checks={"mongodb": mongo_check(mongo), "kafka": kafka_check(settings.kafka)},
        )
    finally:
        await ingestor.settle()
        if publisher is not None:
            await publisher.close()
        await mongo.close()


def run_api(settings: Settings, _args: argparse.Namespace) -> None:
    serve("newsflow_ingest.main:create_app", settings)


@asynccontextmanager
async def _store_and_publisher(settings: Settings, client_id: str) -> AsyncIterator[tuple[Database, AsyncPublisher]]:
    """A background role's database and publisher, closed when the role stops."""
    mongo = async_mongo(settings.mongo)
    publisher = AsyncPublisher(settings.kafka, client_id=client_id)
    try:
        yield mongo[settings.database], publisher
    finally:
        await publisher.close()
        await mongo.close()


def run_relay(settings: Settings, _args: argparse.Namespace) -> None:
    """Sweeps pending changes until SIGTERM/SIGINT; each pass's acknowledged changes are flipped first."""
    from newsflow_ingest.relay import Relay

    async def main(stop: asyncio.Event) -> None:
        async with _store_and_publisher(settings, "ingest-relay") as (db, publisher):
            relay = Relay(
                ArticlesRepo(db), publisher, topic=settings.kafka.articles_topic, grace_s=settings.relay_grace_s
            )
            log.info("relay: sweeping %s every %.1fs", settings.database, settings.relay_interval_s)
            await relay_forever(relay, stop, period_s=settings.relay_interval_s, name="ingest relay")
        log.info("relay: stopped")

    run_until_stopped(main)


def run_poller(settings: Settings, _args: argparse.Namespace) -> None:
    from newsflow_ingest.fetch import SafeFetcher
    from newsflow_ingest.poller import Poller
    from newsflow_ingest.processes import WorkerPool
    from newsflow_ingest.service import Ingestor
    from newsflow_ingest.websub import WebSubIn

    async def main(stop: asyncio.Event) -> None:
        async with _store_and_publisher(settings, "ingest-poller") as (db, publisher):
            fetcher = SafeFetcher(settings.fetch)
            workers = WorkerPool(settings.poller.processes) if settings.poller.processes else None
            ingestor = Ingestor(
                ArticlesRepo(db), publisher, settings.kafka.articles_topic, producer="ingest.poller", workers=workers
            )
            # subscribes the feeds that name a hub (docs/compat.md); off without a callback URL
            websub = WebSubIn(settings.websub, HubSubscriptions(db)) if settings.websub.callback_url else None
            log.info("poller: started")
            try:
                await Poller(settings, SourceLeases(db), ingestor, fetcher, websub).run(stop)
            finally:
                await fetcher.aclose()
                if workers is not None:
                    workers.close()
        log.info("poller: stopped")

    run_until_stopped(main)


def run_demo(settings: Settings, _args: argparse.Namespace) -> None:
    """Serves the demo feeds and pushes; SIGTERM ends it as it ends uvicorn (no stop event of ours)."""
    import httpx

    from newsflow_ingest import demo

    if not settings.demo.enabled:  # idle rather than exit: a process manager stops all when one exits
        log.info("demo: disabled")
        while True:
            time.sleep(3600)

    async def main() -> None:
        async with httpx.AsyncClient(base_url=settings.demo.ingest_url, timeout=10) as client:
            await demo.serve(settings, client)

    asyncio.run(main())
