"""Posting, replies, edits, deletes, votes, paging and counts against the real MongoDB and Kafka."""

from collections.abc import Callable
from typing import Any

from newsflow_contracts import COUNTS_IDS_MAX
from newsflow_kit.testing import eventually

Api = Any  # the conftest helper (fixtures `api`, `make_api`)


def test_post_and_replies_nest_three_deep(api: Api) -> None:
    api.known("a1")
    created = api.posted("a1", "First!")
    assert created["comment"]["status"] == "visible" and created["comment"]["depth"] == 0
    assert created["edit_token"]
    parent = created["comment"]["id"]
    for depth in (1, 2, 3):
        reply = api.posted("a1", f"reply at {depth}", parent=parent, name=f"R{depth}")["comment"]
        assert reply["depth"] == depth and reply["parent_id"] == parent
        parent = reply["id"]
    too_deep = api.post("a1", "one too many", parent=parent)
    assert too_deep.status_code == 422
    assert too_deep.headers["content-type"] == "application/problem+json"
    assert too_deep.json()["errors"][0]["field"] == "parent_id"
    [root] = api.thread("a1")["items"]
    assert root["body"] == "First!"
    assert root["replies"][0]["replies"][0]["replies"][0]["body"] == "reply at 3"
    api.known("a2")
    assert api.post("a2", "reply across articles", parent=root["id"]).status_code == 422


def test_bad_input_is_refused_with_the_field_named(api: Api) -> None:
    api.known("a1")
    cases = [
        ({"author_name": "Ann", "body": ""}, "body"),
        ({"author_name": "Ann", "body": "x" * 5001}, "body"),
        ({"author_name": "Ann", "body": "bell\x07"}, "body"),
        ({"author_name": "", "body": "hi"}, "author_name"),
        ({"author_name": "A" * 51, "body": "hi"}, "author_name"),
        ({"author_name": "evil\u202e", "body": "hi"}, "author_name"),
        ({"author_name": "Ann", "body": "hi", "parent_id": "../x"}, "parent_id"),
        ({"author_name": "Ann", "body": "hi", "extra": 1}, "extra"),
    ]
    for payload, field in cases:
        r = api.client.post("/articles/a1/comments", json=payload)
        assert r.status_code == 422, payload
        assert r.json()["errors"][0]["field"].endswith(field), r.json()
    assert api.client.get("/articles/a1/comments", params={"cursor": "garbage"}).status_code == 422
    assert api.client.get("/articles/a1/comments", params={"sort": "best"}).status_code == 422
    assert api.count("a1") == 0


def test_hostile_markup_is_stored_and_returned_as_inert_text(api: Api) -> None:
    api.known("a1")
    payloads = [
        "<script>alert('x')</script>",
        '<img src=x onerror="alert(1)">',
        "</script><script>alert(document.cookie)</script>",
        "&lt;b&gt; and \u2028 line separator",
    ]
    for i, payload in enumerate(payloads):
        api.posted("a1", payload, name=f"<b>Mallory {i}</b>", ip=f"10.1.0.{i}")
    r = api.client.get("/articles/a1/comments")
    assert r.headers["content-type"].startswith("application/json")
    assert b"<" not in r.content and b">" not in r.content and b"&" not in r.content
    items = r.json()["items"]
    assert [c["body"] for c in items] == payloads
    assert items[0]["author_name"] == "<b>Mallory 0</b>"


def test_edit_needs_the_token(api: Api) -> None:
    api.known("a1")
    created = api.posted("a1", "tpyo")
    cid, token = created["comment"]["id"], created["edit_token"]
    assert api.client.patch(f"/comments/{cid}", json={"body": "x"}).status_code == 403
    assert api.client.patch(f"/comments/{cid}", json={"body": "x"}, headers={"X-Edit-Token": "nope"}).status_code == 403
    assert (
        api.client.patch("/comments/unknown1", json={"body": "x"}, headers={"X-Edit-Token": token}).status_code == 404
    )
    edited = api.client.patch(f"/comments/{cid}", json={"body": "typo"}, headers={"X-Edit-Token": token})
    assert edited.status_code == 200, edited.text
    assert edited.json()["body"] == "typo" and edited.json()["edited_at"] is not None
    spammy = api.client.patch(
        f"/comments/{cid}", json={"body": "http://a.test http://b.test http://c.test"}, headers={"X-Edit-Token": token}
    )
    assert spammy.status_code == 422
    assert api.thread("a1")["items"][0]["body"] == "typo"


def test_edit_window_closes(make_api: Callable[..., Api]) -> None:
    api = make_api(edit_window_s=0.5)
    api.known("a1")
    created = api.posted("a1", "quick")
    cid, token = created["comment"]["id"], created["edit_token"]

    def closed() -> bool:
        r = api.client.patch(f"/comments/{cid}", json={"body": "late edit"}, headers={"X-Edit-Token": token})
        return r.status_code == 403

    eventually(closed, timeout=5)
    assert api.thread("a1")["items"][0]["body"] in ("quick", "late edit")
    assert api.client.delete(f"/comments/{cid}", headers={"X-Edit-Token": token}).status_code == 204


def test_delete_leaves_a_placeholder_while_replies_exist(api: Api) -> None:
    api.known("a1")
    parent = api.posted("a1", "parent text", name="P")
    reply = api.posted("a1", "a reply", parent=parent["comment"]["id"], name="R")
    pid, rid = parent["comment"]["id"], reply["comment"]["id"]
    assert api.client.delete(f"/comments/{pid}", headers={"X-Edit-Token": "wrong"}).status_code == 403
    assert api.client.delete(f"/comments/{pid}", headers={"X-Edit-Token": parent["edit_token"]}).status_code == 204
    assert api.client.delete(f"/comments/{pid}", headers={"X-Edit-Token": parent["edit_token"]}).status_code == 204
    [placeholder] = api.thread("a1")["items"]
    assert placeholder["status"] == "removed"
    assert placeholder["body"] == "" and placeholder["author_name"] == ""
    assert placeholder["replies"][0]["body"] == "a reply"
    assert api.count("a1") == 1
    assert api.post("a1", "reply to removed", parent=pid).status_code == 409
    assert api.client.delete(f"/comments/{rid}", headers={"X-Edit-Token": reply["edit_token"]}).status_code == 204
    assert api.thread("a1")["items"] == []
    assert api.count("a1") == 0
    assert api.client.delete("/comments/nope1", headers={"X-Edit-Token": "x"}).status_code == 404


def test_identical_post_within_a_minute_is_one_comment(make_api: Callable[..., Api]) -> None:
    api = make_api(duplicate_window_s=86400)  # one fixed window: the two posts cannot straddle a boundary
    api.known("a1")
    first = api.post("a1", "double click")
    again = api.post("a1", "double click")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert api.post("a1", "double click", ip="10.9.9.9").status_code == 201
    assert api.count("a1") == 2


def test_votes_one_per_reader_and_top_order(api: Api) -> None:
    api.known("a1")
    ids = [api.posted("a1", f"comment {i}", ip=f"10.2.0.{i}")["comment"]["id"] for i in range(3)]

    def vote(cid: str, value: int, ip: str) -> dict[str, int]:
        r = api.client.post(f"/comments/{cid}/votes", json={"value": value}, headers={"X-Client-IP": ip})
        assert r.status_code == 200, r.text
        return dict(r.json())

    assert vote(ids[2], 1, "10.3.0.1")["score"] == 1
    assert vote(ids[2], 1, "10.3.0.1")["score"] == 1  # the same reader again: still one vote
    assert vote(ids[2], 1, "10.3.0.2")["score"] == 2
    assert vote(ids[1], 1, "10.3.0.1")["score"] == 1
    assert vote(ids[0], -1, "10.3.0.1")["score"] == -1
    assert vote(ids[0], 1, "10.3.0.1")["score"] == 1  # changed its mind: -1 → +1
    assert vote(ids[0], -1, "10.3.0.2")["score"] == 0
    api.fold_scores()  # what the worker does every pass
    assert [c["id"] for c in api.thread("a1", sort="top")["items"]] == [ids[2], ids[1], ids[0]]
    assert [c["score"] for c in api.thread("a1", sort="top")["items"]] == [2, 1, 0]
    assert api.client.post(f"/comments/{ids[0]}/votes", json={"value": 2}).status_code == 422
    assert api.client.post("/comments/nope1/votes", json={"value": 1}).status_code == 404


def test_paging_has_no_gaps_or_repeats_while_comments_arrive(make_api: Callable[..., Api]) -> None:
    api = make_api(author_per_minute=100, author_per_hour=100, address_per_minute=100, address_per_hour=100)
    api.known("a1")
    before = [api.posted("a1", f"early {i}")["comment"]["id"] for i in range(7)]
    for sort in ("oldest", "newest", "top"):
        seen: list[str] = []
        cursor = None
        for page_no in range(10):
            page = api.thread("a1", sort=sort, limit=3, **({"cursor": cursor} if cursor else {}))
            seen += [c["id"] for c in page["items"]]
            api.posted("a1", f"late {sort} {page_no}")  # arrives while the reader pages
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)), sort
        assert set(before) <= set(seen), sort
    oldest = [c["id"] for c in api.thread("a1", sort="oldest", limit=100)["items"]]
    assert oldest[:7] == before
    newest = [c["id"] for c in api.thread("a1", sort="newest", limit=100)["items"]]
    assert newest == oldest[::-1]


def test_counts_single_and_batch(api: Api) -> None:
    api.known("a1", "a2")
    for i in range(3):
        api.posted("a1", f"c{i}", ip=f"10.4.0.{i}")
    api.posted("a2", "only one")
    assert api.client.get("/articles/a1/comments/count").json() == {"article_id": "a1", "count": 3}
    r = api.client.post("/comments/counts", json={"article_ids": ["a1", "a2", "unknown"]})
    assert r.json() == {"counts": {"a1": 3, "a2": 1, "unknown": 0}}
    assert api.client.post("/comments/counts", json={"article_ids": []}).status_code == 422
    most = [f"x{n}" for n in range(COUNTS_IDS_MAX)]  # the limit the gateway applies too (libs/contracts)
    assert api.client.post("/comments/counts", json={"article_ids": most}).status_code == 200
    assert api.client.post("/comments/counts", json={"article_ids": [*most, "one-more"]}).status_code == 422


def test_rate_limits_per_author_and_per_address(make_api: Callable[..., Api]) -> None:
    api = make_api(author_per_minute=3, address_per_minute=5)
    api.known("a1")
    for i in range(3):
        api.posted("a1", f"burst {i}", ip="10.5.0.1")
    limited = api.post("a1", "one more", ip="10.5.0.1")
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.json()["status"] == 429
    assert api.post("a1", "burst 0", ip="10.5.0.1").status_code == 200  # a retry is not a new post
    # Another device behind the same address: its own author limit, but the address limit (5) is shared,
    # and refused attempts count too (3 posts + 1 refused so far).
    other = {"X-Client-IP": "10.5.0.1", "User-Agent": "another browser"}
    statuses = [
        api.client.post("/articles/a1/comments", json={"author_name": "B", "body": f"b{i}"}, headers=other).status_code
        for i in range(3)
    ]
    assert statuses == [201, 429, 429]
    assert api.post("a1", "different network", ip="10.6.0.1").status_code == 201
