"""Out-feeds: Atom 1.0, RSS 2.0 and JSON Feed 1.1 of latest, a tag, a source, a language or a search.

Entries are the articles as published now (retracted ones are absent: the index lists only published
ones, and each is read whole from ingest, where a retraction is seen at once). An entry's id is
``urn:newsflow:article:<article id>`` in every format and never changes; ``updated`` is the time of
the article's latest version. Every feed links to itself (``rel="self"``) and, when configured, to a
WebSub hub (``rel="hub"``). Atom and RSS are written by feedgen; JSON Feed is plain JSON.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import quote, unquote, urlencode

from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from newsflow_contracts import ArticleData
from newsflow_gateway.backends import Backends, Service

ATOM_NS = "http://www.w3.org/2005/Atom"
JSON_FEED = "https://jsonfeed.org/version/1.1"
Content = Literal["full", "summary"]


class Format(StrEnum):
    ATOM = "atom"
    RSS = "rss"
    JSON = "json"

    @property
    def media_type(self) -> str:
        return {
            Format.ATOM: "application/atom+xml",
            Format.RSS: "application/rss+xml",
            Format.JSON: "application/feed+json",
        }[self]


@dataclass(frozen=True)
class Scope:
    """Which articles a feed lists: ``kind`` is latest, tag, source, language or search."""

    kind: Literal["latest", "tag", "source", "language", "search"]
    value: str = ""

    @property
    def title(self) -> str:
        return {
            "latest": "Newsflow: latest",
            "tag": f"Newsflow: #{self.value}",
            "source": f"Newsflow: {self.value}",
            "language": f"Newsflow: articles in {self.value}",
            "search": f"Newsflow: search for {self.value}",
        }[self.kind]

    def path(self, fmt: Format) -> str:
        """The feed's own path (and query)."""
        if self.kind == "latest":
            return f"/feeds/latest.{fmt.value}"
        if self.kind == "search":
            return f"/feeds/search.{fmt.value}?{urlencode({'q': self.value})}"
        folder = {"tag": "tags", "source": "sources", "language": "languages"}[self.kind]
        return f"/feeds/{folder}/{quote(self.value, safe='')}.{fmt.value}"

    @property
    def page(self) -> str:
        """The web page listing the same articles."""
        if self.kind == "tag":
            return f"/tags/{quote(self.value, safe='')}"
        if self.kind == "source":
            return f"/sources/{quote(self.value, safe='')}"
        if self.kind == "search":
            return f"/search?{urlencode({'q': self.value})}"
        return "/"


@dataclass(frozen=True)
class Feed:
    """A feed ready to render: where it lives and its entries, newest first."""

    scope: Scope
    base_url: str
    entries: Sequence[ArticleData]
    hub_url: str | None = None

    def url(self, fmt: Format) -> str:
        return self.base_url + self.scope.path(fmt)

    @property
    def updated(self) -> datetime:
        return max((a.updated_at for a in self.entries), default=datetime(2000, 1, 1, tzinfo=UTC))

    def etag(self, fmt: Format, content: Content) -> str:
        parts = [fmt.value, content, self.url(fmt), self.hub_url or ""] + [f"{a.id}:{a.version}" for a in self.entries]
        return '"' + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32] + '"'


def entry_id(article_id: str) -> str:
    return f"urn:newsflow:article:{article_id}"


async def collect(*, backends: Backends, scope: Scope, size: int, part_timeout: float) -> list[ArticleData]:
    """The newest published articles of the scope, each read whole (those ingest cannot give are left out)."""
    if scope.kind == "search":
        params: dict[str, Any] = {"q": scope.value, "sort": "newest", "size": size}
        listing = await backends.call(Service.INDEX, "GET", "/search", params=params)
    else:
        key = {"latest": None, "tag": "tag", "source": "source", "language": "lang"}[scope.kind]
        params = {"size": size, **({key: scope.value} if key else {})}
        listing = await backends.call(Service.INDEX, "GET", "/latest", params=params)
    ids = [str(item["id"]) for item in listing.get("items", []) if isinstance(item, dict) and "id" in item]
    found = await backends.published(ids, concurrency=16, timeout=part_timeout)
    return [a for a in found if a is not None]


def not_modified(feed: Feed, fmt: Format, content: Content, *, if_none_match: str | None, since: str | None) -> bool:
    """Whether the client's copy is current (If-None-Match wins over If-Modified-Since, RFC 9110)."""
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or feed.etag(fmt, content) in tags
    if since is not None:
        try:
            when = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        if when.tzinfo is None:
            return False
        return feed.updated.replace(microsecond=0) <= when
    return False


def last_modified(feed: Feed) -> str:
    return format_datetime(feed.updated.astimezone(UTC), usegmt=True)


def render(feed: Feed, fmt: Format, content: Content) -> bytes:
    if fmt is Format.JSON:
        return json_feed(feed, content)
    generator = _generator(feed, fmt, content)
    return bytes(generator.atom_str(pretty=False) if fmt is Format.ATOM else generator.rss_str(pretty=False))


class _RssHub(BaseExtension):  # type: ignore[misc]
    """feedgen writes only the self link into RSS; this adds ``<atom:link rel="hub">``."""

    hub_url: str | None = None

    def extend_ns(self) -> dict[str, str]:
        return {"atom": ATOM_NS}

    def extend_rss(self, rss_feed: Any) -> Any:
        if self.hub_url:
            channel = rss_feed[0]
            etree.SubElement(channel, f"{{{ATOM_NS}}}link", href=self.hub_url, rel="hub")
        return rss_feed


def _generator(feed: Feed, fmt: Format, content: Content) -> FeedGenerator:
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.id(feed.url(Format.ATOM))
    fg.title(feed.scope.title)
    fg.subtitle(f"{feed.scope.title} (newest first)")
    fg.link(href=feed.base_url + feed.scope.page, rel="alternate", type="text/html")
    fg.link(href=feed.url(fmt), rel="self", type=fmt.media_type)
    if feed.hub_url:
        fg.link(href=feed.hub_url, rel="hub")
        fg.register_extension("rsshub", _RssHub, atom=False, rss=True)
        fg.rsshub.hub_url = feed.hub_url
    fg.generator("Newsflow")
    fg.updated(feed.updated)
    fg.lastBuildDate(feed.updated)
    if feed.scope.kind == "language":
        fg.language(feed.scope.value)
    for article in reversed(feed.entries):  # feedgen prepends: add oldest first
        _entry(fg, feed, article, content)
    return fg


def _entry(fg: FeedGenerator, feed: Feed, article: ArticleData, content: Content) -> None:
    fe = fg.add_entry()
    fe.id(entry_id(article.id))
    fe.guid(entry_id(article.id), permalink=False)
    fe.title(article.title)
    fe.link(href=f"{feed.base_url}/articles/{quote(article.id, safe='')}", rel="alternate", type="text/html")
    # (feedgen drops the rel of entry links other than alternate, so the publisher's URL is only in
    # JSON Feed's external_url: a second <link> would be read as the alternate.)
    fe.published(article.published_at)
    fe.updated(article.updated_at)
    summary = article.summary or article.body_text[:500]
    if summary:
        fe.summary(summary)
    if content == "full" and article.body_html:
        fe.content(article.body_html, type="html")
    for tag in article.tags:
        fe.category(term=tag, label=tag)
    for name in article.authors:
        fe.author(name=name)
        fe.dc.dc_creator(name)


def json_feed(feed: Feed, content: Content) -> bytes:
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""
    body: dict[str, Any] = {
        "version": JSON_FEED,
        "title": feed.scope.title,
        "home_page_url": feed.base_url + feed.scope.page,
        "feed_url": feed.url(Format.JSON),
        "description": f"{feed.scope.title} (newest first)",
        "items": [_json_item(feed, a, content) for a in feed.entries],
    }
    if feed.scope.kind == "language":
        body["language"] = feed.scope.value
    if feed.hub_url:
        body["hubs"] = [{"type": "WebSub", "url": feed.hub_url}]
    return json.dumps(body, ensure_ascii=False).encode()


def _json_item(feed: Feed, article: ArticleData, content: Content) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": entry_id(article.id),
        "url": f"{feed.base_url}/articles/{quote(article.id, safe='')}",
        "external_url": article.url,
        "title": article.title,
        "summary": article.summary or article.body_text[:500],
        "date_published": article.published_at.isoformat(),
        "date_modified": article.updated_at.isoformat(),
        "tags": list(article.tags),
        "language": article.language,
    }
    if content == "full" and article.body_html:
        item["content_html"] = article.body_html
    else:
        item["content_text"] = item["summary"] or article.title
    if article.authors:
        item["authors"] = [{"name": name} for name in article.authors]
    if article.image_url:
        item["image"] = article.image_url
    return item


def alternates(path: str, query: dict[str, str]) -> list[dict[str, str]]:
    """Autodiscovery links (``<link rel="alternate">``) of the feeds matching a web page."""
    scope: Scope | None = None
    if path == "/":
        scope = Scope("latest")
    elif path.startswith("/tags/") and path.count("/") == 2:
        scope = Scope("tag", unquote(path.removeprefix("/tags/")))
    elif path.startswith("/sources/") and path.count("/") == 2:
        scope = Scope("source", unquote(path.removeprefix("/sources/")))
    elif path == "/search" and query.get("q", "").strip():
        scope = Scope("search", query["q"].strip())
    if scope is None:
        return []
    names = {Format.ATOM: "Atom", Format.RSS: "RSS", Format.JSON: "JSON Feed"}
    return [
        {"type": fmt.media_type, "href": scope.path(fmt), "title": f"{scope.title} ({names[fmt]})"} for fmt in Format
    ]
