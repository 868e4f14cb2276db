"""Feed polling against a real local HTTP feed server, real MongoDB and real Kafka."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from newsflow_contracts import ArticleData, Envelope
from newsflow_ingest.fetch import FetchRefused, SafeFetcher
from newsflow_ingest.metrics import FEEDS_FETCHED
from newsflow_ingest.poller import Poller
from newsflow_ingest.service import Ingestor
from newsflow_ingest.settings import FetchSettings, Settings
from newsflow_ingest.store import ArticlesRepo, SourceLeases, with_due_tick
from newsflow_kit.kafka import AsyncPublisher
from newsflow_kit.mongo import async_mongo
from newsflow_kit.testing import read_topic

from .conftest import FeedServer, Route

RSS = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>
<item><guid>g1</guid><title>Tram network grows by ten stations</title><link>https://n.example/tram</link>
<pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate><category>Transport</category>
<description>&lt;p&gt;{body}&lt;/p&gt;</description>
<enclosure url="https://n.example/tram.jpg" type="image/jpeg" length="1"/></item>
<item><guid>g1</guid><title>Duplicate guid</title><link>https://n.example/dup</link><description>x</description></item>
<item><guid>g3</guid><title>   </title><link>https://n.example/empty</link><description>x</description></item>
<item><guid>g4</guid><title>Absurd date</title><link>https://n.example/absurd</link>
<pubDate>Mon, 02 Nov 2999 10:00:00 GMT</pubDate><description>{long}</description></item>
</channel></rss>"""
RDF = """<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://n.example/"><title>R</title><link>https://n.example/</link>
<description>d</description></channel><item rdf:about="https://n.example/rdf"><title>RDF story about ports</title>
<link>https://n.example/rdf</link><description>{long}</description></item></rdf:RDF>"""
RSS091 = """<?xml version="1.0"?><rss version="0.91"><channel><title>O</title><link>https://n.example/</link>
<description>d</description><item><title>Old format story</title><link>https://n.example/old</link>
<description>{long}</description></item></channel></rss>"""
ATOM = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
<id>urn:a</id><updated>2026-11-02T10:00:00Z</updated><entry><id>urn:a:1</id><title>Atom story on energy</title>
<link href="https://n.example/atom"/><updated>2026-11-02T10:00:00Z</updated><author><name>Mara Lind</name></author>
<content type="html">&lt;p&gt;{long}&lt;/p&gt;</content></entry></feed>"""
JSONFEED = """{{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": [{{"id": "j1",
"url": "https://n.example/json", "title": "JSON story on water", "content_html": "<p>{long}</p>",
"tags": ["Water"], "date_published": "2026-11-02T10:00:00Z"}}]}}"""
LONG = "The regional council approved the water quality plan after long public hearings. " * 5
BOMB = """<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><rss version="2.0"><channel><title>&lol3;</title></channel></rss>"""


@dataclass
class Rig:
    settings: Settings
    poller: Poller
    repo: ArticlesRepo
    client: TestClient


@pytest.fixture
async def rig(settings: Settings, local_fetch: FetchSettings, client: TestClient) -> AsyncIterator[Rig]:
    settings = settings.model_copy(update={"fetch": local_fetch})
    mongo = async_mongo(settings.mongo)
    db = mongo[settings.database]
    publisher = AsyncPublisher(settings.kafka, client_id="test-poller")
    fetcher = SafeFetcher(local_fetch)
    repo = ArticlesRepo(db)
    yield Rig(
        settings,
        Poller(settings, SourceLeases(db), Ingestor(repo, publisher, settings.kafka.articles_topic), fetcher),
        repo,
        client,
    )
    await fetcher.aclose()
    await publisher.close()
    await mongo.close()


def _source(client: TestClient, url: str, name: str = "feed", **extra: object) -> str:
    resp = client.post(
        "/sources",
        json={"name": name, "kind": "feed", "feed_url": url, "min_interval_s": 30, "max_interval_s": 600, **extra},
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


async def _poll(rig: Rig, source_id: str) -> dict[str, object]:
    await rig.poller.leases.sources.update_one(
        {"_id": source_id}, {"$set": with_due_tick({"next_poll_at": datetime.now(UTC)})}
    )
    source = await rig.poller.claim()
    assert source is not None and source.id == source_id
    await rig.poller.poll(source)
    return dict(rig.client.get(f"/sources/{source_id}/status").json())


async def test_each_format_lands(rig: Rig, feed_server: FeedServer) -> None:
    docs = {
        "/rss": RSS.format(body=LONG, long=LONG),
        "/rdf": RDF.format(long=LONG),
        "/rss091": RSS091.format(long=LONG),
        "/atom": ATOM.format(long=LONG),
        "/json": JSONFEED.format(long=LONG),
    }
    for path, doc in docs.items():
        kind = "application/feed+json" if path == "/json" else "application/xml"
        feed_server.routes[path] = Route(body=doc.encode(), headers={"Content-Type": kind})
        status = await _poll(rig, _source(rig.client, feed_server.url(path), name=path))
        assert status["last_status"] == 200 and status["articles_seen"] >= 1, (path, status)
    titles = {a["title"] for a in rig.client.get("/articles", params={"limit": 50}).json()["items"]}
    assert {
        "Tram network grows by ten stations",
        "RDF story about ports",
        "Old format story",
        "Atom story on energy",
        "JSON story on water",
    } <= titles
    assert "Absurd date" not in titles  # a date in 2999 skips the item (recorded), it never becomes "now"
    tram = rig.client.get("/articles", params={"tag": "transport"}).json()["items"][0]
    assert tram["image_url"] == "https://n.example/tram.jpg"
    assert tram["published_at"].startswith("2026-11-02T10:00:00")
    rss_status = rig.client.get("/sources").json()["items"][0]
    assert rss_status["name"] == "/rss"


async def test_bad_items_are_skipped_with_reasons(rig: Rig, feed_server: FeedServer) -> None:
    feed_server.routes["/rss"] = Route(body=RSS.format(body=LONG, long=LONG).encode())
    status = await _poll(rig, _source(rig.client, feed_server.url("/rss")))
    assert status["articles_seen"] == 2 and status["items_skipped"] == 2  # the blank title is derived from the text
    assert "duplicate-guid" in str(status["last_error"]) and "absurd-date" in str(status["last_error"])
    assert status["error_kind"] is None and "1 items kept with title-derived" in status["problems"]


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (BOMB.encode(), "unsafe-xml"),
        (b"<rss><channel><item><title>broken", "malformed-xml"),
        (b"\xff\xfe\x00garbage\x00", "not-a-feed"),
        (b"<html><body><p>a web page</p></body></html>", "not-a-feed"),
        (b"", "empty"),
        (b'{"version": "nope"}', "not-json-feed"),
        (b'{"version": ', "malformed-json"),
    ],
)
async def test_bad_feeds_are_recorded_and_never_crash(
    rig: Rig, feed_server: FeedServer, body: bytes, kind: str
) -> None:
    feed_server.routes["/bad"] = Route(body=body)
    status = await _poll(rig, _source(rig.client, feed_server.url("/bad")))
    assert status["error_count"] == 1 and status["error_kind"] == kind, status
    assert str(status["last_error"]).startswith(kind)


@pytest.mark.parametrize(
    ("path", "kind"),
    [("/missing", "http-404"), ("/gone", "http-410"), ("/busy", "http-503"), ("/loop", "too-many-redirects")],
)
async def test_fetch_failures_have_a_precise_kind(rig: Rig, feed_server: FeedServer, path: str, kind: str) -> None:
    feed_server.routes["/gone"] = Route(status=410)
    feed_server.routes["/busy"] = Route(status=503)
    feed_server.routes["/loop"] = Route(status=302, headers={"Location": "/loop"})
    status = await _poll(rig, _source(rig.client, feed_server.url(path)))
    assert status["error_kind"] == kind, status


async def test_unreachable_and_refused_hosts_have_a_precise_kind(rig: Rig) -> None:
    closed = _source(rig.client, "http://127.0.0.1:9/feed", name="closed")  # not in the allow-list
    assert (await _poll(rig, closed))["error_kind"] == "private-address"
    nowhere = _source(rig.client, "http://no-such-host.invalid/feed", name="nowhere")
    assert (await _poll(rig, nowhere))["error_kind"] == "dns"


async def test_not_modified_update_and_retraction(rig: Rig, feed_server: FeedServer) -> None:
    feed_server.routes["/atom"] = Route(body=ATOM.format(long=LONG).encode(), etag='"v1"')
    source_id = _source(rig.client, feed_server.url("/atom"))
    assert (await _poll(rig, source_id))["articles_seen"] == 1
    assert (await _poll(rig, source_id))["last_status"] == 304

    feed_server.routes["/atom"] = Route(body=ATOM.format(long="Edited: " + LONG).encode(), etag='"v2"')
    await _poll(rig, source_id)
    feed_server.routes["/atom"] = Route(body=ATOM.format(long="Edited: " + LONG).encode(), etag='"v3"')
    assert (await _poll(rig, source_id))["articles_seen"] == 2  # the same content again: no new version

    retracted = ATOM.format(long=LONG).replace("<content", '<category term="retracted"/><content')
    feed_server.routes["/atom"] = Route(body=retracted.encode(), etag='"v4"')
    await _poll(rig, source_id)

    messages = read_topic(rig.settings.kafka, rig.settings.kafka.articles_topic, until=lambda ms: len(ms) >= 3)
    events = [Envelope[ArticleData].model_validate_json(m.value() or b"") for m in messages]
    assert [(e.event_type.value, e.data.version) for e in events] == [
        ("article.published", 1),
        ("article.updated", 2),
        ("article.retracted", 3),
    ]


async def test_retry_after_and_errors_back_off(rig: Rig, feed_server: FeedServer) -> None:
    feed_server.routes["/busy"] = Route(status=429, headers={"Retry-After": "900"})
    source_id = _source(rig.client, feed_server.url("/busy"))
    status = await _poll(rig, source_id)
    assert status["last_status"] == 429 and status["error_count"] == 1
    wait = datetime.fromisoformat(str(status["next_poll_at"])) - datetime.fromisoformat(str(status["last_fetch_at"]))
    assert 890 <= wait.total_seconds() <= 910


async def test_ssrf_guard_refuses_private_addresses_and_bad_schemes(feed_server: FeedServer) -> None:
    feed_server.routes["/ok"] = Route(body=b"fine")
    feed_server.routes["/hop"] = Route(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data"})
    strict = SafeFetcher(FetchSettings(timeout_s=2))
    allowed = SafeFetcher(FetchSettings(allow_hosts=[f"127.0.0.1:{feed_server.port}"], timeout_s=2))
    try:
        for url in (
            feed_server.url("/ok"),
            "http://localhost:9/",
            "http://10.1.2.3/",
            "http://[::1]:9/",
            "http://169.254.169.254/latest/meta-data",
            "file:///etc/passwd",
            "gopher://x.test/",
        ):
            with pytest.raises(FetchRefused):
                await strict.get(url, max_bytes=1000)
        assert (await allowed.get(feed_server.url("/ok"), max_bytes=1000)).body == b"fine"
        with pytest.raises(FetchRefused) as redirect:
            await allowed.get(feed_server.url("/hop"), max_bytes=1000)
        assert redirect.value.reason == "private-address"
        with pytest.raises(FetchRefused) as big:
            await allowed.get(feed_server.url("/ok"), max_bytes=2)
        assert big.value.reason == "too-large"
    finally:
        await strict.aclose()
        await allowed.aclose()


async def test_two_pollers_never_fetch_one_source_at_once(rig: Rig, feed_server: FeedServer) -> None:
    feed_server.delay_s = 0.3
    for n in range(4):
        feed_server.routes[f"/f{n}"] = Route(body=RSS091.format(long=LONG).replace("old", f"old{n}").encode())
        _source(rig.client, feed_server.url(f"/f{n}"), name=f"f{n}")
    other = Poller(rig.settings, rig.poller.leases, rig.poller.ingestor, rig.poller.fetcher)
    stop = asyncio.Event()
    runs = [asyncio.create_task(p.run(stop)) for p in (rig.poller, other)]
    await asyncio.sleep(2.0)
    stop.set()
    await asyncio.gather(*runs)
    assert all(feed_server.hits.get(f"/f{n}") == 1 for n in range(4)), feed_server.hits
    assert max(feed_server.max_in_flight.values()) == 1


async def test_a_store_outage_never_kills_a_poll_worker(rig: Rig, feed_server: FeedServer) -> None:
    """A poll that fails while the store is down, where recording the failure fails too, returns: the
    worker lives on and the lease runs out (a worker that died here left the poller idle for good
    once the store came back, with its queue full and nobody draining it)."""
    feed_server.routes["/outage"] = Route(body=RSS.format(body=LONG, long=LONG).encode())
    source_id = _source(rig.client, feed_server.url("/outage"), name="outage")
    await rig.poller.leases.sources.update_one(
        {"_id": source_id}, {"$set": with_due_tick({"next_poll_at": datetime.now(UTC)})}
    )
    source = await rig.poller.claim()
    assert source is not None and source.id == source_id
    down = async_mongo(rig.settings.mongo.model_copy(update={"uri": "mongodb://127.0.0.1:9/", "timeout_ms": 300}))
    db = down["nowhere"]
    ingestor = Ingestor(ArticlesRepo(db), rig.poller.ingestor.publisher, rig.settings.kafka.articles_topic)
    stranded = Poller(rig.settings, SourceLeases(db), ingestor, rig.poller.fetcher)
    stranded.held[source_id] = source
    try:
        await stranded._guarded(source)  # before the fix: ServerSelectionTimeoutError escaped and ended the worker
    finally:
        await down.close()
    assert source_id not in stranded.held


def _rss(*numbers: int) -> bytes:
    items = "".join(
        f"<item><guid>m{n}</guid><title>Harbour story number {n}</title><link>https://n.example/m{n}</link>"
        f"<description>{LONG}</description></item>"
        for n in numbers
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>M</title>{items}</channel></rss>'.encode()


async def test_a_feed_without_validators_is_only_ingested_where_it_changed(
    rig: Rig, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ETag, no Last-Modified: the same body again is a 304 in all but name, and a changed body
    normalises and stores only its new items (the memo of the last poll)."""
    handed: list[int] = []
    import_many = rig.poller.ingestor.import_many

    async def counting(items: list[tuple[Any, Any]], *, first: bool = False) -> Any:
        handed.append(len(items))
        return await import_many(items, first=first)

    monkeypatch.setattr(rig.poller.ingestor, "import_many", counting)
    feed_server.routes["/plain"] = Route(body=_rss(3, 2, 1))
    source_id = _source(rig.client, feed_server.url("/plain"))
    assert (await _poll(rig, source_id))["articles_seen"] == 3
    assert handed == [3]

    unchanged = FEEDS_FETCHED.labels("unchanged")._value.get()
    status = await _poll(rig, source_id)
    assert FEEDS_FETCHED.labels("unchanged")._value.get() == unchanged + 1
    assert (status["last_status"], status["articles_seen"], handed) == (200, 3, [3])

    feed_server.routes["/plain"] = Route(body=_rss(4, 3, 2))  # one new item, the oldest gone
    assert (await _poll(rig, source_id))["articles_seen"] == 4
    assert handed == [3, 1]
    stored = await rig.poller.leases.sources.find_one({"_id": source_id})
    assert stored is not None and len(stored["item_digests"]) == 3 and stored["body_digest"]

    messages = read_topic(rig.settings.kafka, rig.settings.kafka.articles_topic, until=lambda ms: len(ms) >= 4)
    assert sorted(Envelope[ArticleData].model_validate_json(m.value() or b"").data.url for m in messages) == [
        f"https://n.example/m{n}" for n in (1, 2, 3, 4)
    ]
