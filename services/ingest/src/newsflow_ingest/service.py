"""Writing articles: normalise, decide the next version, append it to the change log, publish it (fast path)."""

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from newsflow_contracts import ArticleStatus, EventType
from newsflow_ingest.domain import articles, identity, keypoints, normalize
from newsflow_ingest.events import envelope
from newsflow_ingest.metrics import ARTICLES_WRITTEN
from newsflow_ingest.processes import WorkerPool
from newsflow_ingest.records import ArticleFields, ArticleVersion, Source
from newsflow_ingest.schemas import ArticleBatch, ArticleIn, ArticleWrite, BatchItem, BatchResult, WriteStatus
from newsflow_ingest.store import ArticlesRepo, SourcesRepo, VersionTaken
from newsflow_kit.context import traceparent_var
from newsflow_kit.errors import InvalidInput, NewsflowError, NotFound, error_body
from newsflow_kit.kafka import AsyncPublisher

log = logging.getLogger(__name__)
# Well under the gateway's 5 s backend time-out: with Kafka down, a push is still answered (stored,
# left to the relay) instead of timing out as a 503 although it was stored.
PUBLISH_TIMEOUT_S = 1.5
MAX_ROUNDS = 500  # lost races on one write before giving up (each round, one contender wins)
STATUS = {
    EventType.ARTICLE_PUBLISHED: WriteStatus.CREATED,
    EventType.ARTICLE_UPDATED: WriteStatus.UPDATED,
    EventType.ARTICLE_RETRACTED: WriteStatus.RETRACTED,
}
Outcome = ArticleWrite | NewsflowError


@dataclass
class Ingestor:
    """What writing articles needs: the store, the publisher, and where to publish."""

    repo: ArticlesRepo
    publisher: AsyncPublisher | None
    topic: str
    producer: str = "ingest.api"
    workers: WorkerPool | None = None  # normalises batches in worker processes (the poller's), else inline
    # The api answers once the change is stored and publishes it after (see ``publish_many``).
    answer_first: bool = False

    def __post_init__(self) -> None:
        self._publishing: set[asyncio.Task[None]] = set()

    async def ingest(self, article: ArticleIn, *, source: Source) -> ArticleWrite:
        """Stores the article if new or changed, then publishes the change (the relay covers failures)."""
        (outcome,) = await self.ingest_many([(article, source)])
        if isinstance(outcome, NewsflowError):
            raise outcome
        return outcome

    async def ingest_many(
        self, items: Sequence[tuple[ArticleIn, Source]], *, assume_new: bool = False
    ) -> list[Outcome]:
        """Ingests a batch, answers in its order; repeats of one article apply in order (the last one wins).

        One read of the latest versions of all its distinct articles, then every new version in one ordered
        insert (consecutive ``seq``s); a version another writer took meanwhile sends the items from
        there on round again. The changes are published together afterwards.

        ``assume_new`` skips the first read: every article is taken to be new and written as version 1.
        The unique ``(article_id, version)`` index still decides: an article that existed turns the insert
        into a taken version, and the items from there on go round again with a read. Worth it where
        nearly every item is new (a feed's first import), where the read is most of the store's work.
        """
        if self.workers is not None and len(items) > 1:
            fields = await self.workers.run(build_all, list(items))
        else:
            fields = build_all(items)
        results: dict[int, Outcome] = {}
        stored: list[ArticleVersion] = []
        todo = list(range(len(fields)))
        for round_ in range(MAX_ROUNDS):
            ids = list(dict.fromkeys(fields[i].article_id for i in todo))
            found = {} if assume_new and round_ == 0 else await self.repo.latest_many(ids)
            current: dict[str, ArticleVersion | None] = {article_id: found.get(article_id) for article_id in ids}
            pending: list[tuple[int, ArticleVersion]] = []
            for index in todo:
                item = fields[index]
                try:
                    decision = articles.push(current[item.article_id], item)
                except NewsflowError as exc:
                    results[index] = exc
                    continue
                if decision.new is None:
                    latest = current[item.article_id]
                    assert latest is not None
                    results[index] = ArticleWrite(
                        id=item.article_id, version=latest.version, status=WriteStatus.UNCHANGED
                    )
                    continue
                current[item.article_id] = decision.new
                pending.append((index, decision.new))
            try:
                done = await self.repo.append([version for _, version in pending])
            except VersionTaken as exc:
                done = exc.stored
                committed = {index for index, _ in pending[: len(done)]}
                todo = [index for index in todo if index not in committed]  # decided again from fresh reads
                await _back_off(round_)
            else:
                todo = []
            for (index, _), version in zip(pending, done, strict=False):
                results[index] = self._written(version)
            stored += done
            if not todo:
                break
        else:
            raise RuntimeError("too much write contention")
        await self.publish_many(stored)
        return [results[index] for index in range(len(fields))]

    async def retract(self, article_id: str, *, source_id: str | None = None) -> ArticleWrite:
        """Retracts the article as a new version (idempotent); only its owner may when ``source_id`` is given."""
        return await self._change(article_id, source_id, "retract", articles.retract)

    async def restore(self, article_id: str, *, source_id: str | None = None) -> ArticleWrite:
        """Publishes a retracted article again (a new version, same content); a no-op when not retracted."""
        write = await self._change(article_id, source_id, "restore", articles.restore)
        restored = write.status is WriteStatus.UPDATED
        return write.model_copy(update={"status": WriteStatus.RESTORED}) if restored else write

    async def import_many(self, items: Sequence[tuple[ArticleIn, Source]], *, first: bool = False) -> list[Outcome]:
        """Feed items: the same bulk path as ``ingest_many``; a source's ``first`` import assumes its items new."""
        return await self.ingest_many(items, assume_new=first)

    async def _change(
        self,
        article_id: str,
        source_id: str | None,
        action: str,
        decide: Callable[[ArticleVersion], articles.Decision],
    ) -> ArticleWrite:
        for round_ in range(MAX_ROUNDS):
            latest = await self.repo.latest(article_id)
            if latest is None:
                raise NotFound(f"article {article_id} not found")
            articles.check_owner(latest, source_id, action)
            decision = decide(latest)
            if decision.new is None:
                retracted = latest.status is ArticleStatus.RETRACTED
                status = WriteStatus.RETRACTED if retracted else WriteStatus.UNCHANGED
                return ArticleWrite(id=article_id, version=latest.version, status=status)
            try:
                (stored,) = await self.repo.append([decision.new])
            except VersionTaken:
                await _back_off(round_)
                continue
            await self.publish_many([stored])
            return self._written(stored)
        raise RuntimeError(f"article {article_id}: too much write contention")

    @staticmethod
    def _written(version: ArticleVersion) -> ArticleWrite:
        ARTICLES_WRITTEN.labels(version.event_type.value).inc()
        return ArticleWrite(id=version.article_id, version=version.version, status=STATUS[version.event_type])

    async def publish_many(self, versions: Sequence[ArticleVersion]) -> None:
        """Fast path: publishes the changes together, then flips the acknowledged ones to ``sent`` in one write.

        On any failure the change stays ``pending`` and the relay sends it. With ``answer_first`` this runs
        after the caller is answered: the change is durable in the store already, so the publisher does
        not wait for Kafka's acknowledgement and the flip (and a crash in between is the relay's case).
        """
        if self.publisher is None or not versions:
            return
        if self.answer_first:
            task = asyncio.create_task(self._publish_quietly(versions))
            self._publishing.add(task)
            task.add_done_callback(self._publishing.discard)
            return
        await self._publish(versions)

    async def settle(self) -> None:
        """Waits for the publishes still under way (shutdown: before the producer closes)."""
        if self._publishing:
            await asyncio.gather(*self._publishing, return_exceptions=True)

    async def _publish_quietly(self, versions: Sequence[ArticleVersion]) -> None:
        try:
            await self._publish(versions)
        except Exception as exc:  # nobody awaits this task: the flip failed, the relay re-sends (harmless)
            log.warning("fast path: %d changes not flipped to sent, left to the relay: %s", len(versions), exc)

    async def _publish(self, versions: Sequence[ArticleVersion]) -> None:
        assert self.publisher is not None
        acked = await asyncio.gather(*(self._send(version) for version in versions))
        sent = [v.seq for v, ok in zip(versions, acked, strict=True) if ok and v.seq is not None]
        await self.repo.mark_sent_many(sent)

    async def _send(self, version: ArticleVersion) -> bool:
        assert self.publisher is not None
        event = envelope(version, producer=self.producer, trace=traceparent_var.get())
        try:
            await asyncio.wait_for(self.publisher.publish(self.topic, version.article_id, event), PUBLISH_TIMEOUT_S)
        except Exception as exc:  # Kafka down or slow: the change stays pending for the relay
            log.warning(
                "fast-path publish of %s v%s failed, left to the relay: %s", version.article_id, version.version, exc
            )
            return False
        return True


async def _back_off(round_: int) -> None:
    """A lost race: wait a little (growing, jittered) so the contenders spread out."""
    await asyncio.sleep(random.uniform(0, min(0.05, 0.002 * (round_ + 1))))


def build_all(items: Sequence[tuple[ArticleIn, Source]]) -> list[ArticleFields]:
    """The stored fields of each article of a batch (a pure function: worker processes run it)."""
    return [build_fields(article, source=source) for article, source in items]


def build_fields(article: ArticleIn, *, source: Source) -> ArticleFields:
    """The stored fields of an article (without version/seq/outbox state)."""
    url = str(article.url)
    canonical = identity.canonical_url(url)
    article_id = (
        identity.external_article_id(source.id, article.external_id)
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
    claimed = article.language or source.language  # the publisher's word, else the feed's
    verdict = normalize.article_language(title, body_text, claimed=claimed, default=source.language or "en")
    language = verdict.language
    tags = normalize.hashtags(declared=list(article.tags), text=f"{title} {body_text}")
    authors = [normalize.clean_text(a, limit=200) for a in article.authors if a.strip()]
    image_url = str(article.image_url) if article.image_url else None
    content: dict[str, Any] = {  # what the content hash covers
        "url": url,
        "title": title,
        "summary": summary,
        "body_html": body_html,
        "tags": tags,
        "authors": authors,
        "image_url": image_url,
        "language": language,
    }
    now = datetime.now(UTC)
    return ArticleFields(
        article_id=article_id,
        url=url,
        title=title,
        summary=summary,
        body_html=body_html,
        tags=tuple(tags),
        authors=tuple(authors),
        image_url=image_url,
        language=language,
        canonical_url=canonical,
        body_text=body_text,
        key_points=tuple(points),
        language_flags=tuple(verdict.flags),  # e.g. mixed-language: title and body in two languages
        source_id=source.id,
        source_name=source.name,
        external_id=article.external_id,
        content_hash=identity.content_hash(content),
        published_at=normalize.sane_time(article.published_at, now=now),
        updated_at=now,
    )


async def push_source(sources: SourcesRepo, source_id: str) -> Source:
    """The source a push names, or :class:`InvalidInput` when there is none."""
    source = await sources.cached(source_id)
    if source is None:
        raise InvalidInput(f"unknown source {source_id!r}", errors=[{"field": "body.source_id", "message": "unknown"}])
    return source


async def push_batch(ingestor: Ingestor, sources: SourcesRepo, batch: ArticleBatch) -> BatchResult:
    """Validates each item on its own, writes the valid ones in one batch; answers in the batch's order."""
    results: list[BatchItem | None] = []
    valid: list[tuple[int, ArticleIn, Source]] = []
    known: dict[str, Source] = {}
    for index, raw in enumerate(batch.items):
        try:
            source_id = raw.get("source_id", batch.source_id)
            if not source_id:
                raise InvalidInput(
                    "source_id is required", errors=[{"field": f"items.{index}.source_id", "message": "missing"}]
                )
            item = ArticleIn.model_validate({k: v for k, v in raw.items() if k != "source_id"})
            if source_id not in known:
                known[source_id] = await push_source(sources, str(source_id))
            valid.append((index, item, known[source_id]))
            results.append(None)
        except ValidationError as exc:
            errors = [
                {"field": f"items.{index}." + ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                for e in exc.errors()
            ]
            results.append(BatchItem(error=error_body(InvalidInput("invalid article", errors=errors))))
        except NewsflowError as exc:
            results.append(BatchItem(error=error_body(exc)))
    written = await ingestor.ingest_many([(item, source) for _, item, source in valid])
    for (index, _, _), write in zip(valid, written, strict=True):
        results[index] = (
            BatchItem(error=error_body(write))
            if isinstance(write, NewsflowError)
            else BatchItem(id=write.id, version=write.version, status=write.status)
        )
    return BatchResult(items=[r for r in results if r is not None])
