"""What the articles projection says about an article: unknown (404), retracted (409, closed) or open."""

from newsflow_comments.repository import Store
from newsflow_kit.errors import Conflict, NotFound


async def known(store: Store, article_id: str) -> bool:
    """True when the article is open for comments, False when it was retracted; 404 when unknown."""
    ref = await store.article_ref(article_id)
    if ref is None:
        raise NotFound(f"no article {article_id}")
    return ref.get("status") != "retracted"


async def require_open(store: Store, article_id: str) -> None:
    if not await known(store, article_id):
        raise Conflict(f"article {article_id} was retracted: its thread is closed")
