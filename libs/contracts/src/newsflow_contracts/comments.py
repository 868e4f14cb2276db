"""A comment as it travels on ``comments.v1`` (key = article id), and the comment-count models the
gateway and the comments service share (declared once, so both refuse the same requests)."""

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator


class CommentStatus(StrEnum):
    VISIBLE = "visible"
    PENDING = "pending"
    REJECTED = "rejected"
    REMOVED = "removed"


class CommentData(BaseModel):
    """One version of a comment. Secrets (edit token, fingerprints) never leave the service."""

    model_config = ConfigDict(frozen=True)

    id: str
    article_id: str
    parent_id: str | None = None
    depth: int = Field(ge=0, le=3)
    author_name: str
    body: str = Field(description="Plain text; escaped wherever rendered.")
    status: CommentStatus
    version: int = Field(ge=1)
    score: int = 0
    created_at: AwareDatetime
    updated_at: AwareDatetime


COUNTS_IDS_MAX = 200  # article ids of one counts request: a page of a list is at most 100
ArticleId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]  # also a comment id


class CountsRequest(BaseModel):
    """``POST /comments/counts`` (gateway ``/v1/comments/counts``): 1 to ``COUNTS_IDS_MAX`` article ids."""

    article_ids: list[ArticleId] = Field(min_length=1, max_length=COUNTS_IDS_MAX)


class CountsPage(BaseModel):
    """The visible comment count of each requested article (0 when it has none)."""

    counts: dict[str, int]


class BanCreate(BaseModel):
    """``POST /moderation/bans`` (gateway ``/v1/admin/bans``): an author fingerprint, or a comment of theirs."""

    fingerprint: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")
    comment_id: ArticleId | None = None

    @model_validator(mode="after")
    def _one_target(self) -> "BanCreate":
        if (self.fingerprint is None) == (self.comment_id is None):
            raise ValueError("give exactly one of fingerprint or comment_id")
        return self
