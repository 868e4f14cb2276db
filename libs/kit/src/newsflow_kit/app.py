"""Builds a service's FastAPI app with the shared defaults, and serves it."""

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, Request

from newsflow_kit.errors import install_error_handlers
from newsflow_kit.health import Check, health_router
from newsflow_kit.http import RequestContextMiddleware
from newsflow_kit.metrics import metrics_router
from newsflow_kit.settings import ServiceSettings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Any]]


def build_app(
    *,
    title: str,
    lifespan: Lifespan,
    routers: Sequence[APIRouter],
    checks: Callable[[Request], Mapping[str, Check]],
    max_body_bytes: int = 1 << 20,
    extra_headers: dict[str, str] | None = None,
    **fastapi_kwargs: Any,
) -> FastAPI:
    """A FastAPI app with problem-details errors, request context, health and metrics routes."""
    app = FastAPI(title=title, lifespan=lifespan, **fastapi_kwargs)
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=max_body_bytes, extra_headers=extra_headers)
    app.include_router(health_router(checks))
    app.include_router(metrics_router())
    for router in routers:
        app.include_router(router)
    return app


def serve(factory: str, settings: ServiceSettings) -> None:
    """Runs ``module:create_app`` under uvicorn; SIGTERM drains connections, then the lifespan closes."""
    uvicorn.run(
        factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        proxy_headers=True,
    )
