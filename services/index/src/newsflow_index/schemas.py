"""Response models of the index API (the shapes are contracts the gateway relies on)."""

from pydantic import AwareDatetime, BaseModel


class Highlight(BaseModel):
    """HTML-escaped text with matches in ``<mark>``; null when nothing matched (or no query)."""

    title: str | None = None
    snippet: str | None = None


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
