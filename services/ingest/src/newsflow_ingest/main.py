"""Wires the ingest API: settings, the state ``bootstrap`` builds for the lifespan, routers, health, metrics."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from newsflow_ingest import bootstrap
from newsflow_ingest.api import articles, sources, websub
from newsflow_ingest.settings import Settings
from newsflow_kit.app import build_app
from newsflow_kit.health import Check


def create_app(settings: Settings | None = None) -> FastAPI:
    """Builds the app; nothing connects until the lifespan starts."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with bootstrap.api_state(settings) as state:
            app.state.ingest = state
            yield

    def checks(request: Request) -> Mapping[str, Check]:
        return dict(request.app.state.ingest.checks)

    return build_app(
        title="Newsflow ingest",
        lifespan=lifespan,
        routers=[articles.router, sources.router, websub.router],
        checks=checks,
        http=settings.http,
        max_body_bytes=settings.max_body_bytes,
    )
