"""Request and response models of the comments API."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from newsflow_comments.text import clean_body, clean_name
from newsflow_contracts import CommentStatus

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
Id = Annotated[str, Field(pattern=ID_PATTERN)]
Body = Annotated[str, Field(min_length=1, max_length=20_000), AfterValidator(clean_body)]
AuthorName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(clean_name)]
Sort = Literal["oldest", "newest", "top"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommentCreate(Strict):
    author_name: AuthorName
    body: Body
    parent_id: Id | None = None


class CommentUpdate(Strict):
    body: Body


class CommentRead(BaseModel):
    """A comment as readers see it; ``body`` and ``author_name`` are plain text (empty once removed)."""

    id: str
    article_id: str
    parent_id: str | None
    depth: int
    author_name: str
    body: str
    status: CommentStatus
    score: int
    created_at: datetime
    updated_at: datetime
    edited_at: datetime | None = None
    replies: list["CommentRead"] = Field(default_factory=list)


class CommentCreated(BaseModel):
    comment: CommentRead
    edit_token: str = Field(description="Shown only in this answer; PATCH and DELETE need it in X-Edit-Token.")


class CommentsPage(BaseModel):
    items: list[CommentRead]
    next_cursor: str | None
    closed: bool = Field(default=False, description="The article was retracted: the thread takes no new comments.")


class VoteCreate(Strict):
    value: Literal[1, -1]


class VoteRead(BaseModel):
    comment_id: str
    value: int
    score: int


class CountRead(BaseModel):
    article_id: str
    count: int


class HeldComment(CommentRead):
    """A comment as moderators see it: who wrote it (as a fingerprint) and why it was held."""

    author_fingerprint: str
    hold_reasons: list[str]


class QueuePage(BaseModel):
    items: list[HeldComment]
    next_cursor: str | None


class BanRead(BaseModel):
    fingerprint: str
    banned_at: datetime
