"""Store round trips per request (docs/comments.md, "Round trips"), counted with pymongo's command
monitoring, and posts under load: a 503 means not stored, a retry with the same key gets the comment."""

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from pymongo import monitoring

from newsflow_kit.settings import MongoSettings
from newsflow_kit.testing import DatabaseCommands, ServiceProcess, equality_only_store, eventually

from .conftest import OPEN_POLICY, article

Api = Any


class Commands(DatabaseCommands):
    """Counts the commands sent to one database while ``counting``."""

    def during(self, call: Callable[[], Any]) -> tuple[Any, list[str]]:
        self.names = []
        response = call()
        return response, list(self.names)


LISTENER = Commands()
monitoring.register(LISTENER)  # clients built after this (the app's, in its lifespan) report to it


@pytest.fixture
def counted(mongo_database: MongoSettings) -> Iterator[Commands]:
    LISTENER.database = mongo_database.database
    yield LISTENER
    LISTENER.database = None


def test_round_trips_per_request_stay_within_the_budget(
    api: Api, counted: Commands, mongo_database: MongoSettings
) -> None:
    # FerretDB answers ``$or``/``$in`` by a scan, so there they become equality lookups sent together:
    # the rate-limit read is two commands instead of one, a batch count one per article.
    equality_only = equality_only_store(mongo_database.uri)
    api.known("a1", "a2")
    first = api.posted("a1", "warms the article and policy caches")["comment"]
    api.thread("a1")

    r, top_level = counted.during(lambda: api.post("a1", "a top-level comment"))
    assert r.status_code == 201 and len(top_level) <= 4, top_level
    r, reply = counted.during(lambda: api.post("a1", "a reply", parent=first["id"]))
    assert r.status_code == 201 and len(reply) <= 4 + equality_only, reply
    r, retry = counted.during(lambda: api.post("a1", "a reply", parent=first["id"]))
    assert r.status_code == 200 and len(retry) <= 3, retry
    r, thread = counted.during(lambda: api.client.get("/articles/a1/comments"))
    assert r.status_code == 200 and len(r.json()["items"]) == 2 and len(thread) <= 2, thread
    r, batch = counted.during(lambda: api.client.post("/comments/counts", json={"article_ids": ["a1", "a2", "x"]}))
    assert r.json()["counts"] == {"a1": 3, "a2": 0, "x": 0} and len(batch) <= (3 if equality_only else 1), batch
    r, one = counted.during(lambda: api.client.get("/articles/a1/comments/count"))
    assert r.json()["count"] == 3 and len(one) <= 1, one


def test_a_thread_page_read_again_within_the_cache_time_costs_no_store_read(
    make_api: Callable[..., Api], counted: Commands
) -> None:
    api = make_api(thread_cache_s=10)
    api.known("a1")
    first = api.posted("a1", "the first comment")["comment"]
    assert [c["id"] for c in api.thread("a1")["items"]] == [first["id"]]

    r, again = counted.during(lambda: api.client.get("/articles/a1/comments"))
    assert r.status_code == 200 and again == [], again
    # A change this replica did not make (another replica, the worker) waits for the page to expire...
    api.db["comments"].update_one({"_id": first["id"]}, {"$set": {"body": "changed elsewhere"}})
    assert api.thread("a1")["items"][0]["body"] == "the first comment"
    # ...a write through this replica drops the article's pages at once: the writer sees it.
    second = api.posted("a1", "the second comment", ip="10.0.0.2")["comment"]
    r, fresh = counted.during(lambda: api.client.get("/articles/a1/comments"))
    assert [c["id"] for c in r.json()["items"]] == [first["id"], second["id"]] and len(fresh) <= 2, fresh
    assert r.json()["items"][0]["body"] == "changed elsewhere"
    # Other pages and sorts of the thread are pages of their own.
    r, other = counted.during(lambda: api.client.get("/articles/a1/comments", params={"sort": "newest"}))
    assert [c["id"] for c in r.json()["items"]] == [second["id"], first["id"]] and other, other


def test_concurrent_readers_of_one_thread_page_share_one_store_read(
    make_api: Callable[..., Api], counted: Commands
) -> None:
    api = make_api(thread_cache_s=10)
    api.known("a1")
    api.posted("a1", "a comment")
    url = str(api.client.base_url)

    async def readers() -> list[int]:
        transport = httpx.ASGITransport(app=api.client.app)
        async with httpx.AsyncClient(transport=transport, base_url=url) as client:
            answers = await asyncio.gather(*(client.get("/articles/a1/comments") for _ in range(20)))
        return [a.status_code for a in answers]

    statuses, commands = counted.during(lambda: api.client.portal.call(readers))  # type: ignore[union-attr]
    assert statuses == [200] * 20 and len(commands) <= 2, commands


def test_idempotency_key_returns_the_same_comment(api: Api) -> None:
    api.known("a1")
    headers = {"Idempotency-Key": str(uuid.uuid4()), "X-Client-IP": "10.30.0.1", "User-Agent": "pytest"}
    first = api.client.post("/articles/a1/comments", json={"author_name": "A", "body": "once"}, headers=headers)
    again = api.client.post("/articles/a1/comments", json={"author_name": "A", "body": "once"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    other = {**headers, "Idempotency-Key": str(uuid.uuid4())}
    second = api.client.post("/articles/a1/comments", json={"author_name": "A", "body": "once"}, headers=other)
    assert second.status_code == 201 and second.json()["comment"]["id"] != first.json()["comment"]["id"]
    bad = api.client.post(
        "/articles/a1/comments", json={"author_name": "A", "body": "x"}, headers={"Idempotency-Key": "bad key"}
    )
    assert bad.status_code == 422
    assert api.count("a1") == 2


def test_40_concurrent_posts_answer_stored_or_not_stored_and_retries_return_the_comment(
    comments_role: Callable[..., ServiceProcess], mongo_database: MongoSettings
) -> None:
    from pymongo import MongoClient

    from newsflow_comments.store import ArticleRefs

    # A tight deadline so that some posts do hit it on this busy machine.
    url = comments_role(
        "api",
        NEWSFLOW_COMMENTS__POST_DEADLINE_S="0.4",
        NEWSFLOW_COMMENTS__ADDRESS_PER_MINUTE="1000",
        NEWSFLOW_COMMENTS__ADDRESS_PER_HOUR="1000",
    ).url
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_database.uri, tz_aware=True)
    db = client[mongo_database.database]
    try:
        ArticleRefs(db).apply([article("a1")])
        assert httpx.put(f"{url}/moderation/policy", json=OPEN_POLICY, timeout=10).status_code == 200
        keys = [str(uuid.uuid4()) for _ in range(40)]

        def headers(i: int) -> dict[str, str]:
            return {"Idempotency-Key": keys[i], "X-Client-IP": f"10.31.0.{i}", "User-Agent": "pytest"}

        async def one(c: httpx.AsyncClient, i: int) -> tuple[int, dict[str, Any], float]:
            started = time.monotonic()
            r = await c.post(
                f"{url}/articles/a1/comments", json={"author_name": "A", "body": f"post {i}"}, headers=headers(i)
            )
            return r.status_code, r.json(), time.monotonic() - started

        async def burst() -> list[tuple[int, dict[str, Any], float]]:
            async with httpx.AsyncClient(timeout=30) as c:
                return await asyncio.gather(*(one(c, i) for i in range(40)))

        answers = asyncio.run(burst())
        assert {status for status, _, _ in answers} <= {201, 503}, answers
        assert max(seconds for _, _, seconds in answers) < 5, "posts queued for seconds"
        stored = {d["_id"] for d in db["comments"].find({}, {"_id": 1})}
        ids: dict[int, str] = {}
        for i, (status, body, _) in enumerate(answers):
            if status == 201:
                assert body["comment"]["id"] in stored  # the answer is a stored comment
                ids[i] = body["comment"]["id"]
            else:
                assert body["status"] == 503 and "not stored" in body["detail"]

        def retried(i: int) -> str:
            r = httpx.post(
                f"{url}/articles/a1/comments",
                json={"author_name": "A", "body": f"post {i}"},
                headers=headers(i),
                timeout=30,
            )
            assert r.status_code in (200, 201), r.text
            return str(r.json()["comment"]["id"])

        for i in range(40):
            got = eventually(lambda i=i: retried(i), timeout=30)
            assert ids.setdefault(i, got) == got  # a retry returns the comment the first answer named
        assert db["comments"].count_documents({}) == 40  # nothing stored twice, nothing behind a 503 lost
        assert sorted(ids.values()) == sorted(d["_id"] for d in db["comments"].find({}, {"_id": 1}))
    finally:
        client.close()
