"""comments.v1 (exactly one event per accepted change) and the articles.v1 projection, over real Kafka."""

from datetime import timedelta
from typing import Any

import pytest
from confluent_kafka import Consumer, Message, TopicPartition

from newsflow_comments.outbox import entry
from newsflow_comments.records import Change, Revision
from newsflow_comments.store.mappers import comment_of, revision_doc
from newsflow_contracts import ArticleStatus, CommentData, Envelope, EventType
from newsflow_kit.consumer import consumer_config
from newsflow_kit.settings import KafkaSettings
from newsflow_kit.testing import eventually, read_topic, unique

Api = Any  # the conftest helper (fixtures `api`, `make_api`)


def events(messages: list[Message]) -> list[Envelope[CommentData]]:
    return [Envelope[CommentData].model_validate_json(m.value() or b"") for m in messages]


def consumed_everything(kafka: KafkaSettings, group: str, topic: str) -> bool:
    """The group has committed an offset at the end of every partition of ``topic``."""
    consumer = Consumer(consumer_config(kafka, group_id=group, client_id=unique("test-lag")))
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        committed = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
        for tp in committed:
            _, high = consumer.get_watermark_offsets(tp, timeout=10)
            if high > 0 and tp.offset < high:
                return False
        return True
    finally:
        consumer.close()


@pytest.mark.usefixtures("worker")
def test_every_accepted_change_is_published_exactly_once(api: Api) -> None:
    api.policy(premoderate_new_authors=True)
    api.known("a1")
    held = api.posted("a1", "held at first", ip="10.20.0.1")
    cid, token = held["comment"]["id"], held["edit_token"]
    assert api.post("a1", "held at first", ip="10.20.0.1").status_code == 200  # a retry: no new event
    api.client.post(f"/moderation/comments/{cid}:approve")
    api.client.post(f"/moderation/comments/{cid}:approve")  # already visible: no new event
    api.client.patch(f"/comments/{cid}", json={"body": "edited"}, headers={"X-Edit-Token": token})
    api.client.post(f"/comments/{cid}/votes", json={"value": 1})  # votes are not events
    reply = api.posted("a1", "a reply", ip="10.20.0.1", parent=cid)["comment"]
    api.client.delete(f"/comments/{cid}", headers={"X-Edit-Token": token})
    api.client.delete(f"/comments/{cid}", headers={"X-Edit-Token": token})  # already removed: no new event
    assert api.client.patch(f"/comments/{cid}", json={"body": "x"}, headers={"X-Edit-Token": "bad"}).status_code == 403
    expected = [
        (cid, 1, EventType.COMMENT_POSTED, "pending"),
        (cid, 2, EventType.COMMENT_MODERATED, "visible"),
        (cid, 3, EventType.COMMENT_EDITED, "visible"),
        (reply["id"], 1, EventType.COMMENT_POSTED, "visible"),
        (cid, 4, EventType.COMMENT_REMOVED, "removed"),
    ]
    messages = read_topic(api.kafka, api.kafka.comments_topic, until=lambda m: len(m) >= len(expected))
    eventually(lambda: api.db["published"].count_documents({}) == len(expected), timeout=10)
    more = read_topic(api.kafka, api.kafka.comments_topic, until=lambda m: len(m) >= len(expected), timeout=5)
    assert len(more) == len(expected)  # nothing beyond the expected events arrived meanwhile
    got = events(messages)
    assert sorted((e.data.id, e.data.version, e.event_type, e.data.status.value) for e in got) == sorted(expected)
    assert len({e.event_id for e in got}) == len(expected)
    assert {m.key() for m in messages} == {b"a1"}
    removed = next(e for e in got if e.event_type is EventType.COMMENT_REMOVED)
    assert removed.data.body == "" and removed.data.author_name == ""
    assert all("fingerprint" not in m.value().decode() and "token" not in m.value().decode() for m in messages)


def test_the_worker_finishes_a_change_whose_writer_died(api: Api, comments_role: Any) -> None:
    api.known("a1")
    posted = api.posted("a1", "published normally")
    created, token = posted["comment"], posted["edit_token"]
    # A crash right after a change claimed version 2 (its revision record), before it wrote the comment:
    comment = comment_of(api.db["comments"].find_one({"_id": created["id"]}))
    long_ago = comment.updated_at - timedelta(minutes=5)
    change = Change(body="changed before a crash", edited_at=long_ago, updated_at=long_ago)
    queued = entry(EventType.COMMENT_EDITED, comment.changed(change, 2))
    revision = Revision(comment_id=comment.id, version=2, at=long_ago, change=change, event=queued, article_id="a1")
    api.db["revisions"].insert_one(revision_doc(revision))
    # Until it is finished, no other change can take version 2: an edit is refused, not lost.
    edit = api.client.patch(
        f"/comments/{created['id']}", json={"body": "concurrent edit"}, headers={"X-Edit-Token": token}
    )
    assert edit.status_code == 409
    comments_role("worker")
    messages = read_topic(api.kafka, api.kafka.comments_topic, until=lambda m: len(m) >= 2)
    assert [(e.event_type, e.data.version) for e in events(messages)] == [
        (EventType.COMMENT_POSTED, 1),
        (EventType.COMMENT_EDITED, 2),
    ]
    stored = api.db["comments"].find_one({"_id": created["id"]})
    assert stored["version"] == 2 and stored["body"] == "changed before a crash"
    edit = api.client.patch(
        f"/comments/{created['id']}", json={"body": "a later edit"}, headers={"X-Edit-Token": token}
    )
    assert edit.status_code == 200 and edit.json()["body"] == "a later edit"
    assert api.db["comments"].find_one({"_id": created["id"]})["version"] == 3


def test_articles_come_from_articles_v1_and_retraction_closes_the_thread(api: Api, comments_role: Any) -> None:
    group = unique("comments-articles")
    comments_role("projection", NEWSFLOW_COMMENTS__PROJECTION_GROUP=group)
    assert api.post("unknown1", "hello?").status_code == 404
    assert api.client.get("/articles/unknown1/comments").status_code == 404
    api.produce("a1")
    eventually(lambda: api.post("a1", "now it exists").status_code == 201, timeout=60)  # process start + group join
    cid = api.thread("a1")["items"][0]["id"]
    api.produce("a1", version=3, status=ArticleStatus.RETRACTED)
    # v3 projected first, so the stale v2 is a batch of its own and meets the stored version (not a
    # newer one in the same batch); then wait until v2 is consumed before asserting it changed nothing.
    eventually(lambda: api.db["article_refs"].find_one({"_id": "a1"})["version"] == 3, timeout=30)
    api.produce("a1", version=2)  # older, arrives later: must not reopen the thread
    eventually(lambda: consumed_everything(api.kafka, group, api.kafka.articles_topic), timeout=30)
    assert api.db["article_refs"].find_one({"_id": "a1"})["version"] == 3  # the stale event was consumed, ignored
    eventually(lambda: api.thread("a1")["closed"] is True, timeout=20)
    conflict = api.post("a1", "too late")
    assert conflict.status_code == 409 and conflict.json()["type"].endswith("/conflict")
    assert api.client.post(f"/comments/{cid}/votes", json={"value": 1}).status_code == 409
    page = api.thread("a1")
    assert page["closed"] is True and len(page["items"]) == 1
    assert api.db["article_refs"].find_one({"_id": "a1"})["status"] == "retracted"
