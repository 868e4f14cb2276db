"""``newsflow-comments projection``: the service's own view of articles.v1 (which articles exist
and which are retracted).

A :class:`ConsumerLoop` (group ``COMMENTS__PROJECTION_GROUP``) upserts ``article_refs``
{_id, status, version}; only a newer version wins, so replays and reordering are harmless. The
articles topic is keyed by article id, so one consumer of the group owns an article at a time: its
conditional upsert has no concurrent writer, on FerretDB too. Scale it up to the topic's partitions.
No call to ingest on the write path.
"""

import logging
from typing import Any

from confluent_kafka import Message
from pydantic import ValidationError
from pymongo import MongoClient, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError

from newsflow_comments.settings import Settings
from newsflow_contracts import ArticleData, Envelope
from newsflow_kit.consumer import ConsumerLoop, Poison, run_until_signalled
from newsflow_kit.mongo import sync_mongo

log = logging.getLogger(__name__)
_DUPLICATE_KEY = 11000


def apply_articles(refs: Collection[dict[str, Any]], articles: list[ArticleData]) -> None:
    """Records each article's {status, version}; an older or equal version never overwrites a newer one.

    New articles are inserted (a duplicate means we hold it already), known ones updated only from an
    older version. No upsert that collides: FerretDB answers such a bulk write with a reply pymongo
    cannot read, which would stall the projection on a replayed or reordered event.
    """
    latest: dict[str, ArticleData] = {}
    for a in articles:
        if a.id not in latest or a.version > latest[a.id].version:
            latest[a.id] = a
    if not latest:
        return
    docs = [{"_id": a.id, "status": a.status.value, "version": a.version} for a in latest.values()]
    try:
        refs.insert_many(docs, ordered=False)
        return
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != _DUPLICATE_KEY for e in errors):
            raise
        known = [docs[e["index"]] for e in errors]
    refs.bulk_write(
        [
            UpdateOne(
                {"_id": d["_id"], "version": {"$lt": d["version"]}}, {"$set": {k: d[k] for k in ("status", "version")}}
            )
            for d in known
        ],
        ordered=False,
    )


def handler(refs: Collection[dict[str, Any]]) -> Any:
    def handle(batch: list[Message]) -> list[Poison]:
        articles, poison = [], []
        for msg in batch:
            try:
                articles.append(Envelope[ArticleData].model_validate_json(msg.value() or b"").data)
            except ValidationError as exc:
                poison.append(Poison(msg, "schema-invalid", str(exc)[:500]))
        apply_articles(refs, articles)
        return poison

    return handle


def run(settings: Settings) -> None:
    """Consumes until SIGTERM/SIGINT; the batch in hand finishes and its offsets commit."""
    mongo: MongoClient[dict[str, Any]] = sync_mongo(settings.mongo)
    try:
        loop = ConsumerLoop(
            settings.kafka,
            name="comments-articles",
            group_id=settings.comments.projection_group,
            topics=[settings.kafka.articles_topic],
            handler=handler(mongo[settings.database]["article_refs"]),
        )
        run_until_signalled(loop)
    finally:
        mongo.close()
