"""Moderation paths: pre-moderation of new authors, content policy, approve, reject, remove, bans."""

from typing import Any

Api = Any  # the conftest helper (fixtures `api`, `make_api`)


def queue_ids(api: Api) -> list[str]:
    return [c["id"] for c in api.client.get("/moderation/queue").json()["items"]]


def test_first_comment_of_a_new_author_waits_for_approval(api: Api) -> None:
    api.policy(premoderate_new_authors=True)
    api.known("a1")
    held = api.posted("a1", "hello, first time here")["comment"]
    assert held["status"] == "pending"
    assert api.thread("a1")["items"] == [] and api.count("a1") == 0
    [item] = api.client.get("/moderation/queue").json()["items"]
    assert item["id"] == held["id"] and item["hold_reasons"] == ["new-author"]
    assert len(item["author_fingerprint"]) == 32
    approved = api.client.post(f"/moderation/comments/{held['id']}:approve")
    assert approved.status_code == 200 and approved.json()["status"] == "visible"
    assert queue_ids(api) == [] and api.count("a1") == 1
    assert api.posted("a1", "second comment, now known")["comment"]["status"] == "visible"
    assert api.posted("a1", "someone new", ip="10.7.0.2")["comment"]["status"] == "pending"
    assert api.client.post("/moderation/comments/nope1:approve").status_code == 404


def test_policy_holds_links_banned_words_and_spam(api: Api) -> None:
    api.policy(banned_words=["Scam", "  casino "], max_links=2)
    policy = api.client.get("/moderation/policy").json()
    assert policy["banned_words"] == ["casino", "scam"] and policy["premoderate_new_authors"] is False
    api.known("a1")
    cases = {
        "links": "see https://a.test, https://b.test and https://c.test",
        "banned-words": "best CASINO in town",
        "spam": "WHY DOES NOBODY TALK ABOUT THIS ENORMOUS PROBLEM",
    }
    for i, (reason, body) in enumerate(cases.items()):
        comment = api.posted("a1", body, ip=f"10.8.0.{i}")["comment"]
        assert comment["status"] == "pending", reason
    reasons = [c["hold_reasons"] for c in api.client.get("/moderation/queue").json()["items"]]
    assert reasons == [["links"], ["banned-words"], ["spam"]]
    assert api.posted("a1", "two links are fine: https://a.test https://b.test")["comment"]["status"] == "visible"
    assert api.client.put("/moderation/policy", json={"max_links": -1}).status_code == 422
    assert api.client.put("/moderation/policy", json={"unknown": True}).status_code == 422


def test_reject_and_remove(api: Api) -> None:
    api.policy(banned_words=["junk"])
    api.known("a1")
    held = api.posted("a1", "junk mail")["comment"]
    rejected = api.client.post(f"/moderation/comments/{held['id']}:reject")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert queue_ids(api) == [] and api.thread("a1")["items"] == []
    shown = api.posted("a1", "a fine comment", ip="10.9.0.1")["comment"]
    assert api.client.post(f"/moderation/comments/{shown['id']}:reject").status_code == 409
    removed = api.client.post(f"/moderation/comments/{shown['id']}:remove")
    assert removed.status_code == 200 and removed.json()["status"] == "removed" and removed.json()["body"] == ""
    assert api.thread("a1")["items"] == [] and api.count("a1") == 0
    assert api.client.post(f"/moderation/comments/{shown['id']}:approve").status_code == 409


def test_banned_authors_can_neither_post_nor_vote(api: Api) -> None:
    api.known("a1")
    troll = api.posted("a1", "trolling", ip="10.10.0.1")["comment"]
    other = api.posted("a1", "a fine comment", ip="10.10.0.2")["comment"]
    ban = api.client.post("/moderation/bans", json={"comment_id": troll["id"]})
    assert ban.status_code == 201
    assert api.post("a1", "again", ip="10.10.0.1").status_code == 403
    troll_headers = {"X-Client-IP": "10.10.0.1", "User-Agent": "pytest"}
    vote = api.client.post(f"/comments/{other['id']}/votes", json={"value": -1}, headers=troll_headers)
    assert vote.status_code == 403
    fingerprint = ban.json()["fingerprint"]
    assert api.client.post("/moderation/bans", json={"fingerprint": fingerprint}).status_code == 201
    assert api.client.post("/moderation/bans", json={}).status_code == 422
    assert api.client.post("/moderation/bans", json={"comment_id": "nope1"}).status_code == 404
    assert api.post("a1", "still fine", ip="10.10.0.3").status_code == 201
