"""NewsAPI parameters read into Newsflow's terms (pure logic)."""

import pytest

from newsflow_gateway.compat import newsapi_params as p
from newsflow_gateway.compat.newsapi import truncated
from newsflow_gateway.compat.newsapi_errors import NewsApiError


def code_of(call: object) -> str:
    with pytest.raises(NewsApiError) as caught:
        assert callable(call)
        call()
    return caught.value.code


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("bitcoin", "bitcoin"),
        ('"climate change" AND coal', '"climate change" coal'),
        ("crypto AND (ethereum OR litecoin) NOT bitcoin", "crypto (ethereum | litecoin) -bitcoin"),
        ("+bitcoin -ethereum", "bitcoin -ethereum"),
        ('"unclosed phrase', '"unclosed phrase"'),
        ("NOT (a OR b)", "-(a | b)"),
    ],
)
def test_query_syntax_is_translated(q: str, expected: str) -> None:
    assert p.translate_q(q) == expected


def test_everything_reads_names_without_regard_to_case() -> None:
    query = p.everything(
        {"QINTITLE": "oil", "Sources": "a, b,a", "domains": "www.BBC.co.uk", "excludeDomains": "x.org",
         "language": "EN", "from": "2026-11-01", "to": "2026-11-02T10:00:00Z", "sortBy": "relevancy",
         "pageSize": "5", "page": "3"}
    )  # fmt: skip
    assert query.q == "oil" and query.search_in == "title"
    assert query.sources == ("a", "b") and query.domains == ("bbc.co.uk",) and query.exclude_domains == ("x.org",)
    assert query.languages == ("en",) and query.sort == "relevance"
    assert query.date_from == "2026-11-01" and query.date_to == "2026-11-02T10:00:00+00:00"
    assert query.paging == p.Paging(page=3, page_size=5) and query.paging.offset == 10


def test_everything_defaults_and_search_in() -> None:
    query = p.everything({"q": "oil"})
    assert query.sort == "newest" and query.paging == p.Paging(1, 20) and query.search_in == "all"
    assert p.everything({"q": "x", "searchIn": "title"}).search_in == "title"
    assert p.everything({"q": "x", "searchIn": "description,content"}).search_in == "body"
    assert p.everything({"q": "x", "searchIn": "title,content"}).search_in == "all"
    assert p.everything({"q": "x", "sortBy": "popularity"}).sort == "relevance"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "parametersMissing"),
        ({"language": "en"}, "parametersMissing"),
        ({"q": "x", "sortBy": "hot"}, "parameterInvalid"),
        ({"q": "x", "pageSize": "101"}, "parameterInvalid"),
        ({"q": "x", "pageSize": "0"}, "parameterInvalid"),
        ({"q": "x", "page": "0"}, "parameterInvalid"),
        ({"q": "x", "page": "two"}, "parameterInvalid"),
        ({"q": "x", "from": "yesterday"}, "parameterInvalid"),
        ({"q": "x", "language": "english"}, "parameterInvalid"),
        ({"q": "x", "searchIn": "body"}, "parameterInvalid"),
        ({"q": "x", "qInTitle": "y"}, "parameterInvalid"),
        ({"q": "x" * 501}, "parameterInvalid"),
        ({"domains": "not a domain"}, "parameterInvalid"),
        ({"sources": ",".join(f"s{n}" for n in range(21))}, "sourcesTooMany"),
    ],
)
def test_everything_refusals(params: dict[str, str], code: str) -> None:
    assert code_of(lambda: p.everything(params)) == code


def test_top_headlines() -> None:
    query = p.top_headlines({"country": "gb", "category": "technology"})
    assert query.languages == ("en",) and query.tags == ("technology",) and query.sort == "newest"
    assert p.top_headlines({"category": "general"}).tags == ()
    assert p.top_headlines({"language": "de", "country": "at"}).languages == ("de",)
    assert code_of(lambda: p.top_headlines({})) == "parametersMissing"
    assert code_of(lambda: p.top_headlines({"sources": "a", "country": "us"})) == "parameterInvalid"
    assert code_of(lambda: p.top_headlines({"country": "xx"})) == "parameterInvalid"
    assert code_of(lambda: p.top_headlines({"category": "gossip"})) == "parameterInvalid"


def test_sources_query() -> None:
    assert p.sources({}) == p.SourceQuery()
    assert p.sources({"country": "ru", "category": "Business"}) == p.SourceQuery("business", ("ru",))


def test_content_is_truncated_as_newsapi_does() -> None:
    assert truncated("short", 200) == "short"
    assert truncated("a" * 250, 200) == "a" * 200 + "… [+50 chars]"
