"""Cleaning an article: sanitised HTML, plain text, language, hashtags and key points."""

import html
import re
import unicodedata
from collections import Counter
from datetime import UTC, datetime, timedelta

import nh3
import py3langid

from newsflow_contracts import BODY_ATTRIBUTES, BODY_TAGS
from newsflow_ingest.domain import keypoints, language

MAX_TAGS = 8
LANGUAGES = ("en", "ru", "de", "fr", "es", "it", "uk", "pt", "nl", "pl")
_BLOCK = re.compile(r"</(p|div|li|h\d|blockquote|tr|pre|figure)>|<br\s*/?>", re.I)
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"[ \t\r\f\v]+")
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
STOP = {
    "the",
    "and",
    "for",
    "that",
    "with",
    "this",
    "from",
    "have",
    "has",
    "were",
    "was",
    "are",
    "not",
    "but",
    "they",
    "their",
    "there",
    "which",
    "will",
    "would",
    "about",
    "into",
    "over",
    "after",
    "than",
    "then",
    "them",
    "been",
    "also",
    "more",
    "most",
    "other",
    "some",
    "such",
    "only",
    "what",
    "when",
    "where",
    "who",
    "why",
    "how",
    "its",
    "our",
    "your",
    "you",
    "his",
    "her",
    "she",
    "him",
    "one",
    "two",
    "new",
    "said",
    "says",
    "это",
    "как",
    "что",
    "его",
    "она",
    "они",
    "при",
    "для",
    "или",
    "так",
    "все",
    "уже",
    "еще",
    "был",
    "была",
    "были",
    "быть",
    "этот",
    "эти",
    "который",
    "которые",
    "также",
    "после",
}

py3langid.set_languages(list(LANGUAGES))


def sanitize_html(raw: str) -> str:
    """Allow-list sanitising: scripts, styles, event handlers and javascript: URLs never survive."""
    return nh3.clean(
        _CONTROL.sub("", raw),
        tags=BODY_TAGS,
        attributes=BODY_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def looks_like_html(text: str) -> bool:
    return bool(re.search(r"<(p|div|br|a|strong|em|ul|ol|li|h\d|img|span|b|i)\b", text, re.I))


def text_to_html(text: str) -> str:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


def html_to_text(markup: str) -> str:
    """Readable plain text of sanitised HTML (paragraphs kept as blank lines)."""
    text = html.unescape(_TAG.sub("", _BLOCK.sub("\n\n", markup)))
    lines = [_SPACE.sub(" ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def markup_to_text(markup: str) -> str:
    """The text of an HTML fragment (a feed's HTML title or summary): tags, scripts and styles
    dropped, entities decoded exactly once."""
    return html.unescape(nh3.clean(_CONTROL.sub("", markup), tags=set(), attributes={}))


def clean_text(value: str, *, limit: int) -> str:
    """One line of plain text (titles, names): tags and control characters dropped, spaces folded.

    The value is text already (feed parsing unescaped it once): it is not unescaped again, so an
    escaped ``&lt;img&gt;`` stays that text and never becomes markup.
    """
    text = _TAG.sub(" ", _CONTROL.sub("", value))
    return _SPACE.sub(" ", text.replace("\n", " ")).strip()[:limit]


def article_language(title: str, body_text: str, *, claimed: str | None, default: str = "en") -> language.Verdict:
    """The article's language and what was noticed (claim overruled, mixed title/body): see language.py."""
    return language.decide(title=title, body_text=body_text, claimed=claimed, default=default)


def slugify(tag: str) -> str:
    """A hashtag slug: lower-case letters and digits joined by '-', accents folded for Latin script."""
    kept: list[str] = []
    for ch in unicodedata.normalize("NFKD", tag.strip().lstrip("#").lower()):
        if unicodedata.combining(ch) and kept and kept[-1].isascii():
            continue  # Über → uber, but Cyrillic й keeps its breve
        kept.append(ch)
    folded = unicodedata.normalize("NFC", "".join(kept))
    slug = re.sub(r"[^\w]+", "-", folded, flags=re.UNICODE).strip("-_")
    return slug[:40]


def hashtags(*, declared: list[str], text: str, limit: int = MAX_TAGS) -> list[str]:
    """Declared tags first (feed categories, publisher tags), then frequent key words of the text."""
    out: list[str] = []
    for tag in declared:
        slug = slugify(tag)
        if slug and slug not in out:
            out.append(slug)
    if len(out) < 3:
        counts = Counter(w.lower() for w in _WORD.findall(text) if w.lower() not in STOP and len(w) > 4)
        for word, n in counts.most_common(10):
            if n < 2 or len(out) >= 3:
                break
            slug = slugify(word)
            if slug not in out:
                out.append(slug)
    return out[:limit]


def sentences(text: str) -> list[str]:
    return keypoints.sentences(text)


def key_points(text: str, *, count: int = 3) -> list[str]:
    """Extractive summary: distinct sentences with the most frequent content words (see keypoints.py)."""
    return keypoints.key_points(text, stop=STOP, count=count)


EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)


def absurd_time(value: datetime, *, now: datetime | None = None) -> bool:
    """Before 1990 or more than a day ahead: a broken clock or template, not a publication time."""
    now = now or datetime.now(UTC)
    value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return value < EARLIEST or value > now + FUTURE_SLACK


def sane_time(value: datetime | None, *, now: datetime | None = None) -> datetime:
    """A publication time in UTC; absent, before 1990 or more than a day ahead → now."""
    now = now or datetime.now(UTC)
    if value is None:
        return now
    value = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return now if absurd_time(value, now=now) else value
