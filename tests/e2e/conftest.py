"""The whole platform as real processes, on private topics, databases and index alias, once per session.

Every role of every service runs as in production (``newsflow-<service> <role>``); tests talk to the
gateway only, and isolate themselves from each other with their own sources.
"""

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from newsflow_kit.settings import ElasticsearchSettings, KafkaSettings, MongoSettings
from newsflow_kit.testing import (
    ServiceProcess,
    eventually,
    private_topics,
    remove_private_platform,
    role_process,
    settings_env,
    stop_all,
)

ADMIN_KEY = "e2e-admin-" + secrets.token_hex(16)


@dataclass
class Platform:
    gateways: list[ServiceProcess]
    admin_key: str
    clients: list[httpx.Client] = field(default_factory=list)
    # Starts one more role on the platform's topics and databases, stopped with the platform.
    start: Callable[..., ServiceProcess] | None = None
    mongo_uri: str = ""

    def _client(self, headers: dict[str, str]) -> httpx.Client:
        """A client closed when the platform stops (tests may use it without a `with`)."""
        client = httpx.Client(base_url=self.url, headers=headers, timeout=15)
        self.clients.append(client)
        return client

    @property
    def url(self) -> str:
        return self.gateways[0].url

    def admin(self) -> httpx.Client:
        return self._client({"Authorization": f"Bearer {self.admin_key}"})

    def client(self, key: str | None = None) -> httpx.Client:
        return self._client({"Authorization": f"Bearer {key}"} if key else {})


@pytest.fixture(scope="session")
def platform(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings, es_settings: ElasticsearchSettings
) -> Iterator[Platform]:
    suffix = secrets.token_hex(4)
    kafka = private_topics(kafka_settings, f"e2e-{suffix}")
    es = es_settings.model_copy(update={"alias": f"e2e-articles-{suffix}"})
    databases = {name: f"e2e_{suffix}_{name}" for name in ("ingest", "comments", "gateway")}
    common = settings_env(kafka=kafka, es=es) | {"NEWSFLOW_ADMIN_KEY": ADMIN_KEY}

    def env(service: str) -> dict[str, str]:
        mongo = {"NEWSFLOW_MONGO__URI": mongo_settings.uri}
        if service in databases:
            mongo["NEWSFLOW_MONGO__DATABASE"] = databases[service]
        return common | mongo

    started: list[ServiceProcess] = []

    def start(service: str, role: str, extra: dict[str, str] | None = None, *, http: bool = True) -> ServiceProcess:
        proc = role_process(service, role, env(service) | (extra or {}), http=http)
        started.append(proc)
        return proc.start()

    try:
        ingest = start("ingest", "api")
        start("ingest", "relay", http=False)
        index = start("index", "api")
        start("index", "worker", http=False)
        start("index", "embedder", http=False)
        start("index", "summarizer", http=False)
        comments = start("comments", "api")
        start("comments", "projection", http=False)
        start("comments", "worker", http=False)
        backing = {
            "NEWSFLOW_SERVICES__INGEST_URL": ingest.url,
            "NEWSFLOW_SERVICES__INDEX_URL": index.url,
            "NEWSFLOW_SERVICES__COMMENTS_URL": comments.url,
            "NEWSFLOW_LIMITS__ANONYMOUS_BURST": "100000",
            "NEWSFLOW_LIMITS__ANONYMOUS_PER_S": "10000",
            "NEWSFLOW_LIMITS__KEY_BURST": "100000",
            "NEWSFLOW_LIMITS__KEY_PER_S": "10000",
            "NEWSFLOW_STREAMS__QUEUE_SIZE": "64",
            # Out-feeds name the WebSub hub, which may call back subscribers on loopback (test_websub.py).
            "NEWSFLOW_WEBSUB__ADVERTISE": "true",
            "NEWSFLOW_WEBSUB__ALLOW_HOSTS": '["127.0.0.1"]',
        }
        gateways = [start("gateway", "api", backing), start("gateway", "api", backing)]
        platform = Platform(gateways, ADMIN_KEY, start=start, mongo_uri=mongo_settings.uri)
        yield platform
        for client in platform.clients:
            client.close()
    finally:
        stop_all(started)
        remove_private_platform(kafka=kafka, mongo_uri=mongo_settings.uri, databases=list(databases.values()), es=es)


@dataclass
class Publisher:
    source_id: str
    key_id: str
    key: str


@pytest.fixture
def new_publisher(platform: Platform) -> Callable[[], Publisher]:
    """Registers a push source of its own and a publisher key for it."""

    def make() -> Publisher:
        with platform.admin() as admin:
            name = f"E2E source {secrets.token_hex(3)}"
            body = {"name": name, "kind": "push", "homepage": "https://e2e.example/", "language": "en"}
            source = admin.post("/v1/admin/sources", json=body)
            assert source.status_code == 201, source.text
            source_id = source.json()["id"]
            key = admin.post("/v1/admin/keys", json={"name": name, "role": "publisher", "source_id": source_id})
            assert key.status_code == 201, key.text
            return Publisher(source_id, key.json()["id"], key.json()["key"])

    return make


def _article(word: str, n: int = 0, **extra: Any) -> dict[str, Any]:
    """A synthetic article whose text carries ``word`` (unique per test) so search finds only it."""
    return {
        "title": f"{word} story number {n}",
        "url": f"https://e2e.example/{word}/{n}",
        "body": f"<p>The {word} report {n} says the harbour reopened.</p>" + "<p>More text follows here.</p>" * 20,
        "tags": ["harbour"],
        "language": "en",
        **extra,
    }


def _wait_searchable(platform: Platform, word: str, count: int) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        page = httpx.get(f"{platform.url}/v1/search", params={"q": word, "size": 50}, timeout=10).json()
        return page if page.get("total", 0) >= count else None

    return eventually(found, timeout=30, interval=0.5)


@pytest.fixture
def word() -> str:
    return "zq" + secrets.token_hex(4)


@pytest.fixture
def article() -> Callable[..., dict[str, Any]]:
    return _article


@pytest.fixture
def wait_searchable(platform: Platform) -> Callable[[str, int], dict[str, Any]]:
    return lambda word, count: _wait_searchable(platform, word, count)
