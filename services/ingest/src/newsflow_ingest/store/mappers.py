"""One mapper pair per stored shape: ``x_of(doc)`` reads a document, ``x_doc(x)`` writes one.

Field names and their order are those the documents always had, so stored data reads as before
(fields an older document lacks take their defaults).
"""

import dataclasses
from datetime import datetime
from typing import Any

from newsflow_contracts import ArticleStatus, EventType
from newsflow_ingest.records import ArticleVersion, FeedMemo, HubSubscription, PollOutcome, Source
from newsflow_ingest.schemas import SourceKind

Doc = dict[str, Any]
BUCKET = 64  # changes per bucket of the change log
DUE_TICK_S = 10  # the width of a source's ``due_tick``


def due_tick(at: datetime) -> int:
    """The ``due_tick`` of a source due at ``at``: equality-indexed, unlike ``next_poll_at``."""
    return int(at.timestamp() // DUE_TICK_S)


def with_due_tick(fields: Doc) -> Doc:
    """``fields`` plus the ``due_tick`` of their ``next_poll_at`` (every write of it goes through here)."""
    at = fields.get("next_poll_at")
    return {**fields, "due_tick": due_tick(at)} if isinstance(at, datetime) else fields


def version_of(doc: Doc) -> ArticleVersion:
    return ArticleVersion(
        article_id=doc["article_id"],
        url=doc["url"],
        title=doc["title"],
        summary=doc.get("summary", ""),
        body_html=doc.get("body_html", ""),
        tags=tuple(doc.get("tags") or ()),
        authors=tuple(doc.get("authors") or ()),
        image_url=doc.get("image_url"),
        language=doc.get("language") or "en",
        canonical_url=doc.get("canonical_url") or doc["url"],
        body_text=doc.get("body_text", ""),
        key_points=tuple(doc.get("key_points") or ()),
        language_flags=tuple(doc.get("language_flags") or ()),
        source_id=doc["source_id"],
        source_name=doc.get("source_name", ""),
        external_id=doc.get("external_id"),
        content_hash=doc.get("content_hash", ""),
        published_at=doc["published_at"],
        updated_at=doc["updated_at"],
        owner_id=doc.get("owner_id") or doc["source_id"],
        version=int(doc["version"]),
        status=ArticleStatus(doc.get("status", ArticleStatus.PUBLISHED)),
        bus=doc.get("bus", "sent"),
        event_type=EventType(doc["event_type"]),
        changed_at=doc["changed_at"],
        seq=int(doc["_id"]),
    )


def version_doc(version: ArticleVersion) -> Doc:
    """A version's document; ``_id``/``seq``/``bucket`` once it has its position."""
    doc: Doc = {
        "url": version.url,
        "title": version.title,
        "summary": version.summary,
        "body_html": version.body_html,
        "tags": list(version.tags),
        "authors": list(version.authors),
        "image_url": version.image_url,
        "language": version.language,
        "canonical_url": version.canonical_url,
        "body_text": version.body_text,
        "key_points": list(version.key_points),
        "language_flags": list(version.language_flags),
        "source_id": version.source_id,
        "source_name": version.source_name,
        "external_id": version.external_id,
        "content_hash": version.content_hash,
        "published_at": version.published_at,
        "updated_at": version.updated_at,
        "article_id": version.article_id,
        "owner_id": version.owner_id,
        "version": version.version,
        "status": version.status.value,
        "bus": version.bus,
        "event_type": version.event_type.value,
        "changed_at": version.changed_at,
    }
    if version.seq is not None:
        doc |= {"_id": version.seq, "seq": version.seq, "bucket": version.seq // BUCKET}
    return doc


def source_of(doc: Doc) -> Source:
    return Source(
        id=doc["_id"],
        name=doc.get("name", ""),
        kind=SourceKind(doc.get("kind", SourceKind.FEED)),
        homepage=doc.get("homepage"),
        feed_url=doc.get("feed_url"),
        language=doc.get("language"),
        min_interval_s=doc.get("min_interval_s", 300),
        max_interval_s=doc.get("max_interval_s", 3600),
        fetch_full_text=bool(doc.get("fetch_full_text")),
        paused=bool(doc.get("paused")),
        created_at=doc.get("created_at"),
        next_poll_at=doc.get("next_poll_at"),
        interval_s=doc.get("interval_s"),
        lease_until=doc.get("lease_until"),
        lease_epoch=int(doc.get("lease_epoch", 0)),
        lease_owner=doc.get("lease_owner"),
        etag=doc.get("etag"),
        last_modified=doc.get("last_modified"),
        last_fetch_at=doc.get("last_fetch_at"),
        last_status=doc.get("last_status"),
        last_error=doc.get("last_error"),
        last_error_kind=doc.get("last_error_kind"),
        last_problems=tuple(doc.get("last_problems") or ()),
        consecutive_errors=int(doc.get("consecutive_errors", 0)),
        error_count=int(doc.get("error_count", 0)),
        articles_seen=int(doc.get("articles_seen", 0)),
        items_skipped=int(doc.get("items_skipped", 0)),
        memo=(
            FeedMemo(doc.get("body_digest"), tuple(doc["item_digests"]))
            if doc.get("item_digests") is not None
            else None
        ),
    )


def source_doc(source: Source) -> Doc:
    """A new source's document (its polling state is written by the leases as it is polled)."""
    return with_due_tick(
        {
            "_id": source.id,
            "homepage": source.homepage,
            "feed_url": source.feed_url,
            "language": source.language,
            "min_interval_s": source.min_interval_s,
            "max_interval_s": source.max_interval_s,
            "fetch_full_text": source.fetch_full_text,
            "name": source.name,
            "kind": source.kind.value,
            "paused": source.paused,
            "created_at": source.created_at,
            "next_poll_at": source.next_poll_at,
            "interval_s": source.interval_s,
            "lease_until": source.lease_until,
            "error_count": source.error_count,
            "consecutive_errors": source.consecutive_errors,
            "articles_seen": source.articles_seen,
            "items_skipped": source.items_skipped,
        }
    )


def outcome_doc(outcome: PollOutcome) -> tuple[Doc, dict[str, int]]:
    """A poll's fields to ``$set`` and its counters to ``$inc`` (only those that moved)."""
    fields: Doc = {
        "last_fetch_at": outcome.fetched_at,
        "last_status": outcome.status,
        "last_error": outcome.error,
        "consecutive_errors": outcome.consecutive_errors,
        "last_error_kind": outcome.error_kind,
        "last_problems": list(outcome.problems),
        "next_poll_at": outcome.next_poll_at,
        "interval_s": outcome.interval_s,
    }
    if outcome.validators is not None:
        fields |= {"etag": outcome.validators.etag, "last_modified": outcome.validators.last_modified}
    if outcome.memo is not None:
        fields |= {"body_digest": outcome.memo.body_digest, "item_digests": list(outcome.memo.item_digests)}
    counts = {
        "error_count": outcome.errors_added,
        "articles_seen": outcome.articles_added,
        "items_skipped": outcome.skipped_added,
    }
    return fields, {k: v for k, v in counts.items() if v}


def subscription_of(doc: Doc) -> HubSubscription:
    return HubSubscription(
        source_id=doc["_id"],
        hub=doc["hub"],
        topic=doc["topic"],
        secret=doc["secret"],
        state=doc.get("state", "pending"),
        lease_until=doc.get("lease_until"),
        requested_at=doc.get("requested_at"),
    )


def subscription_doc(sub: HubSubscription) -> Doc:
    """The fields to ``$set``: every field of the record but the source id, which is the ``_id``."""
    return {f.name: getattr(sub, f.name) for f in dataclasses.fields(sub) if f.name != "source_id"}
