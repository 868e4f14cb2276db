"""Scores: folded from the vote documents by the single worker, so no two writers ever add to one.

A vote is one document per (comment, voter), replaced when the voter changes their mind, so the
sum of a comment's votes is its exact score at any moment. The worker scans the votes changed since
its saved position (and a slice of the ``outbox_margin_s`` before it, for writes that committed late:
checkpoint.py), sums the votes of those comments (a bounded ``$group`` over their votes) and writes
each score that differs through the comment's revision claim, like any other change (no event:
votes are not events). A comment being changed by someone else right then keeps its place for the
next pass.
"""

import logging
from collections.abc import Callable
from datetime import datetime

from newsflow_comments.checkpoint import Checkpoint
from newsflow_comments.records import Change, Revision
from newsflow_comments.store import Store

log = logging.getLogger(__name__)
BATCH = 5000
CHUNK = 500


class ScoreFolder:
    POSITION = "scores"

    def __init__(self, store: Store, *, margin_s: float, now: Callable[[], datetime]) -> None:
        self.store = store
        self.checkpoint = Checkpoint(store, self.POSITION, margin_s=margin_s)
        self.now = now
        self._retry: set[str] = set()
        self.behind = False  # the last pass read a full batch: more is waiting

    async def run_once(self) -> int:
        """Folds one batch of changed votes; returns how many scores changed."""
        now = self.now()
        since, scan = await self.checkpoint.start()
        votes = await self.store.voted_since(since, BATCH, now=now, scan=scan)
        self.behind = len(votes) >= BATCH
        position = votes[-1][1] if self.behind else now
        if (older := self.checkpoint.older) is not None:  # this pass's slice of the margin (checkpoint.py)
            votes += await self.store.voted_since(older[0], BATCH, now=now, until=older[1])
        touched = sorted(self._retry | {comment_id for comment_id, _ in votes})
        self._retry = set()
        changed = 0
        for start in range(0, len(touched), CHUNK):
            chunk = touched[start : start + CHUNK]
            sums, stored = await self.store.vote_sums(chunk), await self.store.scores(chunk)
            for comment_id, (score, version) in stored.items():
                exact = sums.get(comment_id, 0)
                if exact == score:
                    continue
                if await self._write(comment_id, version, exact, now):
                    changed += 1
                else:
                    self._retry.add(comment_id)
        await self.checkpoint.save(position)
        if changed:
            log.info("folded the scores of %d comments", changed)
        return changed

    async def _write(self, comment_id: str, version: int, score: int, now: datetime) -> bool:
        revision = Revision(comment_id=comment_id, version=version + 1, at=now, change=Change(score=score), event=None)
        if not await self.store.claim_revision(revision):
            return False  # a change holds this version: next pass
        return await self.store.apply_revision(revision)
