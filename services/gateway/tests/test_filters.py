"""Stream filters: the search box's syntax, applied to one article."""

from datetime import UTC, datetime

import pytest

from newsflow_contracts import ArticleData
from newsflow_gateway.streams.filters import ArticleFilter

NOW = datetime.now(UTC)


def article(
    title: str, *, body: str = "", tags: tuple[str, ...] = (), source: str = "s1", lang: str = "en"
) -> ArticleData:
    return ArticleData(
        id="a", version=1, seq=1, source_id=source, url="https://e.org/a", canonical_url="https://e.org/a",
        title=title, body_text=body, tags=list(tags), language=lang, published_at=NOW, updated_at=NOW,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("q", "matches"),
    [
        ("", True),
        ("climate", True),
        ("CLIMATE summit", True),
        ("climate football", False),
        ('"climate summit"', True),
        ('"summit climate"', False),
        ("climate -summit", False),
        ("football | geneva", True),
        ("clim*", True),
        ("foot*", False),
        ("café", True),  # folded both ways
        ("energy", True),  # from the tags
    ],
)
def test_query_syntax(q: str, matches: bool) -> None:
    a = article("Climate summit opens", body="Delegates meet in Geneva at the Cafe.", tags=("energy",))
    assert ArticleFilter(q=q).matches(a) is matches


def test_source_tag_and_language_filters() -> None:
    a = article("x", tags=("Elections",), source="s2", lang="ru")
    assert ArticleFilter(source="s2", tag="elections", lang="ru").matches(a)
    assert not ArticleFilter(source="s1").matches(a)
    assert not ArticleFilter(tag="sport").matches(a)
    assert not ArticleFilter(lang="en").matches(a)


def test_equal_filters_are_one_key() -> None:
    assert ArticleFilter(q="a b", tag="t") == ArticleFilter(q="a b", tag="t")
    assert len({ArticleFilter(q="a"), ArticleFilter(q="a"), ArticleFilter(q="b")}) == 2
