"""Finding due feeds by ``due_tick`` (FerretDB's equality-only indexes) claims what a range query would.

Real store; the sources are written through the repository (which keeps ``due_tick``) or straight
into it without one, as an older version or an operator would.
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import ASCENDING, AsyncMongoClient

from newsflow_ingest.records import PollOutcome, Source
from newsflow_ingest.schemas import SourceKind
from newsflow_ingest.store import SourceLeases, SourcesRepo, due_tick, with_due_tick
from newsflow_kit.settings import MongoSettings

Doc = dict[str, Any]


@pytest.fixture
async def store(mongo_database: MongoSettings) -> AsyncIterator[tuple[SourcesRepo, SourceLeases]]:
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongo_database.uri, tz_aware=True)
    db = client[mongo_database.database]
    repo = SourcesRepo(db)
    await repo.ensure_indexes()
    yield repo, SourceLeases(db)
    await client.close()


def _feed(n: int, next_poll_at: datetime, *, lease_until: datetime, paused: bool = False) -> Source:
    return Source(id=f"s{n:03}", name=f"feed {n}", paused=paused, next_poll_at=next_poll_at, lease_until=lease_until)


def _raw(n: int, next_poll_at: datetime, *, lease_until: datetime) -> Doc:
    """A feed as an older version or an operator wrote it: no ``due_tick``."""
    return {"_id": f"s{n:03}", "name": f"feed {n}", "kind": "feed", "paused": False, "lease_epoch": 0,
            "next_poll_at": next_poll_at, "lease_until": lease_until}  # fmt: skip


async def test_claims_match_a_range_query_oldest_due_first(store: tuple[SourcesRepo, SourceLeases]) -> None:
    repo, leases = store
    now = datetime.now(UTC).replace(microsecond=0)
    for n in range(60):  # due over the last 20 minutes, due soon, leased, paused
        at = now - timedelta(seconds=20 * n) if n < 40 else now + timedelta(seconds=5 + n)
        leased = now + timedelta(seconds=30) if n % 7 == 3 else now - timedelta(hours=1)
        await repo.create(_feed(n, at, lease_until=leased, paused=n % 11 == 5))
    await repo.create(Source(id="push", name="push", kind=SourceKind.PUSH))
    range_query = {"kind": "feed", "paused": False, "next_poll_at": {"$lte": now}, "lease_until": {"$lte": now}}
    expected = [s["_id"] for s in await leases.sources.find(range_query).sort("next_poll_at", ASCENDING).to_list()]
    assert len(expected) > 25

    first = await leases.claim_due(owner="p1", limit=10, lease_s=60, now=now)
    assert [s.id for s in first] == expected[:10]
    rest = await leases.claim_due(owner="p1", limit=100, lease_s=60, now=now)
    assert [s.id for s in rest] == expected[10:]
    assert await leases.claim_due(owner="p1", limit=100, lease_s=60, now=now) == []
    claimed = await leases.sources.find({"lease_owner": "p1"}, {"next_poll_at": 1, "due_tick": 1}).to_list()
    assert all(s["due_tick"] == due_tick(s["next_poll_at"]) for s in claimed)  # the lease moved the tick on


async def test_a_feed_made_due_later_or_written_without_a_tick_is_claimed(
    store: tuple[SourcesRepo, SourceLeases],
) -> None:
    repo, leases = store
    now = datetime.now(UTC)
    past = now - timedelta(hours=1)
    await repo.create(_feed(1, now + timedelta(hours=2), lease_until=past))
    assert await leases.claim_due(owner="p", limit=10, lease_s=60, now=now) == []  # the walk is at now's tick

    await repo.resume("s001", now)  # due now, through the repository
    await leases.sources.insert_one(_raw(2, past, lease_until=past))  # straight into the store, no tick
    later = now + timedelta(seconds=1)
    mine = [s.id for s in await leases.claim_due(owner="p", limit=10, lease_s=60, now=later)]
    fresh = SourceLeases(leases.sources.database)  # a poller starting: reads every feed once, adds ticks
    theirs = [s.id for s in await fresh.claim_due(owner="q", limit=10, lease_s=60, now=later)]
    assert "s001" in mine and sorted(mine + theirs) == ["s001", "s002"]  # (FerretDB: s002 only after a read of all)
    stored = await leases.sources.find_one({"_id": "s002"})
    assert stored is not None and stored["due_tick"] == due_tick(stored["next_poll_at"])
    assert with_due_tick({"name": "x"}) == {"name": "x"}  # no next_poll_at, no tick


def _polled(at: datetime, next_poll_at: datetime) -> PollOutcome:
    return PollOutcome(
        fetched_at=at,
        status=200,
        error=None,
        error_kind=None,
        problems=(),
        consecutive_errors=0,
        next_poll_at=next_poll_at,
        interval_s=3600,
    )


async def test_the_end_of_a_poll_is_never_overwritten_by_a_renewal(store: tuple[SourcesRepo, SourceLeases]) -> None:
    """Renewals racing the ends of polls: every poll's outcome stands (FerretDB writes an update back
    whole, so an unordered renewal once put the lease back and the feed was fetched twice)."""
    repo, leases = store
    now = datetime.now(UTC).replace(microsecond=0)
    for n in range(64):
        await repo.create(_feed(n, now - timedelta(seconds=1), lease_until=now - timedelta(seconds=1)))
    for round_ in range(8):
        at = now + timedelta(seconds=round_)
        later = at + timedelta(hours=1)
        await repo.sources.update_many({}, {"$set": with_due_tick({"next_poll_at": at, "lease_until": at})})
        claimed = await leases.claim_due(owner="me", limit=64, lease_s=60, now=at)
        ids = [s.id for s in claimed]
        assert len(ids) == 64
        await asyncio.gather(
            *(leases.renew(ids[k:] + ids[:k], owner="me", lease_s=60) for k in range(0, 64, 16)),
            *(leases.finish(i, owner="me", outcome=_polled(at, later), now=at) for i in ids),
        )
        stored = await repo.sources.find({}, {"lease_owner": 1, "next_poll_at": 1}).to_list()
        assert {(s["lease_owner"], s["next_poll_at"]) for s in stored} == {(None, later)}, round_
