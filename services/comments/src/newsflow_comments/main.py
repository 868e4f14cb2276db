"""Wires the comments API: settings, the context ``bootstrap`` builds for the lifespan, routers, health, metrics.

The API answers HTTP only: it reads and writes MongoDB and nothing else, so its readiness names
MongoDB alone. Events, scores and the articles projection are the ``worker`` and ``projection``
roles (cli.py).
"""

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from newsflow_comments import bootstrap
from newsflow_comments.api import comments, moderation, threads
from newsflow_comments.responses import InertJSONResponse
from newsflow_comments.settings import Settings
from newsflow_comments.store import StoreUnavailable
from newsflow_kit.app import build_app
from newsflow_kit.errors import problem
from newsflow_kit.health import Check
from newsflow_kit.mongo import mongo_check

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Builds the app; nothing connects until the lifespan starts."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with bootstrap.api_context(settings) as (context, mongo):
            app.state.context, app.state.mongo = context, mongo
            yield

    def checks(request: Request) -> Mapping[str, Check]:
        return {"mongodb": mongo_check(request.app.state.mongo)}

    app = build_app(
        title="Newsflow comments",
        lifespan=lifespan,
        routers=[threads.router, comments.router, moderation.router],
        checks=checks,
        http=settings.http,
        default_response_class=InertJSONResponse,
    )
    app.add_exception_handler(StoreUnavailable, _mongo_unavailable)
    return app


async def _mongo_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("MongoDB unavailable: %s", exc)
    return problem(
        request,
        status=503,
        code="dependency-unavailable",
        title="Service unavailable",
        detail="the comment store does not answer; try again shortly (a post retried with the same Idempotency-Key "
        "answers with its comment if it was stored)",
        headers={"Retry-After": "5"},
    )
