"""Which comments a thread shows: visible ones, and removed ones that still have shown replies.

Each comment keeps ``shown`` and ``shown_children`` (its direct replies that are shown); a change of
one comment walks up its ancestors (at most 3) with atomic conditional updates, so concurrent
changes of siblings cannot leave a parent wrongly shown or hidden.
"""

from newsflow_comments.repository import Doc, Store


async def child_changed(store: Store, parent_id: str | None, delta: int) -> None:
    """A reply of ``parent_id`` appeared (+1) or disappeared (-1); propagates up while it changes a parent."""
    while parent_id is not None:
        parent = await store.add_shown_children(parent_id, delta)
        if parent is None or not await store.set_shown(parent_id, delta > 0):
            return
        parent_id = parent.get("parent_id")


async def status_changed(store: Store, doc: Doc) -> None:
    """``doc`` (the state after a change) may have to appear or disappear, with its ancestors."""
    want = doc["status"] == "visible" or doc.get("shown_children", 0) > 0
    if want != doc.get("shown", False) and await store.set_shown(doc["_id"], want):
        await child_changed(store, doc.get("parent_id"), 1 if want else -1)
