"""A streaming response can write its body without awaiting and hear its client leave, on the kit's
protocol (a real uvicorn server on a socket); elsewhere it finds no such extension."""

import asyncio
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from newsflow_kit.app import server_config
from newsflow_kit.protocol import chunk_frame, stream_body
from newsflow_kit.settings import ServiceSettings
from newsflow_kit.testing import eventually, free_port


class StreamApp:
    """Writes ``a`` through ASGI, ``b`` and ``c`` without awaiting, ``d`` through ASGI again, then holds
    the stream open until the client leaves (or ends it, when asked with ``?end``)."""

    def __init__(self) -> None:
        self.found: list[bool] = []
        self.direct: list[bool] = []
        self.left = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = stream_body(scope)
        self.found.append(body is not None)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"a,", "more_body": True})
        if body is None:
            await send({"type": "http.response.body", "body": b"b,c,d", "more_body": False})
            return
        gone = asyncio.Event()
        body.on_disconnect(gone.set)
        self.direct += [body.write(b"b,"), body.write(b""), body.write(b"c,", chunk_frame(b"c,"))]
        await send({"type": "http.response.body", "body": b"d", "more_body": scope["query_string"] != b"end"})
        if scope["query_string"] == b"end":
            self.direct.append(body.write(b"late"))  # the response is complete: refused
            return
        await gone.wait()
        self.left.set()


@pytest.fixture
def served() -> Iterator[tuple[StreamApp, str]]:
    app = StreamApp()
    settings = ServiceSettings(port=free_port())
    server = uvicorn.Server(server_config(app, settings))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    eventually(lambda: server.started, timeout=10)
    yield app, f"127.0.0.1:{settings.port}"
    server.should_exit = True
    thread.join(10)


def test_direct_writes_interleave_with_asgi_sends_in_one_chunked_body(served: tuple[StreamApp, str]) -> None:
    app, address = served
    answer = httpx.get(f"http://{address}/?end", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["transfer-encoding"] == "chunked"
    assert answer.text == "a,b,c,d"
    assert app.found == [True] and app.direct == [True, True, True, False]


def test_the_client_leaving_is_reported_without_a_task_reading(served: tuple[StreamApp, str]) -> None:
    app, address = served
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        received = b""
        while b"d\r\n" not in received:
            received += sock.recv(4096)
        assert b"2\r\nb,\r\n" in received and b"2\r\nc,\r\n" in received
    assert app.left.wait(10), "the stream never heard its client leave"


def test_other_servers_offer_no_stream_body() -> None:
    app = StreamApp()
    assert TestClient(app).get("/").text == "a,b,c,d"
    assert app.found == [False]
