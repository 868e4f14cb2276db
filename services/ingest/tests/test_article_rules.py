"""The write rules of domain/articles.py (pure): versions, ownership, final retraction, restore."""

from datetime import UTC, datetime

import pytest

from newsflow_contracts import EventType
from newsflow_ingest.domain import articles
from newsflow_ingest.records import ArticleFields

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def _fields(source: str = "a", content: str = "h1") -> ArticleFields:
    return ArticleFields(article_id="x", source_id=source, content_hash=content, url="https://e.org/x",
                         canonical_url="https://e.org/x", title="X", published_at=NOW, updated_at=NOW)  # fmt: skip


def test_versions_grow_only_on_a_content_change() -> None:
    first = articles.push(None, _fields())
    assert first.event is EventType.ARTICLE_PUBLISHED and first.new is not None
    assert (first.new.version, first.new.owner_id, first.new.bus) == (1, "a", "pending")
    assert articles.push(first.new, _fields()).new is None
    second = articles.push(first.new, _fields(content="h2"))
    assert second.event is EventType.ARTICLE_UPDATED and second.new is not None and second.new.version == 2


def test_another_source_owns_nothing() -> None:
    first = articles.push(None, _fields()).new
    assert first is not None
    with pytest.raises(articles.OwnedByAnotherSource):
        articles.push(first, _fields(source="b", content="h2"))
    with pytest.raises(articles.NotTheOwner):
        articles.check_owner(first, "b", "retract")
    articles.check_owner(first, "a", "retract")


def test_retraction_is_final_until_restored() -> None:
    first = articles.push(None, _fields()).new
    assert first is not None
    gone = articles.retract(first).new
    assert gone is not None and (gone.version, gone.status) == (2, "retracted")
    assert articles.retract(gone).new is None
    with pytest.raises(articles.ArticleRetracted):
        articles.push(gone, _fields(content="h2"))
    back = articles.restore(gone).new
    assert back is not None and (back.version, back.status, back.owner_id) == (3, "published", "a")
    assert articles.restore(back).new is None
