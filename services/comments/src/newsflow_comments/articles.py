"""What the articles projection says about an article: unknown (404), retracted (409, closed) or open.

Each replica reuses a known article's status for ``article_cache_s`` (a retraction closes the thread
within that time); an unknown article is asked again every time, so it opens as soon as the
projection has it.
"""

import time

from newsflow_comments.store import Store
from newsflow_contracts import ArticleStatus
from newsflow_kit.errors import Conflict, NotFound


class Articles:
    def __init__(self, store: Store, *, cache_s: float) -> None:
        self.store = store
        self.cache_s = cache_s
        self._cache: dict[str, tuple[float, bool]] = {}

    async def known(self, article_id: str) -> bool:
        """True when the article is open for comments, False when it was retracted; 404 when unknown."""
        hit = self._cache.get(article_id)
        if hit is not None and time.monotonic() - hit[0] < self.cache_s:
            return hit[1]
        ref = await self.store.article_ref(article_id)
        if ref is None:
            raise NotFound(f"no article {article_id}")
        is_open = ref.status is not ArticleStatus.RETRACTED
        if len(self._cache) >= 10_000:
            self._cache.clear()
        self._cache[article_id] = (time.monotonic(), is_open)
        return is_open

    async def require_open(self, article_id: str) -> None:
        if not await self.known(article_id):
            raise Conflict(f"article {article_id} was retracted: its thread is closed")
