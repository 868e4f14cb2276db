"""Publishing with a publisher key: push, batch push and retraction, for the key's own source only."""

from typing import Any

from fastapi import Response

from newsflow_gateway.api import v1_router
from newsflow_gateway.backends import Service
from newsflow_gateway.deps import GatewayDep, IdPath, PublisherDep, SmallBody
from newsflow_gateway.schemas import ArticlePublish, ArticlesBatch, BatchResult, PublishResult
from newsflow_gateway.service import owned_article, restore, retract

router = v1_router(tags=["publishing"])


@router.post(
    "/articles",
    response_model=PublishResult,
    status_code=201,
    responses={200: {"model": PublishResult, "description": "Updated or unchanged"}},
    dependencies=[SmallBody],
)
async def publish(body: ArticlePublish, principal: PublisherDep, gw: GatewayDep, response: Response) -> Any:
    """Publishes (or updates) one article: 201 when created, 200 when updated or unchanged."""
    result = await gw.backends.call(Service.INGEST, "POST", "/articles", json=owned_article(principal, body))
    response.status_code = 201 if result.get("status") == "created" else 200
    return result


@router.post("/articles:batch", response_model=BatchResult)
async def publish_batch(body: ArticlesBatch, principal: PublisherDep, gw: GatewayDep) -> Any:
    """Publishes up to 500 articles; each item answers on its own (a result or a problem)."""
    items = [owned_article(principal, item) for item in body.items]
    payload = {"source_id": principal.source_id, "items": items}
    return await gw.backends.call(Service.INGEST, "POST", "/articles:batch", json=payload)


@router.delete("/articles/{article_id}", response_model=PublishResult)
async def retract_article(article_id: IdPath, principal: PublisherDep, gw: GatewayDep) -> Any:
    """Retracts an article of the key's source."""
    return await retract(backends=gw.backends, principal=principal, article_id=article_id)


@router.post("/articles/{article_id}:restore", response_model=PublishResult)
async def restore_article(article_id: IdPath, principal: PublisherDep, gw: GatewayDep) -> Any:
    """Publishes a retracted article of the key's source again; pushes of it are accepted afterwards."""
    return await restore(backends=gw.backends, principal=principal, article_id=article_id)
