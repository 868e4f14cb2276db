"""The article as it travels on ``articles.v1``: the whole document, so consumers never call back."""

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# The markup ``body_html`` may hold: ingest cleans bodies to it, the gateway cleans them to it again
# before rendering (defence in depth: a bug or a bypass at ingest still cannot run script on a page).
BODY_TAGS: set[str] = {
    "p", "br", "a", "strong", "b", "em", "i", "u", "blockquote", "q", "ul", "ol", "li", "h2", "h3", "h4",
    "figure", "figcaption", "img", "pre", "code", "hr", "sub", "sup",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
BODY_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"colspan"},
    "td": {"colspan"},
    "*": {"dir"},  # right-to-left passages keep their direction
}


class ArticleStatus(StrEnum):
    PUBLISHED = "published"
    RETRACTED = "retracted"


class ArticleData(BaseModel):
    """One version of an article. ``version`` only grows, and only on a real content change."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Deterministic from the canonical URL (see docs/events.md).")
    version: int = Field(ge=1)
    seq: int = Field(ge=0, description="Ingest sequence of this change: a stable, increasing cursor.")
    status: ArticleStatus = ArticleStatus.PUBLISHED
    source_id: str
    source_name: str = ""
    external_id: str | None = None
    url: str
    canonical_url: str
    title: str
    summary: str = ""
    key_points: list[str] = Field(default_factory=list, description="2-3 extractive summary sentences.")
    body_html: str = Field(default="", description="Sanitised HTML (allow-list).")
    body_text: str = ""
    tags: list[str] = Field(default_factory=list, description="Normalised hashtag slugs, at most 8.")
    authors: list[str] = Field(default_factory=list)
    image_url: str | None = None
    language: str = Field(default="en", description="ISO 639-1 code.")
    content_hash: str = ""
    published_at: AwareDatetime
    updated_at: AwareDatetime
