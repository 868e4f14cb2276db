"""The stored shapes of comments as domain types: what the store takes and returns (``store.mappers``
maps each to and from its document). No store types here: the logic imports these, never pymongo."""

from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Literal

from newsflow_contracts import ArticleStatus, CommentData, CommentStatus, EventType


def revision_id(comment_id: str, version: int) -> str:
    return f"{comment_id}:{version}"


@dataclass(frozen=True, slots=True)
class QueuedEvent:
    """The event of one version of a comment, stored with the write that made it until the worker sends it."""

    event_id: str
    event_type: EventType
    version: int
    occurred_at: datetime
    trace: str | None
    data: CommentData


@dataclass(frozen=True, slots=True)
class Change:
    """The fields one revision sets on a comment (None: left as is; a score's change has no ``updated_at``)."""

    status: CommentStatus | None = None
    body: str | None = None
    author_name: str | None = None
    edited_at: datetime | None = None
    hold_reasons: tuple[str, ...] | None = None
    score: int | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class StoredComment:
    """A comment's current state; ``token_hash``, ``fingerprint`` and ``address`` never leave the service."""

    id: str
    article_id: str
    parent_id: str | None
    root_id: str
    depth: int
    author_name: str
    body: str
    status: CommentStatus
    version: int
    score: int
    created_at: datetime
    updated_at: datetime
    token_hash: str
    fingerprint: str
    address: str
    hold_reasons: tuple[str, ...] = ()
    edited_at: datetime | None = None

    def data(self) -> CommentData:
        """The comment as events and readers carry it (its secrets stay behind)."""
        return CommentData(
            id=self.id,
            article_id=self.article_id,
            parent_id=self.parent_id,
            depth=self.depth,
            author_name=self.author_name,
            body=self.body,
            status=self.status,
            version=self.version,
            score=self.score,
            created_at=self.created_at,
            updated_at=self.updated_at,
        )

    def changed(self, change: Change, version: int) -> "StoredComment":
        """The comment once ``change`` is written as ``version``."""
        values = {f.name: getattr(change, f.name) for f in fields(change)}
        return replace(self, **{k: v for k, v in values.items() if v is not None}, version=version)


@dataclass(frozen=True, slots=True)
class Revision:
    """The claim of one version of a comment: what it sets and the event it emits (a score's has none)."""

    comment_id: str
    version: int
    at: datetime
    change: Change
    event: QueuedEvent | None
    article_id: str | None = None  # absent from a score's revision

    @property
    def id(self) -> str:
        return revision_id(self.comment_id, self.version)


@dataclass(frozen=True, slots=True)
class Vote:
    """One voter's vote on a comment (``id`` is ``<comment>:<voter>``)."""

    id: str
    comment_id: str
    value: int
    at: datetime


MarkKind = Literal["ban", "known", "post", "hit"]


@dataclass(frozen=True, slots=True)
class Mark:
    """A per-client record: a ban, a known author, a post claim or a rate-limit hit (the last two expire)."""

    id: str
    kind: MarkKind
    at: datetime
    fp: str | None = None
    addr: str | None = None
    comment_id: str | None = None
    expires_at: datetime | None = None

    @classmethod
    def ban(cls, fingerprint: str, at: datetime) -> "Mark":
        return cls(f"ban:{fingerprint}", "ban", at, fp=fingerprint)

    @classmethod
    def known(cls, fingerprint: str, at: datetime) -> "Mark":
        return cls(f"known:{fingerprint}", "known", at, fp=fingerprint)


@dataclass(frozen=True, slots=True)
class ArticleRef:
    """What the projection keeps of an article: enough to open or close its thread."""

    id: str
    status: ArticleStatus
    version: int
