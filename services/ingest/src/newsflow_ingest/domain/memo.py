"""What a source's last successful poll already ingested, so a refresh redoes none of it.

Many feeds send no validators (no ETag, no Last-Modified) and answer every poll with the whole
document, mostly unchanged; the costly part of a poll is normalising items (language detection,
sanitising, a store lookup per item), not fetching. A source remembers:

- ``body_digest``: the digest of the last body whose every item was handled; the same body again is
  treated as a 304 (FreshRSS does the same with its feed hash);
- ``item_digests``: the digest of each item handled then; an item whose digest is among them is
  unchanged and skipped before normalising.

An item that failed (a store error, an invalid item) is not remembered, and then neither is the body:
the next poll tries it again. ``MEMO_VERSION`` changes when what the poller makes of an item changes,
so an upgrade re-reads every feed once.
"""

import dataclasses
import hashlib
from dataclasses import dataclass, field

from newsflow_ingest.domain.feeds import FeedItem
from newsflow_ingest.records import FeedMemo

MEMO_VERSION = b"1"
ITEMS_KEPT = 500  # item digests a source keeps (a feed longer than this is only partly remembered)


def _digest(*parts: bytes, size: int = 16) -> str:
    h = hashlib.blake2b(MEMO_VERSION, digest_size=size)
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def body_digest(body: bytes, content_type: str, full_text: bool) -> str:
    """The digest of a fetched feed as this source would ingest it (its full-text setting included)."""
    return _digest(body, content_type.encode(), b"full" if full_text else b"feed")


def item_digest(item: FeedItem) -> str:
    """8 bytes: a collision among one feed's few hundred items is out of reach, and the source stays small."""
    return _digest(repr(dataclasses.astuple(item)).encode(), size=8)


@dataclass
class PollMemo:
    """One poll's view of the memo: what to skip, and what to remember afterwards."""

    body: str
    seen: frozenset[str]
    handled: list[str] = field(default_factory=list)
    failed: bool = False

    @classmethod
    def of(cls, body: str, remembered: FeedMemo | None) -> "PollMemo":
        return cls(body=body, seen=frozenset(remembered.item_digests if remembered else ()))

    def unchanged(self, item: FeedItem) -> tuple[bool, str]:
        digest = item_digest(item)
        return digest in self.seen, digest

    def remembered(self) -> FeedMemo:
        """The source's new memo: the body only when nothing failed."""
        return FeedMemo(None if self.failed else self.body, tuple(self.handled[:ITEMS_KEPT]))
