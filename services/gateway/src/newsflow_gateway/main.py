"""Wires the gateway: settings, the runtime ``bootstrap`` opens for the lifespan, routers, middleware."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from newsflow_gateway import bootstrap, web
from newsflow_gateway.api import (
    admin,
    comments,
    feeds,
    keys,
    newsapi,
    opml,
    publishing,
    reading,
    stories,
    streams,
    websub,
    ws,
)
from newsflow_gateway.deps import admin as admin_key
from newsflow_gateway.settings import Settings
from newsflow_kit.app import build_app
from newsflow_kit.health import Check
from newsflow_kit.http import SECURITY_HEADERS


def create_app(settings: Settings | None = None) -> FastAPI:
    """Builds the app; nothing connects until the lifespan starts."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with bootstrap.api_runtime(settings) as runtime:
            app.state.gateway, app.state.websub, app.state.runtime = runtime.gateway, runtime.websub, runtime
            app.state.stories = runtime.stories
            yield

    def checks(request: Request) -> Mapping[str, Check]:
        runtime: bootstrap.Runtime = request.app.state.runtime
        return runtime.checks()

    app = build_app(
        title="Newsflow gateway",
        description="The one public API of Newsflow: reading, search, comments, publishing, admin and live streams.",
        version="1",
        lifespan=lifespan,
        routers=[
            reading.router,
            stories.router,
            comments.router,
            publishing.router,
            opml.router,
            admin.router,
            keys.router,
            streams.router,
            ws.router,
            newsapi.router,
            feeds.router,
            websub.router,
            web.router,
        ],
        checks=checks,
        http=settings.http,
        max_body_bytes=settings.limits.max_body_bytes,
        extra_headers=SECURITY_HEADERS,
        docs_url=None,  # served by web.install from packaged assets (no CDN)
        redoc_url=None,
        metrics_guard=Depends(admin_key),  # /metrics is internals: admin key only on the public port
    )
    app.mount("/static", web.static_files(), name="static")
    web.install(app)
    app.add_middleware(GZipMiddleware, minimum_size=1000)  # HTML, CSS, JS, JSON; never event streams
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Edit-Token", "Last-Event-ID", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    return app
