"""What the pages let through as markup: a second sanitising pass over article bodies, highlights, links.

Everything else in a template is escaped by Jinja's autoescape; these filters return ``Markup`` only
for what an allow-list has just cleaned.
"""

from datetime import UTC, datetime
from urllib.parse import urlsplit

import nh3
from markupsafe import Markup

# Ingest already cleans bodies with a similar allow-list; this pass is defence in depth, so a bug
# or a bypass there (or a stored article from before a fix) still cannot run script here.
BODY_TAGS = {
    "p", "br", "a", "strong", "b", "em", "i", "u", "blockquote", "q", "ul", "ol", "li", "h2", "h3", "h4",
    "figure", "figcaption", "img", "pre", "code", "hr", "sub", "sup",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
BODY_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"colspan"}, "td": {"colspan"}}
BODY_SCHEMES = {"http", "https", "mailto"}
# The index marks matches with <mark> (and escapes the text: encoder html); <em> is accepted too.
HIGHLIGHT_TAGS = {"mark", "em"}


def clean_body(html: str) -> Markup:
    """An article body through the strict allow-list: no script, style, event handler or javascript: URL."""
    cleaned = nh3.clean(
        html,
        tags=BODY_TAGS,
        attributes=BODY_ATTRIBUTES,
        url_schemes=BODY_SCHEMES,
        link_rel="noopener noreferrer nofollow ugc",
    )
    return Markup(cleaned)  # just cleaned by the allow-list above


def highlighted(fragment: str) -> Markup:
    """A search highlight with only its match markers kept as tags.

    Parsed as HTML (the index escapes the text), so escaped text stays escaped once, any other tag is
    dropped, and an unclosed marker is closed within the fragment.
    """
    return Markup(nh3.clean(fragment, tags=HIGHLIGHT_TAGS, attributes={}))


def http_url(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) one, else None (so no ``javascript:`` ever becomes a link)."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def https_url(url: str | None) -> str | None:
    """The URL if it is https (images: the Content-Security-Policy allows only https images)."""
    safe = http_url(url)
    return safe if safe is not None and safe.lower().startswith("https://") else None


def when(value: datetime | None) -> str:
    """A timestamp as readers see it: ``2024-05-01 14:03 UTC``."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""
