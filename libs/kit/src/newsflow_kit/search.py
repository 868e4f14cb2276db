"""Elasticsearch client factory and readiness check."""

from typing import Any

from elasticsearch import AsyncElasticsearch, Elasticsearch
from elasticsearch.serializer import OrjsonSerializer

from newsflow_kit.settings import ElasticsearchSettings


def _options(settings: ElasticsearchSettings) -> dict[str, Any]:
    # orjson: search answers (facets, highlights) and vector writes are the bulk of the bytes, and
    # the standard library's json spent 4 % of the index API's CPU decoding them (profiled).
    return {
        "request_timeout": settings.timeout_s,
        "max_retries": 1,
        "retry_on_timeout": False,
        "serializer": OrjsonSerializer(),
    }


def async_elasticsearch(settings: ElasticsearchSettings) -> AsyncElasticsearch:
    return AsyncElasticsearch(settings.url, **_options(settings))


def sync_elasticsearch(settings: ElasticsearchSettings) -> Elasticsearch:
    return Elasticsearch(settings.url, **_options(settings))


def elasticsearch_check(client: AsyncElasticsearch) -> Any:
    async def check() -> None:
        await client.cluster.health(timeout="2s")

    return check
