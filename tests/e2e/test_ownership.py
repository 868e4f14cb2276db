"""Issue 11.1 and 9.5 through the gateway: keys bound to sources, the first publisher owns the URL,
retraction stays final until the owner restores."""

from collections.abc import Callable
from typing import Any


def test_publisher_b_cannot_take_over_move_or_retract_as_article(
    platform: Any, new_publisher: Callable[[], Any], article: Callable[..., dict[str, Any]], word: str
) -> None:
    a, b = new_publisher(), new_publisher()
    original = article(word, 1)
    with platform.client(a.key) as pub_a, platform.client(b.key) as pub_b:
        created = pub_a.post("/v1/articles", json=original)
        assert created.status_code == 201, created.text
        article_id = created.json()["id"]

        hijack = {**original, "body": f"{word} hijacked text."}
        taken = pub_b.post("/v1/articles", json=hijack)
        assert taken.status_code == 409 and taken.json()["type"].endswith("/article-owned-by-another-source")
        batch = pub_b.post("/v1/articles:batch", json={"items": [hijack]}).json()["items"]
        assert batch[0]["error"]["status"] == 409
        assert pub_b.delete(f"/v1/articles/{article_id}").status_code == 403
        assert pub_b.post(f"/v1/articles/{article_id}:restore").status_code == 403

        stored = platform.client().get(f"/v1/articles/{article_id}").json()["article"]
        assert (stored["source_id"], stored["version"]) == (a.source_id, 1)

        assert pub_a.delete(f"/v1/articles/{article_id}").json()["status"] == "retracted"
        again = pub_a.post("/v1/articles", json=original)
        assert again.status_code == 409 and again.json()["type"].endswith("/article-retracted")
        restored = pub_a.post(f"/v1/articles/{article_id}:restore")
        assert restored.status_code == 200 and restored.json()["status"] == "restored"
        assert pub_a.post("/v1/articles", json=hijack).json()["status"] == "updated"
