"""Every HTTP port bounds how long a client may take, answers its own errors as problem details,
and believes forwarded headers only from configured proxies (a real uvicorn server on a socket)."""

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel

from newsflow_kit.app import build_app, server_config
from newsflow_kit.http import SECURITY_HEADERS
from newsflow_kit.settings import HttpSettings, ServiceSettings
from newsflow_kit.testing import eventually, free_port

HEADER_TIMEOUT_S = 1.0
BODY_TIMEOUT_S = 1.5


class Thing(BaseModel):
    name: str


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    yield


def _app(http: HttpSettings, checks: dict[str, Any] | None = None) -> FastAPI:
    router = APIRouter()

    @router.post("/things")
    async def create(thing: Thing) -> Thing:
        return thing

    @router.get("/whoami")
    async def whoami(request: Request) -> dict[str, Any]:
        return {"client": request.client.host if request.client else None, "scheme": request.url.scheme}

    return build_app(
        title="t", lifespan=_lifespan, routers=[router], checks=lambda _r: checks or {}, max_body_bytes=1024, http=http
    )


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """Starts the test app on a real uvicorn server (the kit's configuration) in a thread."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(**http: Any) -> str:
        settings = ServiceSettings(
            port=free_port(),
            http=HttpSettings(header_timeout_s=HEADER_TIMEOUT_S, body_timeout_s=BODY_TIMEOUT_S, **http),
        )
        server = uvicorn.Server(server_config(_app(settings.http), settings))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        eventually(lambda: server.started, timeout=10)
        return f"127.0.0.1:{settings.port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(10)


def _exchange(address: str, chunks: list[bytes], *, wait: float = 10.0) -> tuple[bytes, float]:
    """Sends ``chunks`` and reads until the server closes; returns the answer and the time it took."""
    host, port = address.split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        for chunk in chunks:
            sock.sendall(chunk)
        received = b""
        while True:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                raise AssertionError(f"neither answered nor closed within {wait}s; got {received!r}") from None
            if not data:
                return received, time.monotonic() - started
            received += data


def _problem(raw: bytes, status: int) -> tuple[dict[str, str], dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith(f"HTTP/1.1 {status} "), raw
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert headers["content-type"] == "application/problem+json"
    for name, value in SECURITY_HEADERS.items():
        assert headers[name.lower()] == value
    assert headers["x-request-id"] and headers["traceparent"]
    problem = json.loads(body)
    assert problem["status"] == status and problem["type"].startswith("https://newsflow.dev/problems/")
    assert problem["request_id"] == headers["x-request-id"]
    return headers, problem


def test_a_body_announced_but_not_sent_is_408_in_bounded_time(serve: Callable[..., str]) -> None:
    address = serve()
    head = b"POST /things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    raw, took = _exchange(address, [head, b'{"'])
    _, problem = _problem(raw, 408)
    assert problem["instance"] == "/things"
    assert took < BODY_TIMEOUT_S + 3


def test_a_chunked_body_that_stalls_is_408(serve: Callable[..., str]) -> None:
    address = serve()
    head = b"POST /things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    raw, took = _exchange(address, [head, b'2\r\n{"\r\n'])
    _problem(raw, 408)
    assert took < BODY_TIMEOUT_S + 3


def test_a_slow_request_head_is_408_and_a_silent_connection_is_closed(serve: Callable[..., str]) -> None:
    address = serve()
    raw, took = _exchange(address, [b"GET /whoami HTTP/1.1\r\nHost: x\r\nX-Slow: "])
    _problem(raw, 408)
    assert took < HEADER_TIMEOUT_S + 3
    raw, took = _exchange(address, [])
    assert raw == b"" and took < HEADER_TIMEOUT_S + 3


def test_a_body_the_app_never_reads_cannot_hold_the_connection(serve: Callable[..., str]) -> None:
    address = serve()
    head = b"GET /whoami HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
    host, port = address.split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + b"ab")
        closed = False
        while time.monotonic() - started < 10 and not closed:
            try:
                sock.sendall(b"x")  # a trickle never completes the body
                sock.settimeout(0.3)
                closed = sock.recv(65536) == b"" if _readable(sock) else False
            except (BrokenPipeError, ConnectionResetError):
                closed = True
            except TimeoutError:
                pass
        assert closed, "the connection stayed open"
    assert time.monotonic() - started < BODY_TIMEOUT_S + 5


def _readable(sock: socket.socket) -> bool:
    """Drains what the server wrote; True when something (or the end) is there."""
    try:
        data = sock.recv(65536, socket.MSG_PEEK)
    except TimeoutError:
        return False
    if data and b"HTTP/1.1" in data:
        sock.recv(len(data))
        return _readable(sock)
    return True


def test_a_malformed_request_is_a_problem_not_plain_text(serve: Callable[..., str]) -> None:
    address = serve()
    raw, _ = _exchange(address, [b"GET /whoami HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"])
    _problem(raw, 400)
    raw, _ = _exchange(address, [b"GET /whoami HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n"])
    _, problem = _problem(raw, 431)
    assert problem["instance"] == "/whoami"


def test_forwarded_headers_are_ignored_unless_the_peer_is_a_trusted_proxy(serve: Callable[..., str]) -> None:
    spoofed = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    untrusting = serve()
    assert httpx.get(f"http://{untrusting}/whoami", headers=spoofed).json() == {"client": "127.0.0.1", "scheme": "http"}
    trusting = serve(trusted_proxies=["127.0.0.1"])
    assert httpx.get(f"http://{trusting}/whoami", headers=spoofed).json() == {
        "client": "203.0.113.9",
        "scheme": "https",
    }
    elsewhere = serve(trusted_proxies=["10.0.0.0/8"])
    assert httpx.get(f"http://{elsewhere}/whoami", headers=spoofed).json()["client"] == "127.0.0.1"


def test_middleware_problems_carry_ids_instance_and_security_headers() -> None:
    client = TestClient(_app(HttpSettings()))
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    resp = client.post("/things", content=b"x" * 2000, headers={"traceparent": parent})
    assert resp.status_code == 413
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["instance"] == "/things"
    assert resp.headers["traceparent"].split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
    for name, value in SECURITY_HEADERS.items():
        assert resp.headers[name] == value
    assert resp.json()["request_id"] == resp.headers["x-request-id"]


async def test_readiness_checks_are_single_flight_and_cached() -> None:
    calls = 0

    async def slow_check() -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.2)

    app = _app(HttpSettings(), checks={"dep": slow_check})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answers = await asyncio.gather(*(client.get("/readyz") for _ in range(50)))
    assert {a.status_code for a in answers} == {200}
    assert calls == 1


@pytest.mark.parametrize(
    "target",
    ["/whoami?q[$ne]=1", "/whoami?q%5B%24ne%5D=", "/whoami?q=%ff%fe", "/wh%ffoami", "/whoami?%c0=1"],
)
def test_unreadable_paths_and_queries_are_400_problems(target: str) -> None:
    client = TestClient(_app(HttpSettings()))
    resp = client.get(target)
    assert resp.status_code == 400, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert client.get("/whoami?q=caf%C3%A9&from=2024-01-01&a.b-c_d=").status_code == 200
