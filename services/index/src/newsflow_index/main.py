"""Wires the index API: settings, the clients bootstrap opens for the lifespan, routers, health and metrics."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from newsflow_index.api import articles, search, stories, tags
from newsflow_index.bootstrap import api_state
from newsflow_index.settings import Settings
from newsflow_kit.app import build_app
from newsflow_kit.health import Check
from newsflow_kit.search import elasticsearch_check


def create_app(settings: Settings | None = None) -> FastAPI:
    """Builds the app; nothing connects until the lifespan starts."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with api_state(settings) as state:
            app.state.index, app.state.kafka_check = state.index, state.kafka_check
            yield

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
