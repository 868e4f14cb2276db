"""Elasticsearch client factory and readiness check."""

from typing import Any

from elasticsearch import AsyncElasticsearch, Elasticsearch

from newsflow_kit.settings import ElasticsearchSettings


def async_elasticsearch(settings: ElasticsearchSettings) -> AsyncElasticsearch:
    return AsyncElasticsearch(settings.url, request_timeout=settings.timeout_s, max_retries=1, retry_on_timeout=False)


def sync_elasticsearch(settings: ElasticsearchSettings) -> Elasticsearch:
    return Elasticsearch(settings.url, request_timeout=settings.timeout_s, max_retries=1, retry_on_timeout=False)


def elasticsearch_check(client: AsyncElasticsearch) -> Any:
    async def check() -> None:
        await client.cluster.health(timeout="2s")

    return check
