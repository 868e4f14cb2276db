"""Search paging while the index changes under the reader (issue 12): every page of a query is read
from one Elasticsearch point in time, so rewrites and new articles between pages neither repeat nor
skip hits (real Elasticsearch, an alias private to each test)."""

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from newsflow_contracts import CURSOR_MAX_CHARS
from newsflow_index.embedder import write_versioned
from newsflow_index.embedding import DIMS
from newsflow_index.main import create_app
from newsflow_index.mapping import to_document, with_ai
from newsflow_index.settings import Settings
from newsflow_kit.settings import ElasticsearchSettings, KafkaSettings

N = 45
SIZE = 10
QUERY = {"q": "harbour", "size": SIZE}


def corpus(helpers: Any, count: int, *, prefix: str = "doc", version: int = 1) -> list[Any]:
    """Articles matching "harbour" with varied term frequencies and body lengths (distinct scores)."""
    return [
        helpers.article(
            f"{prefix}-{i:03d}",
            version=version,
            title=f"Harbour report {i}" if i % 3 == 0 else f"Port report {i}",
            body_text=" ".join(["harbour"] * (1 + i % 5) + ["quay", "crane", "tide"] * (1 + i % 7)),
            age=timedelta(hours=1 + i % 11),
        )
        for i in range(count)
    ]


@pytest.fixture
def api(
    es_alias: ElasticsearchSettings, kafka_settings: KafkaSettings, es: Elasticsearch, helpers: Any
) -> Iterator[TestClient]:
    helpers.index_directly(es, es_alias.alias, corpus(helpers, N))
    with TestClient(create_app(Settings(elasticsearch=es_alias, kafka=kafka_settings))) as client:
        yield client


def page(api: TestClient, **params: Any) -> dict[str, Any]:
    response = api.get("/search", params={**QUERY, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["items"]]


def rewrite_like_the_embedder(es: Elasticsearch, alias: str, articles: list[Any]) -> None:
    """Stores each article again at its version with a vector and an AI block, as the embedder does."""
    docs = [
        with_ai(to_document(a), vector=[0.1] * DIMS, model="test-model", summary="s", key_points=[]) for a in articles
    ]
    assert write_versioned(es, alias, docs) == len(docs)


@pytest.mark.parametrize("sort", ["relevance", "newest"])
def test_pages_do_not_repeat_or_skip_while_articles_are_rewritten_and_added(
    api: TestClient, es: Elasticsearch, es_alias: ElasticsearchSettings, helpers: Any, sort: str
) -> None:
    everything = ids(page(api, sort=sort, size=N))
    assert len(everything) == N

    first = page(api, sort=sort)
    assert ids(first) == everything[:SIZE]
    # Between page 1 and page 2: the embedder rewrites every article, and new matching ones (fresher,
    # with more "harbour", so they would rank first) arrive; both shift BM25 statistics and scores.
    articles = corpus(helpers, N)
    rewrite_like_the_embedder(es, es_alias.alias, articles)
    helpers.index_directly(es, es_alias.alias, corpus(helpers, 25, prefix="new"))
    assert page(api, sort=sort, size=1)["total"] == N + 25  # the changes are visible to new queries

    seen, cursor = ids(first), first["next_cursor"]
    while cursor is not None:
        assert len(cursor) <= CURSOR_MAX_CHARS
        body = page(api, sort=sort, cursor=cursor)
        seen += ids(body)
        cursor = body["next_cursor"]
    assert seen == everything  # every hit of page 1's snapshot once, in its order, and nothing else


def test_a_gone_point_in_time_continues_from_a_new_one(api: TestClient, es: Elasticsearch) -> None:
    everything = ids(page(api, size=N))
    first = page(api)
    es.close_point_in_time(id=_payload(first["next_cursor"])["p"])  # as if it had expired
    second = page(api, cursor=first["next_cursor"])
    assert ids(second) == everything[SIZE : 2 * SIZE]
    third = page(api, cursor=second["next_cursor"])  # the new point in time is handed on
    assert ids(third) == everything[2 * SIZE : 3 * SIZE]


def test_the_last_page_frees_its_point_in_time(api: TestClient, es: Elasticsearch) -> None:
    first = page(api, size=N - 1)
    pit = _payload(first["next_cursor"])["p"]
    last = page(api, size=N - 1, cursor=first["next_cursor"])
    assert len(last["items"]) == 1 and last["next_cursor"] is None
    gone = es.options(ignore_status=404).search(pit={"id": pit}, size=1)
    assert gone.meta.status == 404


@pytest.mark.parametrize("pit", ["AAAA", "not a pit id", "x" * 800, 5, None])
def test_a_tampered_point_in_time_is_422(api: TestClient, pit: Any) -> None:
    token = page(api)["next_cursor"]
    payload = _payload(token)
    payload["p"] = pit
    tampered = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    response = api.get("/search", params={**QUERY, "cursor": tampered})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "query.cursor"


def _payload(token: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    return payload
