"""The stored shapes of ingest as domain types: what the repositories take and return (``store.mappers``
maps each to and from its document). No store types here: the logic imports these, never pymongo."""

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Literal

from newsflow_contracts import ArticleData, ArticleStatus, EventType
from newsflow_ingest.schemas import SourceKind

Bus = Literal["pending", "sent"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleFields:
    """An article as normalised from a push or a feed item: its content, without version or outbox state."""

    article_id: str
    url: str
    title: str
    summary: str = ""
    body_html: str = ""
    tags: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    image_url: str | None = None
    language: str = "en"
    canonical_url: str
    body_text: str = ""
    key_points: tuple[str, ...] = ()
    language_flags: tuple[str, ...] = ()
    source_id: str
    source_name: str = ""
    external_id: str | None = None
    content_hash: str = ""
    published_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleVersion(ArticleFields):
    """One version in ``article_versions``: the content, who owns the article, and the change's outbox state.

    ``seq`` is its position in the change log, None until the repository stored it.
    """

    owner_id: str
    version: int
    status: ArticleStatus
    bus: Bus = "pending"
    event_type: EventType
    changed_at: datetime
    seq: int | None = None

    @classmethod
    def of(
        cls,
        content: ArticleFields,
        *,
        owner_id: str,
        version: int,
        status: ArticleStatus,
        event_type: EventType,
        changed_at: datetime,
    ) -> "ArticleVersion":
        """A new pending version holding ``content``."""
        values: dict[str, Any] = {f.name: getattr(content, f.name) for f in fields(ArticleFields)}
        return cls(
            **values,
            owner_id=owner_id,
            version=version,
            status=status,
            event_type=event_type,
            changed_at=changed_at,
        )

    def data(self) -> ArticleData:
        """The article as events and readers carry it (a stored version has its ``seq``)."""
        return ArticleData(
            id=self.article_id,
            version=self.version,
            seq=self.seq or 0,
            status=self.status,
            source_id=self.source_id,
            source_name=self.source_name,
            external_id=self.external_id,
            url=self.url,
            canonical_url=self.canonical_url,
            title=self.title,
            summary=self.summary,
            key_points=list(self.key_points),
            body_html=self.body_html,
            body_text=self.body_text,
            tags=list(self.tags),
            authors=list(self.authors),
            image_url=self.image_url,
            language=self.language,
            content_hash=self.content_hash,
            published_at=self.published_at,
            updated_at=self.updated_at,
        )


@dataclass(frozen=True, slots=True)
class FeedMemo:
    """What a feed's last poll already ingested (``domain/memo.py``): the body, when nothing failed,
    and the items handled."""

    body_digest: str | None
    item_digests: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """A registered source: its settings, and (feeds) its polling state and lease."""

    id: str
    name: str
    kind: SourceKind = SourceKind.FEED
    homepage: str | None = None
    feed_url: str | None = None
    language: str | None = None
    min_interval_s: int = 300
    max_interval_s: int = 3600
    fetch_full_text: bool = False
    paused: bool = False
    created_at: datetime | None = None
    next_poll_at: datetime | None = None
    interval_s: float | None = None
    lease_until: datetime | None = None
    lease_epoch: int = 0
    lease_owner: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_fetch_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    last_error_kind: str | None = None
    last_problems: tuple[str, ...] = ()
    consecutive_errors: int = 0
    error_count: int = 0
    articles_seen: int = 0
    items_skipped: int = 0
    memo: FeedMemo | None = None  # what its last good poll ingested (None: never ingested)


@dataclass(frozen=True, slots=True)
class Validators:
    """A good fetch's cache validators, sent back on the next poll (either may be None)."""

    etag: str | None
    last_modified: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PollOutcome:
    """What one poll of a feed records on its source."""

    fetched_at: datetime
    status: int | None
    error: str | None
    error_kind: str | None
    problems: tuple[str, ...]
    consecutive_errors: int
    next_poll_at: datetime
    interval_s: float
    validators: Validators | None = None  # None: the fetch failed, the stored ones stay
    memo: FeedMemo | None = None  # None: the stored one stays
    errors_added: int = 0
    articles_added: int = 0
    skipped_added: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class HubSubscription:
    """A feed source's subscription to a WebSub hub (``websub_subscriptions``, keyed by source id)."""

    source_id: str
    hub: str
    topic: str
    secret: str
    state: Literal["pending", "active"]
    lease_until: datetime | None = None
    requested_at: datetime | None = None
