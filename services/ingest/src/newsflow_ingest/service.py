"""Ingesting one article: normalise, store a version if it changed, publish it (fast path)."""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from newsflow_contracts import EventType
from newsflow_ingest.domain import identity, keypoints, normalize
from newsflow_ingest.events import envelope
from newsflow_ingest.metrics import ARTICLES_WRITTEN
from newsflow_ingest.repository import ArticlesRepo, Doc
from newsflow_ingest.schemas import ArticleIn, ArticleWrite, WriteStatus
from newsflow_kit.context import traceparent_var
from newsflow_kit.kafka import AsyncPublisher

log = logging.getLogger(__name__)
# Well under the gateway's 5 s backend time-out: with Kafka down, a push is still answered (stored,
# left to the relay) instead of timing out as a 503 although it was stored.
PUBLISH_TIMEOUT_S = 1.5
BATCH_CONCURRENCY = 16  # writes of one batch in flight at once


@dataclass
class Ingestor:
    """What writing articles needs: the store, the publisher, and where to publish."""

    repo: ArticlesRepo
    publisher: AsyncPublisher | None
    topic: str
    producer: str = "ingest.api"

    async def ingest(self, article: ArticleIn, *, source: Doc) -> ArticleWrite:
        """Stores the article if new or changed, then publishes the change (the relay covers failures)."""
        written, changed = await self._store(build_fields(article, source=source))
        if changed is not None:
            await self.publish(changed)
        return written

    async def ingest_many(self, articles: Sequence[tuple[ArticleIn, Doc]]) -> list[ArticleWrite]:
        """Ingests a batch, answers in its order: distinct articles concurrently, repeats of one in order.

        Each write is a few MongoDB round trips; overlapping them is what makes a batch fast, while one
        article's items stay sequential so the last one sent wins. The changes are published together
        afterwards, so their Kafka acknowledgements share one linger window instead of one each.
        """
        fields = [build_fields(article, source=source) for article, source in articles]
        chains: dict[str, list[int]] = {}
        for index, item in enumerate(fields):
            chains.setdefault(item["_id"], []).append(index)
        results: dict[int, tuple[ArticleWrite, Doc | None]] = {}
        slots = asyncio.Semaphore(BATCH_CONCURRENCY)

        async def store(indexes: list[int]) -> None:
            async with slots:
                for index in indexes:
                    results[index] = await self._store(fields[index])

        await asyncio.gather(*(store(indexes) for indexes in chains.values()))
        ordered = [results[index] for index in range(len(fields))]
        await self.publish_many([doc for _, doc in ordered if doc is not None])
        return [written for written, _ in ordered]

    async def import_many(self, articles: Sequence[tuple[ArticleIn, Doc]]) -> list[ArticleWrite]:
        """Like ``ingest_many`` (answers in its order), for feed items: articles that are new go to the
        store in one bulk insert (``ArticlesRepo.insert_new``), the others take the one-by-one path."""
        fields = [build_fields(article, source=source) for article, source in articles]
        first: dict[str, int] = {}
        for index, item in enumerate(fields):
            first.setdefault(item["_id"], index)
        inserted, _rest = await self.repo.insert_new([fields[i] for i in first.values()])
        results: dict[int, tuple[ArticleWrite, Doc | None]] = {}
        for doc in inserted:
            ARTICLES_WRITTEN.labels(EventType.ARTICLE_PUBLISHED.value).inc()
            results[first[doc["_id"]]] = (
                ArticleWrite(id=doc["_id"], version=doc["version"], status=WriteStatus.CREATED),
                doc,
            )
        slots = asyncio.Semaphore(BATCH_CONCURRENCY)
        chains: dict[str, list[int]] = {}
        for index, item in enumerate(fields):
            if index not in results:
                chains.setdefault(item["_id"], []).append(index)

        async def store(indexes: list[int]) -> None:
            async with slots:
                for index in indexes:
                    results[index] = await self._store(fields[index])

        await asyncio.gather(*(store(indexes) for indexes in chains.values()))
        ordered = [results[index] for index in range(len(fields))]
        await self.publish_many([doc for _, doc in ordered if doc is not None])
        return [written for written, _ in ordered]

    async def _store(self, fields: Doc) -> tuple[ArticleWrite, Doc | None]:
        """Saves a version if the content changed; the stored document when there is a change to publish."""
        doc, event = await self.repo.save(fields)
        if event is None:
            return ArticleWrite(id=doc["_id"], version=doc["version"], status=WriteStatus.UNCHANGED), None
        ARTICLES_WRITTEN.labels(event.value).inc()
        status = WriteStatus.CREATED if event is EventType.ARTICLE_PUBLISHED else WriteStatus.UPDATED
        return ArticleWrite(id=doc["_id"], version=doc["version"], status=status), doc

    async def retract(self, doc: Doc) -> ArticleWrite:
        retracted = await self.repo.retract(doc["_id"])
        assert retracted is not None
        if retracted["bus"] == "pending":
            ARTICLES_WRITTEN.labels(EventType.ARTICLE_RETRACTED.value).inc()
            await self.publish(retracted)
        return ArticleWrite(id=retracted["_id"], version=retracted["version"], status=WriteStatus.RETRACTED)

    async def publish(self, doc: Doc) -> None:
        """Fast path: publish now and mark the version sent; on any failure the relay re-sends it."""
        await self.publish_many([doc])

    async def publish_many(self, docs: Sequence[Doc]) -> None:
        """Publishes the changes together, then flips the acknowledged ones to ``sent`` in one write."""
        if self.publisher is None or not docs:
            return
        acked = await asyncio.gather(*(self._send(doc) for doc in docs))
        sent = [(doc["_id"], int(doc["version"])) for doc, ok in zip(docs, acked, strict=True) if ok]
        await self.repo.mark_sent_many(sent)

    async def _send(self, doc: Doc) -> bool:
        assert self.publisher is not None
        event = envelope(doc, producer=self.producer, trace=traceparent_var.get())
        try:
            await asyncio.wait_for(self.publisher.publish(self.topic, doc["_id"], event), PUBLISH_TIMEOUT_S)
        except Exception as exc:  # Kafka down or slow: the change stays pending for the relay
            log.warning("fast-path publish of %s v%s failed, left to the relay: %s", doc["_id"], doc["version"], exc)
            return False
        return True


def build_fields(article: ArticleIn, *, source: Doc) -> Doc:
    """The stored fields of an article (without version/seq/outbox state)."""
    url = str(article.url)
    canonical = identity.canonical_url(url)
    article_id = (
        identity.external_article_id(source["_id"], article.external_id)
        if article.external_id
        else identity.article_id(canonical)
    )
    body_html = (
        normalize.sanitize_html(article.body)
        if normalize.looks_like_html(article.body)
        else normalize.text_to_html(article.body)
    )
    body_text = normalize.html_to_text(body_html)
    title = normalize.clean_text(article.title, limit=500) or "(untitled)"
    points = normalize.key_points(body_text)
    summary = normalize.clean_text(article.summary, limit=1000) or keypoints.lede(body_text)
    claimed = article.language or source.get("language")  # the publisher's word, else the feed's
    verdict = normalize.article_language(title, body_text, claimed=claimed, default=source.get("language", "en"))
    language = verdict.language
    content: dict[str, Any] = {
        "url": url,
        "title": title,
        "summary": summary,
        "body_html": body_html,
        "tags": normalize.hashtags(declared=list(article.tags), text=f"{title} {body_text}"),
        "authors": [normalize.clean_text(a, limit=200) for a in article.authors if a.strip()],
        "image_url": str(article.image_url) if article.image_url else None,
        "language": language,
    }
    now = datetime.now(UTC)
    return {
        "_id": article_id,
        **content,
        "canonical_url": canonical,
        "body_text": body_text,
        "key_points": points,
        "language_flags": verdict.flags,  # e.g. mixed-language: title and body in two languages
        "source_id": source["_id"],
        "source_name": source.get("name", ""),
        "external_id": article.external_id,
        "content_hash": identity.content_hash(content),
        "published_at": normalize.sane_time(article.published_at, now=now),
        "updated_at": now,
    }
