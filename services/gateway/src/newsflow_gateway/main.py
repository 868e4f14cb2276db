"""Wires the gateway: settings, clients and the stream consumer in the lifespan, routers, middleware."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from newsflow_gateway import web
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
from newsflow_gateway.backends import Backends
from newsflow_gateway.compat.websub import Subscriptions
from newsflow_gateway.deps import Gateway
from newsflow_gateway.deps import admin as admin_key
from newsflow_gateway.keys import KeyStore
from newsflow_gateway.ratelimit import RateLimiter
from newsflow_gateway.settings import Settings
from newsflow_gateway.streams.changes import ChangeFollower
from newsflow_gateway.streams.consumer import BroadcastConsumer
from newsflow_gateway.streams.hub import Hub
from newsflow_gateway.streams.stories import StoryFollower
from newsflow_kit.app import build_app
from newsflow_kit.health import Check
from newsflow_kit.http import SECURITY_HEADERS
from newsflow_kit.kafka import kafka_check
from newsflow_kit.mongo import async_mongo, mongo_check


def create_app(settings: Settings | None = None) -> FastAPI:
    """Builds the app; nothing connects until the lifespan starts."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        mongo = async_mongo(settings.mongo)
        store = KeyStore(
            mongo[settings.database],
            bootstrap_admin_key=settings.admin_key.get_secret_value(),
            cache_ttl_s=settings.key_cache_ttl_s,
        )
        hub = Hub(queue_size=settings.streams.queue_size)
        gw = Gateway(settings, Backends(settings.services), store, RateLimiter(), hub)
        follower = ChangeFollower(
            backends=gw.backends, hub=hub, page=settings.streams.replay_page, poll_s=settings.streams.poll_s
        )
        consumer = BroadcastConsumer(
            settings.kafka,
            loop=asyncio.get_running_loop(),
            on_articles=follower.offer,
            on_comments=hub.submit,
        )
        app.state.gateway, app.state.mongo, app.state.consumer = gw, mongo, consumer
        app.state.stories = StoryFollower(backends=gw.backends, poll_s=settings.streams.stories_poll_s)
        app.state.kafka_check = kafka_check(settings.kafka)
        await store.ensure_indexes()
        subscriptions = Subscriptions(mongo[settings.database])
        await subscriptions.ensure_indexes()
        hub_client = httpx.AsyncClient(timeout=settings.websub.timeout_s, follow_redirects=False)
        app.state.websub = websub.HubState(subscriptions, hub_client)
        consumer.start()
        background = [
            asyncio.create_task(hub.run(), name="stream-fan-out"),
            asyncio.create_task(follower.run(), name="stream-changes"),
            asyncio.create_task(hub.heartbeat(settings.streams.heartbeat_s), name="stream-heartbeat"),
            asyncio.create_task(app.state.stories.run(), name="stream-stories"),
        ]
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*background)
            await asyncio.to_thread(consumer.stop)
            await gw.backends.aclose()
            await hub_client.aclose()
            await mongo.close()

    def checks(request: Request) -> Mapping[str, Check]:
        consumer: BroadcastConsumer = request.app.state.consumer

        async def stream() -> None:
            ready = consumer.ready.is_set() or await asyncio.to_thread(consumer.ready.wait, 2.0)
            if not (consumer.alive and ready):
                raise RuntimeError("stream consumer not reading yet")

        return {
            "mongodb": mongo_check(request.app.state.mongo),
            "kafka": request.app.state.kafka_check,
            "stream": stream,
        }

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
