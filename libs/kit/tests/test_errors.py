"""The one error shape: every failure a client can cause comes back as RFC 9457 problem details."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from pymongo.errors import OperationFailure, ServerSelectionTimeoutError

from newsflow_kit.app import build_app
from newsflow_kit.errors import Conflict, DependencyUnavailable, NotFound, RateLimited


class Thing(BaseModel):
    name: str = Field(min_length=1, max_length=5)
    count: int


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    yield


async def _failing() -> None:
    raise RuntimeError("secret-host.internal:27017 exploded")


# path -> what the route raises
FAILURES: dict[str, Callable[[], Exception]] = {
    "/missing": lambda: NotFound("no such thing"),
    "/conflict": lambda: Conflict("thread closed"),
    "/limited": lambda: RateLimited("slow down", retry_after=7),
    "/unavailable": lambda: DependencyUnavailable("the store does not answer"),
    "/store-down": lambda: ServerSelectionTimeoutError("db-host.internal:27017: connection refused"),
    "/store-backend-down": lambda: OperationFailure("failed to connect to `user=newsflow database=ferretdb`", code=1),
}


def _raising(failure: Callable[[], Exception]) -> Callable[[], Awaitable[None]]:
    async def route() -> None:
        raise failure()

    return route


@pytest.fixture
def client() -> TestClient:
    from fastapi import APIRouter

    router = APIRouter()

    @router.post("/things")
    async def create(thing: Thing) -> Thing:
        return thing

    @router.post("/store")
    async def store(thing: Thing) -> int:
        return len(thing.name.encode())  # as a driver would: UTF-8 on the way out

    for path, failure in FAILURES.items():
        router.add_api_route(path, _raising(failure), methods=["GET"])

    @router.get("/boom")
    async def boom() -> None:
        await _failing()

    app = build_app(title="t", lifespan=_lifespan, routers=[router], checks=lambda _r: {}, max_body_bytes=64)
    return TestClient(app, raise_server_exceptions=False)


def _is_problem(resp, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert resp.status_code == status
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["status"] == status
    assert body["type"].startswith("https://newsflow.dev/problems/")
    assert body["title"] and body["detail"]
    assert body["request_id"] == resp.headers["x-request-id"]
    return body


def test_validation_error_names_the_field(client: TestClient) -> None:
    body = _is_problem(client.post("/things", json={"name": "", "count": "x"}), 422)
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"body.name", "body.count"}


def test_domain_errors_map_to_their_status(client: TestClient) -> None:
    assert _is_problem(client.get("/missing"), 404)["detail"] == "no such thing"
    assert _is_problem(client.get("/conflict"), 409)["title"] == "Conflict"
    limited = client.get("/limited")
    _is_problem(limited, 429)
    assert limited.headers["retry-after"] == "7"


def test_unavailable_says_when_to_retry(client: TestClient) -> None:
    """A publisher told 503 retries after Retry-After (found by the fault matrix: it was missing)."""
    resp = client.get("/unavailable")
    _is_problem(resp, 503)
    assert int(resp.headers["retry-after"]) >= 1


def test_an_unreachable_store_is_503_not_500(client: TestClient) -> None:
    """Found by the fault matrix: with FerretDB killed, the gateway's key check answered 500."""
    resp = client.get("/store-down")
    body = _is_problem(resp, 503)
    assert int(resp.headers["retry-after"]) >= 1
    assert "internal" not in body["detail"] and "27017" not in body["detail"]
    # FerretDB with its PostgreSQL down answers InternalError (code 1): the same 503.
    backend = client.get("/store-backend-down")
    assert "ferretdb" not in _is_problem(backend, 503)["detail"]


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    _is_problem(client.get("/nope"), 404)
    _is_problem(client.delete("/things"), 405)


def test_unhandled_error_leaks_nothing(client: TestClient) -> None:
    body = _is_problem(client.get("/boom"), 500)
    assert "secret-host" not in str(body)
    assert "Traceback" not in str(body)


def test_body_over_the_cap_is_413_with_length_and_chunked(client: TestClient) -> None:
    _is_problem(client.post("/things", content=b"x" * 100, headers={"content-type": "application/json"}), 413)

    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"name": "'
        yield b"y" * 100
        yield b'", "count": 1}'

    _is_problem(client.post("/things", content=chunks(), headers={"content-type": "application/json"}), 413)
    ok = client.post("/things", content=b'{"name": "ab", "count": 2}', headers={"content-type": "application/json"})
    assert ok.status_code == 200


def test_request_id_and_traceparent_are_echoed(client: TestClient) -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    resp = client.get("/healthz", headers={"x-request-id": "req-123", "traceparent": parent})
    assert resp.headers["x-request-id"] == "req-123"
    assert resp.headers["traceparent"].split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
    hostile = client.get("/healthz", headers={"x-request-id": "bad id\nwith newline"})
    assert hostile.headers["x-request-id"] != "bad id\nwith newline"


def test_text_with_unpaired_surrogates_is_422_not_500(client: TestClient) -> None:
    body = b'{"name": "\\ud800", "count": 1}'
    _is_problem(client.post("/store", content=body, headers={"content-type": "application/json"}), 422)
