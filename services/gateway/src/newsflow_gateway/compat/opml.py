"""OPML: a reader's subscription list read into planned sources, and sources written out as OPML 2.0.

Reading uses defusedxml (no entities, no external references). Every ``<outline>`` with an
``xmlUrl`` is one entry, however deeply nested; the titles of the folders around it become its
``folders``. Each entry is checked on its own, so one bad URL or a duplicate never stops the rest.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Literal
from urllib.parse import urlsplit, urlunsplit
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from newsflow_kit.errors import InvalidInput

MAX_ENTRIES = 5000
MAX_URL = 2000
Outcome = Literal["created", "exists", "duplicate", "invalid", "failed", "planned"]


@dataclass(frozen=True)
class OpmlEntry:
    """One subscription of the file, in the order it appears (``n`` counts from 1)."""

    n: int
    title: str
    feed_url: str
    homepage: str | None
    language: str | None
    folders: tuple[str, ...]


@dataclass(frozen=True)
class EntryResult:
    n: int
    title: str
    feed_url: str
    status: Outcome
    source_id: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class ExportedSource:
    name: str
    feed_url: str
    homepage: str | None
    language: str


def read(document: bytes) -> list[OpmlEntry]:
    """The entries of an OPML document; a document that is not OPML is a 422."""
    try:
        root = fromstring(document)
    except (ParseError, DefusedXmlException) as exc:
        raise InvalidInput(f"not a readable OPML document: {str(exc)[:200]}") from None
    if root.tag.lower() != "opml" or root.find("body") is None:
        raise InvalidInput("not an OPML document: no <opml><body>")
    entries = list(_walk(root.find("body"), ()))
    if len(entries) > MAX_ENTRIES:
        raise InvalidInput(f"at most {MAX_ENTRIES} subscriptions per import")
    return entries


def _walk(body: Element | None, folders: tuple[str, ...]) -> Iterator[OpmlEntry]:
    """Outlines in document order (an explicit stack: nesting depth cannot exhaust recursion)."""
    stack: list[tuple[Element, tuple[str, ...]]] = [(body, folders)] if body is not None else []
    n = 0
    while stack:
        node, path = stack.pop()
        if node is not body:
            attrs = {k.lower(): v.strip() for k, v in node.attrib.items()}
            title = attrs.get("text") or attrs.get("title") or ""
            if "xmlurl" in attrs:
                n += 1
                language = (attrs.get("language") or "")[:2].lower() or None
                yield OpmlEntry(n, title, attrs["xmlurl"], attrs.get("htmlurl") or None, language, path)
            elif title:
                path = (*path, title)
        children = [c for c in node if isinstance(c.tag, str) and c.tag.lower() == "outline"]
        stack.extend((child, path) for child in reversed(children))


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a feed URL, or None."""
    if not url:
        return "no xmlUrl"
    if len(url) > MAX_URL:
        return f"longer than {MAX_URL} characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        return f"not a URL: {exc}"
    if parts.scheme.lower() not in ("http", "https"):
        return "only http and https feeds can be polled"
    if not parts.hostname or " " in url:
        return "not a URL with a host"
    return None


def same_feed(url: str) -> str:
    """A key under which two spellings of one feed URL are equal (case of scheme and host, trailing slash)."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def write(sources: Iterable[ExportedSource], *, title: str = "Newsflow sources") -> bytes:
    """OPML 2.0 with one ``<outline type="rss">`` per feed source."""
    opml = Element("opml", version="2.0")
    head = SubElement(opml, "head")
    SubElement(head, "title").text = title
    SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = SubElement(opml, "body")
    for source in sources:
        attrs = {"type": "rss", "text": source.name, "title": source.name, "xmlUrl": source.feed_url}
        if source.homepage:
            attrs["htmlUrl"] = source.homepage
        if source.language:
            attrs["language"] = source.language
        SubElement(body, "outline", attrs)
    document: bytes = tostring(opml, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + document
