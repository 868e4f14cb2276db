"""NewsAPI's request parameters, read and checked into Newsflow's terms (pure logic, no I/O).

Parameter names are matched without regard to case (NewsAPI documents ``qInTitle``; its Python
client sends ``qintitle``). Every refusal is a :class:`NewsApiError` with NewsAPI's code.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from newsflow_gateway.compat.newsapi_errors import NewsApiError, parameter_invalid

MAX_SOURCES = 20
MAX_Q = 500
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
SORTS = {"relevancy": "relevance", "popularity": "relevance", "publishedat": "newest"}
CATEGORIES = ("business", "entertainment", "general", "health", "science", "sports", "technology")
SEARCH_IN = ("title", "description", "content")
# Newsflow's sources carry a language, not a country: a country stands for its main language.
COUNTRY_LANGUAGE = {
    "ae": "ar", "ar": "es", "at": "de", "au": "en", "be": "nl", "bg": "bg", "br": "pt", "ca": "en", "ch": "de",
    "cn": "zh", "co": "es", "cu": "es", "cz": "cs", "de": "de", "eg": "ar", "es": "es", "fr": "fr", "gb": "en",
    "gr": "el", "hk": "zh", "hu": "hu", "id": "id", "ie": "en", "il": "he", "in": "en", "is": "is", "it": "it",
    "jp": "ja", "kr": "ko", "lt": "lt", "lv": "lv", "ma": "ar", "mx": "es", "my": "ms", "ng": "en", "nl": "nl",
    "no": "no", "nz": "en", "ph": "en", "pk": "en", "pl": "pl", "pt": "pt", "ro": "ro", "rs": "sr", "ru": "ru",
    "sa": "ar", "se": "sv", "sg": "en", "si": "sl", "sk": "sk", "th": "th", "tr": "tr", "tw": "zh", "ua": "uk",
    "us": "en", "ve": "es", "za": "en",
}  # fmt: skip
_LANGUAGE = re.compile(r"^[a-z]{2}$")
_DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
_TOKEN = re.compile(r'"[^"]*"?|\(|\)|[^\s()"]+')

SearchIn = Literal["all", "title", "body"]


@dataclass(frozen=True)
class Paging:
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


@dataclass(frozen=True)
class ArticleQuery:
    """What ``/v2/everything`` or ``/v2/top-headlines`` asks, in Newsflow's terms."""

    q: str = ""
    search_in: SearchIn = "all"
    sources: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    exclude_domains: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    sort: Literal["relevance", "newest"] = "newest"
    paging: Paging = field(default_factory=Paging)


@dataclass(frozen=True)
class SourceQuery:
    """What ``/v2/sources`` asks."""

    category: str | None = None
    languages: tuple[str, ...] = ()


def lowered(params: Mapping[str, str]) -> dict[str, str]:
    """Query parameters by lower-cased name; an empty value counts as absent."""
    return {name.lower(): value.strip() for name, value in params.items() if value.strip()}


def everything(params: Mapping[str, str]) -> ArticleQuery:
    p = lowered(params)
    if not any(k in p for k in ("q", "qintitle", "sources", "domains")):
        raise _missing("q, qInTitle, sources, domains", broad=True)
    q, search_in = _text(p)
    sort = p.get("sortby", "publishedAt")
    if sort.lower() not in SORTS:
        raise parameter_invalid(f"sortBy must be one of relevancy, popularity, publishedAt (got {sort!r}).")
    return ArticleQuery(
        q=q,
        search_in=search_in,
        sources=_sources(p),
        domains=_domains(p, "domains"),
        exclude_domains=_domains(p, "excludedomains"),
        languages=_language(p),
        date_from=_instant(p, "from"),
        date_to=_instant(p, "to"),
        sort="newest" if SORTS[sort.lower()] == "newest" else "relevance",
        paging=_paging(p),
    )


def top_headlines(params: Mapping[str, str]) -> ArticleQuery:
    p = lowered(params)
    if not any(k in p for k in ("q", "qintitle", "sources", "country", "category", "language")):
        raise _missing("sources, q, language, country, category", broad=False)
    if "sources" in p and ("country" in p or "category" in p):
        raise parameter_invalid("You can't mix the sources parameter with the country or category parameters.")
    q, search_in = _text(p)
    languages = _language(p) + _country(p)
    category = _category(p)
    return ArticleQuery(
        q=q,
        search_in=search_in,
        sources=_sources(p),
        languages=tuple(dict.fromkeys(languages)),
        tags=(category,) if category and category != "general" else (),
        sort="newest",
        paging=_paging(p),
    )


def sources(params: Mapping[str, str]) -> SourceQuery:
    p = lowered(params)
    return SourceQuery(category=_category(p), languages=tuple(dict.fromkeys(_language(p) + _country(p))))


def translate_q(q: str) -> str:
    """NewsAPI's query syntax (``"phrase"``, ``+must``, ``-not``, ``AND``/``OR``/``NOT``, brackets) as the
    index's: all words are required unless ``|`` (OR) joins them; ``-`` excludes."""
    out: list[str] = []
    negate = False
    for token in _TOKEN.findall(q):
        if token in ("AND", "&&"):
            continue
        if token in ("OR", "||"):
            out.append("|")
            continue
        if token == "NOT":
            negate = True
            continue
        word = token[1:] if token.startswith("+") and len(token) > 1 else token
        if token.startswith('"') and not token.endswith('"') or token == '"':
            word = token + '"'
        out.append(("-" + word) if negate and word != ")" else word)
        negate = False
    return " ".join(out).replace("( ", "(").replace(" )", ")")


def _text(p: dict[str, str]) -> tuple[str, SearchIn]:
    q, in_title = p.get("q"), p.get("qintitle")
    for name, value in (("q", q), ("qInTitle", in_title)):
        if value is not None and len(value) > MAX_Q:
            raise parameter_invalid(f"{name} is limited to {MAX_Q} characters.")
    if q and in_title:
        raise parameter_invalid("Newsflow takes either q or qInTitle, not both (see searchIn).")
    if in_title:
        return translate_q(in_title), "title"
    return translate_q(q or ""), _search_in(p.get("searchin"))


def _search_in(value: str | None) -> SearchIn:
    if value is None:
        return "all"
    fields = {v.strip() for v in value.split(",") if v.strip()}
    if not fields or not fields <= set(SEARCH_IN):
        raise parameter_invalid("searchIn takes title, description and/or content, comma-separated.")
    in_title, in_body = "title" in fields, bool(fields & {"description", "content"})
    return "all" if in_title and in_body else "title" if in_title else "body"


def _sources(p: dict[str, str]) -> tuple[str, ...]:
    values = tuple(dict.fromkeys(v.strip() for v in p.get("sources", "").split(",") if v.strip()))
    if len(values) > MAX_SOURCES:
        raise NewsApiError(400, "sourcesTooMany", f"You have requested too many sources; at most {MAX_SOURCES}.")
    if any(len(v) > 128 for v in values):
        raise parameter_invalid("A source id is at most 128 characters.")
    return values


def _domains(p: dict[str, str], name: str) -> tuple[str, ...]:
    values = [v.strip().lower().removeprefix("www.") for v in p.get(name, "").split(",") if v.strip()]
    if len(values) > MAX_SOURCES or any(len(v) > 253 or not _DOMAIN.match(v) for v in values):
        label = "excludeDomains" if name == "excludedomains" else "domains"
        raise parameter_invalid(f"{label} takes up to {MAX_SOURCES} domain names, comma-separated.")
    return tuple(dict.fromkeys(values))


def _language(p: dict[str, str]) -> tuple[str, ...]:
    value = p.get("language")
    if value is None:
        return ()
    if not _LANGUAGE.match(value.lower()):
        raise parameter_invalid(f"language must be a 2-letter ISO-639-1 code (got {value!r}).")
    return (value.lower(),)


def _country(p: dict[str, str]) -> tuple[str, ...]:
    value = p.get("country")
    if value is None:
        return ()
    language = COUNTRY_LANGUAGE.get(value.lower())
    if language is None:
        raise parameter_invalid(f"country must be one of NewsAPI's 2-letter codes (got {value!r}).")
    return (language,)


def _category(p: dict[str, str]) -> str | None:
    value = p.get("category")
    if value is not None and value.lower() not in CATEGORIES:
        raise parameter_invalid(f"category must be one of {', '.join(CATEGORIES)} (got {value!r}).")
    return value.lower() if value is not None else None


def _instant(p: dict[str, str], name: str) -> str | None:
    value = p.get(name)
    if value is None:
        return None
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise parameter_invalid(f"{name} must be an ISO 8601 date or date-time (got {value[:40]!r}).") from None
    return value if len(value) == 10 else value.replace("Z", "+00:00")


def _paging(p: dict[str, str]) -> Paging:
    size, page = _integer(p, "pagesize", "pageSize", DEFAULT_PAGE_SIZE), _integer(p, "page", "page", 1)
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise parameter_invalid(f"pageSize must be between 1 and {MAX_PAGE_SIZE}.")
    if page < 1:
        raise parameter_invalid("page must be 1 or more.")
    return Paging(page=page, page_size=size)


def _integer(p: dict[str, str], key: str, name: str, default: int) -> int:
    value = p.get(key)
    if value is None:
        return default
    if not value.isdigit() or len(value) > 6:
        raise parameter_invalid(f"{name} must be a whole number (got {value[:20]!r}).")
    return int(value)


def _missing(names: str, *, broad: bool) -> NewsApiError:
    scope = ", the scope of your search is too broad" if broad else ""
    message = f"Required parameters are missing{scope}. Please set any of the following parameters and try again: "
    return NewsApiError(400, "parametersMissing", message + names + ".")
