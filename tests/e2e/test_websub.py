"""WebSub on loopback: a subscriber of Newsflow's hub gets signed, retried deliveries; and Newsflow's own
poller subscribes to a hub a feed names and ingests pushed content at once, without a poll."""

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import feedparser
import httpx
import pytest
from pymongo import MongoClient

from newsflow_kit.testing import ServiceProcess, eventually


@dataclass
class Subscriber:
    """A local WebSub subscriber: echoes challenges (unless told not to), records deliveries."""

    url: str
    echo: bool = True
    fail_first: int = 0
    verifications: list[dict[str, str]] = field(default_factory=list)
    deliveries: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    refused: int = 0


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    state = Subscriber(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            state.verifications.append(query)
            answer = query.get("hub.challenge", "") if state.echo else "no"
            self.send_response(200)
            self.end_headers()
            self.wfile.write(answer.encode())

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            if state.refused < state.fail_first:
                state.refused += 1
                self.send_response(500)
            else:
                state.deliveries.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/callback"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def notifier(platform: Any) -> ServiceProcess:
    assert platform.start is not None
    env = {"NEWSFLOW_WEBSUB__ALLOW_HOSTS": '["127.0.0.1"]', "NEWSFLOW_WEBSUB__RETRY_BASE_S": "0.2"}
    return platform.start("gateway", "websub", env, http=False)


def _push_source(platform: Any, name: str) -> tuple[str, str]:
    admin = platform.admin()
    body = {"name": name, "kind": "push", "homepage": "https://hub.example/", "language": "en"}
    created = admin.post("/v1/admin/sources", json=body)
    assert created.status_code == 201, created.text
    key = admin.post("/v1/admin/keys", json={"name": name, "role": "publisher", "source_id": created.json()["id"]})
    assert key.status_code == 201, key.text
    return created.json()["id"], key.json()["key"]


def _hub(platform: Any, **form: str) -> httpx.Response:
    fields = {f"hub.{k}": v for k, v in form.items()}
    return httpx.post(f"{platform.url}/websub/hub", data=fields, timeout=15)


def _article(word: str, n: int) -> dict[str, Any]:
    return {
        "title": f"Hub {word} news {n}",
        "url": f"https://hub.example/{word}/{n}",
        "body": f"<p>The {word} hub story {n}.</p>" * 10,
        "tags": ["hubnews"],
        "language": "en",
        "published_at": datetime.now(UTC).isoformat(),
    }


def test_hub_refuses_bad_requests(platform: Any) -> None:
    cb = "http://127.0.0.1:9/callback"
    assert _hub(platform, mode="subscribe", callback=cb, topic="https://elsewhere.example/feed").status_code == 422
    search = f"{platform.url}/feeds/search.atom?q=x"
    assert _hub(platform, mode="subscribe", callback=cb, topic=search).status_code == 422
    latest = f"{platform.url}/feeds/latest.atom"
    assert _hub(platform, mode="watch", callback=cb, topic=latest).status_code == 422
    assert _hub(platform, mode="subscribe", callback="ftp://x/", topic=latest).status_code == 422
    assert _hub(platform, mode="subscribe", callback=cb, topic=latest, secret="x" * 200).status_code == 422
    feed = httpx.get(latest, timeout=15)
    assert f'<link href="{platform.url}/websub/hub" rel="hub"/>' in feed.text
    assert f'<{platform.url}/websub/hub>; rel="hub"' in feed.headers["link"]


@pytest.mark.usefixtures("notifier")
def test_subscriber_gets_signed_retried_deliveries(platform: Any, subscriber: Subscriber) -> None:
    word = "zw" + secrets.token_hex(4)
    source_id, key = _push_source(platform, f"Hub {word}")
    topic = f"{platform.url}/feeds/sources/{source_id}.atom"
    subscriber.fail_first = 2  # the first two deliveries fail: the hub retries with back-off
    answer = _hub(
        platform, mode="subscribe", callback=subscriber.url, topic=topic, secret="s3cret", lease_seconds="600"
    )
    assert answer.status_code == 202, answer.text
    verified = eventually(lambda: subscriber.verifications[0] if subscriber.verifications else None, timeout=15)
    assert verified["hub.mode"] == "subscribe" and verified["hub.topic"] == topic
    assert verified["hub.lease_seconds"] == "600" and len(verified["hub.challenge"]) > 20
    eventually(lambda: _stored(platform, subscriber.url, topic), timeout=10)

    pub = platform.client(key)
    assert pub.post("/v1/articles", json=_article(word, 1)).status_code == 201
    headers, body = eventually(lambda: subscriber.deliveries[0] if subscriber.deliveries else None, timeout=30)
    assert subscriber.refused == 2
    assert headers["content-type"] == "application/atom+xml"
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["x-hub-signature"] == expected
    assert f'<{topic}>; rel="self"' in headers["link"] and 'rel="hub"' in headers["link"]
    parsed = feedparser.parse(body)
    assert not parsed.bozo and [e.title for e in parsed.entries] == [f"Hub {word} news 1"]

    # Unsubscribing is verified too; afterwards nothing more arrives.
    assert _hub(platform, mode="unsubscribe", callback=subscriber.url, topic=topic).status_code == 202
    eventually(lambda: not _stored(platform, subscriber.url, topic), timeout=10)
    assert subscriber.verifications[-1]["hub.mode"] == "unsubscribe"


def test_unconfirmed_intent_subscribes_nobody(platform: Any, subscriber: Subscriber) -> None:
    subscriber.echo = False
    refused = f"{platform.url}/feeds/tags/hubnews.json"
    assert _hub(platform, mode="subscribe", callback=subscriber.url, topic=refused).status_code == 202
    eventually(lambda: subscriber.verifications or None, timeout=15)
    # A confirmed subscription requested after the first verification was answered is stored after it.
    subscriber.echo = True
    confirmed = f"{platform.url}/feeds/tags/hubnews.rss"
    assert _hub(platform, mode="subscribe", callback=subscriber.url, topic=confirmed).status_code == 202
    eventually(lambda: _stored(platform, subscriber.url, confirmed), timeout=15)
    assert not _stored(platform, subscriber.url, refused)


def _stored(platform: Any, callback: str, topic: str) -> bool:
    """Whether a gateway database holds a subscription of ``callback`` to ``topic``."""
    mongo: MongoClient[dict[str, Any]] = MongoClient(platform.mongo_uri)
    try:
        for name in mongo.list_database_names():
            if name.endswith("_gateway") and mongo[name]["websub_subscriptions"].find_one(
                {"callback": callback, "topic": topic}
            ):
                return True
        return False
    finally:
        mongo.close()


@pytest.mark.usefixtures("notifier")
def test_push_in_ingests_at_once_without_a_poll(platform: Any) -> None:
    """Newsflow's own out-feed (which names Newsflow's hub) is polled once into a feed source; the poller
    subscribes; an article published afterwards arrives by push long before the next poll (600 s)."""
    assert platform.start is not None
    word = "zp" + secrets.token_hex(4)
    origin, key = _push_source(platform, f"Origin {word}")
    callback_api = platform.start("ingest", "api")
    host = platform.url.removeprefix("http://")
    poller = platform.start(
        "ingest",
        "poller",
        {
            "NEWSFLOW_FETCH__ALLOW_HOSTS": f'["{host}"]',
            "NEWSFLOW_POLLER__TICK_S": "0.5",
            "NEWSFLOW_WEBSUB__CALLBACK_URL": f"{callback_api.url}/websub/callback",
        },
        http=False,
    )
    pub = platform.client(key)
    assert pub.post("/v1/articles", json=_article(word, 1)).status_code == 201
    feed_url = f"{platform.url}/feeds/sources/{origin}.atom"
    eventually(lambda: word in httpx.get(feed_url, timeout=10).text, timeout=30, interval=0.5)
    body = {"name": f"Copy {word}", "kind": "feed", "feed_url": feed_url, "min_interval_s": 600, "max_interval_s": 600}
    copy = platform.admin().post("/v1/admin/sources", json=body)
    assert copy.status_code == 201, copy.text
    copy_id = copy.json()["id"]

    def titles() -> list[str]:
        page = httpx.get(f"{callback_api.url}/articles", params={"source": copy_id}, timeout=10).json()
        return [item["title"] for item in page["items"]]

    eventually(lambda: titles() == [f"Hub {word} news 1"], timeout=60, interval=0.5)  # the one poll
    eventually(lambda: _subscription_state(platform, copy_id) == "active", timeout=30, interval=0.3)

    started = time.monotonic()
    assert pub.post("/v1/articles", json=_article(word, 2)).status_code == 201
    eventually(lambda: f"Hub {word} news 2" in titles(), timeout=15, interval=0.05)
    latency = time.monotonic() - started
    print(f"push-in latency: {latency:.2f}s")  # noqa: T201 - the figure the issue asks for
    assert latency < 10  # the next poll is 600 s away: only the push can have brought it

    forged = b'<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title><entry><title>Forged</title>'
    forged += (
        b'<link href="https://hub.example/forged"/><id>f</id><updated>2026-01-01T00:00:00Z</updated></entry></feed>'
    )
    answer = httpx.post(
        f"{callback_api.url}/websub/callback/{copy_id}",
        content=forged,
        headers={"Content-Type": "application/atom+xml", "X-Hub-Signature": "sha256=" + "0" * 64},
        timeout=10,
    )
    assert answer.status_code == 202 and "Forged" not in titles()
    poller.stop()


def _subscription_state(platform: Any, source_id: str) -> str | None:
    mongo: MongoClient[dict[str, Any]] = MongoClient(platform.mongo_uri)
    try:
        for name in mongo.list_database_names():
            if name.endswith("_ingest"):
                doc = mongo[name]["websub_subscriptions"].find_one({"_id": source_id})
                if doc is not None:
                    return str(doc["state"])
        return None
    finally:
        mongo.close()
