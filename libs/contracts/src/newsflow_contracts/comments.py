"""A comment as it travels on ``comments.v1`` (key = article id)."""

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


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
