"""Two batches of new articles written at once by two replicas: every article answers "created",
and the change log has every change at its own position. Real store, no Kafka."""

import asyncio
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient

from newsflow_contracts import ArticleStatus, EventType
from newsflow_ingest.records import ArticleVersion, Source
from newsflow_ingest.schemas import ArticleIn, ArticleWrite, SourceKind, WriteStatus
from newsflow_ingest.service import Ingestor
from newsflow_ingest.store import ArticlesRepo
from newsflow_kit.settings import MongoSettings

SOURCE = Source(id="wire", name="The Wire", kind=SourceKind.PUSH, language="en")
BODY = "<p>The harbour board met on {n} and approved the dredging plan after a long debate.</p>"


def _batch(tag: str, size: int) -> list[tuple[ArticleIn, Source]]:
    return [
        (
            ArticleIn.model_validate(
                {"title": f"Harbour story {tag}{n}", "url": f"https://wire.example/{tag}/{n}", "body": BODY.format(n=n)}
            ),
            SOURCE,
        )
        for n in range(size)
    ]


async def test_two_concurrent_batches_of_250_are_all_created(mongo_database: MongoSettings) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_database.uri, tz_aware=True)
    try:
        repo = ArticlesRepo(client[mongo_database.database])
        await repo.ensure_indexes()
        other = ArticlesRepo(client[mongo_database.database])  # a second replica: its own next-seq guess
        await other.ensure_indexes()
        first, second = await asyncio.gather(
            Ingestor(repo, None, "unused").ingest_many(_batch("a", 250)),
            Ingestor(other, None, "unused").ingest_many(_batch("b", 250)),
        )
        statuses = [getattr(w, "status", w) for w in [*first, *second]]
        assert statuses.count(WriteStatus.CREATED) == 500, {str(s) for s in statuses}
        seqs = sorted(int(d["_id"]) for d in await repo.versions.find({}, {"_id": 1}).to_list())
        assert seqs == list(range(1, 501))  # every change at its own position, no hole
    finally:
        await client.close()


async def test_an_insert_past_a_taken_seq_reports_every_stored_change(mongo_database: MongoSettings) -> None:
    """250 new versions while another writer holds seq 150: all 250 stored, each reported once."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_database.uri, tz_aware=True)
    try:
        repo = ArticlesRepo(client[mongo_database.database])
        await repo.ensure_indexes()
        await repo.versions.insert_one({"_id": 150, "seq": 150, "bucket": 2, "article_id": "theirs", "version": 1})
        now = datetime.now(UTC)
        versions = [
            ArticleVersion(
                article_id=f"mine-{n}", url=f"https://e.org/{n}", canonical_url=f"https://e.org/{n}", title="t",
                source_id="s", published_at=now, updated_at=now, owner_id="s", version=1,
                status=ArticleStatus.PUBLISHED, event_type=EventType.ARTICLE_PUBLISHED, changed_at=now,
            )
            for n in range(250)
        ]  # fmt: skip
        stored = await repo.append(versions)
        assert sorted(v.article_id for v in stored) == sorted(v.article_id for v in versions)
        assert await repo.versions.count_documents({}) == 251
    finally:
        await client.close()


async def test_a_batch_assumed_new_answers_as_one_that_was_read_first(mongo_database: MongoSettings) -> None:
    """A first import skips the read of the latest versions; articles that existed (unchanged, changed,
    another source's) still come out as unchanged, updated and refused, and no version is doubled."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_database.uri, tz_aware=True)
    try:
        repo = ArticlesRepo(client[mongo_database.database])
        await repo.ensure_indexes()
        ingestor = Ingestor(repo, None, "unused")
        batch = _batch("x", 6)
        other = Source(id="rival", name="The Rival", kind=SourceKind.PUSH, language="en")
        await ingestor.ingest_many([batch[1], batch[3], (batch[5][0], other)])  # 1 and 3 exist, 5 is the rival's
        changed = (batch[3][0].model_copy(update={"body": "<p>The board met again and changed course.</p>"}), SOURCE)
        outcomes = await ingestor.ingest_many(
            [batch[0], batch[1], batch[2], changed, batch[4], batch[5]], assume_new=True
        )
        statuses = [o.status if isinstance(o, ArticleWrite) else type(o).__name__ for o in outcomes]
        assert statuses == [
            WriteStatus.CREATED,
            WriteStatus.UNCHANGED,
            WriteStatus.CREATED,
            WriteStatus.UPDATED,
            WriteStatus.CREATED,
            "OwnedByAnotherSource",
        ]
        versions = await repo.versions.find({}, {"article_id": 1, "version": 1}).to_list()
        assert len(versions) == 3 + 4  # the three before, then three created and one update
        assert len({(v["article_id"], v["version"]) for v in versions}) == len(versions)
    finally:
        await client.close()
