"""The composition root of index: the only module that builds clients and wires them into the roles.

``cli.py`` maps each role to a ``run_*`` function here; ``main.py`` (the api) takes its state from
:func:`api_state`. Everything below receives what it needs (an Elasticsearch client, a consumer, a
producer). Each function imports its role's modules itself, so a worker does not load the
embedder's model code at start.
"""

import argparse
import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from confluent_kafka import Producer

from newsflow_index.bulk import is_transient
from newsflow_index.indices import ensure_alias_with_retry
from newsflow_index.settings import EmbedderSettings, IndexingSettings, Settings
from newsflow_kit.app import serve
from newsflow_kit.consumer import ConsumerLoop, Handler, run_until_signalled
from newsflow_kit.health import Check
from newsflow_kit.kafka import kafka_check, producer_config
from newsflow_kit.search import async_elasticsearch, sync_elasticsearch

if TYPE_CHECKING:
    from newsflow_index.service import SearchIndex

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiState:
    index: "SearchIndex"
    kafka_check: Check


@asynccontextmanager
async def api_state(settings: Settings) -> AsyncIterator[ApiState]:
    """The api's clients, open for the app's lifespan; the alias is prepared meanwhile (ES down: the api
    keeps serving, readyz says so, and the preparation keeps trying)."""
    from newsflow_index.service import SearchIndex

    es = async_elasticsearch(settings.elasticsearch)
    state = ApiState(
        index=SearchIndex(es, settings.elasticsearch.alias, settings.search.pit_keep_alive),
        kafka_check=kafka_check(settings.kafka),
    )
    stop = threading.Event()
    preparing = asyncio.create_task(asyncio.to_thread(_prepare_alias, settings, stop))
    with suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(preparing), timeout=5)
    try:
        yield state
    finally:
        stop.set()
        with suppress(Exception):
            await preparing
        await es.close()


def _prepare_alias(settings: Settings, stop: threading.Event) -> None:
    """Creates the index and alias if missing (idempotent; the worker does the same)."""
    es = sync_elasticsearch(settings.elasticsearch)
    try:
        ensure_alias_with_retry(es, settings.elasticsearch.alias, settings.indexing, stop=stop.is_set)
    finally:
        es.close()


def run_api(settings: Settings, _args: argparse.Namespace) -> None:
    serve("newsflow_index.main:create_app", settings)


def _articles_loop(
    settings: Settings,
    *,
    name: str,
    group_id: str,
    handler: Handler,
    tuning: IndexingSettings | EmbedderSettings,
    dead_letters: bool,
    hold: Callable[[], bool] | None = None,
) -> ConsumerLoop:
    """A consumer of articles.v1 (batches as ``tuning`` says, transient ES failures retried; ``hold``:
    see :class:`~newsflow_kit.consumer.ConsumerLoop`)."""
    return ConsumerLoop(
        settings.kafka,
        name=name,
        group_id=group_id,
        topics=[settings.kafka.articles_topic],
        handler=handler,
        dlq_topic=settings.kafka.articles_dlq_topic if dead_letters else None,
        is_transient=is_transient,
        batch_size=tuning.batch_size,
        batch_timeout=tuning.batch_timeout_s,
        max_backoff=tuning.max_backoff_s,
        hold=hold,
        hold_check_s=settings.ai_yield.check_s,
    )


def run_worker(settings: Settings, _args: argparse.Namespace) -> None:
    """Prepares the alias, then consumes until SIGTERM/SIGINT."""
    from newsflow_index import worker

    es = sync_elasticsearch(settings.elasticsearch)
    try:
        alias = settings.elasticsearch.alias
        index = ensure_alias_with_retry(es, alias, settings.indexing)
        log.info("worker writing through alias %s (now %s)", alias, index)
        handler = worker.batch_handler(es, alias, max_bulk_bytes=settings.indexing.max_bulk_bytes)
        run_until_signalled(
            _articles_loop(
                settings,
                name="index-worker",
                group_id=worker.GROUP_ID,
                handler=handler,
                tuning=settings.indexing,
                dead_letters=True,
            )
        )
    finally:
        es.close()


def run_embedder(settings: Settings, _args: argparse.Namespace) -> None:
    """Loads the model, waits for the side indices (created if missing), then consumes until SIGTERM/SIGINT."""
    from newsflow_index import embedder
    from newsflow_index.embedding import E5Embedder  # loads the model: only this role pays for it
    from newsflow_index.pressure import IndexingPressure, index_total

    os.nice(settings.embedder.nice)
    model = E5Embedder(threads=settings.embedder.threads)
    es = sync_elasticsearch(settings.elasticsearch)
    try:
        index = embedder.wait_for_side_indices(es, settings)
        alias, config = settings.elasticsearch.alias, settings.embedder
        log.info("embedder writing vectors next to alias %s (now %s) with %s", alias, index, model.name)
        handler = embedder.batch_handler(es, alias, model, cluster=settings.stories.enabled)
        pressure = IndexingPressure(index_total(es, alias), settings.ai_yield)
        run_until_signalled(
            _articles_loop(
                settings,
                name="index-embedder",
                group_id=embedder.GROUP_ID,
                handler=handler,
                tuning=config,
                dead_letters=False,
                hold=pressure.hold,
            )
        )
    finally:
        es.close()


def run_summarizer(settings: Settings, _args: argparse.Namespace) -> None:
    """Loads the model, waits for the side indices (created if missing), then summarises until SIGTERM/SIGINT."""
    from newsflow_index import embedder, summarizer
    from newsflow_index.embedding import E5Embedder
    from newsflow_index.pressure import IndexingPressure, VectorsBehind, any_of, index_total, vectors_behind

    config = settings.summarizer
    if config.idle_priority:  # behind serving, indexing and the embedder's vectors (niced, not idle)
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    model = E5Embedder(threads=config.threads)
    es = sync_elasticsearch(settings.elasticsearch)
    try:
        index = embedder.wait_for_side_indices(es, settings)
        alias = settings.elasticsearch.alias
        log.info("summarizer reading vectors from %s next to alias %s", index, alias)
        loop = summarizer.Summarizer(
            es,
            alias,
            model,
            batch_size=config.batch_size,
            max_sentences=config.max_sentences,
            idle_s=config.idle_s,
            hold=any_of(
                IndexingPressure(index_total(es, alias), settings.ai_yield).hold,
                VectorsBehind(vectors_behind(es, alias), settings.ai_yield).hold,
            ),
            hold_check_s=settings.ai_yield.check_s,
        )
        run_until_signalled(loop)
    finally:
        es.close()


def reindex(settings: Settings, *, keep_old: bool = False) -> str:
    """Rebuilds the index from articles.v1 and swaps the alias; returns the new index's name."""
    from newsflow_index import reindex as rebuild
    from newsflow_index.indices import new_index_name
    from newsflow_index.replay import reader

    name = new_index_name(settings.elasticsearch.alias)
    es = sync_elasticsearch(settings.elasticsearch)
    consumer = reader(settings.kafka, group_id=rebuild.group_id(name), client_id="index-reindex")
    try:
        return rebuild.run(settings, es, consumer, name, keep_old=keep_old)
    finally:
        consumer.close()
        es.close()


def redrive(settings: Settings) -> int:
    """Re-publishes what is in the DLQ now; returns how many messages went back to articles.v1."""
    from newsflow_index import redrive as dlq
    from newsflow_index.replay import reader

    consumer = reader(settings.kafka, group_id=dlq.GROUP_ID, client_id="index-redrive")
    producer = Producer(producer_config(settings.kafka, client_id="index-redrive"))
    try:
        return dlq.run(settings, consumer, producer)
    finally:
        consumer.close()


def run_reindex(settings: Settings, args: argparse.Namespace) -> None:
    name = reindex(settings, keep_old=args.keep_old)
    print(f"alias {settings.elasticsearch.alias} now points at {name}")  # noqa: T201 (the command's answer)


def run_redrive(settings: Settings, _args: argparse.Namespace) -> None:
    count = redrive(settings)
    print(f"re-drove {count} messages to {settings.kafka.articles_topic}")  # noqa: T201 (the command's answer)
