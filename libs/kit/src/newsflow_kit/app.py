"""Builds a service's FastAPI app with the shared defaults, and serves it."""

import gc
import socket
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from types import FrameType
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.params import Depends
from uvicorn._types import ASGIApplication

from newsflow_kit import shutdown
from newsflow_kit.errors import install_error_handlers
from newsflow_kit.health import Check, health_router
from newsflow_kit.http import RequestContextMiddleware
from newsflow_kit.metrics import metrics_router
from newsflow_kit.protocol import bounded_protocol
from newsflow_kit.settings import HttpSettings, ServiceSettings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Any]]


def build_app(
    *,
    title: str,
    lifespan: Lifespan,
    routers: Sequence[APIRouter],
    checks: Callable[[Request], Mapping[str, Check]],
    max_body_bytes: int = 1 << 20,
    http: HttpSettings | None = None,
    extra_headers: dict[str, str] | None = None,
    metrics_guard: Depends | None = None,
    **fastapi_kwargs: Any,
) -> FastAPI:
    """A FastAPI app with problem-details errors, request context, health and metrics routes.

    ``metrics_guard`` is a dependency ``/metrics`` runs first (the public gateway requires the
    admin key); without it ``/metrics`` is open, as on the internal services.
    """
    http = http or HttpSettings()
    app = FastAPI(title=title, lifespan=lifespan, **fastapi_kwargs)
    install_error_handlers(app)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=max_body_bytes,
        body_timeout_s=http.body_timeout_s,
        extra_headers=extra_headers,
    )
    app.include_router(health_router(checks))
    app.include_router(metrics_router(), dependencies=[metrics_guard] if metrics_guard else None)
    for router in routers:
        app.include_router(router)
    return app


def server_config(app: str | ASGIApplication, settings: ServiceSettings) -> uvicorn.Config:
    """uvicorn's configuration of every HTTP port: request deadlines, proxy trust, no server banner.

    Requests are read under deadlines (``NEWSFLOW_HTTP__*``), and ``X-Forwarded-For``/``-Proto`` are
    believed only from ``NEWSFLOW_HTTP__TRUSTED_PROXIES`` (none by default). ``app`` is an app, or
    ``"module:create_app"`` (a factory).
    """
    http = settings.http
    return uvicorn.Config(
        app,
        factory=isinstance(app, str),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        loop="uvloop",  # libuv's event loop: less CPU per request and per socket than asyncio's own
        timeout_graceful_shutdown=10,
        timeout_keep_alive=http.keep_alive_s,
        http=bounded_protocol(header_timeout_s=http.header_timeout_s, body_timeout_s=http.body_timeout_s),
        proxy_headers=bool(http.trusted_proxies),
        forwarded_allow_ips=http.trusted_proxies or [],
        server_header=False,
    )


class _Server(uvicorn.Server):
    """uvicorn's server, whose stop signal also arms the process's shutdown deadline."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        # What the imports and the lifespan built lives as long as the process: frozen, the
        # collector's full passes skip it. Each pass over it (about 110,000 objects in the gateway)
        # took 60-75 ms, and every request in flight waited for it (docs/benchmarks.md, thirteenth
        # session). Garbage is collected first, so none of it is kept forever.
        gc.collect()
        gc.freeze()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        shutdown.arm()


def serve(factory: str, settings: ServiceSettings) -> None:
    """Runs ``module:create_app`` under uvicorn; SIGTERM drains connections, then the lifespan closes
    (all within ``NEWSFLOW_SHUTDOWN_GRACE_S``)."""
    shutdown.configure(settings.shutdown_grace_s)
    server = _Server(server_config(factory, settings))
    server.run()
    if not server.started:  # as uvicorn.run: a port in use or a failing lifespan is an error exit
        raise SystemExit(3)
