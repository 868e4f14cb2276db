"""How the gateway relays backing services' failures (a local stand-in plays the failing services).

Only this file uses a stand-in: everything here is about the gateway's own error handling.
"""

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from newsflow_gateway.main import create_app
from newsflow_gateway.settings import ServicesSettings, Settings
from newsflow_kit.testing import free_port, serving

INTERNAL = "ingest-7f9c.internal.svc"
NOW = datetime.now(UTC).isoformat()
ARTICLE = {
    "id": "a1", "version": 1, "seq": 7, "source_id": "s1", "url": "https://e.org/a1",
    "canonical_url": "https://e.org/a1", "title": "Title", "published_at": NOW, "updated_at": NOW,
}  # fmt: skip


async def article(request: Request) -> Response:
    if request.path_params["id"] == "missing":
        problem = {"type": "https://newsflow.dev/problems/not-found", "title": "Not found", "status": 404,
                   "detail": "no article missing", "instance": f"http://{INTERNAL}/articles/missing"}  # fmt: skip
        return JSONResponse(problem, status_code=404, media_type="application/problem+json")
    return JSONResponse(ARTICLE)


async def crash(_: Request) -> Response:
    return PlainTextResponse(f"Traceback (most recent call last):\n  File /srv/app.py on {INTERNAL}", status_code=500)


async def slow(_: Request) -> Response:
    await asyncio.sleep(3)
    return JSONResponse({"items": []})


async def invalid(_: Request) -> Response:
    body = {"type": "https://newsflow.dev/problems/invalid-input", "title": "Invalid input", "status": 422,
            "detail": "invalid value for: window", "errors": [{"field": "window", "message": "bad"}]}  # fmt: skip
    return JSONResponse(body, status_code=422, media_type="application/problem+json")


STAND_IN = Starlette(
    routes=[
        Route("/articles/{id}", article),
        Route("/articles/{id}/related", slow),
        Route("/search", crash),
        Route("/suggest", lambda _: PlainTextResponse("<html>oops</html>")),
        Route("/tags/trending", invalid),
    ]
)


@pytest.fixture(scope="module")
def stand_in() -> Iterator[str]:
    with serving(STAND_IN) as url:
        yield url


@pytest.fixture
def gateway(make_settings: Callable[..., Settings], stand_in: str) -> Iterator[TestClient]:
    dead = f"http://127.0.0.1:{free_port()}"
    services = ServicesSettings(ingest_url=stand_in, index_url=stand_in, comments_url=dead, part_timeout_s=0.5)
    with TestClient(create_app(make_settings(services=services))) as client:
        yield client


def test_a_4xx_keeps_its_status_and_words_but_no_internal_address(gateway: TestClient) -> None:
    answer = gateway.get("/v1/articles/missing")
    assert answer.status_code == 404
    assert answer.json()["detail"] == "no article missing"
    assert answer.json()["instance"] == "/v1/articles/missing"
    assert INTERNAL not in answer.text
    trending = gateway.get("/v1/tags/trending", params={"window": "24h"})
    assert trending.status_code == 422 and trending.json()["errors"] == [{"field": "window", "message": "bad"}]


def test_a_5xx_or_garbage_becomes_a_bare_502(gateway: TestClient) -> None:
    crashed = gateway.get("/v1/search", params={"q": "x"})
    assert crashed.status_code == 502
    assert crashed.headers["content-type"] == "application/problem+json"
    assert INTERNAL not in crashed.text and "Traceback" not in crashed.text
    assert gateway.get("/v1/suggest", params={"q": "x"}).status_code == 502


def test_a_dead_service_is_a_503_naming_the_service_not_its_host(gateway: TestClient) -> None:
    answer = gateway.get("/v1/articles/a1/comments")
    assert answer.status_code == 503
    assert answer.json()["detail"] == "the comments service is unavailable"
    assert "127.0.0.1" not in answer.text


def test_the_article_page_answers_with_what_it_has(gateway: TestClient) -> None:
    started = time.monotonic()
    answer = gateway.get("/v1/articles/a1")
    assert time.monotonic() - started < 2.5  # related is slow (3 s): it gets its part time-out only
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["article"]["id"] == "a1"
    assert page["comment_count"] is None and page["related"] is None
    assert sorted(page["missing"]) == ["ai", "comment_count", "related", "story"]
