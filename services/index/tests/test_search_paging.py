"""Search paging while the index changes under the reader (issue 12): the first page is one plain
search (no point in time: most readers never page on); the second page opens a point in time, excludes
the first page's ids and continues after its last sort values; later pages stay in that point in time.
So rewrites and new articles between pages never repeat a hit, and every article present when the first
page was read is shown once (real Elasticsearch, an alias private to each test)."""

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch
from fastapi.testclient import TestClient

from newsflow_contracts import CURSOR_MAX_CHARS, PAGE_SIZE_MAX
from newsflow_index.cursor import MAX_AS_OF, Cursor, SortValue, decode, encode
from newsflow_index.main import create_app
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


def rewrite(es: Elasticsearch, helpers: Any, alias: str, articles: list[Any]) -> None:
    """Stores a new version of each article (the same text: only the version moves), as an update would."""
    helpers.index_directly(es, alias, [a.model_copy(update={"version": a.version + 1}) for a in articles])


@pytest.mark.parametrize("sort", ["relevance", "newest"])
def test_pages_do_not_repeat_or_skip_while_articles_are_rewritten_and_added(
    api: TestClient, es: Elasticsearch, es_alias: ElasticsearchSettings, helpers: Any, sort: str
) -> None:
    everything = ids(page(api, sort=sort, size=N))
    assert len(everything) == N

    first = page(api, sort=sort)
    assert ids(first) == everything[:SIZE]
    # Between page 1 and page 2: every article gets a new version (an update), and new matching ones (fresher,
    # with more "harbour", so they would rank first) arrive; both shift BM25 statistics and scores.
    articles = corpus(helpers, N)
    rewrite(es, helpers, es_alias.alias, articles)
    helpers.index_directly(es, es_alias.alias, corpus(helpers, 25, prefix="new"))
    assert page(api, sort=sort, size=1)["total"] == N + 25  # the changes are visible to new queries

    seen, cursor = ids(first), first["next_cursor"]
    while cursor is not None:
        assert len(cursor) <= CURSOR_MAX_CHARS
        body = page(api, sort=sort, cursor=cursor)
        assert body["total"] == N + 25  # the first page's hits, excluded from later pages, still count
        seen += ids(body)
        cursor = body["next_cursor"]
    # Page 1 was read outside the point in time page 2 opened: articles that arrived in between may be
    # shown after page 1 (or not, if they sort before its last hit), but no hit is shown twice and
    # every article present when page 1 was read is shown exactly once.
    assert len(seen) == len(set(seen))
    assert sorted(i for i in seen if i.startswith("doc-")) == sorted(everything)
    if sort == "newest":  # published_at does not change when articles are rewritten: page 1's order holds
        assert [i for i in seen if i.startswith("doc-")] == everything


def test_a_first_page_is_one_elasticsearch_request_and_opens_no_point_in_time(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _count_requests(api, monkeypatch)
    first = page(api)
    assert first["next_cursor"] is not None and "p" not in _payload(first["next_cursor"])
    assert calls == [("POST", "_search")]  # no open/close of a point in time, on the alias
    calls.clear()
    second = page(api, cursor=first["next_cursor"])  # the point in time is opened for page 2 only
    assert [path for _, path in calls] == ["_pit", "_search"]
    assert "p" in _payload(second["next_cursor"])
    calls.clear()
    page(api, cursor=second["next_cursor"])  # and later pages use it: one request each
    assert [path for _, path in calls] == ["_search"]


def test_a_single_page_result_opens_no_point_in_time(api: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_requests(api, monkeypatch)
    everything = page(api, size=N + 1)
    assert len(everything["items"]) == N and everything["next_cursor"] is None
    assert calls == [("POST", "_search")]


def test_page_2_shows_no_hit_of_page_1_even_when_it_moved_behind(
    api: TestClient, es: Elasticsearch, es_alias: ElasticsearchSettings, helpers: Any
) -> None:
    first = page(api, sort="newest")
    # Page 1's articles are republished older than every other one: they now sort after its last hit.
    moved = [a for a in corpus(helpers, N, version=2) if a.id in ids(first)]
    helpers.index_directly(
        es, es_alias.alias, [a.model_copy(update={"published_at": a.published_at - timedelta(days=2)}) for a in moved]
    )
    seen, cursor = ids(first), first["next_cursor"]
    while cursor is not None:
        body = page(api, sort="newest", cursor=cursor)
        seen += ids(body)
        cursor = body["next_cursor"]
    assert len(seen) == len(set(seen)) == N


def test_a_gone_point_in_time_continues_from_a_new_one(api: TestClient, es: Elasticsearch) -> None:
    everything = ids(page(api, size=N))
    second = page(api, cursor=page(api)["next_cursor"])
    es.close_point_in_time(id=_payload(second["next_cursor"])["p"])  # as if it had expired
    third = page(api, cursor=second["next_cursor"])
    assert ids(third) == everything[2 * SIZE : 3 * SIZE]
    fourth = page(api, cursor=third["next_cursor"])  # the new point in time is handed on
    assert ids(fourth) == everything[3 * SIZE : 4 * SIZE]


def test_the_last_page_frees_its_point_in_time(api: TestClient, es: Elasticsearch) -> None:
    size = 20
    second = page(api, size=size, cursor=page(api, size=size)["next_cursor"])
    pit = _payload(second["next_cursor"])["p"]
    last = page(api, size=size, cursor=second["next_cursor"])
    assert len(last["items"]) == N - 2 * size and last["next_cursor"] is None
    gone = es.options(ignore_status=404).search(pit={"id": pit}, size=1)
    assert gone.meta.status == 404


def test_the_largest_first_page_cursor_fits() -> None:
    shown = tuple(f"{n:024x}" for n in range(PAGE_SIZE_MAX))
    after: list[SortValue] = [1.2345678901234567e300, -(2**63), "f" * 24]
    token = encode(Cursor("search:relevance", "0" * 16, after, MAX_AS_OF, None, shown))
    assert len(token) <= CURSOR_MAX_CHARS - 600  # room for a point-in-time id (~200 chars a shard) later
    assert decode(token, kind="search:relevance", fingerprint="0" * 16, length=3, search=True).shown == shown


@pytest.mark.parametrize("pit", ["AAAA", "not a pit id", "x" * 800, 5, None])
def test_a_tampered_point_in_time_is_422(api: TestClient, pit: Any) -> None:
    token = page(api, cursor=page(api)["next_cursor"])["next_cursor"]
    _assert_422(api, {**_payload(token), "p": pit})


@pytest.mark.parametrize(
    "shown", [None, 5, [], [5], ["x" * 300], ["a"] * (PAGE_SIZE_MAX + 1), "!!!!", "AAAA", "A" * 2000, True]
)
def test_tampered_shown_ids_are_422(api: TestClient, shown: Any) -> None:
    _assert_422(api, {**_payload(page(api)["next_cursor"]), "x": shown})


def _assert_422(api: TestClient, payload: dict[str, Any]) -> None:
    tampered = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    response = api.get("/search", params={**QUERY, "cursor": tampered})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "query.cursor"


def _count_requests(api: TestClient, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Records (method, last path segment) of each request the app's Elasticsearch client sends."""
    es: AsyncElasticsearch = api.app.state.index.es  # type: ignore[attr-defined]
    calls: list[tuple[str, str]] = []
    send = es.transport.perform_request

    async def counted(method: str, target: str, *args: Any, **kwargs: Any) -> Any:
        calls.append((method, target.split("?")[0].rstrip("/").rsplit("/", 1)[-1]))
        return await send(method, target, *args, **kwargs)

    monkeypatch.setattr(es.transport, "perform_request", counted)
    return calls


def _payload(token: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    return payload
