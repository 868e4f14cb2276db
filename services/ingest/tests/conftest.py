"""Fixtures of the ingest tests: the app on private resources, and a real local feed server."""

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from newsflow_ingest.main import create_app
from newsflow_ingest.settings import FetchSettings, Settings
from newsflow_kit.settings import KafkaSettings, MongoSettings


@pytest.fixture
def settings(kafka_topics: KafkaSettings, mongo_database: MongoSettings) -> Settings:
    return Settings(kafka=kafka_topics, mongo=mongo_database, max_body_bytes=256 * 1024, environment="test")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def push_source(client: TestClient) -> str:
    resp = client.post("/sources", json={"name": "Wire", "kind": "push", "homepage": "https://wire.example/"})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None


@dataclass
class FeedServer:
    """A real HTTP server on 127.0.0.1 whose answers each test sets per path."""

    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    in_flight: dict[str, int] = field(default_factory=dict)
    max_in_flight: dict[str, int] = field(default_factory=dict)
    delay_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    state = FeedServer(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            import time

            path = self.path
            with state.lock:
                state.hits[path] = state.hits.get(path, 0) + 1
                state.in_flight[path] = state.in_flight.get(path, 0) + 1
                state.max_in_flight[path] = max(state.max_in_flight.get(path, 0), state.in_flight[path])
            try:
                time.sleep(state.delay_s)
                route = state.routes.get(path)
                if route is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                if route.etag and self.headers.get("If-None-Match") == route.etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(route.status)
                for key, value in route.headers.items():
                    self.send_header(key, value)
                if route.etag:
                    self.send_header("ETag", route.etag)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)
            finally:
                with state.lock:
                    state.in_flight[path] -= 1

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def local_fetch(feed_server: FeedServer) -> FetchSettings:
    """Fetch settings that allow the test's own feed server (and nothing else private)."""
    return FetchSettings(allow_hosts=[f"127.0.0.1:{feed_server.port}"], timeout_s=5)


SourceFactory = Callable[..., str]
