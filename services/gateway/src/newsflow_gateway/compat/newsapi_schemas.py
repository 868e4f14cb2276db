"""NewsAPI's response shapes, plus the ``newsflow`` object that carries what NewsAPI has no field for."""

from pydantic import BaseModel, Field


class SourceRef(BaseModel):
    id: str | None
    name: str


class NewsflowExtras(BaseModel):
    """Newsflow's own fields of an article; a NewsAPI client ignores them."""

    id: str
    language: str
    tags: list[str]
    keyPoints: list[str] | None = None
    body: str | None = Field(default=None, description="The full sanitised HTML body.")
    bodyText: str | None = None
    commentCount: int | None = None
    version: int | None = None
    updatedAt: str | None = None
    missing: list[str] = Field(default_factory=list, description="Extras not available now (null above).")


class Article(BaseModel):
    source: SourceRef
    author: str | None
    title: str
    description: str | None
    url: str
    urlToImage: str | None
    publishedAt: str
    content: str | None
    newsflow: NewsflowExtras


class ArticlesResponse(BaseModel):
    status: str = "ok"
    totalResults: int
    articles: list[Article]


class Source(BaseModel):
    id: str
    name: str
    description: str
    url: str
    category: str
    language: str
    country: str


class SourcesResponse(BaseModel):
    status: str = "ok"
    sources: list[Source]
