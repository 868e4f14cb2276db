"""One change of a comment: decide on the current state, claim the next version, write it.

``decide(comment)`` returns the :class:`Change` to write and the event to emit, None when nothing changes, or raises
(wrong state, wrong token). The change first inserts its revision record ``<comment>:<version+1>``
(fields + event): the unique ``_id`` makes it the only writer of that version on any server, so
writes to one comment never overlap. A writer that lost the claim re-reads and decides again.
"""

import asyncio
from collections.abc import Callable
from dataclasses import replace

from newsflow_comments.context import Context
from newsflow_comments.outbox import entry
from newsflow_comments.records import Change, Revision, StoredComment
from newsflow_contracts import EventType
from newsflow_kit.errors import Conflict, NotFound

Decision = tuple[Change, EventType] | None
Decide = Callable[[StoredComment], Decision]
ATTEMPTS = 8


async def load(ctx: Context, comment_id: str) -> StoredComment:
    comment = await ctx.store.comment(comment_id)
    if comment is None:
        raise NotFound(f"no comment {comment_id}")
    return comment


async def update(ctx: Context, comment_id: str, decide: Decide) -> StoredComment:
    """Applies ``decide`` to the comment until its write lands; returns the comment as it now is."""
    for attempt in range(ATTEMPTS):
        comment = await load(ctx, comment_id)
        decision = decide(comment)
        if decision is None:
            return comment
        change, event_type = decision
        now = ctx.now()
        change = replace(change, updated_at=now)
        version = comment.version + 1
        after = comment.changed(change, version)
        revision = Revision(
            comment_id=comment_id,
            version=version,
            at=now,
            change=change,
            event=entry(event_type, after),
            article_id=comment.article_id,
        )
        if await ctx.store.claim_revision(revision):
            try:
                await ctx.store.apply_revision(revision)
            finally:
                ctx.threads.forget(comment.article_id)
            return after
        await asyncio.sleep(0.01 * (attempt + 1))  # the holder of that version is writing it
    raise Conflict(f"comment {comment_id} is changing concurrently; try again")
