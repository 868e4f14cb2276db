"""The poll memo's rules (pure logic): what is remembered, and when the body is not."""

from newsflow_ingest.domain.feeds import FeedItem
from newsflow_ingest.domain.memo import ITEMS_KEPT, PollMemo, body_digest, item_digest
from newsflow_ingest.records import FeedMemo


def _item(title: str = "A story") -> FeedItem:
    return FeedItem(
        guid="g",
        url="https://n.example/a",
        title=title,
        body="<p>b</p>",
        summary="b",
        tags=[],
        authors=[],
        image_url=None,
        published_at=None,
    )


def test_an_item_is_unchanged_only_with_every_field_equal() -> None:
    memo = PollMemo.of("body", FeedMemo(None, (item_digest(_item()),)))
    assert memo.unchanged(_item())[0]
    assert not memo.unchanged(_item("A story, corrected"))[0]


def test_the_body_is_remembered_only_when_no_item_failed() -> None:
    memo = PollMemo.of("body", None)
    memo.handled.extend(str(n) for n in range(ITEMS_KEPT + 5))
    assert memo.remembered() == FeedMemo("body", tuple(memo.handled[:ITEMS_KEPT]))
    memo.failed = True
    assert memo.remembered().body_digest is None


def test_the_body_digest_depends_on_what_would_change_the_ingest() -> None:
    plain = body_digest(b"<rss/>", "application/rss+xml", full_text=False)
    assert plain == body_digest(b"<rss/>", "application/rss+xml", full_text=False)
    assert plain != body_digest(b"<rss/>", "application/rss+xml", full_text=True)
    assert plain != body_digest(b"<rss/>", "application/rss+xml; charset=koi8-r", full_text=False)
    assert plain != body_digest(b"<rss />", "application/rss+xml", full_text=False)
