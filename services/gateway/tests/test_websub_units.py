"""The hub's request checks, topics and deliveries (pure logic)."""

import hashlib
import hmac
from datetime import UTC, datetime

import feedparser
import pytest

from newsflow_contracts import ArticleData
from newsflow_gateway.compat.outfeeds import Format
from newsflow_gateway.compat.websub import parse_request, parse_topic, signature
from newsflow_gateway.compat.websub_notifier import deliveries_for, scopes_of
from newsflow_gateway.settings import WebSubSettings
from newsflow_kit.errors import InvalidInput

NOW = datetime(2026, 11, 29, 5, 0, tzinfo=UTC)


def article(n: int, **extra: object) -> ArticleData:
    fields = {
        "id": f"a{n}", "version": 1, "seq": n, "source_id": "planet", "url": f"https://x.example/{n}",
        "canonical_url": f"https://x.example/{n}", "title": f"Story {n}", "body_html": "<p>Body</p>",
        "body_text": "Body", "tags": ["harbour"], "language": "en", "published_at": NOW, "updated_at": NOW,
    }  # fmt: skip
    return ArticleData.model_validate(fields | extra)


def test_topics() -> None:
    topic = parse_topic("https://news.example/feeds/tags/green%20energy.rss?content=summary")
    assert (topic.scope.kind, topic.scope.value, topic.fmt, topic.content) == (
        "tag",
        "green energy",
        Format.RSS,
        "summary",
    )
    assert topic.base_url == "https://news.example"
    assert parse_topic("http://h/feeds/latest.json").scope.kind == "latest"
    for bad in (
        "http://h/feeds/search.atom?q=x",
        "http://h/other.atom",
        "http://h/feeds/latest.xml",
        "ftp://h/feeds/latest.atom",
    ):
        with pytest.raises(InvalidInput):
            parse_topic(bad)


def test_requests_and_leases() -> None:
    settings = WebSubSettings(min_lease_s=300, max_lease_s=3600, default_lease_s=1000)
    form = {
        "hub.mode": ["subscribe"],
        "hub.callback": ["https://sub.example/cb"],
        "hub.topic": ["http://h/feeds/latest.atom"],
    }
    assert parse_request(form, settings).lease_seconds == 1000
    assert parse_request(form | {"hub.lease_seconds": ["10"]}, settings).lease_seconds == 300
    assert parse_request(form | {"hub.lease_seconds": ["99999"]}, settings).lease_seconds == 3600
    with pytest.raises(InvalidInput):
        parse_request(form | {"hub.mode": ["publish"]}, settings)
    with pytest.raises(InvalidInput):
        parse_request(form | {"hub.secret": ["s" * 200]}, settings)


def test_deliveries_hold_the_topics_articles_signed() -> None:
    subs = [
        {"kind": "tag", "value": "harbour", "format": "atom", "callback": "https://a/cb", "topic": "https://h/feeds/tags/harbour.atom",
         "base_url": "https://h", "secret": "k", "content": "full"},
        {"kind": "source", "value": "bugle", "format": "json", "callback": "https://b/cb", "topic": "t", "base_url": "https://h"},
    ]  # fmt: skip
    out = deliveries_for(subs, [article(1), article(2, tags=["other"])])
    assert len(out) == 1 and out[0].callback == "https://a/cb" and out[0].media_type == "application/atom+xml"
    parsed = feedparser.parse(out[0].body)
    assert [e.title for e in parsed.entries] == ["Story 1"] and not parsed.bozo
    assert any(link.rel == "hub" and link.href == "https://h/websub/hub" for link in parsed.feed.links)
    assert signature("k", out[0].body) == "sha256=" + hmac.new(b"k", out[0].body, hashlib.sha256).hexdigest()
    assert ("tag", "harbour") in scopes_of(article(1)) and ("source", "planet") in scopes_of(article(1))
