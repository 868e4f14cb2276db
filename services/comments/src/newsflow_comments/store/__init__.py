"""MongoDB access: the collections of ``newsflow_comments``, written only with replica-safe patterns.

    comments       one document per comment: its current state (``version``) and its posted event
    revisions      one record per change of a comment after posting: {_id: "<comment>:<version>", set, event}
    published      {_id: event id}: events the worker has handed to Kafka
    article_refs   projection of articles.v1: {_id, status, version}
    votes          {_id: "<comment>:<voter>", comment_id, value, at}: one per voter, replaced on a change
    marks          per-client records, insert-only: ``ban:<fp>``, ``known:<fp>``, post claims
                   (duplicate window / Idempotency-Key) and rate-limit hits, the last two with ``expires_at``
    settings       {_id: "policy", ...} and the worker's scan positions

This package is the only code that speaks pymongo: :class:`Store` (``store.py``) and
:class:`ArticleRefs` take and return the records of ``newsflow_comments.records``, which
``mappers.py`` maps to and from documents (one pair per stored shape); queries stay in here.

FerretDB 1.x (the local MongoDB-wire server) applies every update as read-modify-write without
isolation: two concurrent updates of one document can lose one, whatever fields they touch, and a
``version``-filtered update can succeed twice. Inserts guarded by a unique index are atomic on it
and on MongoDB. So every write here is one of:

- an insert whose ``_id`` is the claim (a comment, a revision, a mark, a published marker);
- a write to a comment by whoever inserted the revision record ``<comment>:<version>`` first: one
  writer per version, so writes to one comment never overlap (the revision holds the fields, so a
  change whose writer died is rolled forward by the worker);
- a replace of a document only its own voter writes (a vote), or of a single-writer document
  (the worker's positions, the policy).

Scores are folded from the votes by the single worker; counts and visibility are computed on read.

Comments, revisions and votes carry ``tick``, the minute of their time (:func:`tick_of`), so that the
worker's "changed since" reads are equality matches, which FerretDB answers from an index (a range
it answers by reading the whole collection); see :func:`queries.changed_since`.
"""

from newsflow_comments.store.article_refs import ArticleRefs
from newsflow_comments.store.mappers import Doc, tick_of
from newsflow_comments.store.queries import ORDERS, StoreBusy, StoreUnavailable, deadline, keyset_after, sort_keys
from newsflow_comments.store.store import Store

__all__ = [
    "ORDERS",
    "ArticleRefs",
    "Doc",
    "Store",
    "StoreBusy",
    "StoreUnavailable",
    "deadline",
    "keyset_after",
    "sort_keys",
    "tick_of",
]
