"""One change of a comment: decide on the current state, claim the next version, write it.

``decide(doc)`` returns the fields to set and the event to emit, None when nothing changes, or raises
(wrong state, wrong token). The change first inserts its revision record ``<comment>:<version+1>``
(fields + event): the unique ``_id`` makes it the only writer of that version on any server, so
writes to one comment never overlap. A writer that lost the claim re-reads and decides again.
"""

import asyncio
from collections.abc import Callable

from newsflow_comments.context import Context
from newsflow_comments.outbox import entry
from newsflow_comments.repository import Doc, revision_id, tick_of
from newsflow_contracts import EventType
from newsflow_kit.errors import Conflict, NotFound

Decision = tuple[Doc, EventType] | None
Decide = Callable[[Doc], Decision]
ATTEMPTS = 8


async def load(ctx: Context, comment_id: str) -> Doc:
    doc = await ctx.store.comment(comment_id)
    if doc is None:
        raise NotFound(f"no comment {comment_id}")
    return doc


async def update(ctx: Context, comment_id: str, decide: Decide) -> Doc:
    """Applies ``decide`` to the comment until its write lands; returns the comment as it now is."""
    for attempt in range(ATTEMPTS):
        doc = await load(ctx, comment_id)
        decision = decide(doc)
        if decision is None:
            return doc
        fields, event_type = decision
        now = ctx.now()
        fields = {**fields, "updated_at": now}
        version = int(doc["version"]) + 1
        after = {**doc, **fields, "version": version}
        record = {
            "_id": revision_id(comment_id, version),
            "comment_id": comment_id,
            "article_id": doc["article_id"],
            "version": version,
            "at": now,
            "tick": tick_of(now),
            "set": fields,
            "event": entry(event_type, after),
        }
        if await ctx.store.claim_revision(record):
            await ctx.store.apply_revision(record)
            return after
        await asyncio.sleep(0.01 * (attempt + 1))  # the holder of that version is writing it
    raise Conflict(f"comment {comment_id} is changing concurrently; try again")
