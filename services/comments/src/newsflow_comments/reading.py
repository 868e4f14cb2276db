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

from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, DESCENDING

from newsflow_comments import cursors
from newsflow_comments.context import Context
from newsflow_comments.repository import SHOWN_STATUSES, Doc
from newsflow_comments.schemas import CommentRead, Sort
from newsflow_comments.views import tree

ORDERS: dict[str, list[tuple[str, int]]] = {
    "oldest": [("created_at", ASCENDING), ("_id", ASCENDING)],
    "newest": [("created_at", DESCENDING), ("_id", DESCENDING)],
    "top": [("score", DESCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)],
}


@dataclass(frozen=True)
class Page:
    items: list[CommentRead]
    next_cursor: str | None
    closed: bool


async def thread(ctx: Context, *, article_id: str, sort: Sort, cursor: str | None, limit: int) -> Page:
    """One page of an article's shown top-level comments, each with its replies (oldest first)."""
    base = {"article_id": article_id, "depth": 0, "status": {"$in": SHOWN_STATUSES}}
    is_open = await ctx.articles.known(article_id)
    roots, next_cursor = await page(ctx, base, f"thread:{sort}", ORDERS[sort], cursor, limit)
    replies = await ctx.store.replies([r["_id"] for r in roots]) if roots else []
    return Page(tree(roots, replies), next_cursor, closed=not is_open)


async def page(
    ctx: Context, base: Doc, kind: str, order: list[tuple[str, int]], cursor: str | None, limit: int
) -> tuple[list[Doc], str | None]:
    """Documents matching ``base`` after ``cursor`` in ``order``, and the cursor of the next page."""
    query = dict(base)
    if cursor is not None:
        query["$or"] = after(order, cursors.decode(kind, cursor, size=len(order)))
    docs = await ctx.store.find(query, order, limit + 1)
    if len(docs) <= limit:
        return docs, None
    docs = docs[:limit]
    return docs, cursors.encode(kind, [docs[-1][field] for field, _ in order])


def after(order: list[tuple[str, int]], keys: list[Any]) -> list[Doc]:
    """The keyset condition "strictly after ``keys`` in ``order``" as a list of ``$or`` branches."""
    branches = []
    for i, (field, direction) in enumerate(order):
        branch: Doc = {f: keys[j] for j, (f, _) in enumerate(order[:i])}
        branch[field] = {"$gt" if direction == ASCENDING else "$lt": keys[i]}
        branches.append(branch)
    return branches


async def count(ctx: Context, article_id: str) -> int:
    return (await counts(ctx, [article_id]))[article_id]


async def counts(ctx: Context, article_ids: list[str]) -> dict[str, int]:
    """Visible comments per article; unknown articles count 0 (lists must not break on projection lag)."""
    found = await ctx.store.visible_counts(sorted(set(article_ids)))
    return {article_id: found.get(article_id, 0) for article_id in article_ids}
