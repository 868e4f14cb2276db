"""Thread pages a replica served a moment ago, so a hot thread costs the store about one read a second.

FerretDB sorts in its own process after fetching every match (docs/infra.md): the first page of a
200-comment thread costs it ~17 ms of CPU, and 50 readers a second of one article saturate it. A
real MongoDB answers the page from its index, but a thread read by thousands a second is still the
same few pages again and again. So each replica keeps a page it served for ``ttl_s``; readers who ask
for it meanwhile, also while its read is in flight, share that one read. For another ``ttl_s`` an
expired page is still served while one read renews it, so no reader waits on a hot page's renewal.
This replica's own writes to the article drop its pages at once (whoever posts or edits sees the
change on the next read); a reader on another replica sees it within ``2 × ttl_s`` and a read.
``ttl_s = 0`` turns the cache off.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_PAGES = 10_000


class ThreadCache(Generic[T]):
    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._pages: dict[Hashable, tuple[float, T]] = {}
        self._loading: dict[Hashable, asyncio.Task[T]] = {}
        # A write gives the article a new generation: pages and reads of an older one no longer match.
        self._generations: dict[str, int] = {}
        self._clock = 0  # the last generation given
        self._floor = 0  # the generation of an article not written since the table was last emptied

    async def page(self, article_id: str, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        """The page ``key`` of the article's thread: cached, joined while in flight, or read by ``load``."""
        if self.ttl_s <= 0:
            return await load()
        full = (article_id, self._generation(article_id), key)
        hit = self._pages.get(full)
        if hit is not None:
            fresh_until, value = hit
            if time.monotonic() < fresh_until:
                return value
            if time.monotonic() < fresh_until + self.ttl_s:  # stale: served while one read renews it
                self._reading(full, load)
                return value
        return await asyncio.shield(self._reading(full, load))  # a reader who leaves does not cancel it

    def _reading(self, full: tuple[str, int, Hashable], load: Callable[[], Awaitable[T]]) -> "asyncio.Task[T]":
        """The read of ``full`` in flight, started now if there is none."""
        task = self._loading.get(full)
        if task is None:
            task = asyncio.ensure_future(self._load(full, load))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())  # awaited or not, never "unretrieved"
            self._loading[full] = task
        return task

    def forget(self, article_id: str) -> None:
        """A write to the article: its pages, and reads already in flight, are not served again."""
        self._clock += 1
        self._generations[article_id] = self._clock
        if len(self._generations) > MAX_PAGES:  # start afresh: every page and read so far is older
            self._generations.clear()
            self._pages.clear()
            self._clock += 1
            self._floor = self._clock

    def _generation(self, article_id: str) -> int:
        return self._generations.get(article_id, self._floor)

    async def _load(self, full: tuple[str, int, Hashable], load: Callable[[], Awaitable[T]]) -> T:
        try:
            value = await load()
        finally:
            del self._loading[full]
        article_id, generation, _ = full
        if self._generation(article_id) == generation:
            if len(self._pages) >= MAX_PAGES:
                now = time.monotonic()
                self._pages = {k: v for k, v in self._pages.items() if v[0] > now}
                if len(self._pages) >= MAX_PAGES:
                    self._pages.clear()
            self._pages[full] = (time.monotonic() + self.ttl_s, value)
        return value
