"""``article_refs`` as the projection role writes it (synchronous: the consumer loop is a thread)."""

from pymongo import UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from newsflow_comments.records import ArticleRef
from newsflow_comments.store.mappers import Doc, article_ref_doc
from newsflow_comments.store.store import DUPLICATE_KEY
from newsflow_contracts import ArticleData
from newsflow_kit.mongo import bulk_write_sync


class ArticleRefs:
    def __init__(self, db: Database[Doc]) -> None:
        self.refs = db["article_refs"]

    def apply(self, articles: list[ArticleData]) -> None:
        """Records each article's {status, version}; an older or equal version never overwrites a newer one.

        New articles are inserted (a duplicate means we hold it already), known ones updated only from an
        older version. No upsert that collides: FerretDB answers such a bulk write with a reply pymongo
        cannot read, which would stall the projection on a replayed or reordered event.
        """
        latest: dict[str, ArticleData] = {}
        for a in articles:
            if a.id not in latest or a.version > latest[a.id].version:
                latest[a.id] = a
        if not latest:
            return
        docs = [article_ref_doc(ArticleRef(a.id, a.status, a.version)) for a in latest.values()]
        try:
            self.refs.insert_many(docs, ordered=False)
            return
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            known = [docs[e["index"]] for e in errors]
        bulk_write_sync(
            self.refs,
            [
                UpdateOne(
                    {"_id": d["_id"], "version": {"$lt": d["version"]}},
                    {"$set": {k: d[k] for k in ("status", "version")}},
                )
                for d in known
            ],
            ordered=False,
        )
