"""Response models of the index API (the shapes are contracts the gateway relies on)."""

from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from newsflow_contracts import Highlight as Highlight  # declared once in the contracts (the gateway relays it)


class ArticleItem(BaseModel):
    id: str
    title: str
    url: str
    source_id: str
    source_name: str
    language: str
    tags: list[str]
    authors: list[str]
    image_url: str | None
    summary: str
    published_at: AwareDatetime
    highlight: Highlight


class FacetValue(BaseModel):
    value: str
    count: int


class Facets(BaseModel):
    sources: list[FacetValue]
    tags: list[FacetValue]
    languages: list[FacetValue]
    days: list[FacetValue]


class SearchPage(BaseModel):
    total: int
    items: list[ArticleItem]
    facets: Facets
    next_cursor: str | None


class LatestPage(BaseModel):
    items: list[ArticleItem]
    next_cursor: str | None


class RelatedPage(BaseModel):
    items: list[ArticleItem]
    method: Literal["hybrid", "bm25"] = Field(
        description="hybrid: BM25 + vectors fused by RRF; bm25: shared words only (no vector yet, or kNN down)."
    )
    note: str | None = Field(default=None, description="Why the answer fell back to BM25, when it did.")


class ArticleAI(BaseModel):
    """The AI block of an article (extractive, from the summarizer role; docs/ai.md)."""

    article_id: str
    status: Literal["ready", "pending"] = Field(description="pending: not summarised at this version yet.")
    summary: str | None = Field(description="One or two central sentences of the article, verbatim.")
    key_points: list[str] = Field(description="Up to three non-redundant sentences, each at most 40 words.")
    model: str | None = Field(description="The embedding model that chose them.")
    version: int = Field(description="The article version this block belongs to.")


class Suggestion(BaseModel):
    id: str
    title: str


class SuggestPage(BaseModel):
    items: list[Suggestion]


class TrendingTag(BaseModel):
    tag: str
    count: int
    score: float


class TrendingPage(BaseModel):
    items: list[TrendingTag]


class StorySource(BaseModel):
    id: str
    name: str


class StorySummary(BaseModel):
    """A story: articles about one event from several sources (docs/ai.md "Story clusters")."""

    id: str = Field(description="st-<founding article id>; stable while the founder stays in the story.")
    title: str = Field(description="The founding (earliest) article's title.")
    size: int = Field(description="How many articles the story has.")
    sources_count: int
    sources: list[StorySource]
    languages: list[str]
    first_published_at: AwareDatetime
    last_published_at: AwareDatetime
    updated_at: AwareDatetime


class StoriesPage(BaseModel):
    items: list[StorySummary]
    next_cursor: str | None


class StoryDetail(StorySummary):
    articles: list[ArticleItem] = Field(description="The published articles of the story, oldest first.")
    requested_id: str = Field(description="The id asked for; differs from id when that story was merged into this.")


class ArticleStory(BaseModel):
    article_id: str
    story: StorySummary | None = Field(description="null while the article is not clustered yet.")


class StoryUpdates(BaseModel):
    """Stories changed after a point in time, oldest change first (the gateway's story.updated stream)."""

    items: list[StorySummary]
    removed: list[str] = Field(description="Ids that stopped naming a story (merged away or emptied) in the span.")
    next_after: str = Field(description="Pass as after= to continue.")
