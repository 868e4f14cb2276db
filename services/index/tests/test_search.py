"""Relevance and API behaviour on a small labelled English/Russian corpus (real Elasticsearch)."""

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from fastapi.testclient import TestClient

from newsflow_contracts import ArticleStatus
from newsflow_index.main import create_app
from newsflow_index.settings import Settings
from newsflow_kit.settings import ElasticsearchSettings, KafkaSettings
from newsflow_kit.testing import unique

H = timedelta(hours=1)
D = timedelta(days=1)

CORPUS: list[dict[str, Any]] = [
    {"id": "en-sanctions", "title": "EU agrees new sanctions on Russian oil exports", "age": 2 * D,
     "body_text": "European ministers agreed new sanctions targeting Russian crude oil exports and tankers.",
     "source_id": "reuters", "tags": ["sanctions", "energy"]},
    {"id": "en-sanctioned", "title": "US sanctioned three shipping firms over Russian oil trade", "age": 5 * D,
     "body_text": "The Treasury sanctioned three shipping companies accused of moving Russian oil.",
     "source_id": "apnews", "tags": ["sanctions", "shipping"]},
    {"id": "en-oil", "title": "Oil prices climb after producers cut output", "age": 12 * H,
     "body_text": "Crude oil prices rose as producers announced an output cut; traders expect tight supply.",
     "source_id": "reuters", "tags": ["energy", "markets"]},
    {"id": "en-climate", "title": "Climate summit ends with a deal on coal", "age": 1 * D,
     "body_text": "Delegates agreed to phase down coal power and to fund adaptation.",
     "source_id": "bbc", "tags": ["climate"]},
    {"id": "en-zurich", "title": "Elections in Zürich: turnout rises", "age": 3 * D,
     "body_text": "Voters in Zurich turned out in record numbers for the city elections.",
     "source_id": "swissinfo", "tags": ["elections"]},
    {"id": "en-football", "title": "Local football club wins the cup", "age": 10 * D,
     "body_text": "A late goal gave the club its first cup in forty years.",
     "source_id": "bbc", "tags": ["sport"]},
    {"id": "ru-sanctions", "title": "ЕС ввёл новые санкции против российской нефти", "age": 2 * D,
     "body_text": "Санкциями затронуты экспортёры нефти и танкерный флот.", "language": "ru",
     "source_id": "ria", "tags": ["sanctions", "energy"]},
    {"id": "ru-elections", "title": "Выборы в Москве: явка выросла", "age": 4 * D,
     "body_text": "На выборах в Москве явка оказалась выше, чем ожидалось.", "language": "ru",
     "source_id": "ria", "tags": ["elections"]},
    {"id": "de-cafe", "title": "Café Müller öffnet wieder", "age": 6 * D,
     "body_text": "Das Café Müller in Berlin öffnet nach dem Umbau wieder.", "language": "de",
     "source_id": "dw", "tags": ["berlin"]},
    # Trending: "heatwave" jumps from 0 to 3 in the last day, "markets" stays flat (1 → 1 besides en-oil).
    {"id": "en-heat-1", "title": "Heatwave grips the south", "age": 3 * H, "source_id": "bbc", "tags": ["heatwave"]},
    {"id": "en-heat-2", "title": "Heatwave: schools close early", "age": 5 * H, "source_id": "bbc",
     "tags": ["heatwave", "markets"]},
    {"id": "en-heat-3", "title": "Heatwave strains the power grid", "age": 8 * H, "source_id": "apnews",
     "tags": ["heatwave"]},
    {"id": "en-markets-old", "title": "Markets close flat", "age": 30 * H, "source_id": "reuters",
     "tags": ["markets"]},
    {"id": "en-markets-older", "title": "Markets open lower", "age": 40 * H, "source_id": "reuters",
     "tags": ["markets"]},
    # Title boost: "lighthouse" is only in the title of an old article, and only in the bodies of two
    # fresher ones (one says it four times), so without the boost a body-only match would come first.
    {"id": "en-lighthouse", "title": "Lighthouse keeper retires", "age": 20 * D, "source_id": "bbc",
     "body_text": "The keeper of the old tower on the cape retires this week after forty years."},
    {"id": "en-coast-walk", "title": "A guide to the coastal walk", "age": 1 * D, "source_id": "bbc",
     "body_text": "Lighthouse after lighthouse: the trail passes a lighthouse at every bay, and a lighthouse cafe."},
    {"id": "en-ferry", "title": "Ferry timetable changes", "age": 2 * D, "source_id": "apnews",
     "body_text": "The ferry now stops at the lighthouse pier twice a day."},
]  # fmt: skip


@pytest.fixture(scope="module")
def api(es_settings: ElasticsearchSettings, kafka_settings: KafkaSettings, helpers: Any) -> Iterator[TestClient]:
    """The API over an alias holding the corpus (indexed once for the module)."""
    alias_settings = es_settings.model_copy(update={"alias": unique("test-articles")})
    es = Elasticsearch(es_settings.url)
    items = [helpers.article(doc["id"], **{k: v for k, v in doc.items() if k != "id"}) for doc in CORPUS]
    items.append(helpers.article("en-retracted", title="Retracted sanctions scoop", body_text="sanctions"))
    items.append(helpers.article("en-retracted", version=2, status=ArticleStatus.RETRACTED))
    try:
        helpers.index_directly(es, alias_settings.alias, items)
        settings = Settings(elasticsearch=alias_settings, kafka=kafka_settings)
        with TestClient(create_app(settings)) as client:
            yield client
    finally:
        es.indices.delete(index=f"{alias_settings.alias}*", ignore_unavailable=True, allow_no_indices=True)
        es.close()


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_english_inflections_match(api: TestClient) -> None:
    found = ids(api.get("/search", params={"q": "sanction"}))
    assert {"en-sanctions", "en-sanctioned"} <= set(found)
    assert "en-climate" not in found and "en-retracted" not in found


def test_russian_morphology_matches(api: TestClient) -> None:
    assert ids(api.get("/search", params={"q": "санкций"})) == ["ru-sanctions"]
    assert ids(api.get("/search", params={"q": "выборами"})) == ["ru-elections"]
    assert ids(api.get("/search", params={"q": "нефтью"})) == ["ru-sanctions"]


def test_folding_for_other_languages_and_accents(api: TestClient) -> None:
    assert ids(api.get("/search", params={"q": "cafe muller"})) == ["de-cafe"]
    assert ids(api.get("/search", params={"q": "zurich"})) == ["en-zurich"]


def test_quoted_phrase_and_exclusion(api: TestClient) -> None:
    assert ids(api.get("/search", params={"q": '"new sanctions"'})) == ["en-sanctions"]
    found = ids(api.get("/search", params={"q": "oil -sanctions"}))
    assert "en-oil" in found
    assert not {"en-sanctions", "en-sanctioned"} & set(found)


def test_title_matches_rank_above_body_matches(api: TestClient) -> None:
    # Two of the three hits match in the body only, fresher and more often than the title match.
    found = ids(api.get("/search", params={"q": "lighthouse"}))
    assert set(found) == {"en-lighthouse", "en-coast-walk", "en-ferry"}
    assert found[0] == "en-lighthouse"
    assert ids(api.get("/search", params={"q": "lighthouse", "in": "body"}))[0] == "en-coast-walk"


def test_search_in_title_or_body_only(api: TestClient) -> None:
    # "crude" is only in bodies, "climb" only in en-oil's title.
    assert ids(api.get("/search", params={"q": "crude", "in": "title"})) == []
    assert set(ids(api.get("/search", params={"q": "crude", "in": "body"}))) == {"en-oil", "en-sanctions"}
    assert ids(api.get("/search", params={"q": "climb", "in": "title"})) == ["en-oil"]
    assert ids(api.get("/search", params={"q": "climb", "in": "body"})) == []
    assert api.get("/search", params={"q": "oil", "in": "summary"}).status_code == 422


def test_highlight_marks_the_match_and_escapes_html(api: TestClient) -> None:
    item = api.get("/search", params={"q": "turnout"}).json()["items"][0]
    assert item["highlight"]["title"] == "Elections in Zürich: <mark>turnout</mark> rises"
    assert item["highlight"]["snippet"] is None
    snippet = api.get("/search", params={"q": "tankers"}).json()["items"][0]["highlight"]["snippet"]
    assert "<mark>tankers</mark>" in snippet


def test_newest_sort(api: TestClient) -> None:
    page = api.get("/search", params={"q": "oil", "sort": "newest"}).json()
    assert [item["id"] for item in page["items"]] == ["en-oil", "en-sanctions", "en-sanctioned"]


def test_facets_count_and_ignore_their_own_filter(api: TestClient) -> None:
    page = api.get("/search", params={"q": "oil"}).json()
    assert page["total"] == 3
    facets = page["facets"]
    assert {f["value"]: f["count"] for f in facets["sources"]} == {"reuters": 2, "apnews": 1}
    assert {f["value"]: f["count"] for f in facets["tags"]} == {
        "sanctions": 2,
        "energy": 2,
        "shipping": 1,
        "markets": 1,
    }
    assert {f["value"]: f["count"] for f in facets["languages"]} == {"en": 3}
    assert sum(d["count"] for d in facets["days"]) == 3
    tagged = api.get("/search", params={"tag": "sanctions"}).json()
    assert tagged["total"] == 3
    assert {f["value"]: f["count"] for f in tagged["facets"]["languages"]} == {"en": 2, "ru": 1}
    filtered = api.get("/search", params={"tag": "sanctions", "lang": "en", "source": ["reuters", "ria"]}).json()
    assert [i["id"] for i in filtered["items"]] == ["en-sanctions"] and filtered["total"] == 1
    # Multi-select: the language facet still counts the other languages under the other filters, and so on.
    assert {f["value"]: f["count"] for f in filtered["facets"]["languages"]} == {"en": 1, "ru": 1}
    assert {f["value"]: f["count"] for f in filtered["facets"]["sources"]} == {"reuters": 1, "apnews": 1}


def test_date_range_filter(api: TestClient) -> None:
    since = (datetime.now(UTC) - 36 * H).isoformat()
    found = ids(api.get("/search", params={"from": since, "tag": "heatwave"}))
    assert set(found) == {"en-heat-1", "en-heat-2", "en-heat-3"}
    today = datetime.now(UTC).date().isoformat()
    assert ids(api.get("/search", params={"to": "2000-01-01", "q": "oil"})) == []
    assert ids(api.get("/search", params={"from": "2000-01-01", "to": today, "q": "coal"})) == ["en-climate"]


def test_cursor_pages_through_everything_once(api: TestClient) -> None:
    for sort in ("relevance", "newest"):
        seen: list[str] = []
        params: dict[str, Any] = {"sort": sort, "size": 4}
        while True:
            page = api.get("/search", params=params).json()
            seen += [i["id"] for i in page["items"]]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert len(seen) == len(set(seen)) == len(CORPUS), sort


def test_related_prefers_similar_articles(api: TestClient) -> None:
    found = ids(api.get("/articles/en-sanctions/related"))
    assert found and "en-sanctions" not in found
    assert found[0] == "en-sanctioned"  # same story, other source
    assert "en-football" not in found
    assert api.get("/articles/en-retracted/related").status_code == 404
    assert api.get("/articles/nope/related").status_code == 404


def test_suggest_completes_word_prefixes(api: TestClient) -> None:
    assert [i["title"] for i in api.get("/suggest", params={"q": "ele zür"}).json()["items"]] == [
        "Elections in Zürich: turnout rises"
    ]
    titles = [i["title"] for i in api.get("/suggest", params={"q": "heatw"}).json()["items"]]
    assert len(titles) == 3 and all(t.startswith("Heatwave") for t in titles)
    assert api.get("/suggest", params={"q": "санк"}).json()["items"][0]["id"] == "ru-sanctions"
    assert api.get("/suggest", params={"q": "Retracted"}).json()["items"] == []


def test_trending_measures_the_rise(api: TestClient) -> None:
    items = api.get("/tags/trending", params={"window": "24h"}).json()["items"]
    assert items[0]["tag"] == "heatwave" and items[0]["count"] == 3
    # "markets": 2 in the window (en-oil, en-heat-2) against 2 in the previous one: not rising.
    assert "markets" not in [i["tag"] for i in items]


def test_latest_is_newest_first_with_filters_and_cursor(api: TestClient) -> None:
    first = api.get("/latest", params={"size": 2}).json()
    assert [i["id"] for i in first["items"]] == ["en-heat-1", "en-heat-2"]
    second = api.get("/latest", params={"size": 2, "cursor": first["next_cursor"]}).json()
    assert [i["id"] for i in second["items"]] == ["en-heat-3", "en-oil"]
    assert ids(api.get("/latest", params={"lang": "ru"})) == ["ru-sanctions", "ru-elections"]


def test_item_shape(api: TestClient) -> None:
    item = api.get("/search", params={"q": "coal"}).json()["items"][0]
    assert set(item) == {
        "id", "title", "url", "source_id", "source_name", "language", "tags", "authors", "image_url",
        "summary", "published_at", "highlight",
    }  # fmt: skip
    assert item["url"] == "https://example.com/en-climate" and item["tags"] == ["climate"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "x" * 257}, "query.q"),
        ({"size": 51}, "query.size"),
        ({"size": 0}, "query.size"),
        ({"sort": "popular"}, "query.sort"),
        ({"from": "yesterday"}, "query.from"),
        ({"to": "2024-13-01"}, "query.to"),
        ({"from": "2024-02-02", "to": "2024-02-01"}, "query.to"),
        ({"lang": "english"}, "query.lang"),
        ({"cursor": "not-a-cursor"}, "query.cursor"),
        ({"cursor": "eyJ2IjoxfQ"}, "query.cursor"),  # {"v":1}
    ],
)
def test_bad_input_is_422_problem(api: TestClient, params: dict[str, Any], field: str) -> None:
    response = api.get("/search", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]


def test_cursor_of_another_query_is_refused(api: TestClient) -> None:
    page = api.get("/search", params={"q": "sanctions", "size": 1}).json()
    assert api.get("/search", params={"q": "oil", "size": 1, "cursor": page["next_cursor"]}).status_code == 422
    newest = {"q": "sanctions", "size": 1, "sort": "newest", "cursor": page["next_cursor"]}
    assert api.get("/search", params=newest).status_code == 422


@pytest.mark.parametrize(
    "q", ['"unterminated', "((oil", "oil |", "- -", "***", "title.en:oil", '{"match_all":{}}', "a~2 b^3", "\\"]
)
def test_odd_query_syntax_never_fails(api: TestClient, q: str) -> None:
    assert api.get("/search", params={"q": q}).status_code == 200


def test_other_endpoints_validate(api: TestClient) -> None:
    assert api.get("/tags/trending", params={"window": "1y"}).status_code == 422
    assert api.get("/tags/trending", params={"window": "31d"}).status_code == 422
    assert api.get("/suggest", params={"q": ""}).status_code == 422
    assert api.get("/latest", params={"size": 51}).status_code == 422
    assert api.get("/articles/en-oil/related", params={"size": 21}).status_code == 422


@pytest.mark.parametrize(
    "params",
    [
        {"to": "9999-12-31"},
        {"from": "9999-12-31"},
        {"from": "0001-01-01"},
        {"to": "9999-12-31T23:59:59"},
        {"from": "1000-01-01T00:00:00+23:59"},
        {"to": "99999-01-01"},
    ],
)
def test_absurd_dates_are_422_not_5xx(api: TestClient, params: dict[str, Any]) -> None:
    for path in ("/search", "/latest"):
        response = api.get(path, params=params)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert {"query.from", "query.to"} & {e["field"] for e in response.json()["errors"]}


def _tampered(token: str, **changes: Any) -> str:
    payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    for key, value in changes.items():
        if key.startswith("a"):
            payload["a"][int(key[1:])] = value
        else:
            payload[key] = value
    raw = json.dumps(payload, allow_nan=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "change",
    [
        {"t": 10**20},
        {"t": 2**63},
        {"t": -(2**63)},
        {"t": 1e20},
        {"t": -1},
        {"a0": 2**63},
        {"a0": 10**30},
        {"a0": float("nan")},
        {"a0": float("inf")},
        {"a1": 2**64},
        {"a0": {"$ne": 1}},
        {"a0": None},
    ],
)
@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/search", {"q": "sanctions", "size": 1}),
        ("/search", {"q": "sanctions", "size": 1, "sort": "newest"}),
        ("/latest", {"size": 1}),
    ],
)
def test_tampered_cursor_values_are_422_not_5xx(
    api: TestClient, path: str, params: dict[str, Any], change: dict[str, Any]
) -> None:
    token = api.get(path, params=params).json()["next_cursor"]
    assert token
    response = api.get(path, params={**params, "cursor": _tampered(token, **change)})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "query.cursor"
