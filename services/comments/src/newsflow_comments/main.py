"""Wires the comments API: settings, clients in the lifespan, routers, health and metrics.

The lifespan also runs the api process's two background duties: the articles projection (a
consumer thread) and the maintenance loop (outbox sweep, clean-up of expired counters).
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure

from newsflow_comments.api import comments, moderation, threads
from newsflow_comments.context import Context, utcnow
from newsflow_comments.identity import Identity
from newsflow_comments.moderation_policy import Policies
from newsflow_comments.outbox import Outbox
from newsflow_comments.projection import Projection
from newsflow_comments.repository import Store
from newsflow_comments.responses import InertJSONResponse
from newsflow_comments.settings import Settings
from newsflow_kit.app import build_app
from newsflow_kit.errors import problem
from newsflow_kit.health import Check
from newsflow_kit.kafka import AsyncPublisher, kafka_check
from newsflow_kit.mongo import async_mongo, mongo_check

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Builds the app; nothing connects until the lifespan starts."""
    settings = settings or Settings()
    config = settings.comments

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        mongo = async_mongo(settings.mongo)
        store = Store(mongo, settings.database)
        await store.ensure_indexes()
        publisher = AsyncPublisher(settings.kafka, client_id="comments-api")
        outbox = Outbox(
            store, publisher, topic=settings.kafka.comments_topic, grace_s=config.outbox_grace_s, now=utcnow
        )
        app.state.mongo = mongo
        app.state.kafka_check = kafka_check(settings.kafka)
        app.state.context = Context(
            store=store,
            outbox=outbox,
            identity=Identity(config.secret.get_secret_value()),
            policies=Policies(store, cache_s=config.policy_cache_s),
            config=config,
        )
        projection = Projection(settings)
        projection.start()
        maintenance = asyncio.create_task(_maintain(app.state.context))
        try:
            yield
        finally:
            maintenance.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await maintenance
            await asyncio.to_thread(projection.stop)
            await outbox.drain()
            await publisher.close()
            await mongo.close()

    def checks(request: Request) -> Mapping[str, Check]:
        return {"mongodb": mongo_check(request.app.state.mongo), "kafka": request.app.state.kafka_check}

    app = build_app(
        title="Newsflow comments",
        lifespan=lifespan,
        routers=[threads.router, comments.router, moderation.router],
        checks=checks,
        http=settings.http,
        default_response_class=InertJSONResponse,
    )
    app.add_exception_handler(ConnectionFailure, _mongo_unavailable)
    return app


async def _maintain(ctx: Context) -> None:
    """Every ``outbox_sweep_s``: re-publish events left pending, drop expired counters and post keys."""
    while True:
        await asyncio.sleep(ctx.config.outbox_sweep_s)
        try:
            await ctx.outbox.sweep()
            now = ctx.now()
            await ctx.store.clean_expired(now, now - timedelta(seconds=ctx.config.duplicate_window_s))
        except Exception:  # keep the loop alive through a broker or database outage
            log.exception("comments maintenance failed; retrying")


async def _mongo_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("MongoDB unavailable: %s", exc)
    return problem(
        request,
        status=503,
        code="dependency-unavailable",
        title="Service unavailable",
        detail="the comment store does not answer; try again shortly",
        headers={"Retry-After": "5"},
    )
