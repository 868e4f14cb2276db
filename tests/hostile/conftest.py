"""The platform's HTTP roles as real processes, for attacks from outside (private topics, databases, alias).

Deadlines are short (``HEADER_TIMEOUT_S`` / ``BODY_TIMEOUT_S``) so slow-client tests finish quickly;
rate limits are high so the flood of hostile requests measures validation, not throttling.
"""

import json
import re
import secrets
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from newsflow_kit.settings import ElasticsearchSettings, KafkaSettings, MongoSettings
from newsflow_kit.testing import (
    ServiceProcess,
    free_port,
    private_topics,
    remove_private_platform,
    settings_env,
    stop_all,
)

HEADER_TIMEOUT_S = 2.0
BODY_TIMEOUT_S = 2.0
ANSWER_WITHIN_S = 5.0  # every hostile request is answered (or closed) within this
ADMIN_KEY = "hostile-admin-" + secrets.token_hex(16)
# What must never reach a client: stack traces, internal addresses, driver and backend wording.
LEAKS = re.compile(
    r"Traceback|File \"|line \d+, in|127\.0\.0\.1|localhost|:92\d\d|:27017|:800\d|elasticsearch|pymongo|"
    r"ferretdb|kafka|OverflowError|ValueError|KeyError|TypeError|RecursionError|Exception|search_phase|"
    r"x_content_parse|parse_exception",
    re.IGNORECASE,
)


@dataclass
class Platform:
    gateway: ServiceProcess
    services: dict[str, ServiceProcess]
    publisher_key: str

    @property
    def url(self) -> str:
        return self.gateway.url

    @property
    def address(self) -> tuple[str, int]:
        assert self.gateway.port is not None
        return "127.0.0.1", self.gateway.port


def _role(service: str, env: dict[str, str]) -> ServiceProcess:
    port = free_port()
    full = {"NEWSFLOW_ENVIRONMENT": "test", "NEWSFLOW_LOG_JSON": "true", "NEWSFLOW_PORT": str(port), **env}
    return ServiceProcess([str(Path(sys.executable).parent / f"newsflow-{service}"), "api"], full, port)


@pytest.fixture(scope="session")
def platform(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings, es_settings: ElasticsearchSettings
) -> Iterator[Platform]:
    suffix = secrets.token_hex(4)
    kafka = private_topics(kafka_settings, f"hostile-{suffix}")
    es = es_settings.model_copy(update={"alias": f"hostile-articles-{suffix}"})
    databases = {name: f"hostile_{suffix}_{name}" for name in ("ingest", "comments", "gateway")}
    common = settings_env(kafka=kafka, es=es) | {
        "NEWSFLOW_ADMIN_KEY": ADMIN_KEY,
        "NEWSFLOW_MONGO__URI": mongo_settings.uri,
        "NEWSFLOW_HTTP__HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
        "NEWSFLOW_HTTP__BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
    }
    started: list[ServiceProcess] = []
    try:
        services = {}
        for name in ("ingest", "index", "comments"):
            db = {"NEWSFLOW_MONGO__DATABASE": databases[name]} if name in databases else {}
            services[name] = _role(name, common | db)
            started.append(services[name].start(wait_ready=False))
        gateway = _role(
            "gateway",
            common
            | {
                "NEWSFLOW_MONGO__DATABASE": databases["gateway"],
                "NEWSFLOW_SERVICES__INGEST_URL": services["ingest"].url,
                "NEWSFLOW_SERVICES__INDEX_URL": services["index"].url,
                "NEWSFLOW_SERVICES__COMMENTS_URL": services["comments"].url,
                "NEWSFLOW_LIMITS__ANONYMOUS_BURST": "100000",
                "NEWSFLOW_LIMITS__ANONYMOUS_PER_S": "10000",
                "NEWSFLOW_LIMITS__KEY_BURST": "100000",
                "NEWSFLOW_LIMITS__KEY_PER_S": "10000",
            },
        )
        started.append(gateway.start(wait_ready=False))
        _wait_ready(started)
        yield Platform(gateway, services, _publisher_key(gateway.url))
    finally:
        stop_all(started)
        remove_private_platform(kafka=kafka, mongo_uri=mongo_settings.uri, databases=list(databases.values()), es=es)


def _wait_ready(processes: list[ServiceProcess], timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    for proc in processes:
        while True:
            assert proc.proc is not None and proc.proc.poll() is None, f"exited; see {proc.log}"
            try:
                if httpx.get(f"{proc.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"{proc.args} not ready; see {proc.log}"
            time.sleep(0.2)


def _publisher_key(url: str) -> str:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    body = {"name": "Hostile source", "kind": "push", "homepage": "https://hostile.example/", "language": "en"}
    source = httpx.post(f"{url}/v1/admin/sources", json=body, headers=admin, timeout=15)
    assert source.status_code == 201, source.text
    key = httpx.post(
        f"{url}/v1/admin/keys",
        json={"name": "hostile", "role": "publisher", "source_id": source.json()["id"]},
        headers=admin,
        timeout=15,
    )
    assert key.status_code == 201, key.text
    return str(key.json()["key"])


def check_problem(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """A 4xx (one of ``statuses`` when given) in RFC 9457 shape that leaks nothing, answered in bounded time."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    if statuses:
        assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.elapsed.total_seconds() < ANSWER_WITHIN_S
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == response.status_code
    assert body["type"].startswith("https://newsflow.dev/problems/") and body["title"] and body["detail"]
    assert "x-request-id" in response.headers and "traceparent" in response.headers
    assert response.headers.get("x-content-type-options") == "nosniff"
    assert not LEAKS.search(response.text), response.text[:500]
    return dict(body)


def check_calm(response: httpx.Response) -> None:
    """Odd but harmless input: answered normally (2xx) or refused as a problem, never a 5xx."""
    if response.status_code >= 300:
        check_problem(response)
    assert response.elapsed.total_seconds() < ANSWER_WITHIN_S


def raw_exchange(address: tuple[str, int], chunks: list[bytes], *, wait: float = 15.0) -> tuple[bytes, float]:
    """Sends ``chunks`` over a bare socket and reads until the server closes; (answer, seconds)."""
    started = time.monotonic()
    with socket.create_connection(address, timeout=wait) as sock:
        for chunk in chunks:
            sock.sendall(chunk)
        received = b""
        while True:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                raise AssertionError(f"neither answered nor closed within {wait}s; got {received[:300]!r}") from None
            if not data:
                return received, time.monotonic() - started
            received += data


def raw_problem(raw: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert headers["content-type"].startswith("application/problem+json"), raw[:500]
    assert headers.get("x-content-type-options") == "nosniff"
    assert not LEAKS.search(body.decode("utf-8", "replace"))
    return status, json.loads(body)


@pytest.fixture
def client(platform: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.url, timeout=15) as c:
        yield c


@pytest.fixture
def publisher(platform: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=platform.url, timeout=15, headers={"Authorization": f"Bearer {platform.publisher_key}"}
    ) as c:
        yield c


@pytest.fixture
def admin(platform: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.url, timeout=15, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as c:
        yield c


@pytest.fixture(scope="session")
def helpers() -> Any:
    """The suite's checks, for test modules (which cannot import the conftest)."""

    class Helpers:
        check_problem = staticmethod(check_problem)
        check_calm = staticmethod(check_calm)
        raw_exchange = staticmethod(raw_exchange)
        raw_problem = staticmethod(raw_problem)
        header_timeout_s = HEADER_TIMEOUT_S
        body_timeout_s = BODY_TIMEOUT_S

    return Helpers
