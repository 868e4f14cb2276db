"""comments.v1 (exactly one event per accepted change) and the articles.v1 projection, over real Kafka."""

from datetime import timedelta
from typing import Any

from confluent_kafka import Message

from newsflow_comments.outbox import entry
from newsflow_contracts import ArticleStatus, CommentData, Envelope, EventType
from newsflow_kit.testing import eventually, read_topic

Api = Any  # the conftest helper (fixtures `api`, `make_api`)


def events(messages: list[Message]) -> list[Envelope[CommentData]]:
    return [Envelope[CommentData].model_validate_json(m.value() or b"") for m in messages]


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
    eventually(lambda: api.db["comments"].count_documents({"bus": "pending"}) == 0, timeout=10)
    more = read_topic(api.kafka, api.kafka.comments_topic, until=lambda m: len(m) >= len(expected), timeout=5)
    assert len(more) == len(expected)  # nothing beyond the expected events arrived meanwhile
    got = events(messages)
    assert sorted((e.data.id, e.data.version, e.event_type, e.data.status.value) for e in got) == sorted(expected)
    assert len({e.event_id for e in got}) == len(expected)
    assert {m.key() for m in messages} == {b"a1"}
    removed = next(e for e in got if e.event_type is EventType.COMMENT_REMOVED)
    assert removed.data.body == "" and removed.data.author_name == ""
    assert all("fingerprint" not in m.value().decode() and "token" not in m.value().decode() for m in messages)


def test_sweep_publishes_what_the_fast_path_left_pending(api: Api) -> None:
    api.known("a1")
    created = api.posted("a1", "published normally")["comment"]
    read_topic(api.kafka, api.kafka.comments_topic, until=lambda m: len(m) == 1)
    # A crash right after a change was written, before its event went out:
    doc = api.db["comments"].find_one({"_id": created["id"]})
    changed = {**doc, "body": "changed before a crash", "version": 2, "updated_at": doc["updated_at"]}
    queued = entry(EventType.COMMENT_EDITED, changed)
    long_ago = doc["updated_at"] - timedelta(minutes=5)
    api.db["comments"].update_one(
        {"_id": created["id"]},
        {"$set": {"version": 2, "body": changed["body"], "bus": "pending", "bus_at": long_ago, "outbox.v2": queued}},
    )
    outbox = api.client.app.state.context.outbox
    assert api.client.portal.call(outbox.sweep) == 1
    assert api.client.portal.call(outbox.sweep) == 0
    messages = read_topic(api.kafka, api.kafka.comments_topic, until=lambda m: len(m) >= 2)
    assert [(e.event_type, e.data.version) for e in events(messages)] == [
        (EventType.COMMENT_POSTED, 1),
        (EventType.COMMENT_EDITED, 2),
    ]
    assert api.db["comments"].find_one({"_id": created["id"]})["bus"] == "sent"


def test_articles_come_from_articles_v1_and_retraction_closes_the_thread(api: Api) -> None:
    assert api.post("unknown1", "hello?").status_code == 404
    assert api.client.get("/articles/unknown1/comments").status_code == 404
    api.produce("a1")
    eventually(lambda: api.post("a1", "now it exists").status_code == 201, timeout=20)
    cid = api.thread("a1")["items"][0]["id"]
    api.produce("a1", version=3, status=ArticleStatus.RETRACTED)
    api.produce("a1", version=2)  # older, arrives later: must not reopen the thread
    eventually(lambda: api.thread("a1")["closed"] is True, timeout=20)
    eventually(lambda: api.db["article_refs"].find_one({"_id": "a1"})["version"] == 3, timeout=20)
    conflict = api.post("a1", "too late")
    assert conflict.status_code == 409 and conflict.json()["type"].endswith("/conflict")
    assert api.client.post(f"/comments/{cid}/votes", json={"value": 1}).status_code == 409
    page = api.thread("a1")
    assert page["closed"] is True and len(page["items"]) == 1
    assert api.db["article_refs"].find_one({"_id": "a1"})["status"] == "retracted"
