"""Wires the index API: settings, clients in the lifespan, routers, health and metrics."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from newsflow_index.settings import Settings
from newsflow_kit.app import build_app
from newsflow_kit.health import Check
from newsflow_kit.kafka import kafka_check
from newsflow_kit.search import async_elasticsearch, elasticsearch_check


def create_app(settings: Settings | None = None) -> FastAPI:
    """Builds the app; nothing connects until the lifespan starts."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        es = async_elasticsearch(settings.elasticsearch)
        app.state.es = es
        app.state.kafka_check = kafka_check(settings.kafka)
        try:
            yield
        finally:
            await es.close()

    def checks(request: Request) -> Mapping[str, Check]:
        return {
            "kafka": request.app.state.kafka_check,
            "elasticsearch": elasticsearch_check(request.app.state.es),
        }

    return build_app(title="Newsflow index", lifespan=lifespan, routers=[], checks=checks)
