"""The store reads written for FerretDB's equality-only indexes give what the plain queries give.

``changed_since`` walks 2-second ticks, ``find_in`` sends equality lookups, the rate-limit read splits
its ``$or``: each is checked against the range / ``$in`` / ``$or`` query it replaces, on the real store.
"""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import ASCENDING, AsyncMongoClient

from newsflow_comments.checkpoint import Checkpoint
from newsflow_comments.store import Store, tick_of
from newsflow_kit.mongo import find_in
from newsflow_kit.settings import MongoSettings

Doc = dict[str, Any]


@pytest.fixture
async def store(mongo_database: MongoSettings) -> AsyncIterator[Store]:
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongo_database.uri, tz_aware=True)
    store = Store(client, mongo_database.database)
    await store.ensure_indexes()
    yield store
    await client.close()


def _vote(n: int, at: datetime, *, tagged: bool = True) -> Doc:
    doc: Doc = {"_id": f"c{n % 7}:v{n}", "comment_id": f"c{n % 7}", "value": 1 if n % 3 else -1, "at": at}
    return {**doc, "tick": tick_of(at)} if tagged else doc


async def test_changed_since_walks_ticks_to_exactly_what_a_range_query_finds(store: Store) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    # Three hours of votes, some in the same second (the _id breaks the tie), one a minute ahead.
    times = [now - timedelta(minutes=180 - 7 * n, seconds=n % 2) for n in range(26)] + [now + timedelta(seconds=50)]
    await store.votes.insert_many([_vote(n, at) for n, at in enumerate(times)])
    await store.votes.insert_one(_vote(99, times[5]))  # same time as another vote
    later = now + timedelta(minutes=1)  # a pass whose clock has reached the vote written ahead
    since_times = (now - timedelta(hours=4), now - timedelta(minutes=12, seconds=30), now, now + timedelta(hours=1))
    for since in since_times:
        for limit in (1, 5, 100):
            expected = [
                (d["comment_id"], d["at"])
                for d in await store.votes.find({"at": {"$gte": since}}, {"comment_id": 1, "at": 1})
                .sort([("at", ASCENDING), ("_id", ASCENDING)])
                .limit(limit)
                .to_list()
            ]
            walked = await store.voted_since(since, limit, now=later)
            assert walked == expected, (since, limit)
            assert await store.voted_since(since, limit, now=later, scan=True) == expected
    # A pass reads up to the tick after its own: the vote written 50 s ahead waits for a later pass.
    assert await store.voted_since(now, 100, now=now) == []


async def test_the_first_scan_finds_records_written_without_a_tick(store: Store) -> None:
    now = datetime.now(UTC)
    await store.votes.insert_one(_vote(1, now - timedelta(seconds=5), tagged=False))
    since = now - timedelta(minutes=1)
    assert await store.voted_since(since, 10, now=now) == []  # no tick: only a scan sees it
    assert [c for c, _ in await store.voted_since(since, 10, now=now, scan=True)] == ["c1"]


async def test_find_in_matches_an_in_query_with_and_without_a_condition(store: Store) -> None:
    now = datetime.now(UTC)
    await store.votes.insert_many([_vote(n, now) for n in range(40)])
    wanted = ["c1", "c3", "c3", "missing"]
    plain = await store.votes.find({"comment_id": {"$in": wanted}}).to_list()
    found = await find_in(store.votes, "comment_id", wanted)
    assert sorted(d["_id"] for d in found) == sorted(d["_id"] for d in plain) and len(found) == 12
    narrowed = await find_in(store.votes, "comment_id", wanted, where={"value": -1}, projection={"_id": 1})
    assert sorted(d["_id"] for d in narrowed) == sorted(d["_id"] for d in plain if d["value"] == -1)
    assert set(narrowed[0]) == {"_id"}
    assert await find_in(store.votes, "comment_id", []) == []


async def test_client_marks_are_the_or_of_both_lookups_newest_hits_first(store: Store) -> None:
    now = datetime.now(UTC)
    hour = now - timedelta(minutes=30)
    marks: list[Doc] = [
        {"_id": "ban:fp1", "kind": "ban", "fp": "fp1", "at": now - timedelta(days=30)},
        {"_id": "known:fp1", "kind": "known", "fp": "fp1", "at": now - timedelta(days=20)},
        {"_id": "known:fp2", "kind": "known", "fp": "fp2", "at": now},
    ]
    for n in range(6):  # fp1 from two addresses, fp2 from fp1's first address, one hit too old
        fp, addr = ("fp1", "a1") if n < 3 else ("fp2", "a1") if n < 5 else ("fp1", "a2")
        marks.append({"_id": f"hit:{n}", "kind": "hit", "fp": fp, "addr": addr, "at": now - timedelta(minutes=n)})
    marks.append({"_id": "hit:old", "kind": "hit", "fp": "fp1", "addr": "a1", "at": now - timedelta(hours=2)})
    await store.marks.insert_many(marks)

    found = await store.client_marks("fp1", "a1", hour, limit=50)
    assert [m.id for m in found] == ["ban:fp1", "known:fp1", *(f"hit:{n}" for n in range(6))]
    truncated = await store.client_marks("fp1", "a1", hour, limit=4)
    assert [m.id for m in truncated] == ["ban:fp1", "known:fp1", "hit:0", "hit:1"]


async def test_each_pass_reads_a_second_back_and_the_next_slice_of_the_margin(store: Store) -> None:
    position = datetime.now(UTC).replace(microsecond=0)  # the store keeps milliseconds
    checkpoint = Checkpoint(store, "test", margin_s=10, recent_s=1, slice_s=4)
    await store.save_position("test", position)
    assert await checkpoint.start() == (position - timedelta(seconds=10), True)  # the first: the whole margin
    assert checkpoint.older is None
    slices = []
    for _ in range(4):  # the position stands still: the slices walk the margin and start over
        assert await checkpoint.start() == (position - timedelta(seconds=1), False)
        assert checkpoint.oldest == position - timedelta(seconds=10)
        slices.append(checkpoint.older)
    s = [position - timedelta(seconds=n) for n in (10, 6, 2, 1)]
    assert slices == [(s[0], s[1]), (s[1], s[2]), (s[2], s[3]), (s[0], s[1])]
    moved = position + timedelta(seconds=7)  # the margin moved past the next slice's start: from its start
    await store.save_position("test", moved)
    assert await checkpoint.start() == (moved - timedelta(seconds=1), False)
    assert checkpoint.older == (moved - timedelta(seconds=10), moved - timedelta(seconds=6))


async def test_a_bounded_read_stops_before_until(store: Store) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    times = [now - timedelta(seconds=n) for n in range(10)]
    await store.votes.insert_many([_vote(n, at) for n, at in enumerate(times)])
    since, until = now - timedelta(seconds=6), now - timedelta(seconds=2)
    got = [at for _, at in await store.voted_since(since, 100, now=now, until=until)]
    assert got == [now - timedelta(seconds=n) for n in (6, 5, 4, 3)]
    assert [at for _, at in await store.voted_since(since, 100, now=now, until=until, scan=True)] == got
