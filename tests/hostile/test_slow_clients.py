"""Slow clients cannot hold a connection: a late head or body is answered 408 (or closed) in bounded time."""

from typing import Any


def test_a_body_announced_and_never_sent(platform: Any, helpers: Any) -> None:
    for name, proc in {"gateway": platform.gateway, **platform.services}.items():
        head = b"POST /v1/articles/a-1/comments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        if name != "gateway":
            head = b"POST /anything HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        raw, took = helpers.raw_exchange(("127.0.0.1", proc.port), [head + b'Content-Length: 100\r\n\r\n{"'])
        assert took < helpers.body_timeout_s + 4, (name, took)
        if raw:  # the app read the body: 408; a route that never reads it is closed instead
            status, problem = helpers.raw_problem(raw)
            assert status in (404, 405, 408), (name, status, problem)


def test_a_chunked_body_that_stalls(platform: Any, helpers: Any) -> None:
    head = b"POST /v1/articles/a-1/comments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    raw, took = helpers.raw_exchange(platform.address, [head + b'Transfer-Encoding: chunked\r\n\r\n2\r\n{"\r\n'])
    assert helpers.raw_problem(raw)[0] == 408
    assert took < helpers.body_timeout_s + 4


def test_a_request_head_that_never_ends(platform: Any, helpers: Any) -> None:
    raw, took = helpers.raw_exchange(platform.address, [b"GET /v1/search HTTP/1.1\r\nHost: x\r\nX-Slow: a"])
    assert helpers.raw_problem(raw)[0] == 408
    assert took < helpers.header_timeout_s + 4


def test_a_connection_that_sends_nothing_is_closed(platform: Any, helpers: Any) -> None:
    raw, took = helpers.raw_exchange(platform.address, [])
    assert raw == b"" and took < helpers.header_timeout_s + 4
