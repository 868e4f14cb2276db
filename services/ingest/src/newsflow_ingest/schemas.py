"""Request and response models of the ingest API."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints

from newsflow_contracts import ArticleData

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]


class ArticleIn(BaseModel):
    """An article as a publisher pushes it (without the source: the batch or the gateway names it)."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    url: AnyHttpUrl
    body: Annotated[str, StringConstraints(min_length=1, max_length=2_000_000)]
    summary: Annotated[str, StringConstraints(max_length=5000)] = ""
    tags: Annotated[list[Tag], Field(max_length=50)] = Field(default_factory=list)
    authors: Annotated[list[Name], Field(max_length=20)] = Field(default_factory=list)
    image_url: AnyHttpUrl | None = None
    language: LanguageCode | None = None
    published_at: datetime | None = None
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


class ArticleCreate(ArticleIn):
    """Push of one article (POST /articles)."""

    source_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ArticleBatch(BaseModel):
    """Push of up to 500 articles (POST /articles:batch); items may name their own source."""

    model_config = ConfigDict(extra="forbid")

    source_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    items: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=500)]


class WriteStatus(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    RETRACTED = "retracted"


class ArticleWrite(BaseModel):
    id: str
    version: int
    status: WriteStatus


class BatchItem(BaseModel):
    id: str | None = None
    version: int | None = None
    status: WriteStatus | None = None
    error: dict[str, Any] | None = None


class BatchResult(BaseModel):
    items: list[BatchItem]


class ArticlesPage(BaseModel):
    items: list[ArticleData]
    next_cursor: str | None


class SourceKind(StrEnum):
    FEED = "feed"
    PUSH = "push"


class SourceBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    homepage: AnyHttpUrl | None = None
    feed_url: AnyHttpUrl | None = None
    language: LanguageCode = "en"
    min_interval_s: Annotated[int, Field(ge=30, le=86_400)] = 300
    max_interval_s: Annotated[int, Field(ge=60, le=7 * 86_400)] = 3600
    fetch_full_text: bool = False


class SourceCreate(SourceBase):
    name: Name
    kind: SourceKind = SourceKind.FEED


class SourceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    homepage: AnyHttpUrl | None = None
    feed_url: AnyHttpUrl | None = None
    language: LanguageCode | None = None
    min_interval_s: Annotated[int, Field(ge=30, le=86_400)] | None = None
    max_interval_s: Annotated[int, Field(ge=60, le=7 * 86_400)] | None = None
    fetch_full_text: bool | None = None


class SourceRead(BaseModel):
    id: str
    name: str
    kind: SourceKind
    homepage: str | None
    feed_url: str | None
    language: str
    min_interval_s: int
    max_interval_s: int
    fetch_full_text: bool
    paused: bool
    created_at: datetime


class SourcesPage(BaseModel):
    items: list[SourceRead]


class SourceStatus(BaseModel):
    id: str
    state: Literal["active", "paused"]
    last_fetch_at: datetime | None
    last_status: int | None
    last_error: str | None
    error_kind: str | None = Field(
        default=None, description="Why the last fetch could not be used (dns, timeout, http-404, malformed-xml, …)."
    )
    problems: list[str] = Field(
        default_factory=list, description="What the last usable fetch recovered from (encoding mismatch, parse error)."
    )
    error_count: int
    next_poll_at: datetime | None
    articles_seen: int
    items_skipped: int
