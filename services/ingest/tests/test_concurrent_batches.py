"""Two batches of new articles written at once by two replicas: every article answers "created",
and the change log has every change at its own position. Real store, no Kafka."""

import asyncio
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient

from newsflow_contracts import ArticleStatus, EventType
from newsflow_ingest.records import ArticleVersion, Source
from newsflow_ingest.schemas import ArticleIn, SourceKind, WriteStatus
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
