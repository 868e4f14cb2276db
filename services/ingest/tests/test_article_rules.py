"""The write rules of domain/articles.py (pure): versions, ownership, final retraction, restore."""

from datetime import UTC, datetime

import pytest

from newsflow_contracts import EventType
from newsflow_ingest.domain import articles

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def _fields(source: str = "a", content: str = "h1") -> dict[str, object]:
    return {"article_id": "x", "source_id": source, "content_hash": content, "url": "https://e.org/x",
            "published_at": NOW, "updated_at": NOW}  # fmt: skip


def test_versions_grow_only_on_a_content_change() -> None:
    first = articles.push(None, _fields())
    assert first.event is EventType.ARTICLE_PUBLISHED and first.doc is not None
    assert (first.doc["version"], first.doc["owner_id"], first.doc["bus"]) == (1, "a", "pending")
    assert articles.push(first.doc, _fields()).doc is None
    second = articles.push(first.doc, _fields(content="h2"))
    assert second.event is EventType.ARTICLE_UPDATED and second.doc is not None and second.doc["version"] == 2


def test_another_source_owns_nothing() -> None:
    first = articles.push(None, _fields()).doc
    assert first is not None
    with pytest.raises(articles.OwnedByAnotherSource):
        articles.push(first, _fields(source="b", content="h2"))
    with pytest.raises(articles.NotTheOwner):
        articles.check_owner(first, "b", "retract")
    articles.check_owner(first, "a", "retract")


def test_retraction_is_final_until_restored() -> None:
    first = articles.push(None, _fields()).doc
    assert first is not None
    gone = articles.retract(first).doc
    assert gone is not None and (gone["version"], gone["status"]) == (2, "retracted")
    assert articles.retract(gone).doc is None
    with pytest.raises(articles.ArticleRetracted):
        articles.push(gone, _fields(content="h2"))
    back = articles.restore(gone).doc
    assert back is not None and (back["version"], back["status"], back["owner_id"]) == (3, "published", "a")
    assert articles.restore(back).doc is None
