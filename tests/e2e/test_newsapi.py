"""The real ``newsapi-python`` client against the gateway's /v2: every method, paging, filters, errors."""

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import requests
from newsapi import NewsApiClient
from newsapi.newsapi_exception import NewsAPIException

from newsflow_kit.testing import eventually

NEWSAPI = "https://newsapi.org"


class GatewaySession(requests.Session):
    """Sends the client's requests to the gateway instead of NewsAPI's host (all a user changes)."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        return super().request(method, str(url).replace(NEWSAPI, self.base_url, 1), *args, **kwargs)


@dataclass
class World:
    word: str
    key: str
    planet: str  # source on dailyplanet.example
    bugle: str  # source on news.bugle.example
    client: NewsApiClient
    ids: dict[str, str]


def _source(admin: httpx.Client, name: str, homepage: str, language: str = "en") -> tuple[str, str]:
    created = admin.post(
        "/v1/admin/sources", json={"name": name, "kind": "push", "homepage": homepage, "language": language}
    )
    assert created.status_code == 201, created.text
    source_id = created.json()["id"]
    key = admin.post("/v1/admin/keys", json={"name": name, "role": "publisher", "source_id": source_id})
    assert key.status_code == 201, key.text
    return source_id, key.json()["key"]


@pytest.fixture(scope="module")
def world(platform: Any) -> Iterator[World]:
    """Two sources on two domains, 7 + 2 articles carrying one unique word, a reader key, the client."""
    word = "zq" + secrets.token_hex(4)
    admin = platform.admin()
    planet, planet_key = _source(admin, f"Daily Planet {word}", "https://www.dailyplanet.example/")
    bugle, bugle_key = _source(admin, f"Bugle {word}", "https://news.bugle.example/", language="de")
    reader = admin.post("/v1/admin/keys", json={"name": "newsapi client", "role": "reader"})
    assert reader.status_code == 201, reader.text
    now = datetime.now(UTC).replace(microsecond=0)
    ids: dict[str, str] = {}
    for n in range(7):
        body = {
            "title": f"Harbour {word} report {n}",
            "url": f"https://www.dailyplanet.example/{word}/{n}",
            "body": f"<p>The {word} harbour reopened, report {n}.</p>" + "<p>Ships and cranes.</p>" * 30,
            "summary": f"Summary {n} of the harbour.",
            "tags": ["harbour", "technology"] if n % 2 else ["harbour"],
            "authors": ["Lois Lane", "Clark Kent"] if n == 0 else [],
            "language": "en",
            "published_at": (now - timedelta(hours=n)).isoformat(),
        }
        answer = platform.client(planet_key).post("/v1/articles", json=body)
        assert answer.status_code == 201, answer.text
        ids[f"planet-{n}"] = answer.json()["id"]
    for n in range(2):
        body = {
            "title": f"Hafen {n}",
            "url": f"https://news.bugle.example/{word}/{n}",
            "body": f"<p>Der Hafen ist wieder offen: {word} harbour.</p>",
            "language": "de",
            "published_at": (now - timedelta(days=3 + n)).isoformat(),
        }
        answer = platform.client(bugle_key).post("/v1/articles", json=body)
        assert answer.status_code == 201, answer.text
        ids[f"bugle-{n}"] = answer.json()["id"]

    def searchable() -> bool:
        page = httpx.get(f"{platform.url}/v1/search", params={"q": word, "size": 50}, timeout=10).json()
        return page.get("total", 0) >= 9

    eventually(searchable, timeout=30, interval=0.5)
    session = GatewaySession(platform.url)
    yield World(
        word, reader.json()["key"], planet, bugle, NewsApiClient(api_key=reader.json()["key"], session=session), ids
    )
    session.close()


def test_everything_shape_and_extras(world: World) -> None:
    answer = world.client.get_everything(q=world.word, page_size=100)
    assert answer["status"] == "ok" and answer["totalResults"] == 9 and len(answer["articles"]) == 9
    newest = answer["articles"][0]  # default sortBy is publishedAt: newest first
    assert set(newest) >= {"source", "author", "title", "description", "url", "urlToImage", "publishedAt", "content"}
    assert newest["source"] == {"id": world.planet, "name": f"Daily Planet {world.word}"}
    assert newest["author"] == "Lois Lane, Clark Kent"
    assert newest["title"] == f"Harbour {world.word} report 0"
    assert newest["description"] == "Summary 0 of the harbour."
    assert newest["url"] == f"https://www.dailyplanet.example/{world.word}/0"
    assert newest["urlToImage"] is None
    assert datetime.strptime(newest["publishedAt"], "%Y-%m-%dT%H:%M:%SZ")
    assert newest["content"].startswith(f"The {world.word} harbour reopened") and newest["content"].endswith(" chars]")
    extras = newest["newsflow"]
    assert extras["id"] == world.ids["planet-0"] and "harbour" in extras["tags"] and extras["language"] == "en"
    assert "<p>" in extras["body"] and extras["bodyText"].count("Ships and cranes.") == 30
    assert isinstance(extras["keyPoints"], list) and extras["version"] == 1 and extras["missing"] == []
    assert extras["commentCount"] == 0  # from the comments service (not in "missing")
    dates = [a["publishedAt"] for a in answer["articles"]]
    assert dates == sorted(dates, reverse=True)


def test_everything_pages_through_every_result_once(world: World) -> None:
    seen: list[str] = []
    for page in (1, 2, 3, 4):
        answer = world.client.get_everything(q=world.word, page_size=2, page=page)
        assert answer["totalResults"] == 9
        assert len(answer["articles"]) == (2 if page < 5 else 1)
        seen += [a["newsflow"]["id"] for a in answer["articles"]]
    last = world.client.get_everything(q=world.word, page_size=2, page=5)["articles"]
    assert len(last) == 1
    seen += [a["newsflow"]["id"] for a in last]
    assert sorted(seen) == sorted(world.ids.values())
    assert world.client.get_everything(q=world.word, page_size=2, page=6)["articles"] == []


def test_everything_filters(world: World) -> None:
    c, w = world.client, world.word

    def ids(**kwargs: Any) -> set[str]:
        return {a["newsflow"]["id"] for a in c.get_everything(page_size=100, **kwargs)["articles"]}

    planet = {world.ids[f"planet-{n}"] for n in range(7)}
    bugle = {world.ids["bugle-0"], world.ids["bugle-1"]}
    assert ids(q=w, sources=world.bugle) == bugle
    assert ids(q=w, sources=f"{world.planet},{world.bugle}") == planet | bugle
    assert ids(q=w, domains="dailyplanet.example") == planet
    assert ids(q=w, domains="bugle.example") == bugle  # sub-domains count
    assert ids(q=w, sources=f"{world.planet},{world.bugle}", exclude_domains="dailyplanet.example") == bugle
    assert ids(q=w, language="de") == bugle
    assert ids(qintitle=w) == planet  # the Bugle's titles lack the word
    assert ids(q=f"{w} AND report NOT hafen") == planet
    assert ids(q=f'"{w} report 3" OR "{w} report 4"') == {world.ids["planet-3"], world.ids["planet-4"]}
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    assert ids(q=w, from_param=two_days_ago) == planet
    assert ids(q=w, to=two_days_ago) == bugle
    relevant = c.get_everything(q=f"{w} report 5", sort_by="relevancy")["articles"]
    assert relevant[0]["newsflow"]["id"] == world.ids["planet-5"]
    assert ids(q=w, sort_by="popularity") == planet | bugle


def test_search_in_and_names_in_any_case(world: World, platform: Any) -> None:
    def ids(params: dict[str, str]) -> set[str]:
        answer = httpx.get(f"{platform.url}/v2/everything", params={**params, "apiKey": world.key}, timeout=15)
        assert answer.status_code == 200, answer.text
        return {a["newsflow"]["id"] for a in answer.json()["articles"]}

    bugle = {world.ids["bugle-0"], world.ids["bugle-1"]}
    assert ids({"q": world.word, "searchIn": "content"}) == set(world.ids.values())
    assert ids({"q": world.word, "searchIn": "title"}) == set(world.ids.values()) - bugle
    assert ids({"qInTitle": world.word, "SORTBY": "publishedAt"}) == set(world.ids.values()) - bugle


def test_top_headlines(world: World) -> None:
    c = world.client
    answer = c.get_top_headlines(sources=world.planet, language=None, page_size=3)
    assert answer["status"] == "ok" and answer["totalResults"] == 7
    assert [a["newsflow"]["id"] for a in answer["articles"]] == [world.ids[f"planet-{n}"] for n in range(3)]
    page3 = c.get_top_headlines(sources=world.planet, language=None, page_size=3, page=3)["articles"]
    assert [a["newsflow"]["id"] for a in page3] == [world.ids["planet-6"]]
    german = c.get_top_headlines(q=world.word, language="de")["articles"]
    assert {a["newsflow"]["id"] for a in german} == {world.ids["bugle-0"], world.ids["bugle-1"]}
    tech = c.get_top_headlines(q=world.word, country="us", category="technology")["articles"]
    assert {a["newsflow"]["id"] for a in tech} == {world.ids[f"planet-{n}"] for n in (1, 3, 5)}
    assert c.get_top_headlines(qintitle=world.word, language="en")["totalResults"] == 7


def test_sources(world: World) -> None:
    answer = world.client.get_sources()
    assert answer["status"] == "ok"
    mine = {s["id"]: s for s in answer["sources"] if s["id"] in (world.planet, world.bugle)}
    assert mine[world.planet] == {
        "id": world.planet, "name": f"Daily Planet {world.word}", "description": "",
        "url": "https://www.dailyplanet.example/", "category": "general", "language": "en", "country": "",
    }  # fmt: skip
    german = {s["id"] for s in world.client.get_sources(language="de")["sources"]}
    assert world.bugle in german and world.planet not in german
    assert world.planet in {s["id"] for s in world.client.get_sources(country="gb")["sources"]}
    assert world.client.get_sources(category="business")["sources"] == []
    session = GatewaySession(world.client.request_method.base_url)  # type: ignore[union-attr]
    both = session.get(f"{NEWSAPI}/v2/top-headlines/sources", headers={"X-Api-Key": world.key}, timeout=15)
    session.close()
    assert both.status_code == 200 and both.json()["sources"] == answer["sources"]


def test_errors_through_the_client(world: World, platform: Any) -> None:
    def code(call: Any) -> tuple[str, str]:
        with pytest.raises(NewsAPIException) as caught:
            call()
        assert caught.value.get_status() == "error" and caught.value.get_message()
        return caught.value.get_code(), caught.value.get_message()

    session = GatewaySession(platform.url)
    try:
        bad = NewsApiClient(api_key="nfk_0123456789abcdef_wrong", session=session)
        assert code(lambda: bad.get_everything(q="x"))[0] == "apiKeyInvalid"
        assert code(lambda: bad.get_sources())[0] == "apiKeyInvalid"
        assert code(lambda: world.client.get_everything())[0] == "parametersMissing"
        assert code(lambda: world.client.get_top_headlines(language=None))[0] == "parametersMissing"
        assert code(lambda: world.client.get_everything(q="x", page=11, page_size=100))[0] == "maximumResultsReached"
        many = ",".join(f"s{n}" for n in range(21))
        assert code(lambda: world.client.get_everything(sources=many))[0] == "sourcesTooMany"
    finally:
        session.close()
    with platform.admin() as admin:
        created = admin.post("/v1/admin/keys", json={"name": "to revoke", "role": "reader"}).json()
        assert admin.delete(f"/v1/admin/keys/{created['id']}").status_code == 200
    revoked = httpx.get(f"{platform.url}/v2/sources", headers={"X-Api-Key": created["key"]}, timeout=15)
    assert revoked.status_code == 401 and revoked.json()["code"] == "apiKeyInvalid"
    missing = httpx.get(f"{platform.url}/v2/everything", params={"q": "x"}, timeout=15)
    assert missing.status_code == 401 and missing.json()["code"] == "apiKeyMissing"
