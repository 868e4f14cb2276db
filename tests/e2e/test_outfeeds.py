"""Out-feeds: every scope in Atom, RSS and JSON Feed parses clean with feedparser; conditional GET;
autodiscovery links on the pages; and a round trip through Newsflow's own poller."""

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import feedparser
import httpx
import pytest

from newsflow_ingest.domain.feeds import parse_feed
from newsflow_kit.testing import eventually

FORMATS = ("atom", "rss", "json")


@dataclass
class Published:
    word: str
    source_id: str
    publisher_key: str
    ids: list[str]  # newest first, still published
    retracted: str
    updated: str


def _source(platform: Any, name: str) -> tuple[str, str]:
    admin = platform.admin()
    body = {"name": name, "kind": "push", "homepage": "https://feeds.example/", "language": "en"}
    created = admin.post("/v1/admin/sources", json=body)
    assert created.status_code == 201, created.text
    key = admin.post("/v1/admin/keys", json={"name": name, "role": "publisher", "source_id": created.json()["id"]})
    assert key.status_code == 201, key.text
    return created.json()["id"], key.json()["key"]


def _article(word: str, n: int, when: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "title": f"Feed {word} story {n}",
        "url": f"https://feeds.example/{word}/{n}",
        # Over 400 characters of text: a shorter feed item is a teaser the poller replaces by the page's text.
        "body": f"<p>The <b>{word}</b> story {n} begins.</p><p>It goes on &amp; on.</p>" * 10,
        "summary": f"Story {n} in short.",
        "tags": [f"t{word}", "outfeed"],
        "authors": ["Jane Doe"],
        "language": "en",
        "published_at": when.isoformat(),
        **extra,
    }


def _publish(platform: Any, word: str) -> Published:
    source_id, key = _source(platform, f"Feeds {word}")
    now = datetime.now(UTC).replace(microsecond=0)
    pub = platform.client(key)
    ids = []
    for n in range(4):
        answer = pub.post("/v1/articles", json=_article(word, n, now - timedelta(hours=n)))
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    changed = pub.post(
        "/v1/articles",
        json=_article(
            word, 1, now - timedelta(hours=1), body="<p>Corrected.</p>" + "<p>A longer text follows.</p>" * 20
        ),
    )
    assert changed.status_code == 200 and changed.json()["version"] == 2, changed.text
    assert pub.delete(f"/v1/articles/{ids[3]}").status_code == 200

    def listed() -> bool:
        items = httpx.get(f"{platform.url}/v1/articles", params={"source": source_id}, timeout=10).json()["items"]
        return [i["id"] for i in items] == ids[:3]

    eventually(listed, timeout=30, interval=0.5)
    return Published(word, source_id, key, ids[:3], ids[3], ids[1])


@pytest.fixture(scope="module")
def published(platform: Any) -> Iterator[Published]:
    yield _publish(platform, "zf" + secrets.token_hex(4))


def _parse(platform: Any, path: str, **params: str) -> Any:
    """Atom and RSS through feedparser (no bozo). feedparser 6.0 has no JSON Feed reader: JSON Feed is
    checked against the 1.1 specification and read into the same shape as feedparser's."""
    answer = httpx.get(platform.url + path, params=params, timeout=15)
    assert answer.status_code == 200, answer.text
    if path.endswith(".json"):
        return answer, _json_feed(answer.content)
    parsed = feedparser.parse(answer.content, response_headers={"content-type": answer.headers["content-type"]})
    assert not parsed.bozo, (path, parsed.get("bozo_exception"))
    return answer, parsed


def _json_feed(body: bytes) -> Any:
    doc = json.loads(body)
    assert doc["version"] == "https://jsonfeed.org/version/1.1" and doc["title"] and isinstance(doc["items"], list)
    assert parse_feed(body, "application/feed+json").error is None  # ingest's reader takes it too
    entries = []
    for item in doc["items"]:
        assert item["id"] and ("content_html" in item or "content_text" in item)
        content = [SimpleNamespace(value=item["content_html"])] if "content_html" in item else []
        entries.append(
            SimpleNamespace(
                id=item["id"], title=item["title"], link=item["url"], summary=item["summary"], content=content,
                tags=[SimpleNamespace(term=t) for t in item["tags"]],
                author=", ".join(a["name"] for a in item.get("authors", [])),
                published_parsed=_time(item["date_published"]), updated_parsed=_time(item["date_modified"]),
                get=lambda key, default=None, item=item, content=content: content if key == "content" else default,
            )
        )  # fmt: skip
    feed = SimpleNamespace(link=doc["feed_url"], get=lambda key, default=None: doc.get(key, default))
    return SimpleNamespace(version="json11", entries=entries, feed=feed)


def _time(value: str) -> time.struct_time:
    return datetime.fromisoformat(value).astimezone(UTC).timetuple()


def _scopes(p: Published) -> list[tuple[str, dict[str, str]]]:
    return [
        ("/feeds/latest", {}),
        (f"/feeds/tags/t{p.word}", {}),
        (f"/feeds/sources/{p.source_id}", {}),
        ("/feeds/languages/en", {}),
        ("/feeds/search", {"q": p.word}),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_feed_parses_clean_with_full_content(platform: Any, published: Published, fmt: str) -> None:
    p = published
    urns = [f"urn:newsflow:article:{i}" for i in p.ids]
    for path, params in _scopes(p):
        answer, parsed = _parse(platform, f"{path}.{fmt}", **params)
        expected_type = {"atom": "atom10", "rss": "rss20", "json": "json11"}[fmt]
        assert parsed.version == expected_type, (path, parsed.version)
        assert answer.headers["etag"] and answer.headers["last-modified"]
        entries = [e for e in parsed.entries if e.id in urns or p.word in e.title]
        if path in ("/feeds/latest", "/feeds/languages/en"):
            continue  # shared with other tests' articles: ours may be past the first 20
        assert [e.id for e in entries] == urns, path  # newest first, retracted one absent
        first = entries[0]
        assert first.title == f"Feed {p.word} story 0"
        assert first.link == f"{platform.url}/articles/{p.ids[0]}"
        assert {t.term for t in first.tags} >= {f"t{p.word}", "outfeed"}
        assert "<b>" in first.content[0].value and f"{p.word}" in first.content[0].value
        assert first.author == "Jane Doe"
        assert first.published_parsed is not None
        corrected = entries[1]
        assert "Corrected." in corrected.content[0].value
        if fmt != "rss":  # RSS items have no updated date
            assert corrected.updated_parsed > corrected.published_parsed
            # the correction came last (feed dates have whole seconds: a fast machine makes both in one)
            assert corrected.updated_parsed >= first.updated_parsed
        if fmt == "json":
            self_links = [parsed.feed.link]
        else:
            self_links = [link.href for link in parsed.feed.get("links", []) if link.get("rel") == "self"]
        assert any(link.startswith(f"{platform.url}{path}.{fmt}") for link in self_links), parsed.feed


@pytest.mark.parametrize("fmt", FORMATS)
def test_summary_feeds_leave_the_body_out(platform: Any, published: Published, fmt: str) -> None:
    _, parsed = _parse(platform, f"/feeds/sources/{published.source_id}.{fmt}", content="summary")
    entry = parsed.entries[0]
    assert entry.summary == "Story 0 in short."
    assert all("<b>" not in c.value for c in entry.get("content", []))


def test_conditional_get(platform: Any, published: Published) -> None:
    url = f"{platform.url}/feeds/sources/{published.source_id}.atom"
    first = httpx.get(url, timeout=15)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert httpx.get(url, headers={"If-None-Match": etag}, timeout=15).status_code == 304
    assert httpx.get(url, headers={"If-Modified-Since": modified}, timeout=15).status_code == 304
    assert httpx.get(url, headers={"If-None-Match": '"other"'}, timeout=15).status_code == 200
    rss = httpx.get(url.replace(".atom", ".rss"), headers={"If-None-Match": etag}, timeout=15)
    assert rss.status_code == 200 and rss.headers["etag"] != etag  # each format has its own
    summary = httpx.get(url, params={"content": "summary"}, headers={"If-None-Match": etag}, timeout=15)
    assert summary.status_code == 200
    # A new article changes both validators.
    later = datetime.now(UTC) + timedelta(minutes=1)
    pub = platform.client(published.publisher_key)
    assert pub.post("/v1/articles", json=_article(published.word, 9, later)).status_code == 201

    def changed() -> httpx.Response | None:
        answer = httpx.get(url, headers={"If-None-Match": etag}, timeout=15)
        return answer if answer.status_code == 200 else None

    fresh = eventually(changed, timeout=30, interval=0.5)
    assert fresh.headers["etag"] != etag
    assert httpx.get(url, headers={"If-Modified-Since": modified}, timeout=15).status_code == 200


def test_bad_feed_requests(platform: Any) -> None:
    assert httpx.get(f"{platform.url}/feeds/latest.xml", timeout=15).status_code == 422
    assert httpx.get(f"{platform.url}/feeds/search.atom", timeout=15).status_code == 422
    assert httpx.get(f"{platform.url}/feeds/languages/english.atom", timeout=15).status_code == 422
    assert httpx.get(f"{platform.url}/feeds/latest.atom", params={"content": "some"}, timeout=15).status_code == 422


def test_pages_advertise_their_feeds(platform: Any, published: Published) -> None:
    for page, feed in (
        ("/", "/feeds/latest"),
        (f"/tags/t{published.word}", f"/feeds/tags/t{published.word}"),
        (f"/sources/{published.source_id}", f"/feeds/sources/{published.source_id}"),
        (f"/search?q={published.word}", "/feeds/search"),
    ):
        html = httpx.get(platform.url + page, timeout=15).text
        for fmt, media in (("atom", "application/atom+xml"), ("rss", "application/rss+xml"),
                           ("json", "application/feed+json")):  # fmt: skip
            assert f'<link rel="alternate" type="{media}" href="{feed}.{fmt}' in html, (page, fmt)


def test_round_trip_through_newsflows_own_poller(platform: Any) -> None:
    """Each format of one Newsflow source's out-feed is polled into a new feed source: titles, bodies,
    tags and dates come through."""
    origins = {fmt: _publish(platform, f"zr{fmt}" + secrets.token_hex(3)) for fmt in FORMATS}
    host = platform.url.removeprefix("http://")
    assert platform.start is not None
    poller = platform.start(
        "ingest",
        "poller",
        {"NEWSFLOW_FETCH__ALLOW_HOSTS": f'["{host}"]', "NEWSFLOW_POLLER__TICK_S": "0.5"},
        http=False,
    )
    admin = platform.admin()
    copies = {}
    for fmt, origin in origins.items():
        body = {
            "name": f"Copy of {origin.word}",
            "kind": "feed",
            "feed_url": f"{platform.url}/feeds/sources/{origin.source_id}.{fmt}",
            "language": "en",
            "min_interval_s": 30,
        }
        created = admin.post("/v1/admin/sources", json=body)
        assert created.status_code == 201, created.text
        copies[fmt] = created.json()["id"]

    for fmt, origin in origins.items():

        def copied(fmt: str = fmt) -> list[dict[str, Any]] | None:
            items = httpx.get(f"{platform.url}/v1/articles", params={"source": copies[fmt]}, timeout=10).json()
            return items["items"] if len(items["items"]) == 3 else None

        listed = eventually(copied, timeout=60, interval=1.0)
        for item, original_id in zip(listed, origin.ids, strict=True):
            copy = platform.client().get(f"/v1/articles/{item['id']}").json()["article"]
            original = platform.client().get(f"/v1/articles/{original_id}").json()["article"]
            assert copy["title"] == original["title"], fmt
            assert copy["body_text"] == original["body_text"], fmt
            assert set(original["tags"]) <= set(copy["tags"]), fmt
            assert copy["published_at"] == original["published_at"], fmt
            assert copy["authors"] == original["authors"], fmt
            assert copy["url"] == f"{platform.url}/articles/{original_id}", fmt
    poller.stop()  # other tests run pollers of their own
