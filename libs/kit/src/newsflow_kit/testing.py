"""Pytest plugin shared by every test suite (registered in the root pytest config).

Tests talk to the real local servers that ``make test`` started. Each test gets its own Kafka
topics, MongoDB database and Elasticsearch index alias, removed afterwards, so tests never see each
other's data. Asynchronous effects are awaited with :func:`eventually`, never with a bare sleep.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
import pytest
import uvicorn
from confluent_kafka import Consumer, Message
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient
from pymongo import MongoClient, monitoring

from newsflow_contracts import ARTICLES, ARTICLES_DLQ, COMMENTS, ArticleData, TopicSpec
from newsflow_kit.kafka import admin, delete_topics, ensure_topics
from newsflow_kit.settings import ElasticsearchSettings, KafkaSettings, MongoSettings

T = TypeVar("T")


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def eventually(check: Callable[[], T], *, timeout: float = 15.0, interval: float = 0.1) -> T:
    """Polls ``check`` until it returns without raising (and not None/False), or fails at the deadline."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            result = check()
            if result is not None and result is not False:
                return result
        except (AssertionError, Exception) as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last error: {last!r})")
        time.sleep(interval)


def article_data(article_id: str, *, version: int = 1, **fields: Any) -> ArticleData:
    """A valid article for tests: plausible defaults (published now, ``seq`` = ``version``), ``fields`` override."""
    now = datetime.now(UTC)
    defaults: dict[str, Any] = {
        "seq": version,
        "source_id": "wire",
        "url": f"https://example.com/{article_id}",
        "canonical_url": f"https://example.com/{article_id}",
        "title": f"Article {article_id}",
        "published_at": now,
        "updated_at": fields.get("published_at", now),
    }
    return ArticleData(id=article_id, version=version, **(defaults | fields))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> None:
    try:
        eventually(check, timeout=timeout, interval=0.5)
    except AssertionError as exc:
        pytest.fail(f"{what} is not answering; `make test` starts it ({exc})", pytrace=False)


@pytest.fixture(scope="session")
def kafka_settings() -> KafkaSettings:
    """The local broker, checked once per session."""
    settings = KafkaSettings(bootstrap_servers=os.environ.get("NEWSFLOW_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    client = admin(settings)
    _wait_for("Kafka", lambda: client.list_topics(timeout=2))
    return settings


@pytest.fixture(scope="session")
def mongo_settings() -> MongoSettings:
    settings = MongoSettings(uri=os.environ.get("NEWSFLOW_MONGO__URI", "mongodb://127.0.0.1:27017/"))
    client: MongoClient[dict[str, Any]] = MongoClient(settings.uri, serverSelectionTimeoutMS=2000)
    _wait_for("MongoDB (FerretDB)", lambda: client.admin.command("ping"))
    client.close()
    return settings


@pytest.fixture(scope="session")
def es_settings() -> ElasticsearchSettings:
    settings = ElasticsearchSettings(url=os.environ.get("NEWSFLOW_ELASTICSEARCH__URL", "http://127.0.0.1:9200"))
    client = Elasticsearch(settings.url)
    _wait_for("Elasticsearch", lambda: client.cluster.health(wait_for_status="yellow", timeout="2s"))
    client.close()
    return settings


def private_topics(settings: KafkaSettings, suffix: str) -> KafkaSettings:
    """Creates the platform's topics under names ending in ``suffix``; returns settings naming them."""
    private = settings.model_copy(update={
        "articles_topic": f"{ARTICLES.name}-{suffix}",
        "comments_topic": f"{COMMENTS.name}-{suffix}",
        "articles_dlq_topic": f"{ARTICLES_DLQ.name}-{suffix}",
    })  # fmt: skip
    ensure_topics(private, [
        TopicSpec(private.articles_topic, ARTICLES.partitions, ARTICLES.config),
        TopicSpec(private.comments_topic, COMMENTS.partitions, COMMENTS.config),
        TopicSpec(private.articles_dlq_topic, ARTICLES_DLQ.partitions, ARTICLES_DLQ.config),
    ])  # fmt: skip
    return private


def delete_private_topics(settings: KafkaSettings) -> None:
    names = [settings.articles_topic, settings.comments_topic, settings.articles_dlq_topic]
    delete_topics(settings, names)


def remove_private_platform(
    *, kafka: KafkaSettings, mongo_uri: str, databases: list[str], es: ElasticsearchSettings
) -> None:
    """Removes what a private platform of roles used: its topics, databases and Elasticsearch alias."""
    delete_private_topics(kafka)
    mongo: MongoClient[dict[str, Any]] = MongoClient(mongo_uri)
    for name in databases:
        mongo.drop_database(name)
    mongo.close()
    client = Elasticsearch(es.url)
    client.indices.delete(index=f"{es.alias}*", ignore_unavailable=True, allow_no_indices=True)
    client.close()


@pytest.fixture
def kafka_topics(kafka_settings: KafkaSettings) -> Iterator[KafkaSettings]:
    """Kafka settings whose topic names are private to this test (created now, deleted after)."""
    settings = private_topics(kafka_settings, secrets.token_hex(4))
    yield settings
    delete_private_topics(settings)


@pytest.fixture
def mongo_database(mongo_settings: MongoSettings) -> Iterator[MongoSettings]:
    """Mongo settings naming a database private to this test (dropped after)."""
    settings = mongo_settings.model_copy(update={"database": unique("test").replace("-", "_")})
    yield settings
    client: MongoClient[dict[str, Any]] = MongoClient(settings.uri)
    client.drop_database(settings.database)
    client.close()


@pytest.fixture
def es_alias(es_settings: ElasticsearchSettings) -> Iterator[ElasticsearchSettings]:
    """Elasticsearch settings naming an alias private to this test (its indices are deleted after)."""
    settings = es_settings.model_copy(update={"alias": unique("test-articles")})
    yield settings
    client = Elasticsearch(settings.url)
    client.indices.delete(index=f"{settings.alias}*", ignore_unavailable=True, allow_no_indices=True)
    client.close()


def read_topic(
    settings: KafkaSettings, topic: str, *, until: Callable[[list[Message]], bool], timeout: float = 20.0
) -> list[Message]:
    """Reads ``topic`` from the beginning with a throw-away group until ``until(messages)`` holds."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": unique("reader"),
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    messages: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        while not until(messages):
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}: condition not met within {timeout}s; read {len(messages)} messages")
            for msg in consumer.consume(500, 0.5):
                if msg.error() is None:
                    messages.append(msg)
    finally:
        consumer.close()
    return messages


class ServiceProcess:
    """A service role run as its own process (``newsflow-<service> <role>``), as in production."""

    def __init__(self, args: list[str], env: dict[str, str], port: int | None) -> None:
        self.args, self.env, self.port = args, env, port
        self.log = Path(os.environ.get("NEWSFLOW_TEST_LOGS", "/tmp")) / f"{unique(Path(args[0]).name)}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._out: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait_ready: bool = True, timeout: float = 60.0) -> "ServiceProcess":
        self._out = open(self.log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            self.args, env={**os.environ, **self.env}, stdout=self._out, stderr=subprocess.STDOUT
        )
        if wait_ready and self.port is not None:

            def ready() -> bool:
                assert self.proc is not None and self.proc.poll() is None, f"exited; see {self.log}"
                return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200

            eventually(ready, timeout=timeout, interval=0.2)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        """Signals the process and waits for it; returns its exit code."""
        try:
            if self.proc is None or self.proc.poll() is not None:
                return self.proc.returncode if self.proc else None
            self.proc.send_signal(sig)
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait(10)
        finally:
            if self._out is not None and (self.proc is None or self.proc.poll() is not None):
                self._out.close()
                self._out = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def role_process(service: str, role: str, env: dict[str, str], *, http: bool = True) -> ServiceProcess:
    """``newsflow-<service> <role>`` as a (not yet started) process with test defaults and a free port.

    Shared by the e2e platform and the fault matrix, which run every role this way.
    """
    port = free_port() if http else None
    full = {"NEWSFLOW_ENVIRONMENT": "test", "NEWSFLOW_LOG_JSON": "true", **env}
    if port is not None:
        full["NEWSFLOW_PORT"] = str(port)
    exe = Path(sys.executable).parent / f"newsflow-{service}"
    return ServiceProcess([str(exe), role], full, port)


@pytest.fixture
def service_process() -> Iterator[Callable[..., ServiceProcess]]:
    """Factory: ``service_process("newsflow-ingest", "api", env={...})`` → a started process, stopped after."""
    started: list[ServiceProcess] = []

    def make(
        *args: str,
        env: dict[str, str] | None = None,
        http: bool = True,
        start: bool = True,
        **start_kwargs: Any,
    ) -> ServiceProcess:
        port = free_port() if http else None
        full_env = {"NEWSFLOW_ENVIRONMENT": "test", "NEWSFLOW_LOG_JSON": "true", **(env or {})}
        if port is not None:
            full_env["NEWSFLOW_PORT"] = str(port)
        exe = Path(sys.executable).parent / args[0]
        proc = ServiceProcess([str(exe), *args[1:]], full_env, port)
        started.append(proc)
        return proc.start(**start_kwargs) if start else proc

    yield make
    stop_all(started)


def stop_all(procs: Iterable["ServiceProcess"], timeout: float = 20.0) -> None:
    """Stops every process at once: SIGTERM to all, then each waited for within one shared ``timeout``
    (and killed past it), so a teardown of many roles takes the slowest one's time, not their sum."""
    live = [p for p in procs if p.proc is not None and p.proc.poll() is None]
    for proc in live:
        assert proc.proc is not None
        proc.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in live:
        proc.stop(timeout=max(0.1, deadline - time.monotonic()))


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Runs the ASGI ``app`` (a test's stand-in for another service) in a thread on a free port; yields its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        eventually(lambda: server.started, timeout=10)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def assert_serving(
    app: Any,
    *,
    checks: dict[str, str] | None = None,
    metric: str = "newsflow_http_requests_total",
    metrics_headers: dict[str, str] | None = None,
) -> None:
    """An app's probes answer (``app`` an ASGI app, run here with its lifespan, or a TestClient of one):
    ``/healthz`` ok; ``/readyz`` 200, its checks exactly ``checks`` if given; ``metric`` in ``/metrics``."""
    if not isinstance(app, TestClient):
        with TestClient(app) as client:
            return assert_serving(client, checks=checks, metric=metric, metrics_headers=metrics_headers)
    assert app.get("/healthz").json() == {"status": "ok"}
    ready = app.get("/readyz")
    assert ready.status_code == 200, ready.text
    if checks is not None:
        assert ready.json()["checks"] == checks
    assert metric in app.get("/metrics", headers=metrics_headers).text
    return None


def settings_env(
    *,
    kafka: KafkaSettings | None = None,
    mongo: MongoSettings | None = None,
    es: ElasticsearchSettings | None = None,
) -> dict[str, str]:
    """The ``NEWSFLOW_*`` variables that point a service process at a test's private resources."""
    env: dict[str, str] = {}
    if kafka is not None:
        env |= {
            "NEWSFLOW_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "NEWSFLOW_KAFKA__ARTICLES_TOPIC": kafka.articles_topic,
            "NEWSFLOW_KAFKA__COMMENTS_TOPIC": kafka.comments_topic,
            "NEWSFLOW_KAFKA__ARTICLES_DLQ_TOPIC": kafka.articles_dlq_topic,
        }
    if mongo is not None:
        env |= {"NEWSFLOW_MONGO__URI": mongo.uri, "NEWSFLOW_MONGO__DATABASE": mongo.database}
    if es is not None:
        env |= {"NEWSFLOW_ELASTICSEARCH__URL": es.url, "NEWSFLOW_ELASTICSEARCH__ALIAS": es.alias}
    return env


def equality_only_store(uri: str) -> bool:
    """True when the store at ``uri`` indexes only equality filters (FerretDB 1.x; see ``newsflow_kit.mongo``):
    there an ``$in`` of n values costs n commands, which round-trip budgets allow for."""
    client: MongoClient[dict[str, Any]] = MongoClient(uri, serverSelectionTimeoutMS=2000)
    try:
        return "ferretdbVersion" in client.admin.command("buildInfo")
    finally:
        client.close()


class DatabaseCommands(monitoring.CommandListener):
    """The commands sent to one database (``None``: none yet), in order, for round-trip budgets: each
    named with its collection (``find articles``) when it has one. Register it with
    ``pymongo.monitoring.register`` before the clients under test exist."""

    def __init__(self, database: str | None = None) -> None:
        self.database = database
        self.names: list[str] = []
        self._lock = threading.Lock()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.database is not None and event.database_name == self.database:
            target = event.command.get(event.command_name)
            with self._lock:
                self.names.append(
                    event.command_name if not isinstance(target, str) else f"{event.command_name} {target}"
                )

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass
