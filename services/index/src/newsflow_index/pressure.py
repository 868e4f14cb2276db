"""The AI roles give way to the indexing path: while articles are being indexed faster than
``writes_per_s`` (an ingest burst), the embedder and the summarizer hold their next batch.

Why: niceness and the idle class keep the model's own CPU behind everything else, but not the work the
roles ask Elasticsearch to do at its normal priority (HNSW insertions, story reads and writes, the
summarizer's scans), nor the cache and memory bandwidth the model takes on a small machine. Measured
on 2 cores, ingest ran at 0.64x with the AI roles working through a burst (docs/benchmarks.md).

The signal is the articles alias's own write rate: ``indexing.index_total`` of its primaries, read with
one ``_stats`` call before a batch (at most one per ``check_s``) and every ``check_s`` while held, as a
rate over the last ``WINDOW_S`` at least (or ``BURST`` times the threshold since the last look, which holds at once).
Hysteresis keeps a burst's short gaps (between two push batches) from letting a batch of model work
in: once held, the roles stay held until the rate stayed at or under the threshold for ``quiet_s``.
A hold lasts at most ``max_s``; the roles then work for as long before they may be held again, so
under load that never stops the AI work gets half the time and vectors trail instead of stopping.
A role asked after a quiet spell (no look for ``WINDOW_S``) cannot know the rate yet: the batch in
its hand may be the head of a burst whose bulks have not landed. It settles first, holding while a
fresh window spans ``WINDOW_S / 2``. Without this the first batch of every burst went through, and
on 2 cores its niced model work lasted as long as the burst (docs/benchmarks.md, tenth session).
A rate that cannot be read (Elasticsearch down) holds nothing: the roles' own writes then meet the
failure and back off.

The summarizer also gives way to the embedder (:class:`VectorsBehind`): while more than
``vectors_behind`` of the last ``RECENT_CHANGES`` articles are published without their vector, it
holds, with the same hysteresis (``quiet_s``) and ``max_s`` bound: a pass it begins cannot be cut
short, so it begins only once the embedder has kept up for a while. The idle class does not make its
CPU free: on 2 cores the embedder's vectors trailed the feed by p99 10-13 s with the summarizer
running, 2-3 s without it (docs/benchmarks.md, fifteenth session), and a digest is worth less than a
vector (related articles and stories need it). The newest vector's ``seq`` does not measure the
backlog: the embedder takes partitions unevenly, and with one partition ahead a backlog of seconds
read as none.
"""

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from elasticsearch import Elasticsearch
from prometheus_client import Counter

from newsflow_index.indices import vectors_alias
from newsflow_index.mapping import PUBLISHED
from newsflow_index.settings import AiYieldSettings

log = logging.getLogger(__name__)

HELD = Counter("newsflow_index_ai_held_seconds_total", "Seconds an AI role held its work for the indexing path.")
# How far back the summarizer looks for articles without their vector: a backlog longer than that
# reads as that long (held anyway), and an article the embedder refused stops counting once it is older.
RECENT_CHANGES = 5000
HELD_FOR_VECTORS = Counter(
    "newsflow_index_summarizer_held_for_vectors_seconds_total", "Seconds the summarizer held its work for the embedder."
)
# The rate is taken over the last WINDOW_S at least: the worker writes in bulks, so over a fraction of a
# second 20 articles/s can read as 50 (two bulks close together) and would hold the feed's own vectors.
WINDOW_S = 2.0
# ...but a push batch lands as one or two bulks of hundreds: over the last look (a quarter of a second
# at least), BURST times the threshold holds at once, before the long window has seen it.
BURST = 4


def index_total(es: Elasticsearch, alias: str) -> Callable[[], int | None]:
    """Reads how many documents the alias's primaries have indexed (None when it cannot be read)."""

    def read() -> int | None:
        try:
            stats = es.indices.stats(index=alias, metric="indexing", filter_path="_all.primaries.indexing.index_total")
            return int(stats["_all"]["primaries"]["indexing"]["index_total"])
        except Exception as exc:  # ES down or the alias missing: nothing to yield to that we can see
            log.debug("indexing rate unreadable: %s", exc)
            return None

    return read


class IndexingPressure:
    """Says whether an AI role should hold its next batch (see the module docstring)."""

    def __init__(
        self,
        read_total: Callable[[], int | None],
        config: AiYieldSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.read_total, self.config, self.clock = read_total, config, clock
        self._samples: deque[tuple[float, int]] = deque()  # (when, index_total), the oldest WINDOW_S or more ago
        self._busy_until = float("-inf")  # held until then (last time the rate was above, plus quiet_s)
        self._held_since: float | None = None
        self._said_held = False  # "held" was logged for this hold (a settle alone is not logged)
        self._free_until = float("-inf")  # after a hold of max_s: not held again before then
        self._last_asked = float("-inf")
        self._settled_at = float("-inf")  # after a quiet spell: held until then, the window filling
        self.rate = 0.0  # article writes/s over the last window, for logs and tests

    def _observe(self, now: float) -> None:
        total = self.read_total()
        if total is None:
            self._samples.clear()
            self._busy_until = float("-inf")
            return
        if self._samples and total < self._samples[-1][1]:  # the alias moved to a new index: start over
            self._samples.clear()
        if self._samples:
            since, before = self._samples[-1]
            if now - since >= WINDOW_S / 8 and (total - before) / (now - since) > BURST * self.config.writes_per_s:
                self._busy_until = now + self.config.quiet_s
        self._samples.append((now, total))
        while len(self._samples) > 2 and self._samples[1][0] <= now - WINDOW_S:
            self._samples.popleft()  # keep one sample at least WINDOW_S old
        since, before = self._samples[0]
        if now - since < WINDOW_S / 2:
            return  # too short a window to tell a burst from two bulks
        self.rate = (total - before) / (now - since)
        if self.rate > self.config.writes_per_s:
            self._busy_until = now + self.config.quiet_s

    def hold(self) -> bool:
        """True when the role should wait ``check_s`` and ask again; False: work now."""
        if self.config.writes_per_s <= 0:
            return False
        now = self.clock()
        quiet, self._last_asked = now - self._last_asked >= WINDOW_S, now
        if now < self._free_until:
            return False
        if quiet:  # a fresh window: what the alias did before the quiet spell says nothing now
            self._samples.clear()
            self._settled_at = now + WINDOW_S / 2
        if not self._samples or now - self._samples[-1][0] >= self.config.check_s:
            self._observe(now)  # at most one _stats call per check_s, however often batches come
        if not self._samples:  # the rate is unreadable: nothing to yield to that we can see, a settle included
            self._settled_at = float("-inf")
        if now >= self._busy_until and now >= self._settled_at:
            if self._held_since is not None:
                if self._said_held:
                    log.info("AI work resumes", extra={"held_s": round(now - self._held_since, 1)})
                self._held_since, self._said_held = None, False
            return False
        if self._held_since is None:
            self._held_since = now
        if now < self._busy_until and not self._said_held:
            self._said_held = True
            log.info("AI work held: the indexing path is busy", extra={"writes_per_s": round(self.rate)})
        if now - self._held_since >= self.config.max_s:
            log.info("AI work resumes after its longest hold, the indexing path still busy")
            self._free_until, self._held_since, self._said_held = now + self.config.max_s, None, False
            return False
        HELD.inc(self.config.check_s)
        return True


def vectors_behind(es: Elasticsearch, alias: str, *, window: int = RECENT_CHANGES) -> Callable[[], int | None]:
    """Reads how many of the alias's published articles have no vector yet, among the last ``window``
    changes (``seq`` is dense): published articles minus published vectors with ``seq`` above the
    newest article ``seq`` of the previous reading less ``window``, counted with one ``_msearch``.

    Counting within a window keeps an article the embedder refused from holding the summarizer for
    ever (it leaves the window), and a backlog longer than the window still reads as one. None when
    it cannot be read, and on the first reading (no window yet)."""
    newest: int | None = None  # the newest article seq seen so far

    def read() -> int | None:
        nonlocal newest
        floor = None if newest is None else newest - window
        published: list[dict[str, Any]] = [{"term": {"status": PUBLISHED}}]
        if floor is not None:
            published.append({"range": {"seq": {"gt": floor}}})
        body = {"size": 0, "track_total_hits": True, "query": {"bool": {"filter": published}}}
        try:
            articles, vectors = es.msearch(
                searches=[
                    {"index": alias},
                    {**body, "aggs": {"newest": {"max": {"field": "seq"}}}},
                    {"index": vectors_alias(alias)},
                    body,
                ]
            )["responses"]
            top = articles["aggregations"]["newest"]["value"]
            counts = [int(r["hits"]["total"]["value"]) for r in (articles, vectors)]
        except Exception as exc:  # ES down or an alias missing: nothing to yield to that we can see
            log.debug("vectors backlog unreadable: %s", exc)
            return None
        if top is not None:
            newest = max(int(top), newest or 0)
        return None if floor is None else max(0, counts[0] - counts[1])

    return read


class VectorsBehind:
    """Says whether the summarizer should hold while the embedder trails (see the module docstring)."""

    def __init__(
        self,
        read_behind: Callable[[], int | None],
        config: AiYieldSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.read_behind, self.config, self.clock = read_behind, config, clock
        self.behind: int | None = None  # the last reading, for logs and tests
        self._read_at = float("-inf")
        self._held_since: float | None = None
        self._busy_until = float("-inf")  # held until then (last time it trailed too far, plus quiet_s)
        self._free_until = float("-inf")

    def hold(self) -> bool:
        """True when the summarizer should wait ``check_s`` and ask again; False: work now."""
        if self.config.vectors_behind <= 0:
            return False
        now = self.clock()
        if now < self._free_until:
            return False
        if now - self._read_at >= self.config.check_s:  # at most one reading per check_s
            self.behind, self._read_at = self.read_behind(), now
        if self.behind is not None and self.behind > self.config.vectors_behind:
            self._busy_until = now + self.config.quiet_s
        if self.behind is None or now >= self._busy_until:
            if self._held_since is not None:
                log.info("summaries resume: vectors caught up", extra={"held_s": round(now - self._held_since, 1)})
                self._held_since = None
            return False
        if self._held_since is None:
            self._held_since = now
            log.info("summaries held: vectors trail the articles", extra={"articles": self.behind})
        if now - self._held_since >= self.config.max_s:
            log.info("summaries resume after their longest hold, vectors still trailing")
            self._free_until, self._held_since = now + self.config.max_s, None
            return False
        HELD_FOR_VECTORS.inc(self.config.check_s)
        return True


def any_of(*holds: Callable[[], bool]) -> Callable[[], bool]:
    """One ``hold`` out of several: held while any of them says so (asked in order, the first yes wins)."""
    return lambda: any(hold() for hold in holds)
