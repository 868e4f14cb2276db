"""The comments service's own view of articles.v1: which articles exist and which are retracted.

A :class:`ConsumerLoop` runs in a background thread of the api process and upserts
``article_refs`` {_id, status, version}; only a newer version wins, so replays and reordering are
harmless. No call to ingest on the write path.
"""

import logging
import threading
from typing import Any

from confluent_kafka import Message
from pydantic import ValidationError
from pymongo import MongoClient, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError

from newsflow_comments.settings import Settings
from newsflow_contracts import ArticleData, Envelope
from newsflow_kit.consumer import ConsumerLoop, Poison
from newsflow_kit.mongo import sync_mongo

log = logging.getLogger(__name__)
_DUPLICATE_KEY = 11000


def apply_articles(refs: Collection[dict[str, Any]], articles: list[ArticleData]) -> None:
    """Upserts each article's {status, version}; an older or equal version never overwrites a newer one."""
    if not articles:
        return
    ops = [
        UpdateOne(
            {"_id": a.id, "version": {"$lt": a.version}},
            {"$set": {"status": a.status.value, "version": a.version}},
            upsert=True,
        )
        for a in articles
    ]
    try:
        refs.bulk_write(ops, ordered=False)
    except BulkWriteError as exc:
        # The upsert of an article we already hold at a newer version collides on _id: that is the point.
        real = [e for e in exc.details.get("writeErrors", []) if e.get("code") != _DUPLICATE_KEY]
        if real:
            raise


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


class Projection:
    """The consumer loop and its thread; :meth:`stop` commits and closes."""

    def __init__(self, settings: Settings) -> None:
        self._mongo: MongoClient[dict[str, Any]] = sync_mongo(settings.mongo)
        refs = self._mongo[settings.database]["article_refs"]
        self.loop = ConsumerLoop(
            settings.kafka,
            name="comments-articles",
            group_id=settings.comments.projection_group,
            topics=[settings.kafka.articles_topic],
            handler=handler(refs),
        )
        self._thread = threading.Thread(target=self._run, name="comments-articles", daemon=True)

    def _run(self) -> None:
        try:
            self.loop.run()
        except Exception:
            log.exception("articles projection stopped unexpectedly")

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self.loop.stop()
        self._thread.join(timeout)
        self._mongo.close()
