"""The composition root of comments: the only module that builds clients and wires them into the roles.

``cli.py`` maps each role to a ``run_*`` function here; ``main.py`` (the api) takes its context from
:func:`api_context`. Everything below receives what it needs (the store, a publisher).
"""

import argparse
import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pymongo import AsyncMongoClient

from newsflow_comments.articles import Articles
from newsflow_comments.context import Context, utcnow
from newsflow_comments.identity import Identity
from newsflow_comments.moderation_policy import Policies
from newsflow_comments.outbox import Relay
from newsflow_comments.projection import handler
from newsflow_comments.scores import ScoreFolder
from newsflow_comments.settings import Settings
from newsflow_comments.store import ArticleRefs, Doc, Store
from newsflow_comments.thread_cache import ThreadCache
from newsflow_comments.worker import Worker
from newsflow_kit.app import serve
from newsflow_kit.consumer import ConsumerLoop, run_until_signalled
from newsflow_kit.kafka import AsyncPublisher
from newsflow_kit.mongo import async_mongo, sync_mongo
from newsflow_kit.roles import run_until_stopped

log = logging.getLogger(__name__)


@asynccontextmanager
async def api_context(settings: Settings) -> AsyncIterator[tuple[Context, AsyncMongoClient[Doc]]]:
    """The api's context (and its MongoDB client, for readiness), open for the app's lifespan."""
    config = settings.comments
    mongo = async_mongo(settings.mongo)
    store = Store(mongo, settings.database)
    try:
        await store.ensure_indexes()
        yield (
            Context(
                store=store,
                articles=Articles(store, cache_s=config.article_cache_s),
                identity=Identity(config.secret.get_secret_value()),
                policies=Policies(store, cache_s=config.policy_cache_s),
                config=config,
                threads=ThreadCache(config.thread_cache_s),
            ),
            mongo,
        )
    finally:
        await mongo.close()


def run_api(settings: Settings, _args: argparse.Namespace) -> None:
    serve("newsflow_comments.main:create_app", settings)


def run_projection(settings: Settings, _args: argparse.Namespace) -> None:
    """Consumes until SIGTERM/SIGINT; the batch in hand finishes and its offsets commit."""
    mongo = sync_mongo(settings.mongo)
    try:
        loop = ConsumerLoop(
            settings.kafka,
            name="comments-articles",
            group_id=settings.comments.projection_group,
            topics=[settings.kafka.articles_topic],
            handler=handler(ArticleRefs(mongo[settings.database])),
        )
        run_until_signalled(loop)
    finally:
        mongo.close()


def run_worker(settings: Settings, _args: argparse.Namespace) -> None:
    """Runs until SIGTERM/SIGINT; the pass in hand finishes first."""
    config = settings.comments

    async def main(stop: asyncio.Event) -> None:
        mongo = async_mongo(settings.mongo)
        publisher = AsyncPublisher(settings.kafka, client_id="comments-worker")
        try:
            store = Store(mongo, settings.database)
            await store.ensure_indexes()
            relay = Relay(
                store,
                publisher,
                topic=settings.kafka.comments_topic,
                grace_s=config.outbox_grace_s,
                margin_s=config.outbox_margin_s,
                now=utcnow,
            )
            folder = ScoreFolder(store, margin_s=config.outbox_margin_s, now=utcnow)
            log.info("comments worker: every %.1fs", config.outbox_sweep_s)
            await Worker(store, relay, folder, period_s=config.outbox_sweep_s).run(stop)
        finally:
            await publisher.close()
            await mongo.close()

    run_until_stopped(main)
