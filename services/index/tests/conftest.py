"""Helpers of the index tests: article events, producing them, indexing a corpus directly."""

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from confluent_kafka import Producer
from elasticsearch import Elasticsearch

from newsflow_contracts import ArticleData, ArticleStatus, Envelope, EventType, new_event
from newsflow_index.bulk import write_bulk
from newsflow_index.indices import ensure_alias
from newsflow_index.mapping import to_document
from newsflow_index.settings import IndexingSettings
from newsflow_index.writes import Write
from newsflow_kit.kafka import encode, producer_config
from newsflow_kit.settings import ElasticsearchSettings, KafkaSettings
from newsflow_kit.testing import ServiceProcess, article_data, settings_env, unique

NOW = datetime.now(UTC).replace(microsecond=0)


def article(article_id: str, *, version: int = 1, **fields: Any) -> ArticleData:
    """An article with plausible defaults; ``age`` (a timedelta) sets published_at relative to now."""
    published = fields.pop("published_at", NOW - fields.pop("age", timedelta(hours=1)))
    defaults = {"source_name": "The Wire", "body_text": f"Body of {article_id}.", "published_at": published}
    return article_data(article_id, version=version, **(defaults | fields))


def event(data: ArticleData) -> Envelope[ArticleData]:
    if data.status is ArticleStatus.RETRACTED:
        kind = EventType.ARTICLE_RETRACTED
    else:
        kind = EventType.ARTICLE_PUBLISHED if data.version == 1 else EventType.ARTICLE_UPDATED
    return new_event(kind, data, producer="tests")


class Events:
    """Produces article events (key = article id) to the private articles topic."""

    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self.producer = Producer(producer_config(settings, client_id=unique("test-producer"), **{"linger.ms": 20}))

    def send(self, items: list[ArticleData], *, topic: str | None = None) -> None:
        for item in items:
            value, headers = encode(event(item))
            self.raw(item.id.encode(), value, headers=headers, topic=topic, flush=False)
        self.flush()

    def raw(
        self,
        key: bytes,
        value: bytes,
        *,
        headers: list[tuple[str, str | bytes | None]] | None = None,
        topic: str | None = None,
        flush: bool = True,
    ) -> None:
        while True:
            try:
                self.producer.produce(topic or self.settings.articles_topic, key=key, value=value, headers=headers)
                break
            except BufferError:
                self.producer.poll(0.1)
        if flush:
            self.flush()

    def flush(self) -> None:
        assert self.producer.flush(30) == 0


@pytest.fixture
def events(kafka_topics: KafkaSettings) -> Events:
    return Events(kafka_topics)


@pytest.fixture
def es(es_settings: ElasticsearchSettings) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_settings.url, request_timeout=30)
    yield client
    client.close()


@dataclass
class Pipeline:
    """A test's private indexing pipeline: its topics and alias, a client, an event producer, its roles."""

    kafka: KafkaSettings
    elastic: ElasticsearchSettings
    es: Elasticsearch
    events: Events
    service_process: Callable[..., ServiceProcess]

    @property
    def alias(self) -> str:
        return self.elastic.alias

    def env(self, **extra: str) -> dict[str, str]:
        """The variables that point a role at this pipeline (plus ``extra``)."""
        return settings_env(kafka=self.kafka, es=self.elastic) | extra

    def start(self, role: str, *, env: dict[str, str] | None = None) -> ServiceProcess:
        """Runs ``newsflow-index <role>`` against this pipeline (the api with its HTTP port)."""
        return self.service_process("newsflow-index", role, http=role == "api", env=env or self.env())


@pytest.fixture
def pipeline(
    kafka_topics: KafkaSettings,
    es_alias: ElasticsearchSettings,
    es: Elasticsearch,
    events: Events,
    service_process: Callable[..., ServiceProcess],
) -> Pipeline:
    return Pipeline(kafka_topics, es_alias, es, events, service_process)


def index_directly(es: Elasticsearch, alias: str, items: list[ArticleData]) -> None:
    """Stores articles through the worker's write path without Kafka (for corpus-style tests)."""
    ensure_alias(es, alias, IndexingSettings())
    writes = [Write(a.id, a.version, a.status is ArticleStatus.RETRACTED, to_document(a)) for a in items]
    assert write_bulk(es, alias, writes, max_bytes=1 << 20) == {}
    es.indices.refresh(index=alias)


@pytest.fixture
def count(es: Elasticsearch) -> Callable[..., int]:
    """Documents in an alias matching ``term`` filters (e.g. status="published", version=2)."""

    def run(alias: str, **terms: Any) -> int:
        es.indices.refresh(index=alias)
        query = {"bool": {"filter": [{"term": {k: v}} for k, v in terms.items()]}}
        return int(es.count(index=alias, query=query)["count"])

    return run


class Helpers:
    """The functions above, for tests (conftest modules are not importable under importlib mode)."""

    article = staticmethod(article)
    event = staticmethod(event)
    encode = staticmethod(encode)
    index_directly = staticmethod(index_directly)


@pytest.fixture(scope="session")
def helpers() -> type[Helpers]:
    return Helpers


@pytest.fixture
def fault_articles() -> int:
    """How many articles the fault tests stream (the issue says 20,000; NEWSFLOW_TEST_FAULT_ARTICLES lowers it)."""
    return int(os.environ.get("NEWSFLOW_TEST_FAULT_ARTICLES", "20000"))
