"""Wires the gateway API: settings, clients in the lifespan, routers, health and metrics."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from newsflow_gateway.settings import Settings
from newsflow_kit.app import build_app
from newsflow_kit.health import Check
from newsflow_kit.kafka import kafka_check
from newsflow_kit.mongo import async_mongo, mongo_check


def create_app(settings: Settings | None = None) -> FastAPI:
    """Builds the app; nothing connects until the lifespan starts."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        mongo = async_mongo(settings.mongo)
        app.state.mongo = mongo
        app.state.kafka_check = kafka_check(settings.kafka)
        try:
            yield
        finally:
            await mongo.close()

    def checks(request: Request) -> Mapping[str, Check]:
        return {"mongodb": mongo_check(request.app.state.mongo), "kafka": request.app.state.kafka_check}

    return build_app(title="Newsflow gateway", lifespan=lifespan, routers=[], checks=checks)
