"""Two api replicas and the worker as real processes on one database: no write is lost or doubled.

FerretDB does not isolate concurrent updates of one document, so these tests fail with any
read-modify-write counter (the old ``$inc`` of a score ended far below the number of votes).
"""

import asyncio
import itertools
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from newsflow_comments.store import ArticleRefs
from newsflow_kit.settings import MongoSettings
from newsflow_kit.testing import ServiceProcess, eventually

from .conftest import OPEN_POLICY, article

VOTERS = 300
LIMITS = {
    "NEWSFLOW_COMMENTS__AUTHOR_PER_MINUTE": "1000",
    "NEWSFLOW_COMMENTS__AUTHOR_PER_HOUR": "1000",
    "NEWSFLOW_COMMENTS__ADDRESS_PER_MINUTE": "1000",
    "NEWSFLOW_COMMENTS__ADDRESS_PER_HOUR": "1000",
    "NEWSFLOW_COMMENTS__POLICY_CACHE_S": "0",
}


@pytest.fixture
def db(mongo_database: MongoSettings) -> Any:
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_database.uri, tz_aware=True)
    yield client[mongo_database.database]
    client.close()


@pytest.fixture
def replicas(comments_role: Callable[..., ServiceProcess], db: Any) -> list[str]:
    urls = [comments_role("api", **LIMITS).url for _ in range(2)]
    ArticleRefs(db).apply([article("a1")])
    assert httpx.put(f"{urls[0]}/moderation/policy", json=OPEN_POLICY, timeout=10).status_code == 200
    return urls


def reader(i: int) -> dict[str, str]:
    return {"X-Client-IP": f"10.{i // 250}.{i % 250}.7", "User-Agent": "replica-test"}


@pytest.mark.usefixtures("worker")
def test_600_concurrent_votes_on_two_replicas_give_exact_scores(replicas: list[str], db: Any) -> None:
    comments = []
    for i in range(3):
        r = httpx.post(
            f"{replicas[i % 2]}/articles/a1/comments",
            json={"author_name": "A", "body": f"c{i}"},
            headers=reader(1000 + i),
            timeout=10,
        )
        assert r.status_code == 201, r.text
        comments.append(r.json()["comment"]["id"])
    rng = random.Random(9)
    plans = []  # per voter: two votes, one after the other; the voters run concurrently
    for voter in range(VOTERS):
        first = (rng.choice(comments), rng.choice((1, -1)))
        second = (first[0], -first[1]) if voter % 2 else (rng.choice(comments), rng.choice((1, -1)))
        plans.append((voter, [first, second]))
    final: dict[tuple[str, int], int] = {}
    for voter, votes in plans:
        for comment_id, value in votes:
            final[(comment_id, voter)] = value
    expected = Counter()
    for (comment_id, _), value in final.items():
        expected[comment_id] += value
    turn = itertools.count()

    async def cast(client: httpx.AsyncClient, gate: asyncio.Semaphore, voter: int, votes: list[Any]) -> list[int]:
        statuses = []
        async with gate:
            for comment_id, value in votes:
                url = f"{replicas[next(turn) % 2]}/comments/{comment_id}/votes"
                r = await client.post(url, json={"value": value}, headers=reader(voter))
                statuses.append(r.status_code)
        return statuses

    async def run() -> list[list[int]]:
        gate = asyncio.Semaphore(60)
        async with httpx.AsyncClient(timeout=60) as client:
            return await asyncio.gather(*(cast(client, gate, voter, votes) for voter, votes in plans))

    statuses = [s for per_voter in asyncio.run(run()) for s in per_voter]
    assert statuses == [200] * 2 * VOTERS
    assert db["votes"].count_documents({}) == len(final)

    def exact() -> bool:
        for url in replicas:
            items = httpx.get(f"{url}/articles/a1/comments", params={"sort": "top"}, timeout=10).json()["items"]
            got = {c["id"]: c["score"] for c in items}
            assert got == {c: expected[c] for c in comments}, (got, dict(expected))
        return True

    eventually(exact, timeout=60, interval=0.5)
    order = [c["id"] for c in httpx.get(f"{replicas[1]}/articles/a1/comments", params={"sort": "top"}).json()["items"]]
    assert [expected[c] for c in order] == sorted((expected[c] for c in comments), reverse=True)


def test_concurrent_edits_and_moderation_on_two_replicas_never_lose_a_change(replicas: list[str], db: Any) -> None:
    r = httpx.post(
        f"{replicas[0]}/articles/a1/comments", json={"author_name": "A", "body": "v1"}, headers=reader(1), timeout=10
    )
    created = r.json()
    cid, token = created["comment"]["id"], created["edit_token"]

    async def edit(client: httpx.AsyncClient, i: int) -> httpx.Response:
        return await client.patch(
            f"{replicas[i % 2]}/comments/{cid}", json={"body": f"edit {i}"}, headers={"X-Edit-Token": token}
        )

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as client:
            return await asyncio.gather(*(edit(client, i) for i in range(30)))

    answers = asyncio.run(run())
    assert {a.status_code for a in answers} <= {200, 409}
    accepted = [a.json() for a in answers if a.status_code == 200]
    assert accepted
    revisions = sorted(db["revisions"].find({"comment_id": cid}), key=lambda d: d["version"])
    assert [d["version"] for d in revisions] == list(range(2, 2 + len(revisions)))  # no gap, no duplicate
    assert len(revisions) == len(accepted)
    stored = db["comments"].find_one({"_id": cid})
    assert stored["version"] == 1 + len(revisions)
    assert stored["body"] == revisions[-1]["set"]["body"]  # the last accepted edit is what is stored

    # Moderation racing an author's delete: exactly one removal is recorded, whoever wins.
    async def race() -> list[int]:
        async with httpx.AsyncClient(timeout=60) as client:
            calls = [client.post(f"{replicas[i % 2]}/moderation/comments/{cid}:remove") for i in range(5)]
            calls += [
                client.delete(f"{replicas[i % 2]}/comments/{cid}", headers={"X-Edit-Token": token}) for i in range(5)
            ]
            return [r.status_code for r in await asyncio.gather(*calls)]

    assert set(asyncio.run(race())) <= {200, 204, 409}
    removals = [d for d in db["revisions"].find({"comment_id": cid}) if d["set"].get("status") == "removed"]
    assert len(removals) == 1
    assert db["comments"].find_one({"_id": cid})["status"] == "removed"
