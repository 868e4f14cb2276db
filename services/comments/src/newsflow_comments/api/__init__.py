"""HTTP routers, one per resource: threads (per article), comments (by id), moderation."""

from typing import Annotated

from fastapi import Path, Query

from newsflow_comments.schemas import ID_PATTERN

ArticleId = Annotated[str, Path(pattern=ID_PATTERN)]
CommentId = Annotated[str, Path(pattern=ID_PATTERN)]
Cursor = Annotated[str | None, Query(max_length=1000)]
Limit = Annotated[int, Query(ge=1, le=100)]
