"""Everything the comment logic needs, built once in the lifespan and handed to every call."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from newsflow_comments.articles import Articles
from newsflow_comments.identity import Identity
from newsflow_comments.moderation_policy import Policies
from newsflow_comments.settings import CommentsSettings
from newsflow_comments.store import Store
from newsflow_comments.thread_cache import ThreadCache


def utcnow() -> datetime:
    """Now, to the millisecond: BSON dates keep milliseconds, so cursors compare exactly."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class Context:
    store: Store
    articles: Articles
    identity: Identity
    policies: Policies
    config: CommentsSettings
    threads: ThreadCache[Any]  # thread pages (items, next cursor) this replica served a moment ago
    now: Callable[[], datetime] = utcnow
