"""Wires the ingest API: settings, clients in the lifespan, routers, health and metrics."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from newsflow_ingest.api import articles, sources
from newsflow_ingest.deps import State
from newsflow_ingest.repository import ArticlesRepo, SourcesRepo
from newsflow_ingest.service import Ingestor
from newsflow_ingest.settings import Settings
from newsflow_kit.app import build_app
from newsflow_kit.health import Check
from newsflow_kit.kafka import AsyncPublisher, kafka_check
from newsflow_kit.mongo import async_mongo, mongo_check


def create_app(settings: Settings | None = None) -> FastAPI:
    """Builds the app; nothing connects until the lifespan starts."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        mongo = async_mongo(settings.mongo)
        db = mongo[settings.database]
        articles_repo, sources_repo = ArticlesRepo(db), SourcesRepo(db)
        await articles_repo.ensure_indexes()
        await sources_repo.ensure_indexes()
        publisher = AsyncPublisher(settings.kafka, client_id="ingest-api") if settings.fast_path else None
        ingestor = Ingestor(articles_repo, publisher, settings.kafka.articles_topic)
        app.state.ingest = State(settings, articles_repo, sources_repo, ingestor)
        app.state.mongo = mongo
        app.state.kafka_check = kafka_check(settings.kafka)
        try:
            yield
        finally:
            if publisher is not None:
                await publisher.close()
            await mongo.close()

    def checks(request: Request) -> Mapping[str, Check]:
        return {"mongodb": mongo_check(request.app.state.mongo), "kafka": request.app.state.kafka_check}

    return build_app(
        title="Newsflow ingest",
        lifespan=lifespan,
        routers=[articles.router, sources.router],
        checks=checks,
        http=settings.http,
        max_body_bytes=settings.max_body_bytes,
    )
