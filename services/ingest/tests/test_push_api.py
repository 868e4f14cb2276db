"""Publisher push through the real app on private MongoDB database and Kafka topics."""

import json

from fastapi.testclient import TestClient

from newsflow_contracts import ArticleData, Envelope
from newsflow_ingest.settings import Settings
from newsflow_kit.testing import read_topic


def _article(n: int, **extra: object) -> dict[str, object]:
    return {
        "title": f"Harbour bridge closes for repairs {n}",
        "url": f"https://wire.example/story-{n}?utm_source=x",
        "body": f"<p>The harbour bridge will close for repairs number {n}. Traffic will divert.</p>",
        "tags": ["Transport"],
        **extra,
    }


def _events(settings: Settings, n: int) -> list[Envelope[ArticleData]]:
    messages = read_topic(settings.kafka, settings.kafka.articles_topic, until=lambda ms: len(ms) >= n)
    return [Envelope[ArticleData].model_validate_json(m.value() or b"") for m in messages]


def test_push_is_idempotent_and_edits_are_versions(client: TestClient, push_source: str, settings: Settings) -> None:
    first = client.post("/articles", json={**_article(1), "source_id": push_source})
    assert first.status_code == 201, first.text
    created = first.json()
    assert created["version"] == 1 and created["status"] == "created"

    again = client.post("/articles", json={**_article(1), "source_id": push_source})
    assert again.status_code == 200 and again.json() == {**created, "status": "unchanged"}

    edited = client.post(
        "/articles", json={**_article(1, body="<p>Repairs are postponed to May.</p>"), "source_id": push_source}
    )
    assert edited.json() == {"id": created["id"], "version": 2, "status": "updated"}

    events = _events(settings, 2)  # one article: one key, one partition, in order
    assert [(e.event_type.value, e.data.version) for e in events] == [("article.published", 1), ("article.updated", 2)]
    stored = client.get(f"/articles/{created['id']}").json()
    assert stored["version"] == 2 and "postponed" in stored["body_text"]
    assert stored["canonical_url"] == "https://wire.example/story-1"
    assert stored["tags"][0] == "transport"


def test_every_accepted_push_is_stored_and_on_the_topic(
    client: TestClient, push_source: str, settings: Settings
) -> None:
    items = [_article(n) for n in range(30)] + [{"title": "", "url": "not a url", "body": "x"}]
    resp = client.post("/articles:batch", json={"source_id": push_source, "items": items})
    assert resp.status_code == 200, resp.text
    results = resp.json()["items"]
    accepted = {r["id"] for r in results if r.get("status") == "created"}
    assert len(accepted) == 30
    bad = results[-1]["error"]
    assert bad["status"] == 422 and {e["field"] for e in bad["errors"]} >= {"items.30.title", "items.30.url"}
    for article_id in accepted:
        assert client.get(f"/articles/{article_id}").status_code == 200
    on_topic = {
        m.key().decode()
        for m in read_topic(
            settings.kafka, settings.kafka.articles_topic, until=lambda ms: len({x.key() for x in ms}) >= 30
        )
        if m.key() is not None
    }
    assert on_topic == accepted


def test_invalid_and_oversize_pushes_are_problems(client: TestClient, push_source: str) -> None:
    resp = client.post("/articles", json={"source_id": push_source, "title": "x", "url": "ftp://x", "body": "b"})
    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    assert "body.url" in {e["field"] for e in resp.json()["errors"]}
    unknown = client.post("/articles", json={**_article(9), "source_id": "nope"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "body.source_id"
    huge = json.dumps({**_article(2, body="x" * 300_000), "source_id": push_source})
    too_big = client.post("/articles", content=huge, headers={"content-type": "application/json"})
    assert too_big.status_code == 413
    too_many = client.post("/articles:batch", json={"source_id": push_source, "items": [_article(1)] * 501})
    assert too_many.status_code in (413, 422)


def test_retraction_and_change_cursor(client: TestClient, push_source: str, settings: Settings) -> None:
    ids = [client.post("/articles", json={**_article(n), "source_id": push_source}).json()["id"] for n in range(3)]
    gone = client.delete(f"/articles/{ids[0]}")
    assert gone.json() == {"id": ids[0], "version": 2, "status": "retracted"}
    assert client.delete("/articles/unknown").status_code == 404

    page = client.get("/articles", params={"since": 0, "limit": 2}).json()  # every change, in seq order
    assert [(a["id"], a["seq"]) for a in page["items"]] == [(ids[0], 1), (ids[1], 2)]
    assert page["next_cursor"] == "2"
    rest = client.get("/articles", params={"since": page["next_cursor"]}).json()
    assert [(a["id"], a["version"], a["status"]) for a in rest["items"]] == [
        (ids[2], 1, "published"),
        (ids[0], 2, "retracted"),
    ]
    assert rest["next_cursor"] is None and rest["cursor"] == "4"
    assert client.get("/articles/changes/head").json() == {"seq": 4}
    assert client.get("/articles", params={"since": "abc"}).status_code == 422

    events = _events(settings, 4)  # partitions are ordered per article (key), not globally
    assert [(e.event_type.value, e.data.version) for e in events if e.data.id == ids[0]] == [
        ("article.published", 1),
        ("article.retracted", 2),
    ]
