"""Fixtures of the gateway's tests: settings on private Kafka topics and a private Mongo database."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from newsflow_gateway.main import create_app
from newsflow_gateway.settings import ServicesSettings, Settings
from newsflow_kit.settings import KafkaSettings, MongoSettings
from newsflow_kit.testing import free_port

ADMIN_KEY = "test-admin-key-0123456789abcdef"


def dead_url() -> str:
    """A local address where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def make_settings(kafka_topics: KafkaSettings, mongo_database: MongoSettings) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        services = overrides.pop("services", None) or ServicesSettings(
            ingest_url=dead_url(), index_url=dead_url(), comments_url=dead_url()
        )
        return Settings(
            environment="test",
            kafka=kafka_topics,
            mongo=mongo_database,
            admin_key=ADMIN_KEY,
            services=services,
            **overrides,
        )

    return make


@pytest.fixture
def client(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings())) as c:
        yield c


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_KEY}"}
