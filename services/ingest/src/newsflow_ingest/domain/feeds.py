"""Parsing RSS 0.9x/1.0/2.0 and Atom (feedparser) and JSON Feed 1.x into feed items.

Malformed input never raises: a feed that cannot be read yields an error; an item that is
unusable (no link, empty title, duplicate GUID) is skipped with a reason; good items still land.
"""

import calendar
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import defusedxml.ElementTree as SafeET
import feedparser
from defusedxml import DefusedXmlException

RETRACTION_MARKERS = {"retracted", "retraction", "withdrawn"}


@dataclass
class FeedItem:
    guid: str
    url: str
    title: str
    body: str
    summary: str
    tags: list[str]
    authors: list[str]
    image_url: str | None
    published_at: datetime | None
    retracted: bool = False


@dataclass
class ParsedFeed:
    items: list[FeedItem] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def parse_feed(body: bytes, content_type: str = "") -> ParsedFeed:
    """Items of a feed document in any supported format."""
    head = body.lstrip()[:1]
    if "json" in content_type or head == b"{":
        return _json_feed(body)
    try:  # refuse entity declarations (billion laughs, external entities) before feedparser sees them
        SafeET.fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        return ParsedFeed(error=f"unsafe XML refused: {type(exc).__name__}")
    except SafeET.ParseError:
        pass  # malformed XML: feedparser's lenient parser may still recover the good items
    parsed = feedparser.parse(body)
    feed = ParsedFeed()
    seen: set[str] = set()
    for entry in parsed.entries:
        item = _rss_item(entry, feed)
        if item is None:
            continue
        if item.guid in seen:
            feed.skip("duplicate-guid")
            continue
        seen.add(item.guid)
        feed.items.append(item)
    if not feed.items and (parsed.bozo or not parsed.get("version")):
        # Nothing usable: a broken document rather than an empty feed.
        reason = parsed.get("bozo_exception") or "no feed found"
        return ParsedFeed(error=f"unreadable feed: {str(reason)[:200]}", skipped=feed.skipped)
    return feed


def _rss_item(entry: Any, feed: ParsedFeed) -> FeedItem | None:
    link = str(entry.get("link") or "").strip()
    title = str(entry.get("title") or "").strip()
    if not link.startswith(("http://", "https://")):
        feed.skip("no-link")
        return None
    if not title:
        feed.skip("empty-title")
        return None
    content = entry.get("content") or []
    body = str(content[0].get("value", "")) if content else ""
    summary = str(entry.get("summary") or "")
    tags = [str(t.get("term") or "") for t in entry.get("tags") or [] if t.get("term")]
    retracted = any(t.lower() in RETRACTION_MARKERS for t in tags)
    return FeedItem(
        guid=str(entry.get("id") or link),
        url=link,
        title=title,
        body=body,
        summary=summary,
        tags=[t for t in tags if t.lower() not in RETRACTION_MARKERS],
        authors=[str(a.get("name")) for a in entry.get("authors") or [] if a.get("name")],
        image_url=_image(entry),
        published_at=_time(entry.get("published_parsed") or entry.get("updated_parsed")),
        retracted=retracted,
    )


def _image(entry: Any) -> str | None:
    for enclosure in entry.get("enclosures") or []:
        if str(enclosure.get("type", "")).startswith("image/") and enclosure.get("href"):
            return str(enclosure["href"])
    for media in (entry.get("media_content") or []) + (entry.get("media_thumbnail") or []):
        if media.get("url"):
            return str(media["url"])
    return None


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC) if value else None
    except (TypeError, ValueError, OverflowError):
        return None


def _json_feed(body: bytes) -> ParsedFeed:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return ParsedFeed(error=f"unreadable JSON feed: {exc}"[:200])
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith("https://jsonfeed.org/version/1"):
        return ParsedFeed(error="not a JSON Feed 1.x document")
    feed = ParsedFeed()
    seen: set[str] = set()
    for raw in doc.get("items") or []:
        if not isinstance(raw, dict):
            feed.skip("malformed-item")
            continue
        url = str(raw.get("url") or raw.get("external_url") or "")
        title = str(raw.get("title") or "").strip()
        guid = str(raw.get("id") or url)
        if not url.startswith(("http://", "https://")):
            feed.skip("no-link")
            continue
        if not title:
            feed.skip("empty-title")
            continue
        if guid in seen:
            feed.skip("duplicate-guid")
            continue
        seen.add(guid)
        tags = [str(t) for t in raw.get("tags") or [] if isinstance(t, str)]
        authors = raw.get("authors") or ([raw["author"]] if isinstance(raw.get("author"), dict) else [])
        feed.items.append(
            FeedItem(
                guid=guid,
                url=url,
                title=title,
                body=str(raw.get("content_html") or raw.get("content_text") or ""),
                summary=str(raw.get("summary") or ""),
                tags=[t for t in tags if t.lower() not in RETRACTION_MARKERS],
                authors=[str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name")],
                image_url=str(raw["image"]) if raw.get("image") else None,
                published_at=_iso(raw.get("date_published") or raw.get("date_modified")),
                retracted=any(t.lower() in RETRACTION_MARKERS for t in tags),
            )
        )
    return feed


def _iso(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
    return parsed if parsed is None or parsed.tzinfo else parsed.replace(tzinfo=UTC)
