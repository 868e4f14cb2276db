"""Request and response models of the public API (they are its OpenAPI schema).

Response models of relayed data allow extra fields, so a backing service can add a field (an
additive change) without breaking the gateway; the fields listed here are the ones clients rely on.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator

from newsflow_contracts import ArticleData, Highlight
from newsflow_gateway.keys import Role

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Problem(Open):
    """RFC 9457 problem details: every error the gateway answers."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[dict[str, Any]] | None = None


# -- reading -----------------------------------------------------------------------------------


class ArticleSummary(Open):
    """An article as search, latest and related list it."""

    id: str
    title: str
    url: str
    source_id: str
    source_name: str = ""
    language: str = ""
    tags: list[str] = []
    authors: list[str] = []
    image_url: str | None = None
    summary: str = ""
    published_at: datetime | None = None
    highlight: Highlight | None = None


class Bucket(Open):
    value: str
    count: int


class Facets(Open):
    sources: list[Bucket] = []
    tags: list[Bucket] = []
    languages: list[Bucket] = []
    days: list[Bucket] = []


class SearchPage(Open):
    total: int
    items: list[ArticleSummary]
    facets: Facets = Facets()
    next_cursor: str | None = None


class ArticlesPage(Open):
    items: list[ArticleSummary]
    next_cursor: str | None = None


class Suggestion(Open):
    id: str
    title: str


class SuggestPage(Open):
    items: list[Suggestion]


class TrendingTag(Open):
    tag: str
    count: int
    score: float


class TrendingPage(Open):
    items: list[TrendingTag]


class RelatedPage(Open):
    items: list[ArticleSummary]
    method: str | None = Field(default=None, description="hybrid (BM25 + vectors) or bm25 (fallback).")
    note: str | None = Field(default=None, description="Why related fell back to BM25, when it did.")


class ArticleAI(Open):
    """The AI block of an article (index service, docs/ai.md): extractive summary and key points."""

    status: str = Field(description="ready, or pending while the embedder has not processed this version.")
    summary: str | None = None
    key_points: list[str] = []
    model: str | None = None
    version: int | None = None


class ArticleDetail(BaseModel):
    """The article page: the article, its comment count, related articles and AI block, fetched in parallel.

    ``missing`` names the parts a backing service could not give in time (their value is null).
    """

    article: ArticleData
    comment_count: int | None
    related: list[ArticleSummary] | None
    related_method: str | None = Field(default=None, description="hybrid, or bm25 when vectors are missing.")
    related_note: str | None = Field(default=None, description="Why related fell back to BM25, when it did.")
    ai: ArticleAI | None = Field(default=None, description="Summary and key points; null when unavailable.")
    story: "StorySummary | None" = Field(
        default=None, description="The story (same event, other sources) of the article; null when not clustered."
    )
    missing: list[str] = Field(description="Parts not available now: comment_count, related, ai, story.")


# -- stories -----------------------------------------------------------------------------------


class StorySource(Open):
    id: str
    name: str = ""


class StorySummary(Open):
    """Articles about one event from several sources, grouped by the index service (docs/ai.md)."""

    id: str = Field(description="st-<founding article id>; a merged story's id answers the story it joined.")
    title: str
    size: int = Field(description="How many articles the story has.")
    sources_count: int
    sources: list[StorySource] = []
    languages: list[str] = []
    first_published_at: datetime
    last_published_at: datetime
    updated_at: datetime


class StoriesPage(Open):
    items: list[StorySummary]
    next_cursor: str | None = None


class StoryDetail(StorySummary):
    articles: list[ArticleSummary] = Field(description="Its published articles, oldest first.")
    requested_id: str = Field(description="The id asked for; differs from id when that story was merged into it.")


ArticleDetail.model_rebuild()  # its story field names StorySummary, defined after it


# -- comments ----------------------------------------------------------------------------------


class CommentRead(Open):
    id: str
    article_id: str
    parent_id: str | None = None
    author_name: str
    body: str
    status: str
    score: int = 0
    created_at: datetime
    updated_at: datetime | None = None
    replies: list["CommentRead"] = []


class CommentsPage(Open):
    items: list[CommentRead]
    next_cursor: str | None = None


class CommentCreate(BaseModel):
    author_name: str = Field(min_length=1, max_length=80)
    body: str = Field(min_length=1, max_length=10_000)
    parent_id: Id | None = None


class CommentCreated(Open):
    comment: CommentRead
    edit_token: str = Field(description="Keep it: PATCH and DELETE of this comment need it in X-Edit-Token.")


class CommentUpdate(BaseModel):
    body: str = Field(min_length=1, max_length=10_000)


class VoteCreate(BaseModel):
    value: Literal[1, -1]


class CommentCount(Open):
    article_id: str
    count: int


# -- publishing --------------------------------------------------------------------------------


class ArticlePublish(BaseModel):
    """One article pushed by a publisher; its source is the key's own."""

    source_id: Id | None = Field(default=None, description="Optional; must be the key's own source.")
    title: str = Field(min_length=1, max_length=500)
    url: AnyHttpUrl
    body: str = Field(min_length=1, max_length=200_000, description="HTML or plain text.")
    summary: str | None = Field(default=None, max_length=5_000)
    tags: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(default=None, max_length=32)
    authors: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(default=None, max_length=32)
    image_url: AnyHttpUrl | None = None
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    published_at: datetime | None = None
    external_id: str | None = Field(default=None, min_length=1, max_length=200)


class ArticlesBatch(BaseModel):
    items: list[ArticlePublish] = Field(min_length=1, max_length=500)


class PublishResult(Open):
    id: str
    version: int
    status: Literal["created", "updated", "unchanged", "retracted", "restored"]


class BatchItemError(Open):
    error: dict[str, Any]


class BatchResult(Open):
    items: list[PublishResult | BatchItemError]


# -- admin -------------------------------------------------------------------------------------


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    role: Role
    source_id: Id | None = Field(default=None, description="Required for a publisher key, absent for an admin key.")

    @model_validator(mode="after")
    def _source_matches_role(self) -> "KeyCreate":
        if self.role is Role.PUBLISHER and self.source_id is None:
            raise ValueError("a publisher key needs a source_id")
        if self.role is not Role.PUBLISHER and self.source_id is not None:
            raise ValueError(f"an {self.role.value} key has no source_id")
        return self


class KeyRead(BaseModel):
    """A key as the admin API shows it (read from a stored ``ApiKey``, whose ``key_id`` is its ``id``)."""

    model_config = ConfigDict(from_attributes=True)

    id: str = Field(validation_alias=AliasChoices("id", "key_id"))
    name: str
    role: Role
    source_id: str | None
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyRead):
    key: str = Field(description="The key itself: shown only now, stored only as a hash.")


class KeysPage(BaseModel):
    items: list[KeyRead]


JSONObject = dict[str, Any]
