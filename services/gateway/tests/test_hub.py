"""Fan-out: filters, resume hand-over without gap or duplicate, bounded queues."""

import asyncio
from datetime import UTC, datetime

from newsflow_contracts import ArticleData, CommentData, CommentStatus
from newsflow_gateway.streams.events import ArticleEvent, CommentEvent
from newsflow_gateway.streams.filters import ArticleFilter
from newsflow_gateway.streams.hub import OVERFLOW, ArticleSubscription, CommentSubscription, Hub
from newsflow_gateway.streams.recent import Missed, RecentChanges

NOW = datetime.now(UTC)


def event(seq: int, *, source: str = "s1") -> ArticleEvent:
    data = ArticleData(
        id=f"a{seq}", version=1, seq=seq, source_id=source, url="https://e.org/", canonical_url="https://e.org/",
        title=f"t{seq}", body_html="<p>big</p>", published_at=NOW, updated_at=NOW,
    )  # fmt: skip
    return ArticleEvent("article.published", data)


async def drain(sub: ArticleSubscription) -> list[int]:
    items = await asyncio.wait_for(sub.send_queue.take(), 1)
    return [int(e.id or 0) for e, _ in items]


async def test_each_subscriber_gets_what_its_filter_matches() -> None:
    hub = Hub(queue_size=10)
    s1 = ArticleSubscription(ArticleFilter(source="s1"), hub.open())
    everything = ArticleSubscription(ArticleFilter(), hub.open())
    hub.add(s1)
    hub.add(everything)
    hub.publish_articles([event(1), event(2, source="s2"), event(3)])
    assert await drain(s1) == [1, 3]
    assert await drain(everything) == [1, 2, 3]
    frame = event(4).sse.decode()
    assert frame.startswith("id: 4\nevent: article.published\ndata: {") and "body_html" not in frame


async def test_resume_hand_over_has_no_gap_and_no_duplicate() -> None:
    hub = Hub(queue_size=10)
    sub = ArticleSubscription(ArticleFilter(), hub.open(), after=5)
    hub.add(sub)
    hub.publish_articles([event(5), event(7), event(8)])  # live while the replay runs
    sub.seen.update({6, 7})  # the replay found 6 and 7
    sub.go_live()
    hub.publish_articles([event(8), event(9)])  # 8 again (a re-send), then new
    assert await drain(sub) == [8, 9]


async def test_a_full_queue_closes_the_subscriber_and_cancels_its_writer() -> None:
    hub = Hub(queue_size=2)
    send_queue = hub.open()
    sub = ArticleSubscription(ArticleFilter(), send_queue)
    hub.add(sub)
    stuck = asyncio.create_task(asyncio.sleep(60))
    send_queue.writer = stuck
    hub.publish_articles([event(1), event(2), event(3)])
    assert send_queue.closed == OVERFLOW
    await asyncio.sleep(0)
    assert stuck.cancelled()
    hub.release(send_queue, [sub])
    assert hub.connections == 0


async def test_comments_go_to_their_article_and_hidden_ones_lose_their_text() -> None:
    hub = Hub(queue_size=10)
    sub = CommentSubscription("a1", hub.open())
    other = CommentSubscription("a2", hub.open())
    hub.add(sub)
    hub.add(other)

    def comment(status: CommentStatus) -> CommentEvent:
        data = CommentData(id="c1", article_id="a1", depth=0, author_name="Ann", body="secret words",
                           status=status, version=1, created_at=NOW, updated_at=NOW)  # fmt: skip
        return CommentEvent("comment.posted", data)

    hub.publish_comments([comment(CommentStatus.VISIBLE), comment(CommentStatus.PENDING)])
    visible, pending = [e for e, _ in await asyncio.wait_for(sub.send_queue.take(), 1)]
    assert "secret words" in visible.data and "secret words" not in pending.data
    assert not other.send_queue._items


def test_recent_changes_answer_a_resume_only_while_they_reach_back_to_its_cursor() -> None:
    recent = RecentChanges(capacity=3)
    assert recent.since(ArticleFilter(), 0, 10) is None  # nothing known yet
    recent.start_at(10)  # the follower starts at ingest's head
    assert recent.since(ArticleFilter(), 10, 10) == Missed([], complete=True)
    for seq in (11, 12, 13):
        recent.add(event(seq, source="s2" if seq == 12 else "s1"))
    missed = recent.since(ArticleFilter(source="s1"), 10, 10)
    assert missed is not None and [e.seq for e in missed.events] == [11, 13] and missed.complete
    recent.add(event(14))  # 11 falls out: a cursor of 10 now needs the store
    assert recent.since(ArticleFilter(), 10, 10) is None
    missed = recent.since(ArticleFilter(), 11, 2)
    assert missed is not None and [e.seq for e in missed.events] == [12, 13] and not missed.complete
    recent.add(event(20))  # a broken run (order gave way): only what follows it is known whole
    assert recent.since(ArticleFilter(), 14, 10) is None
    missed = recent.since(ArticleFilter(), 19, 10)
    assert missed is not None and [e.seq for e in missed.events] == [20]


def test_recent_changes_of_capacity_zero_never_answer_a_resume() -> None:
    recent = RecentChanges(capacity=0)
    recent.start_at(10)
    assert recent.since(ArticleFilter(), 10, 10) is None  # even a client at the head reads the store
    recent.add(event(11))
    assert recent.since(ArticleFilter(), 11, 10) is None


def test_the_hub_keeps_each_change_it_fans_out_once() -> None:
    hub = Hub(queue_size=10, recent=100)
    hub.recent.start_at(0)
    hub.publish_articles([event(1), event(2), event(1), event(3)])  # 1 re-sent by Kafka
    missed = hub.recent.since(ArticleFilter(), 0, 10)
    assert missed is not None and [e.seq for e in missed.events] == [1, 2, 3]
