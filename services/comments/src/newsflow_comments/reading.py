"""Threads, paged by keyset cursors, and comment counts.

Pages hold top-level comments with all their shown replies. What is shown is decided here, on read
(no stored flags that concurrent changes would have to keep right): a visible comment, or a removed
one that still has a shown reply (a placeholder). A page reads its roots, then their replies: two
store commands (the article's status comes from the replica's short cache). A cursor is the sort key of the last
comment of the page, so comments posted while a reader pages land before the first page or after
the cursor: never a gap, never a repeat. ``top`` orders by score, which votes change: a comment whose
score crosses the cursor between two pages may be seen twice or missed (the usual trade-off of live
rankings; ``oldest`` and ``newest`` are exact).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from newsflow_comments import cursors
from newsflow_comments.context import Context
from newsflow_comments.records import StoredComment
from newsflow_comments.schemas import CommentRead, Sort
from newsflow_comments.store import ORDERS, sort_keys
from newsflow_comments.views import tree

Fetch = Callable[[list[Any] | None, int], Awaitable[list[StoredComment]]]


@dataclass(frozen=True)
class Page:
    items: list[CommentRead]
    next_cursor: str | None
    closed: bool


async def thread(ctx: Context, *, article_id: str, sort: Sort, cursor: str | None, limit: int) -> Page:
    """One page of an article's shown top-level comments, each with its replies (oldest first).

    Served from the replica's thread cache when it read the same page within ``thread_cache_s``.
    """
    is_open = await ctx.articles.known(article_id)

    async def fetch(after: list[Any] | None, n: int) -> list[StoredComment]:
        return await ctx.store.shown_roots(article_id, sort, after, n)

    async def read() -> tuple[list[CommentRead], str | None]:
        roots, next_cursor = await paged(f"thread:{sort}", sort, cursor, limit, fetch)
        replies = await ctx.store.replies(article_id, [r.id for r in roots]) if roots else []
        return tree(roots, replies), next_cursor

    items, next_cursor = await ctx.threads.page(article_id, (sort, cursor, limit), read)
    return Page(items, next_cursor, closed=not is_open)


async def paged(
    kind: str, order: str, cursor: str | None, limit: int, fetch: Fetch
) -> tuple[list[StoredComment], str | None]:
    """A page from ``fetch`` after ``cursor`` (of this ``kind``) in ``ORDERS[order]``, and the next page's cursor."""
    after = cursors.decode(kind, cursor, size=len(ORDERS[order])) if cursor is not None else None
    comments = await fetch(after, limit + 1)
    if len(comments) <= limit:
        return comments, None
    comments = comments[:limit]
    return comments, cursors.encode(kind, sort_keys(order, comments[-1]))


async def count(ctx: Context, article_id: str) -> int:
    return (await counts(ctx, [article_id]))[article_id]


async def counts(ctx: Context, article_ids: list[str]) -> dict[str, int]:
    """Visible comments per article; unknown articles count 0 (lists must not break on projection lag)."""
    found = await ctx.store.visible_counts(sorted(set(article_ids)))
    return {article_id: found.get(article_id, 0) for article_id in article_ids}
