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
"""

import logging
import time
from collections import deque
from collections.abc import Callable

from elasticsearch import Elasticsearch
from prometheus_client import Counter

from newsflow_index.settings import AiYieldSettings

log = logging.getLogger(__name__)

HELD = Counter("newsflow_index_ai_held_seconds_total", "Seconds an AI role held its work for the indexing path.")
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
