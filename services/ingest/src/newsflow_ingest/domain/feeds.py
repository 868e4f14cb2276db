"""Parsing RSS 0.9x/1.0/2.0, Atom 0.3/1.0, CDF (feedparser) and JSON Feed 1.x into feed items.

Malformed input never raises. A feed that cannot be used yields an ``error`` with a precise
``error_kind``; a document the parser recovered from (undefined entity, unclosed tag, encoding
mismatch) keeps its items and lists the problem in ``problems``; an unusable item (no link and no id,
nothing to title it with, duplicate id, absurd date) is skipped with a reason; good items still land.

- Bytes become text by :mod:`encoding` (HTTP charset, BOM, declaration, detection); the parser
  then gets UTF-8, so no declared encoding can make it fail.
- Relative links resolve against ``xml:base`` and the feed's URL.
- An item without a link is kept under its ``id``/``guid`` (``external_id``) with the id as URL when
  that is one (a permalink guid is the link), else the feed's home page, else the feed URL.
- An item without a title gets the first words of its text.
- Plain-text fields (title, summary, authors) come out as text, unescaped exactly once.
"""

import calendar
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import defusedxml.ElementTree as SafeET
import feedparser
from defusedxml import DefusedXmlException

from newsflow_ingest.domain import normalize
from newsflow_ingest.domain.encoding import as_utf8_xml, decode_xml

RETRACTION_MARKERS = {"retracted", "retraction", "withdrawn"}
TITLE_WORDS = 12
HTTP = ("http://", "https://")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_FEED_ROOT = re.compile(r"<(rss|feed|rdf:RDF|RDF|channel)\b", re.I)


@dataclass
class FeedItem:
    guid: str
    url: str
    title: str
    body: str  # HTML (or text) of the item: its content, else its summary
    summary: str  # plain text
    tags: list[str]
    authors: list[str]
    image_url: str | None
    published_at: datetime | None
    retracted: bool = False
    external_id: str | None = None  # set when the item has no link of its own: its id identifies it


@dataclass
class ParsedFeed:
    items: list[FeedItem] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    error_kind: str | None = None  # empty|unsafe-xml|not-a-feed|malformed-xml|malformed-json|not-json-feed
    problems: list[str] = field(default_factory=list)  # recovered from; the items still count
    repaired: dict[str, int] = field(default_factory=dict)  # items kept with a fix: title-derived, id-as-link
    encoding: str | None = None
    guids: set[str] = field(default_factory=set, repr=False)  # of the items kept

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def note(self, repair: str) -> None:
        self.repaired[repair] = self.repaired.get(repair, 0) + 1

    def add(self, item: FeedItem | None) -> None:
        """Keeps an item (None: already skipped with its reason); a guid seen before is skipped."""
        if item is None:
            return
        if item.guid in self.guids:
            self.skip("duplicate-guid")
            return
        self.guids.add(item.guid)
        self.items.append(item)

    def fail(self, kind: str, message: str) -> "ParsedFeed":
        self.items, self.skipped, self.error_kind, self.error = [], {}, kind, f"{kind}: {message}"[:300]
        return self


def parse_feed(body: bytes, content_type: str = "", base_url: str = "", now: datetime | None = None) -> ParsedFeed:
    """Items of a feed document in any supported format."""
    now = now or datetime.now(UTC)
    if not body.strip():
        return ParsedFeed().fail("empty", "the answer has no body")
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if "json" in content_type.lower() or head in (b"{", b"["):
        return _json_feed(body, base_url, now)
    decoded = decode_xml(body, content_type)
    feed = ParsedFeed(problems=list(decoded.problems), encoding=decoded.encoding)
    data = as_utf8_xml(decoded.text)
    try:  # refuse entity declarations (billion laughs, external entities) before feedparser sees them
        SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        return feed.fail("unsafe-xml", f"unsafe XML refused: {type(exc).__name__}")
    except SafeET.ParseError as exc:
        feed.problems.append(f"recovered-parse-error: {exc}"[:200])  # feedparser's lenient parser may recover
    parsed = feedparser.parse(
        data,
        response_headers={"content-type": "application/xml; charset=utf-8", "content-location": base_url},
        resolve_relative_uris=True,
        sanitize_html=False,  # nh3 sanitises the stored body (and drops script text from titles)
    )
    home = str(parsed.feed.get("link") or "")
    fallback = home if home.startswith(HTTP) else base_url
    for entry in parsed.entries:
        feed.add(_rss_item(entry, feed, fallback, base_url, now, not str(parsed.get("version")).startswith("atom")))
    if not feed.items and (parsed.bozo or not parsed.get("version")):  # a broken document, not an empty feed
        reason = parsed.get("bozo_exception") or "no RSS, Atom, RDF or CDF root element"
        kind = "malformed-xml" if _FEED_ROOT.search(decoded.text[:4096]) else "not-a-feed"
        return feed.fail(kind, str(reason)[:200])
    if parsed.bozo and not feed.problems:
        feed.problems.append(f"recovered-parse-error: {parsed.get('bozo_exception')}"[:200])
    return feed


def _text(value: Any, detail: Any, html: bool = False) -> str:
    """A feedparser text construct as plain text: HTML loses its tags and is unescaped once.

    Atom says what its text constructs are; RSS, RDF and CDF titles are HTML in practice (feedparser
    guesses), so ``html`` makes them HTML."""
    raw = str(value or "")
    kind = str((detail or {}).get("type") or "text/html")
    return normalize.markup_to_text(raw) if html or kind in _HTML_TYPES else raw


def _link_or_id(
    feed: ParsedFeed, link: str, item_id: str, fallback: str, *, id_is_url: bool
) -> tuple[str, str | None] | None:
    """The item's link and external id: its link; without one its id (the link when it is a URL, else
    the feed's ``fallback``), kept as the external id; None (noted as skipped) when neither works."""
    if link:
        return link, None
    if not item_id:
        feed.skip("no-link-or-id")
        return None
    feed.note("id-as-link")
    link = item_id if item_id.startswith(HTTP) and id_is_url else fallback
    if not link.startswith(HTTP):
        feed.skip("no-link")
        return None
    return link, item_id[:200]


def _rss_item(
    entry: Any, feed: ParsedFeed, fallback: str, base_url: str, now: datetime, html_text: bool
) -> FeedItem | None:
    entry_id = str(entry.get("id") or "").strip()
    found = _link_or_id(feed, _link(entry, base_url), entry_id, fallback, id_is_url=" " not in entry_id)
    if found is None:
        return None
    link, external_id = found
    content = entry.get("content") or []
    body = str(content[0].get("value", "")) if content else ""
    summary_html = str(entry.get("summary") or "")
    summary = _text(summary_html, entry.get("summary_detail"), html_text)
    title = " ".join(_text(entry.get("title"), entry.get("title_detail"), html_text).split())
    if not title:
        title = _first_words(summary or (_text(body, content[0]) if content else ""))
        if not title:
            feed.skip("empty-item")
            return None
        feed.note("title-derived")
    # plain dict lookups: feedparser's own maps one date key to the other with a DeprecationWarning
    published = _time(dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed"))
    if published is not None and normalize.absurd_time(published, now=now):
        feed.skip("absurd-date")
        return None
    tags = [str(t.get("term") or "") for t in entry.get("tags") or [] if t.get("term")]
    retracted = any(t.lower() in RETRACTION_MARKERS for t in tags)
    return FeedItem(
        guid=entry_id or link,
        url=link,
        title=title,
        body=_as_html(body, content[0] if content else None) if body else _as_html(summary_html, None),
        summary=summary,
        tags=[t for t in tags if t.lower() not in RETRACTION_MARKERS],
        authors=[_text(a.get("name"), None, html_text) for a in entry.get("authors") or [] if a.get("name")],
        image_url=_image(entry, base_url),
        published_at=published,
        retracted=retracted,
        external_id=external_id,
    )


def _as_html(value: str, detail: Any) -> str:
    """An HTML value the later "looks like HTML" test would miss (bare text with entities) gets a <p>."""
    kind = str((detail or {}).get("type") or "text/html")
    if kind not in _HTML_TYPES or not value.strip() or normalize.looks_like_html(value):
        return value
    return f"<p>{value}</p>"


def _link(entry: Any, base_url: str) -> str:
    candidates = [str(entry.get("link") or "")]
    candidates += [str(x.get("href") or "") for x in entry.get("links") or [] if x.get("rel") in (None, "alternate")]
    for candidate in filter(None, (c.strip() for c in candidates)):
        url = urljoin(base_url, candidate) if base_url else candidate
        if url.startswith(HTTP) and " " not in url:
            return url
    return ""


def _first_words(text: str) -> str:
    words = text.split()
    if not words:
        return ""
    head = " ".join(words[:TITLE_WORDS])[:200]
    return head + ("…" if len(words) > TITLE_WORDS else "")


def _image(entry: Any, base_url: str) -> str | None:
    candidates = [
        str(e.get("href") or e.get("url") or "")
        for e in entry.get("enclosures") or []
        if str(e.get("type", "")).startswith("image/")
    ]
    candidates += [str(m.get("url") or "") for m in (entry.get("media_content") or [])]
    candidates += [str(m.get("url") or "") for m in (entry.get("media_thumbnail") or [])]
    image = entry.get("image")
    if isinstance(image, dict) and image.get("href"):
        candidates.append(str(image["href"]))
    for candidate in filter(None, (c.strip() for c in candidates)):
        url = urljoin(base_url, candidate) if base_url else candidate
        if url.startswith(HTTP):
            return url
    return None


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC) if value else None
    except (TypeError, ValueError, OverflowError):
        return None


def _json_feed(body: bytes, base_url: str, now: datetime) -> ParsedFeed:
    feed = ParsedFeed(encoding="utf-8")
    try:
        doc = json.loads(body.removeprefix(b"\xef\xbb\xbf"))
    except UnicodeDecodeError as exc:
        return feed.fail("malformed-json", f"not UTF-8: {exc}")
    except ValueError as exc:
        return feed.fail("malformed-json", str(exc))
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith("https://jsonfeed.org/version/1"):
        return feed.fail("not-json-feed", "not a JSON Feed 1.x document")
    base = urljoin(base_url, str(doc.get("feed_url") or "")) if base_url else str(doc.get("feed_url") or "")
    home = urljoin(base, str(doc.get("home_page_url") or ""))
    fallback = home if home.startswith(HTTP) else base_url
    for raw in doc.get("items") or []:
        if not isinstance(raw, dict):
            feed.skip("malformed-item")
            continue
        feed.add(_json_item(raw, feed, base or base_url, fallback, now))
    return feed


def _json_item(raw: dict[str, Any], feed: ParsedFeed, base: str, fallback: str, now: datetime) -> FeedItem | None:
    link = ""
    for key in ("url", "external_url"):
        candidate = urljoin(base, str(raw.get(key) or "").strip()) if raw.get(key) else ""
        if candidate.startswith(HTTP):
            link = candidate
            break
    item_id = str(raw.get("id") or "").strip()
    found = _link_or_id(feed, link, item_id, fallback, id_is_url=True)
    if found is None:
        return None
    link, external_id = found
    body = str(raw.get("content_html") or "")
    body = _as_html(body, None) if body else str(raw.get("content_text") or raw.get("summary") or "")
    title = " ".join(str(raw.get("title") or "").split())
    if not title:
        text = normalize.html_to_text(body) if raw.get("content_html") else body
        title = _first_words(text)
        if not title:
            feed.skip("empty-item")
            return None
        feed.note("title-derived")
    published = _iso(raw.get("date_published") or raw.get("date_modified"))
    if published is not None and normalize.absurd_time(published, now=now):
        feed.skip("absurd-date")
        return None
    tags = [str(t) for t in raw.get("tags") or [] if isinstance(t, str)]
    authors = raw.get("authors") or ([raw["author"]] if isinstance(raw.get("author"), dict) else [])
    image = urljoin(base, str(raw.get("image") or raw.get("banner_image") or "")) if raw.get("image") else ""
    return FeedItem(
        guid=item_id or link,
        url=link,
        title=title,
        body=body,
        summary=str(raw.get("summary") or ""),
        tags=[t for t in tags if t.lower() not in RETRACTION_MARKERS],
        authors=[str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name")],
        image_url=image if image.startswith(HTTP) else None,
        published_at=published,
        retracted=any(t.lower() in RETRACTION_MARKERS for t in tags),
        external_id=external_id,
    )


def _iso(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
    return parsed if parsed is None or parsed.tzinfo else parsed.replace(tzinfo=UTC)
