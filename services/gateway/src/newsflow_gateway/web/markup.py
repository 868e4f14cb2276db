"""What the pages let through as markup: a second sanitising pass over article bodies, highlights, links.

Everything else in a template is escaped by Jinja's autoescape; these filters return ``Markup`` only
for what an allow-list has just cleaned.
"""

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial
from urllib.parse import urljoin, urlsplit

import nh3
from markupsafe import Markup

from newsflow_contracts import BODY_ATTRIBUTES, BODY_TAGS
from newsflow_gateway.web import timefmt

# BODY_TAGS / BODY_ATTRIBUTES (from the contracts): ingest already cleans bodies to them; this pass is
# defence in depth, so a bug or a bypass there (or a stored article from before a fix) still cannot run script here.
DIRECTIONS = {"rtl", "ltr", "auto"}
# Wide code and tables scroll inside themselves (never the page); keyboard users must reach them too.
SCROLLABLE = {"pre": {"tabindex": "0"}, "table": {"tabindex": "0"}}
BODY_SCHEMES = {"http", "https", "mailto"}
# The index marks matches with <mark> (and escapes the text: encoder html); <em> is accepted too.
HIGHLIGHT_TAGS = {"mark", "em"}


def clean_body(html: str, base_url: str | None = None) -> Markup:
    """An article body through the strict allow-list: no script, style, event handler or javascript: URL.

    Relative links and images resolve against ``base_url`` (the article's own address) or are
    dropped; images must end up https (the only images the Content-Security-Policy lets through).
    """
    cleaned = nh3.clean(
        html,
        tags=BODY_TAGS,
        attributes=BODY_ATTRIBUTES,
        attribute_filter=partial(_attribute, http_url(base_url)),
        set_tag_attribute_values=SCROLLABLE,
        url_schemes=BODY_SCHEMES,
        link_rel="noopener noreferrer nofollow ugc",
    )
    return Markup(_IMG.sub(_image, cleaned))  # just cleaned by the allow-list above


# nh3 serialises an element one way (``<img src="…" alt="…">``), so its output can be edited safely.
_IMG = re.compile(r"<img(?P<attrs>[^>]*)>")


def _image(match: re.Match[str]) -> str:
    """An image without a (safe) source is dropped; one without ``alt`` gets an empty one (decorative)."""
    attrs = match["attrs"]
    if " src=" not in attrs:
        return ""
    return match[0] if " alt=" in attrs else f'<img{attrs} alt="">'


def _attribute(base: str | None, element: str, name: str, value: str) -> str | None:
    """Keeps an attribute's value, resolves a relative URL against ``base``, or drops it (None)."""
    if name == "dir":
        return value.lower() if value.lower() in DIRECTIONS else None
    if (element, name) not in (("a", "href"), ("img", "src")):
        return value
    value = value.strip()
    scheme = urlsplit(value).scheme.lower()
    if element == "a" and (value.startswith("#") or scheme == "mailto"):
        return value
    if not scheme:
        if base is None:
            return None
        value = urljoin(base, value)
    return (https_url if element == "img" else http_url)(value)


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


def when(value: datetime | None, language: str | None = "en") -> Markup:
    """A ``<time>`` element: exact ``datetime`` attribute and tooltip, relative text the script keeps current."""
    if value is None:
        return Markup("")
    lang = timefmt.language_of(language)
    return Markup('<time datetime="{}" title="{}" data-lang="{}">{}</time>').format(
        value.astimezone(UTC).isoformat(), timefmt.exact(value), lang, timefmt.relative(value, language=lang)
    )


def present(values: Iterable[str]) -> list[str]:
    """The values that are still something once tags and spaces are gone (an author of "<b></b>" is not shown)."""
    return [text for text in (nh3.clean(v, tags=set()).strip() for v in values) if text]
