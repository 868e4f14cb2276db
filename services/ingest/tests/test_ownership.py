"""Issue 11.1 and 9.5: an article belongs to the source that first published it; retraction stays final."""

from fastapi.testclient import TestClient


def _article(**extra: object) -> dict[str, object]:
    return {
        "title": "Dam inspection",
        "url": "https://wire.example/dam",
        "body": "<p>The dam was inspected.</p>",
        **extra,
    }


def _source(client: TestClient, name: str) -> str:
    resp = client.post("/sources", json={"name": name, "kind": "push", "homepage": f"https://{name}.example/"})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def test_another_source_cannot_take_over_move_or_retract(client: TestClient) -> None:
    owner, other = _source(client, "owner"), _source(client, "other")
    created = client.post("/articles", json={**_article(), "source_id": owner}).json()
    article_id = created["id"]

    taken = client.post("/articles", json={**_article(body="<p>Hijacked.</p>"), "source_id": other})
    assert taken.status_code == 409 and taken.headers["content-type"] == "application/problem+json"
    assert taken.json()["type"].endswith("/article-owned-by-another-source")

    batch = client.post(
        "/articles:batch",
        json={"source_id": other, "items": [_article(body="<p>Hijacked.</p>"), _article(url="https://b.example/x")]},
    ).json()["items"]
    assert batch[0]["error"]["status"] == 409 and batch[1]["status"] == "created"

    refused = client.delete(f"/articles/{article_id}", params={"source_id": other})
    assert refused.status_code == 403 and refused.json()["type"].endswith("/not-the-owner")
    assert client.post(f"/articles/{article_id}:restore", params={"source_id": other}).status_code == 403

    stored = client.get(f"/articles/{article_id}").json()
    assert (stored["source_id"], stored["version"], stored["status"]) == (owner, 1, "published")
    assert "inspected" in stored["body_text"]


def test_retraction_is_final_until_an_explicit_restore(client: TestClient) -> None:
    owner = _source(client, "owner")
    article_id = client.post("/articles", json={**_article(), "source_id": owner}).json()["id"]
    assert client.delete(f"/articles/{article_id}", params={"source_id": owner}).json()["status"] == "retracted"

    again = client.post("/articles", json={**_article(), "source_id": owner})
    assert again.status_code == 409 and again.json()["type"].endswith("/article-retracted")
    assert "restore" in again.json()["detail"]
    batch = client.post("/articles:batch", json={"source_id": owner, "items": [_article()]}).json()["items"]
    assert batch[0]["error"]["status"] == 409
    assert client.get(f"/articles/{article_id}").json()["status"] == "retracted"

    restored = client.post(f"/articles/{article_id}:restore", params={"source_id": owner})
    assert restored.json() == {"id": article_id, "version": 3, "status": "restored"}
    assert client.get(f"/articles/{article_id}").json()["status"] == "published"
    edited = client.post("/articles", json={**_article(body="<p>Inspected twice.</p>"), "source_id": owner})
    assert edited.json() == {"id": article_id, "version": 4, "status": "updated"}
    unchanged = client.post(f"/articles/{article_id}:restore", params={"source_id": owner}).json()
    assert unchanged == {"id": article_id, "version": 4, "status": "unchanged"}
