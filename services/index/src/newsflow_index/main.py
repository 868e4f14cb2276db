"""Wires the index API: settings, clients in the lifespan, routers, health and metrics."""

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI, Request

from newsflow_index.api import articles, search, stories, tags
from newsflow_index.indices import ensure_alias_with_retry
from newsflow_index.service import SearchIndex
from newsflow_index.settings import Settings
from newsflow_kit.app import build_app
from newsflow_kit.health import Check
from newsflow_kit.kafka import kafka_check
from newsflow_kit.search import async_elasticsearch, elasticsearch_check, sync_elasticsearch

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Builds the app; nothing connects until the lifespan starts."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        es = async_elasticsearch(settings.elasticsearch)
        app.state.index = SearchIndex(es, settings.elasticsearch.alias, settings.search.pit_keep_alive)
        app.state.kafka_check = kafka_check(settings.kafka)
        stop = threading.Event()
        preparing = asyncio.create_task(asyncio.to_thread(_prepare_alias, settings, stop))
        with suppress(TimeoutError):  # ES down: keep serving (readyz says so), the task keeps trying
            await asyncio.wait_for(asyncio.shield(preparing), timeout=5)
        try:
            yield
        finally:
            stop.set()
            with suppress(Exception):
                await preparing
            await es.close()

    def checks(request: Request) -> Mapping[str, Check]:
        return {
            "kafka": request.app.state.kafka_check,
            "elasticsearch": elasticsearch_check(request.app.state.index.es),
        }

    return build_app(
        title="Newsflow index",
        lifespan=lifespan,
        routers=[search.router, articles.router, tags.router, stories.router],
        checks=checks,
        http=settings.http,
    )


def _prepare_alias(settings: Settings, stop: threading.Event) -> None:
    """Creates the index and alias if missing (idempotent; the worker does the same)."""
    es = sync_elasticsearch(settings.elasticsearch)
    try:
        ensure_alias_with_retry(es, settings.elasticsearch.alias, settings.indexing, stop=stop.is_set)
    finally:
        es.close()
