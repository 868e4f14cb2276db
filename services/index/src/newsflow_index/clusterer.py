"""Story clusters kept in Elasticsearch, updated incrementally by the embedder as vectors arrive.

Two indices next to the articles alias (docs/ai.md "Story clusters"):

``<alias>-story-members``  one document per clustered article: its entities, language, time,
                           source, title, ``links`` (the articles it is linked to, kept symmetric),
                           ``story_id``, the article ``version`` it was clustered at and ``done``;
                           a retracted article stays as a tombstone (``status: retracted``)
``<alias>-stories``        one document per story: members, sources, languages, founder title, times;
                           a story merged into another stays as ``status: merged`` + ``redirect_to``

Per article (:meth:`Clusterer.add`): kNN over the vectors side index (same time window; the members
hold no vector of their own) + the articles of the same batch → the link rule of :mod:`stories` →
its links replace its old ones (both ends updated) → when it simply joins or stays in one story (the
common case, :meth:`Clusterer._joined`) that story's document is updated; otherwise the components
around it and around its former neighbours are recomputed → every member whose story changed is
rewritten, story documents rebuilt, vanished ids redirected.

At least once, idempotent: the batch's own member documents are first written with ``done: false``,
together with everything else, and only then marked ``done`` (a second request). A replay finds
``done`` at the same version and skips; a crash in between leaves ``done: false`` and the replay
recomputes the same links and ids (they depend only on the graph, never on arrival order). The
embedder stores its Kafka offsets after :meth:`Clusterer.apply` returned.

One writer: the member graph is read and written without locks, so two embedder processes clustering
the same story at the same instant can miss a link between two of its articles (docs/ai.md limits).
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from elasticsearch import BadRequestError, Elasticsearch

from newsflow_contracts import ArticleData
from newsflow_index import stories
from newsflow_index.bulk import TransientBulkError
from newsflow_index.embedding import Vectors
from newsflow_index.indices import vectors_alias
from newsflow_index.mapping import PUBLISHED

log = logging.getLogger(__name__)

ACTIVE = "active"
RETRACTED = "retracted"
MERGED = "merged"
CANDIDATES = 20
NUM_CANDIDATES = 100
MAX_STORY = 1000  # members read around one article at most (a runaway chain stops growing here)


def members_index(alias: str) -> str:
    return f"{alias}-story-members"


def stories_index(alias: str) -> str:
    return f"{alias}-stories"


MEMBERS_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "version": {"type": "long"},
        "done": {"type": "boolean"},
        "status": {"type": "keyword"},
        "story_id": {"type": "keyword"},
        "published_at": {"type": "date"},
        "language": {"type": "keyword"},
        "source_id": {"type": "keyword"},
        "source_name": {"type": "keyword", "index": False},
        "title": {"type": "keyword", "index": False, "doc_values": False},
        "entities": {"type": "keyword"},
        "links": {"type": "keyword"},
    },
}
# No vector here: the kNN for candidates runs over the vectors side index, which holds the same title +
# lead vector. A member is rewritten whenever its links or story change (and once more when marked
# done), and each rewrite of a document with a dense_vector is another HNSW insertion: with vectors,
# clustering cost Elasticsearch three or more graph insertions per article (docs/ai.md).
STORIES_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "status": {"type": "keyword"},
        "redirect_to": {"type": "keyword"},
        "founder_id": {"type": "keyword"},
        "title": {"type": "keyword", "index": False, "doc_values": False},
        "article_ids": {"type": "keyword"},
        "size": {"type": "integer"},
        "source_ids": {"type": "keyword"},
        "source_names": {"type": "keyword", "index": False, "doc_values": False},
        "sources_count": {"type": "integer"},
        "languages": {"type": "keyword"},
        "first_published_at": {"type": "date"},
        "last_published_at": {"type": "date"},
        "updated_at": {"type": "date"},
    },
}


_ENSURED: set[str] = set()


def ensure_indices(es: Elasticsearch, alias: str) -> None:
    """Creates the two story indices if missing (idempotent; checked once per process and alias)."""
    if alias in _ENSURED:
        return
    for name, mapping in ((members_index(alias), MEMBERS_MAPPING), (stories_index(alias), STORIES_MAPPING)):
        if es.indices.exists(index=name):
            continue
        try:
            es.indices.create(index=name, mappings=mapping, settings={"number_of_replicas": 0})
        except BadRequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise
    _ENSURED.add(alias)


@dataclass
class Member:
    """One clustered article (or the tombstone of a retracted one)."""

    id: str
    version: int
    status: str
    story_id: str
    published_at: datetime
    language: str = ""
    source_id: str = ""
    source_name: str = ""
    title: str = ""
    entities: tuple[str, ...] = ()
    links: set[str] = field(default_factory=set)
    done: bool = True

    @property
    def profile(self) -> stories.Profile:
        return stories.Profile(self.id, self.language, self.published_at, self.entities)

    def fields(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "done": self.done,
            "status": self.status,
            "story_id": self.story_id,
            "published_at": self.published_at.isoformat(),
            "language": self.language,
            "source_id": self.source_id,
            "source_name": self.source_name,
            "title": self.title,
            "entities": list(self.entities),
            "links": sorted(self.links),
        }

    @classmethod
    def from_source(cls, source: dict[str, Any]) -> "Member":
        return cls(
            id=str(source["id"]),
            version=int(source["version"]),
            status=str(source["status"]),
            story_id=str(source.get("story_id") or ""),
            published_at=datetime.fromisoformat(source["published_at"]),
            language=str(source.get("language") or ""),
            source_id=str(source.get("source_id") or ""),
            source_name=str(source.get("source_name") or ""),
            title=str(source.get("title") or ""),
            entities=tuple(source.get("entities") or ()),
            links=set(source.get("links") or ()),
            done=bool(source.get("done", True)),
        )


@dataclass(frozen=True)
class Outcome:
    """What one batch changed: the stories written and the ids that now redirect (or vanished)."""

    updated: list[str]
    redirected: dict[str, str | None]


class Clusterer:
    """One batch of clustering work against the story indices of ``alias``."""

    def __init__(self, es: Elasticsearch, alias: str, *, candidates: int = CANDIDATES) -> None:
        self.es, self.alias, self.candidates = es, alias, candidates
        self._cache: dict[str, Member | None] = {}
        self._dirty: set[str] = set()
        self._vectors: dict[str, Vectors] = {}
        self._batch: set[str] = set()
        self._stories: dict[str, dict[str, Any] | None] = {}
        self._redirected: dict[str, str | None] = {}

    # -- reading ------------------------------------------------------------------------------------------
    def _load(self, ids: Iterable[str]) -> None:
        missing = sorted({i for i in ids if i not in self._cache})
        if not missing:
            return
        response = self.es.mget(index=members_index(self.alias), ids=missing, source_excludes=["embedding"])
        for doc in response["docs"]:
            self._cache[doc["_id"]] = Member.from_source(doc["_source"]) if doc.get("found") else None

    def _get(self, member_id: str) -> Member | None:
        self._load([member_id])
        return self._cache[member_id]

    def _neighbours(self, member: Member, vector: Vectors) -> list[tuple[str, float]]:
        """(id, cosine) of the nearest published vectors in the window, plus this batch's articles.

        Hits that are not active members (not clustered yet, or retracted since) are dropped by the
        caller, which reads every candidate's member document anyway."""
        window = stories.WINDOW
        body = {
            "knn": {
                "field": "embedding",
                "query_vector": [float(x) for x in vector],
                "k": self.candidates,
                "num_candidates": max(NUM_CANDIDATES, self.candidates),
                "filter": {
                    "bool": {
                        "filter": [
                            {"term": {"status": PUBLISHED}},
                            {
                                "range": {
                                    "published_at": {
                                        "gte": (member.published_at - window).isoformat(),
                                        "lte": (member.published_at + window).isoformat(),
                                    }
                                }
                            },
                        ],
                        "must_not": [{"ids": {"values": [member.id]}}],
                    }
                },
            },
            "size": self.candidates,
            "_source": False,
        }
        hits = self.es.search(index=vectors_alias(self.alias), body=body)["hits"]["hits"]
        found = {hit["_id"]: 2 * float(hit["_score"]) - 1 for hit in hits}  # cosine similarity score = (1 + cos) / 2
        for other, other_vector in self._vectors.items():
            if other != member.id:
                found[other] = float(np.dot(vector, other_vector))
        return sorted(found.items())

    # -- changes ------------------------------------------------------------------------------------------
    def needs(self, article_id: str, version: int) -> bool:
        """Whether this article version still has to be clustered (a replay of a done one does not)."""
        current = self._get(article_id)
        return current is None or current.version < version or (current.version == version and not current.done)

    def add(self, article: ArticleData, vector: Vectors) -> None:
        """Clusters one published article version (its vector is the embedder's title + lead vector)."""
        current = self._get(article.id)
        if current is not None and not self.needs(article.id, article.version):
            return
        old_links = set(current.links) if current is not None and current.status == ACTIVE else set()
        member = Member(
            id=article.id,
            version=article.version,
            status=ACTIVE,
            story_id=current.story_id if current is not None and current.status == ACTIVE else "",
            published_at=article.published_at.astimezone(UTC),
            language=article.language.lower(),
            source_id=article.source_id,
            source_name=article.source_name,
            title=article.title,
            entities=tuple(stories.entities(article.title, article.body_text or article.summary)),
            done=False,
        )
        self._vectors[article.id] = vector
        pairs = self._neighbours(member, vector)
        self._load(other for other, _ in pairs)
        links = set()
        for other, cosine in pairs:
            neighbour = self._cache.get(other)
            if (
                neighbour is not None
                and neighbour.status == ACTIVE
                and stories.linked(member.profile, neighbour.profile, cosine)
            ):
                links.add(other)
        member.links = links
        self._cache[article.id] = member
        self._batch.add(article.id)
        self._dirty.add(article.id)
        self._relink(article.id, added=links - old_links, removed=old_links - links)
        if self._joined(member, current, removed=old_links - links):
            return
        previous = {article.id: current.story_id} if current is not None and current.story_id else {}
        self._recompute({article.id, *old_links}, previous=previous)

    def retract(self, article_id: str, version: int) -> None:
        """Removes a retracted article: its links go, its story may split or vanish; a tombstone stays."""
        current = self._get(article_id)
        if current is not None and current.version > version:
            return
        if current is not None and current.status == RETRACTED:
            return
        old_links = set(current.links) if current is not None else set()
        tombstone = Member(
            id=article_id,
            version=version,
            status=RETRACTED,
            story_id="",
            published_at=current.published_at if current is not None else datetime.now(UTC),
            done=False,
        )
        self._cache[article_id] = tombstone
        self._vectors.pop(article_id, None)
        self._batch.add(article_id)
        self._dirty.add(article_id)
        self._relink(article_id, added=set(), removed=old_links)
        previous = {article_id: current.story_id} if current is not None and current.story_id else {}
        self._recompute(old_links, previous=previous)

    def _relink(self, article_id: str, *, added: set[str], removed: set[str]) -> None:
        self._load(added | removed)
        for other in added | removed:
            neighbour = self._cache.get(other)
            if neighbour is None:
                continue
            if other in added:
                neighbour.links.add(article_id)
            else:
                neighbour.links.discard(article_id)
            self._dirty.add(other)

    def _joined(self, member: Member, current: Member | None, *, removed: set[str]) -> bool:
        """The common case of :meth:`add` done without reading the story: whether it applied.

        It applies when the article joins, or stays in, one story whose founder stays: every neighbour
        (and the article's own former story) is in the same story, every dropped link's far end still
        shares a neighbour with the article (so nothing splits off), and the article sorts after the
        story's last member (a new one) or keeps its time, language and source (one already in). Then
        the story's members are its old members plus this article, and its document is updated from
        the stored one: the work stays a few reads however large the story is. Anything else (a merge,
        a possible split, an older article, a new founder) goes through :meth:`_recompute`.
        """
        own = current.story_id if current is not None and current.status == ACTIVE else ""
        stays = bool(own)
        story_ids = {self._member(n).story_id for n in member.links} | ({own} - {""})
        if len(story_ids) != 1 or "" in story_ids:
            return False
        if any(not (self._cache.get(r) and self._member(r).links & member.links) for r in removed):
            return False
        (sid,) = story_ids
        story = self._story(sid)
        if story is None:
            return False
        if stays:  # its time kept, it stays the founder or not
            assert current is not None
            if (current.published_at, current.language, current.source_id, current.source_name) != (
                member.published_at,
                member.language,
                member.source_id,
                member.source_name,
            ):
                return False
            if story["founder_id"] == member.id:
                story["title"] = member.title
        else:  # after the last member, so after the founder too
            last = (datetime.fromisoformat(story["last_published_at"]), story["article_ids"][-1])
            if last >= (member.published_at, member.id):
                return False
            story["article_ids"].append(member.id)
            story["size"] = len(story["article_ids"])
            if member.source_id not in story["source_ids"]:
                story["source_ids"].append(member.source_id)
                story["source_names"].append(member.source_name)
                story["sources_count"] = len(story["source_ids"])
            story["languages"] = sorted({*story["languages"], member.language})
            story["last_published_at"] = member.published_at.isoformat()
        story["updated_at"] = datetime.now(UTC).isoformat()
        member.story_id = sid
        self._stories[sid] = story
        return True

    def _story(self, sid: str) -> dict[str, Any] | None:
        """The active story ``sid`` as this batch has it, else as stored (None: missing, merged or deleted)."""
        if sid in self._stories:
            story = self._stories[sid]
        else:
            found = self.es.options(ignore_status=404).get(index=stories_index(self.alias), id=sid)
            story = found["_source"] if found.get("found") else None
        return story if story is not None and story.get("status") == ACTIVE else None

    def _recompute(self, seeds: set[str], *, previous: dict[str, str]) -> None:
        """New story ids for every component around ``seeds``; story documents and redirects."""
        nodes: set[str] = set()
        todo = sorted(seeds)
        while todo and len(nodes) < MAX_STORY:
            self._load(todo)
            step = []
            for node in todo:
                member = self._cache.get(node)
                if node in nodes or member is None or member.status != ACTIVE:
                    continue
                nodes.add(node)
                step += [n for n in member.links if n not in nodes]
            todo = sorted(set(step))
        graph = {n: {m for m in self._member(n).links if m in nodes} for n in nodes}
        old_story = {n: self._member(n).story_id for n in nodes if self._member(n).story_id} | previous
        new_story: dict[str, str] = {}
        for part in stories.components(nodes, graph):
            sid = stories.story_id(stories.founder((n, self._member(n).published_at) for n in part))
            for n in part:
                new_story[n] = sid
                if self._member(n).story_id != sid:
                    self._member(n).story_id = sid
                    self._dirty.add(n)
            self._stories[sid] = self._story_document(sid, [self._member(n) for n in part])
        order = {n: (self._member(n).published_at, n) for n in nodes}
        for old, target in stories.redirects(old_story, new_story, order=order).items():
            self._redirected[old] = target
            self._stories[old] = None if target is None else {"id": old, "status": MERGED, "redirect_to": target}

    def _member(self, member_id: str) -> Member:
        member = self._cache[member_id]
        assert member is not None
        return member

    @staticmethod
    def _story_document(sid: str, members: Sequence[Member]) -> dict[str, Any]:
        ordered = sorted(members, key=lambda m: (m.published_at, m.id))
        sources: dict[str, str] = {}
        for m in ordered:
            sources.setdefault(m.source_id, m.source_name)
        return {
            "id": sid,
            "status": ACTIVE,
            "founder_id": ordered[0].id,
            "title": ordered[0].title,
            "article_ids": [m.id for m in ordered],
            "size": len(ordered),
            "source_ids": list(sources),
            "source_names": list(sources.values()),
            "sources_count": len(sources),
            "languages": sorted({m.language for m in ordered}),
            "first_published_at": ordered[0].published_at.isoformat(),
            "last_published_at": ordered[-1].published_at.isoformat(),
            "updated_at": datetime.now(UTC).isoformat(),
        }

    # -- writing ------------------------------------------------------------------------------------------
    def flush(self) -> Outcome:
        """Writes everything this batch changed, then marks the batch's own members done."""
        members, story_index = members_index(self.alias), stories_index(self.alias)
        operations: list[dict[str, Any]] = []
        for member_id in sorted(self._dirty):
            doc = self._member(member_id).fields()
            if member_id in self._batch:
                doc["done"] = False
            # The whole document (every dirty member is in the cache): an older member that still
            # carries a vector of its own (before the members lost theirs) drops it here.
            operations += [{"index": {"_index": members, "_id": member_id}}, doc]
        for sid, story in sorted(self._stories.items()):
            if story is None:
                operations.append({"delete": {"_index": story_index, "_id": sid}})
            else:
                operations += [{"index": {"_index": story_index, "_id": sid}}, story]
        self._bulk(operations, refresh=True)  # stories are listed by search: visible when the batch is done
        done = [
            op
            for member_id in sorted(self._batch)
            for op in ({"update": {"_index": members, "_id": member_id}}, {"doc": {"done": True}})
        ]
        self._bulk(done, refresh=False)  # only read by id (realtime)
        outcome = Outcome(
            updated=sorted(s for s, doc in self._stories.items() if doc is not None), redirected=dict(self._redirected)
        )
        for member_id in self._batch:
            self._member(member_id).done = True
        self._dirty.clear()
        self._batch.clear()
        self._vectors.clear()
        self._stories.clear()
        self._redirected.clear()
        return outcome

    def _bulk(self, operations: list[dict[str, Any]], *, refresh: bool) -> None:
        if not operations:
            return
        response = self.es.bulk(operations=operations, refresh=refresh)
        if not response.get("errors"):
            return
        failed = []
        for item in response["items"]:
            result = next(iter(item.values()))
            status = int(result.get("status", 500))
            if status >= 300 and not (status == 404 and "delete" in item):
                failed.append(f"{status} {result.get('error')}")
        if failed:
            raise TransientBulkError(f"{len(failed)} story writes failed, e.g. {failed[0]}")


def apply(
    es: Elasticsearch,
    alias: str,
    *,
    published: Sequence[tuple[ArticleData, Vectors]],
    retracted: Sequence[tuple[str, int]],
    candidates: int = CANDIDATES,
) -> Outcome:
    """Clusters one batch: retractions first, then the published versions in (published_at, id) order."""
    ensure_indices(es, alias)
    if published:  # the candidates' kNN reads the vectors side index: make the latest vectors searchable
        es.indices.refresh(index=vectors_alias(alias))
    clusterer = Clusterer(es, alias, candidates=candidates)
    for article_id, version in sorted(retracted):
        clusterer.retract(article_id, version)
    for article, vector in sorted(published, key=lambda p: (p[0].published_at, p[0].id)):
        clusterer.add(article, vector)
    return clusterer.flush()


def without_done(es: Elasticsearch, alias: str, versions: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """The (id, version) pairs that still need clustering (the rest were clustered before a replay)."""
    if not versions:
        return []
    ensure_indices(es, alias)
    clusterer = Clusterer(es, alias)
    return [(i, v) for i, v in versions if clusterer.needs(i, v)]


def stored_vectors(es: Elasticsearch, alias: str, ids: Sequence[str]) -> dict[str, Vectors]:
    """The embedder's vectors of ``ids`` as the vectors side index holds them (for a replayed batch)."""
    if not ids:
        return {}
    docs = es.mget(index=vectors_alias(alias), ids=list(ids), source_includes=["status", "embedding"])["docs"]
    return {
        doc["_id"]: np.asarray(doc["_source"]["embedding"], dtype=np.float32)
        for doc in docs
        if doc.get("found") and doc["_source"].get("status") == PUBLISHED and doc["_source"].get("embedding")
    }
