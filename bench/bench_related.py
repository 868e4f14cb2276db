"""``related``: quality of the AI features on the labelled set (bench/related_set.py), beside baselines.

corpus     336 labelled articles (64 stories × 3 English + 2 Russian sources, 16 distractors), embedded
           with the embedder's own code (packaged model, 1 thread) into a private alias
related    for every story article: the index service's related (hybrid: BM25 more-like-this + kNN,
           RRF) vs BM25 more-like-this alone (the previous behaviour), top 5
           precision@5            share of the 5 that are the same story (max 0.8: 4 other articles)
           cross-language recall@5  share of the story's other-language articles in the top 5
                                  (hybrid with cross_language=true; BM25 has no such option)
summaries  ROUGE-1/2/L F1 of the embedder's summary vs the first two sentences, against the story's
           reference lead in the article's language
This is a quality evaluation, not a timing benchmark; it also prints the embedding cost it saw.
"""

import asyncio
import os
import re
import time
from collections import Counter
from datetime import UTC, datetime

from elasticsearch import AsyncElasticsearch, Elasticsearch

from bench.common import Result
from bench.related_set import LabelledArticle, LabelledSet, build
from newsflow_contracts import ArticleData
from newsflow_index import queries, service
from newsflow_index.embedder import embed_articles, write_versioned
from newsflow_index.embedding import E5Embedder, sentences
from newsflow_index.indices import ensure_alias
from newsflow_index.settings import IndexingSettings
from newsflow_index.summaries import first_sentences
from newsflow_kit.testing import unique

NAME = "related"
ES_URL = os.environ.get("NEWSFLOW_ELASTICSEARCH__URL", "http://127.0.0.1:9200")
K = 5
BATCH = 16
_WORD = re.compile(r"\w+")


def to_article(item: LabelledArticle) -> ArticleData:
    return ArticleData(
        id=item.id,
        version=1,
        seq=1,
        source_id=item.source_id,
        source_name=item.source_name,
        url=f"https://example.com/{item.id}",
        canonical_url=f"https://example.com/{item.id}",
        title=item.title,
        body_text=item.body,
        language=item.language,
        tags=item.tags,
        published_at=item.published_at,
        updated_at=item.published_at,
    )


def load(es: Elasticsearch, alias: str, labelled: LabelledSet) -> float:
    """Indexes and embeds the set like the worker + embedder would; returns the embedding ms per article."""
    ensure_alias(es, alias, IndexingSettings())
    embedder = E5Embedder(threads=1)
    articles = [to_article(a) for a in labelled.articles]
    spent = 0.0
    for start in range(0, len(articles), BATCH):
        batch = articles[start : start + BATCH]
        began = time.perf_counter()
        docs = embed_articles(embedder, batch, max_sentences=24)
        spent += time.perf_counter() - began
        assert write_versioned(es, alias, docs) == len(docs)
    es.indices.refresh(index=alias)
    return spent * 1000 / len(articles)


def bm25_ids(es: Elasticsearch, alias: str, item: LabelledArticle) -> list[str]:
    index = next(iter(es.indices.get_alias(name=alias).body))
    body = queries.related_body(
        index=index, article_id=item.id, source_id=item.source_id, size=K, as_of=datetime.now(UTC)
    )
    return [hit["_source"]["id"] for hit in es.search(index=alias, body=body)["hits"]["hits"]]


async def hybrid_ids(index: service.SearchIndex, item: LabelledArticle, *, cross: bool) -> tuple[list[str], str]:
    page = await service.related(index, article_id=item.id, size=K, cross_language=cross)
    return [i.id for i in page.items], page.method


def rouge(candidate: str, reference: str) -> dict[str, float]:
    """ROUGE-1, ROUGE-2 and ROUGE-L F1 on lower-cased word tokens (no stemming: two languages)."""
    cand, ref = _WORD.findall(candidate.lower()), _WORD.findall(reference.lower())

    def f1(overlap: float, c: int, r: int) -> float:
        if not overlap or not c or not r:
            return 0.0
        p, rc = overlap / c, overlap / r
        return 2 * p * rc / (p + rc)

    def grams(tokens: list[str], n: int) -> Counter[tuple[str, ...]]:
        return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))

    scores = {}
    for n in (1, 2):
        c, r = grams(cand, n), grams(ref, n)
        scores[f"rouge{n}"] = f1(sum((c & r).values()), sum(c.values()), sum(r.values()))
    scores["rougeL"] = f1(_lcs(cand, ref), len(cand), len(ref))
    return scores


def _lcs(a: list[str], b: list[str]) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        prev = 0
        for j, y in enumerate(b, start=1):
            prev, row[j] = row[j], prev + 1 if x == y else max(row[j], row[j - 1])
    return row[-1]


def evaluate(es: Elasticsearch, alias: str, labelled: LabelledSet) -> dict[str, float]:
    story_of = {a.id: a.story for a in labelled.articles}
    by_id = {a.id: a for a in labelled.articles}
    queries_ = [a for a in labelled.articles if not a.distractor]
    figures: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        figures.setdefault(name, []).append(value)

    async def run_hybrid() -> None:
        client = AsyncElasticsearch(ES_URL, request_timeout=30)
        index = service.SearchIndex(client, alias)
        try:
            for item in queries_:
                others = [a.id for a in labelled.stories()[item.story] if a.language != item.language]
                same_language = [a for a in labelled.stories()[item.story] if a.language == item.language]
                add("same_language_ceiling", min(K, len(same_language) - 1) / K)
                ids, method = await hybrid_ids(index, item, cross=False)
                add("hybrid_p5", sum(story_of[i] == item.story for i in ids) / K)
                add("hybrid_is_hybrid", float(method == "hybrid"))
                ids, _ = await hybrid_ids(index, item, cross=True)
                add("hybrid_cross_p5", sum(story_of[i] == item.story for i in ids) / K)
                add("hybrid_cross_recall5", sum(i in others for i in ids) / len(others))
        finally:
            await client.close()

    asyncio.run(run_hybrid())
    for item in queries_:
        others = [a.id for a in labelled.stories()[item.story] if a.language != item.language]
        ids = bm25_ids(es, alias, item)
        add("bm25_p5", sum(story_of[i] == item.story for i in ids) / K)
        add("bm25_cross_recall5", sum(i in others for i in ids) / len(others))
    stored = es.mget(index=alias, ids=list(by_id), source_includes=["ai_summary", "ai_key_points"])["docs"]
    for doc in stored:
        item = by_id[doc["_id"]]
        reference = labelled.reference_leads[(item.story, item.language)]
        ours = rouge(doc["_source"].get("ai_summary", ""), reference)
        base = rouge(first_sentences(sentences(item.body, limit=24)), reference)
        for key in ours:
            add(f"summary_{key}", ours[key])
            add(f"first_{key}", base[key])
        points = doc["_source"].get("ai_key_points", [])
        add("points_unique", float(len(set(points)) == len(points)))
        add("points_max_words", float(max((len(p.split()) for p in points), default=0)))
    return {k: (max(v) if k == "points_max_words" else sum(v) / len(v)) for k, v in figures.items()}


def run() -> Result:
    labelled = build()
    es = Elasticsearch(ES_URL, request_timeout=60)
    alias = unique("bench-related")
    try:
        ms = load(es, alias, labelled)
        f = evaluate(es, alias, labelled)
    finally:
        for name in list(es.indices.get_alias(name=alias).body) if es.indices.exists_alias(name=alias) else []:
            es.indices.delete(index=name)
        es.close()
    result = Result(NAME)
    result.add(
        "precision@5 hybrid cross_language vs BM25", f["hybrid_cross_p5"] * 100, f["bm25_p5"] * 100, "%", "≥ BM25 + 20"
    )
    result.add("precision@5 hybrid same-language-first vs BM25", f["hybrid_p5"] * 100, f["bm25_p5"] * 100, "%")
    result.add(
        "cross-language recall@5 (cross vs BM25)", f["hybrid_cross_recall5"] * 100, f["bm25_cross_recall5"] * 100, "%"
    )
    for key in ("rouge1", "rouge2", "rougeL"):
        result.add(f"summary {key} F1 (vs first 2 sentences)", f[f"summary_{key}"], f[f"first_{key}"], "F1")
    result.add("embedding cost per article (title+lead+sentences)", ms, None, "ms")
    result.notes.append(
        f"{len(labelled.articles)} articles, {len(labelled.stories())} stories+distractors; "
        f"hybrid answers {f['hybrid_is_hybrid'] * 100:.0f}% hybrid; key points unique "
        f"{f['points_unique'] * 100:.0f}%, longest {f['points_max_words']:.0f} words"
    )
    return result
