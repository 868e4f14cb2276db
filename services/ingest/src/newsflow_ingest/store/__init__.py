"""MongoDB storage of articles and sources (the system of record). Runs on MongoDB and FerretDB.

This package is the only code that speaks pymongo. Its repositories take and return the records of
``newsflow_ingest.records`` (``ArticleVersion``, ``Source``, ``PollOutcome``, ``HubSubscription``),
which ``mappers.py`` maps to and from documents, one pair per stored shape; queries stay in here.

Articles are an append-only change log, ``article_versions``: one document per version, whose
``_id`` is its ``seq`` (the position in the change log) and which a unique index on
``(article_id, version)`` makes the only holder of its version. Both are claimed by one insert, so
no read-modify-write command is needed anywhere (FerretDB 1.x does not make those atomic):

- a version is taken by exactly one writer (the unique index); a loser re-reads and retries;
- a ``seq`` is taken by exactly one writer (the unique ``_id``), and a writer only tries ``n + 1``
  after it saw ``n`` committed (its own insert, a duplicate-key answer, the head found by
  :meth:`ArticlesRepo.head`), so changes commit in ``seq`` order and the log never has a hole: a
  reader that sees ``n`` has every change below it.

``bucket`` (``seq // BUCKET``) makes the change-cursor read an equality match (FerretDB 1.x pushes
equality filters down to its backend; ranges and sorts it answers by reading the whole collection).
Each version also carries its outbox state: ``bus`` is ``pending`` until Kafka acknowledged it.
"""

from pymongo.asynchronous.database import AsyncDatabase

from newsflow_ingest.store.articles import ArticlesRepo, ChangePage, VersionTaken
from newsflow_ingest.store.leases import SourceLeases
from newsflow_ingest.store.mappers import BUCKET, Doc, due_tick, with_due_tick
from newsflow_ingest.store.sources import HubSubscriptions, NameTaken, SourcesRepo

Database = AsyncDatabase[Doc]

__all__ = [
    "BUCKET",
    "ArticlesRepo",
    "ChangePage",
    "Database",
    "Doc",
    "HubSubscriptions",
    "NameTaken",
    "SourceLeases",
    "SourcesRepo",
    "VersionTaken",
    "due_tick",
    "with_due_tick",
]
