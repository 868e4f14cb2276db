"""Through the gateway only: publish, search, read with comments and related, comment, moderate; auth failures."""

from collections.abc import Callable
from typing import Any

import httpx

from newsflow_kit.testing import eventually


def test_publish_search_read_comment_and_moderate(
    platform: Any, new_publisher: Callable[[], Any], article: Callable[..., dict[str, Any]],
    wait_searchable: Callable[[str, int], dict[str, Any]], word: str,
) -> None:  # fmt: skip
    publisher = new_publisher()
    with platform.client(publisher.key) as pub:
        first = pub.post("/v1/articles", json=article(word, 1))
        assert first.status_code == 201, first.text
        again = pub.post("/v1/articles", json=article(word, 1))
        assert again.status_code == 200 and again.json()["status"] == "unchanged"
        batch = pub.post("/v1/articles:batch", json={"items": [article(word, n) for n in (2, 3)]})
        assert batch.status_code == 200 and all("id" in item for item in batch.json()["items"]), batch.text
    article_id = first.json()["id"]

    page = wait_searchable(word, 3)
    assert article_id in {item["id"] for item in page["items"]}
    assert any(b["value"] == publisher.source_id for b in page["facets"]["sources"])

    reader = platform.client()
    key = {"Idempotency-Key": f"first-comment-{word}"}
    comment_url, payload = f"/v1/articles/{article_id}/comments", {"author_name": "Ann", "body": "Good news."}
    posted = reader.post(comment_url, json=payload, headers=key)
    assert posted.status_code == 201, posted.text
    comment, token = posted.json()["comment"], posted.json()["edit_token"]
    retried = reader.post(comment_url, json=payload, headers=key)  # the answer was lost: same key, same comment
    assert retried.status_code == 200 and retried.json()["comment"]["id"] == comment["id"], retried.text
    if comment["status"] == "pending":  # a new author's first comment waits for a moderator
        with platform.admin() as admin:
            queue = admin.get("/v1/admin/comments/queue").json()
            assert comment["id"] in {c["id"] for c in queue["items"]}
            approved = admin.post(f"/v1/admin/comments/{comment['id']}:approve")
            assert approved.status_code == 200, approved.text
    edited = reader.patch(
        f"/v1/comments/{comment['id']}", json={"body": "Very good news."}, headers={"X-Edit-Token": token}
    )
    assert edited.status_code == 200 and edited.json()["body"] == "Very good news."
    wrong = reader.patch(f"/v1/comments/{comment['id']}", json={"body": "x"}, headers={"X-Edit-Token": "nope"})
    assert wrong.status_code == 403 and wrong.headers["content-type"] == "application/problem+json"
    assert reader.post(f"/v1/comments/{comment['id']}/votes", json={"value": 1}).status_code == 200

    def read_page() -> dict[str, Any] | None:
        body = reader.get(f"/v1/articles/{article_id}").json()
        return body if body["comment_count"] == 1 and body["related"] else None

    detail = eventually(read_page, timeout=20, interval=0.5)
    assert detail["article"]["id"] == article_id and detail["missing"] == []
    assert article_id not in {r["id"] for r in detail["related"]}

    def with_ai() -> dict[str, Any] | None:  # the embedder makes related hybrid, the summarizer adds the AI block
        body = reader.get(f"/v1/articles/{article_id}").json()
        return body if body["ai"]["status"] == "ready" and body["related_method"] == "hybrid" else None

    enriched = eventually(with_ai, timeout=60, interval=0.5)
    assert enriched["ai"]["summary"] and enriched["related_note"] is None and enriched["missing"] == []
    thread = reader.get(f"/v1/articles/{article_id}/comments").json()
    assert [c["id"] for c in thread["items"]] == [comment["id"]]
    counts = reader.post("/v1/comments/counts", json={"article_ids": [article_id]}).json()
    assert counts["counts"][article_id] == 1

    with platform.admin() as admin:
        removed = admin.post(f"/v1/admin/comments/{comment['id']}:remove")
        assert removed.status_code == 200, removed.text
        assert admin.get("/v1/admin/comments/queue").status_code == 200
        assert admin.get(f"/v1/admin/sources/{publisher.source_id}/status").status_code == 200
    assert reader.get(f"/v1/articles/{article_id}/comments").json()["items"] == []
    assert reader.get(f"/v1/articles/{article_id}/comments/count").json()["count"] == 0


def test_each_auth_failure_has_its_status(
    platform: Any, new_publisher: Callable[[], Any], article: Callable[..., dict[str, Any]], word: str
) -> None:
    mine, theirs = new_publisher(), new_publisher()
    with platform.client(theirs.key) as other:
        published = other.post("/v1/articles", json=article(word, 1))
        assert published.status_code == 201, published.text
    their_article = published.json()["id"]
    anonymous = platform.client()
    assert anonymous.post("/v1/articles", json=article(word, 2)).status_code == 401
    assert anonymous.get("/v1/admin/keys").status_code == 401
    with platform.client(mine.key) as pub:
        assert pub.get("/v1/admin/keys").status_code == 403  # wrong role
        assert pub.delete(f"/v1/articles/{their_article}").status_code == 403  # other source's article
        other_source = pub.post("/v1/articles", json=article(word, 3, source_id=theirs.source_id))
        assert other_source.status_code == 403
        with platform.admin() as admin:
            assert admin.delete(f"/v1/admin/keys/{mine.key_id}").status_code == 200
        assert pub.post("/v1/articles", json=article(word, 4)).status_code == 401  # revoked
    with platform.client(theirs.key) as other:
        retracted = other.delete(f"/v1/articles/{their_article}")
        assert retracted.status_code == 200 and retracted.json()["status"] == "retracted"
    assert httpx.get(f"{platform.url}/v1/articles/{their_article}").status_code == 404


def test_errors_are_problem_details_without_internals(platform: Any) -> None:
    reader = platform.client()
    missing = reader.get("/v1/articles/does-not-exist")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert "127.0.0.1" not in missing.text and "Traceback" not in missing.text
    bad = reader.get("/v1/search", params={"size": 1000})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].endswith("size")
