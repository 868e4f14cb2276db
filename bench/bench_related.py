"""``related``: quality of the AI features on the labelled set (bench/related_set.py), beside baselines.

corpus     336 labelled articles (64 stories × 3 English + 2 Russian sources, 16 distractors), embedded
           with the embedder's own code (packaged model, 1 thread) into a private alias
related    for every story article: the index service's related (hybrid: BM25 more-like-this + kNN,
           RRF) vs BM25 more-like-this alone (the previous behaviour), top 5
           precision@5            share of the 5 that are the same story (max 0.8: 4 other articles)
           cross-language recall@5  share of the story's other-language articles in the top 5
                                  (hybrid with cross_language=true; BM25 has no such option)
stories    the embedder's incremental story clustering over the set in publication order (batches of 16):
           pairwise precision/recall/F1 against the gold stories (distractors are stories of one),
           beside two baselines, each at its best setting on the set: BM25 (two articles linked when
           each is in the other's more-like-this top k, k 1-4) and the same single linkage on the
           vector cosine alone
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

import numpy as np
from elasticsearch import AsyncElasticsearch, Elasticsearch

from bench.common import Result
from bench.related_set import LabelledArticle, LabelledSet, build
from newsflow_contracts import ArticleData
from newsflow_index import clusterer, queries, service, stories
from newsflow_index.embedder import embed_articles, write_versioned
from newsflow_index.embedding import E5Embedder, sentences
from newsflow_index.indices import digests_alias, ensure_alias, vectors_alias
from newsflow_index.mapping import to_document
from newsflow_index.settings import IndexingSettings
from newsflow_index.summaries import first_sentences
from newsflow_index.summarizer import Summarizer
from newsflow_kit.testing import unique

NAME = "related"
ES_URL = os.environ.get("NEWSFLOW_ELASTICSEARCH__URL", "http://127.0.0.1:9200")
K = 5
BATCH = 16
# The best cosine-only thresholds on the set (grid 0.86-0.99 same language, 0.78-0.89 across).
VECTORS_ONLY_SAME = 0.96
VECTORS_ONLY_OTHER = 0.87
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


def load(es: Elasticsearch, alias: str, labelled: LabelledSet) -> tuple[float, float, dict[str, np.ndarray]]:
    """Indexes, embeds and summarises the set like the worker, embedder and summarizer would (articles
    into the alias, vectors and digests into their side indices); the vector and digest ms per article,
    the vectors."""
    ensure_alias(es, alias, IndexingSettings())
    embedder = E5Embedder(threads=1)
    articles = [to_article(a) for a in labelled.articles]
    assert write_versioned(es, alias, [to_document(a) for a in articles]) == len(articles)
    spent = 0.0
    vectors: dict[str, np.ndarray] = {}
    for start in range(0, len(articles), BATCH):
        batch = articles[start : start + BATCH]
        began = time.perf_counter()
        docs = embed_articles(embedder, batch)
        spent += time.perf_counter() - began
        assert write_versioned(es, vectors_alias(alias), docs) == len(docs)
        vectors |= {doc["id"]: np.asarray(doc["embedding"], dtype=np.float32) for doc in docs}
    es.indices.refresh(index=f"{alias},{vectors_alias(alias)}")
    summarizer = Summarizer(es, alias, embedder, batch_size=BATCH, max_sentences=24, idle_s=1)
    began = time.perf_counter()
    while summarizer.run_once():
        pass
    digests = time.perf_counter() - began
    es.indices.refresh(index=digests_alias(alias))
    return spent * 1000 / len(articles), digests * 1000 / len(articles), vectors


def pairwise(predicted: dict[str, str], gold: dict[str, str]) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 of a clustering (every pair of articles: same cluster or not)."""
    ids = sorted(gold)
    tp = fp = fn = 0
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            ours, theirs = predicted[a] == predicted[b], gold[a] == gold[b]
            tp += ours and theirs
            fp += ours and not theirs
            fn += theirs and not ours
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def cluster_stories(
    es: Elasticsearch, alias: str, labelled: LabelledSet, vectors: dict[str, np.ndarray]
) -> dict[str, str]:
    """Runs the embedder's incremental clustering over the set in publication order, batch by batch."""
    articles = sorted((to_article(a) for a in labelled.articles), key=lambda a: (a.published_at, a.id))
    for start in range(0, len(articles), BATCH):
        batch = articles[start : start + BATCH]
        clusterer.apply(es, alias, published=[(a, vectors[a.id]) for a in batch], retracted=[])
    docs = es.mget(index=clusterer.members_index(alias), ids=[a.id for a in articles], source_includes=["story_id"])
    return {doc["_id"]: doc["_source"]["story_id"] for doc in docs["docs"]}


def bm25_mutual(es: Elasticsearch, alias: str, labelled: LabelledSet) -> dict[str, str]:
    """Baseline: link two articles (within the window) when each is in the other's BM25 more-like-this top k.

    k is the best of 1-4 on the set (pairwise F1), i.e. the baseline gets its own tuning too.
    """
    by_id = {a.id: a for a in labelled.articles}
    top = {a.id: bm25_ids(es, alias, a) for a in labelled.articles}
    gold = {a.id: a.story for a in labelled.articles}
    best: tuple[float, dict[str, str]] = (-1.0, {})
    for k in range(1, K):
        links: dict[str, set[str]] = {a: set() for a in top}
        for a, found in top.items():
            for b in found[:k]:
                near = abs(by_id[a].published_at - by_id[b].published_at) <= stories.WINDOW
                if near and a in top[b][:k]:
                    links[a].add(b)
                    links[b].add(a)
        clusters = {member: part[0] for part in stories.components(links, links) for member in part}
        score = pairwise(clusters, gold)[2]
        if score > best[0]:
            best = (score, clusters)
    return best[1]


def vectors_only(labelled: LabelledSet, vectors: dict[str, np.ndarray]) -> dict[str, str]:
    """Baseline: the same single-linkage within the window on the cosine alone (best thresholds on the set)."""
    items = labelled.articles
    links: dict[str, set[str]] = {a.id: set() for a in items}
    for i, a in enumerate(items):
        for b in items[i + 1 :]:
            bar = VECTORS_ONLY_SAME if a.language == b.language else VECTORS_ONLY_OTHER
            near = abs(a.published_at - b.published_at) <= stories.WINDOW
            if near and float(vectors[a.id] @ vectors[b.id]) >= bar:
                links[a.id].add(b.id)
                links[b.id].add(a.id)
    return {member: part[0] for part in stories.components(links, links) for member in part}


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
    stored = es.mget(index=digests_alias(alias), ids=list(by_id), source_includes=["ai_summary", "ai_key_points"])[
        "docs"
    ]
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
        ms, digest_ms, vectors = load(es, alias, labelled)
        f = evaluate(es, alias, labelled)
        gold = {a.id: a.story for a in labelled.articles}
        began = time.perf_counter()
        clusters = pairwise(cluster_stories(es, alias, labelled, vectors), gold)
        cluster_ms = (time.perf_counter() - began) * 1000 / len(labelled.articles)
        baseline = pairwise(vectors_only(labelled, vectors), gold)
        bm25_baseline = pairwise(bm25_mutual(es, alias, labelled), gold)
    finally:
        es.indices.delete(index=f"{alias}*", ignore_unavailable=True, allow_no_indices=True)  # side, story ones too
        es.close()
    result = Result(NAME)
    result.add(
        "precision@5 hybrid cross_language vs BM25",
        f["hybrid_cross_p5"] * 100,
        f["bm25_p5"] * 100,
        "%",
        "≥ BM25 + 20",
        met=f["hybrid_cross_p5"] - f["bm25_p5"] >= 0.20,
    )
    result.add("precision@5 hybrid same-language-first vs BM25", f["hybrid_p5"] * 100, f["bm25_p5"] * 100, "%")
    result.add(
        "cross-language recall@5 (cross vs BM25)", f["hybrid_cross_recall5"] * 100, f["bm25_cross_recall5"] * 100, "%"
    )
    for key in ("rouge1", "rouge2", "rougeL"):
        result.add(f"summary {key} F1 (vs first 2 sentences)", f[f"summary_{key}"], f[f"first_{key}"], "F1")
    for i, name in enumerate(("precision", "recall", "F1")):  # pairwise, against the gold stories
        goal, met = ("≥ 0.85", clusters[i] >= 0.85) if name == "F1" else ("", None)
        result.add(f"stories {name} (vs BM25 mutual top-k)", clusters[i], bm25_baseline[i], "", goal, met=met)
        result.add(f"stories {name} (vs vectors only)", clusters[i], baseline[i], "")
    result.add("vector cost per article (title + lead, embedder)", ms, None, "ms")
    result.add("digest cost per article (sentences, summarizer)", digest_ms, None, "ms")
    result.add("clustering cost per article (ES calls)", cluster_ms, None, "ms")
    result.notes.append(
        f"{len(labelled.articles)} articles, {len(labelled.stories())} stories+distractors; "
        f"hybrid answers {f['hybrid_is_hybrid'] * 100:.0f}% hybrid; key points unique "
        f"{f['points_unique'] * 100:.0f}%, longest {f['points_max_words']:.0f} words"
    )
    return result
