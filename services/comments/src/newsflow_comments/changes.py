"""One change of a comment: decide on the current state, write it with its event, publish, re-show.

``decide(doc)`` returns the fields to set and the event to emit, None when nothing changes, or raises
(wrong state, wrong token). A write that lost a race re-reads and decides again.
"""

from collections.abc import Callable

from newsflow_comments import visibility
from newsflow_comments.context import Context
from newsflow_comments.outbox import entry
from newsflow_comments.repository import Doc
from newsflow_contracts import EventType
from newsflow_kit.errors import Conflict, NotFound

Decision = tuple[Doc, EventType] | None
Decide = Callable[[Doc], Decision]
ATTEMPTS = 5


async def load(ctx: Context, comment_id: str) -> Doc:
    doc = await ctx.store.comment(comment_id)
    if doc is None:
        raise NotFound(f"no comment {comment_id}")
    return doc


async def update(ctx: Context, comment_id: str, decide: Decide) -> Doc:
    """Applies ``decide`` to the comment until the write lands; returns the comment as it now is."""
    for _ in range(ATTEMPTS):
        doc = await load(ctx, comment_id)
        decision = decide(doc)
        if decision is None:
            return doc
        fields, event_type = decision
        fields = {**fields, "updated_at": ctx.now()}
        after_state = {**doc, **fields, "version": doc["version"] + 1}
        after = await ctx.store.change(doc, fields, outbox_entry=entry(event_type, after_state))
        if after is not None:
            ctx.outbox.dispatch(after)
            await visibility.status_changed(ctx.store, after)
            return after
    raise Conflict(f"comment {comment_id} is changing concurrently; try again")
