"""The index mapping, versioned in code, and how an article becomes a document.

Text is analysed per language: an article's title and body go into ``title.<field>`` and
``body.<field>`` for its own language only (``en``, ``ru``, or ``other`` = case/accent folding,
no stemming that could be wrong), so stemming never crosses languages and every query searches all
three. Bump :data:`MAPPING_VERSION` on any mapping change and run ``newsflow-index reindex``.

A retracted article is kept as a *tombstone* document (``status: retracted``, no text) at the
retraction's version instead of being deleted: Elasticsearch forgets the version of a deleted
document after ``index.gc_deletes`` (60 s), after which a replayed older ``article.published``
would resurrect it. Every read filters on ``status: published``.

What the AI roles compute lives in two *side* indices keyed by the article id (docs/ai.md "Side
indices"), never in the article document, so the indexing path writes each article version once:
``<alias>-vectors`` (the embedder's title + lead vector and the few fields its kNN filters on) and
``<alias>-digests`` (the summarizer's AI block). Each side document carries the article ``version``
it describes; a retraction leaves a side tombstone (``status: retracted``) at its version.
"""

from typing import Any

from newsflow_contracts import ArticleData, ArticleStatus
from newsflow_index.settings import IndexingSettings

# 2: embedding (dense_vector, HNSW), embedding_model, ai_summary, ai_key_points; 3: digest_model;
# 4: all of them moved out to the side indices (the article document is the worker's alone)
MAPPING_VERSION = 4
# The side indices' own mapping version (their index names and _meta carry it, like the articles index).
SIDE_MAPPING_VERSION = 1

EMBEDDING_DIMS = 384

LANGUAGE_FIELDS = {"en": "en", "ru": "ru"}
FALLBACK_FIELD = "other"
ANALYZERS = {"en": "newsflow_english", "ru": "newsflow_russian", FALLBACK_FIELD: "newsflow_folding"}
TEXT_SUBFIELDS = tuple(ANALYZERS)

PUBLISHED = ArticleStatus.PUBLISHED.value
RETRACTED = ArticleStatus.RETRACTED.value


def _per_language_text() -> dict[str, Any]:
    return {
        "properties": {
            field: {"type": "text", "analyzer": analyzer, "index_options": "offsets"}
            for field, analyzer in ANALYZERS.items()
        }
    }


KEYWORD = {"type": "keyword"}


def _index_settings(settings: IndexingSettings, refresh_interval: str | None) -> dict[str, Any]:
    return {
        "number_of_shards": settings.shards,
        "number_of_replicas": settings.replicas,
        "refresh_interval": refresh_interval or settings.refresh_interval,
    }


def index_body(settings: IndexingSettings, *, refresh_interval: str | None = None) -> dict[str, Any]:
    """Settings and mappings of a new index (``refresh_interval`` overrides, e.g. ``-1`` while reindexing)."""
    keyword = KEYWORD
    stored_only = {"type": "keyword", "index": False, "doc_values": False}
    return {
        "settings": _index_settings(settings, refresh_interval),
        "mappings": {
            "dynamic": "strict",
            "_meta": {"mapping_version": MAPPING_VERSION},
            "properties": {
                "id": keyword,
                "version": {"type": "long"},
                "seq": {"type": "long"},
                "status": keyword,
                "source_id": keyword,
                "source_name": keyword,
                "language": keyword,
                "tags": keyword,
                "authors": keyword,
                "url": stored_only,
                "image_url": stored_only,
                "summary": {"type": "text", "index": False},
                "published_at": {"type": "date"},
                "updated_at": {"type": "date"},
                "title": _per_language_text(),
                "body": _per_language_text(),
                "title_suggest": {
                    "type": "text",
                    "analyzer": "newsflow_autocomplete",
                    "search_analyzer": "newsflow_autocomplete_search",
                },
            },
        },
    }


def text_field(language: str) -> str:
    """The sub-field that analyses ``language`` (ISO 639-1)."""
    return LANGUAGE_FIELDS.get(language.lower(), FALLBACK_FIELD)


def to_document(article: ArticleData, *, retracted: bool = False) -> dict[str, Any]:
    """The document stored for one article version (a tombstone when retracted)."""
    if retracted or article.status is ArticleStatus.RETRACTED:
        return {"id": article.id, "version": article.version, "seq": article.seq, "status": RETRACTED}
    field = text_field(article.language)
    return {
        "id": article.id,
        "version": article.version,
        "seq": article.seq,
        "status": article.status.value,
        "source_id": article.source_id,
        "source_name": article.source_name,
        "language": article.language.lower(),
        "tags": list(article.tags),
        "authors": list(article.authors),
        "url": article.url,
        "image_url": article.image_url,
        "summary": article.summary,
        "published_at": article.published_at.isoformat(),
        "updated_at": article.updated_at.isoformat(),
        "title": {field: article.title},
        "body": {field: article.body_text},
        "title_suggest": article.title,
    }


def vectors_body(settings: IndexingSettings) -> dict[str, Any]:
    """The vectors side index: one document per article, the vector of the version it names.

    Besides the vector only what the kNN filters and the summarizer's newest-first scan need
    (``status``, ``language``, ``source_id``, ``published_at``, ``seq``): the items themselves are read
    from the articles alias, which also decides whether an article is still live.
    """
    return _side_body(
        settings,
        "vectors",
        {
            "seq": {"type": "long"},
            "language": KEYWORD,
            "source_id": KEYWORD,
            "published_at": {"type": "date"},
            "embedding": {
                "type": "dense_vector",
                "dims": EMBEDDING_DIMS,
                "index": True,
                "similarity": "cosine",
                "index_options": {"type": "hnsw", "m": 16, "ef_construction": 100},
            },
            "embedding_model": KEYWORD,
        },
    )


def digests_body(settings: IndexingSettings) -> dict[str, Any]:
    """The digests side index: one document per article, the AI block of the version it names."""
    return _side_body(
        settings,
        "digests",
        {
            "digest_model": KEYWORD,
            "ai_summary": {"type": "text", "index": False},
            "ai_key_points": {"type": "text", "index": False},
        },
    )


def _side_body(settings: IndexingSettings, side: str, properties: dict[str, Any]) -> dict[str, Any]:
    """A side index's body: strict, keyed like the article (``id``, ``version``, ``status``) plus its own fields."""
    return {
        "settings": _index_settings(settings, None),
        "mappings": {
            "dynamic": "strict",
            "_meta": {"mapping_version": SIDE_MAPPING_VERSION, "side": side},
            "properties": {"id": KEYWORD, "version": {"type": "long"}, "status": KEYWORD, **properties},
        },
    }


def vector_document(article: ArticleData, *, vector: list[float], model: str) -> dict[str, Any]:
    """The vectors side document of one published article version."""
    return {
        "id": article.id,
        "version": article.version,
        "seq": article.seq,
        "status": PUBLISHED,
        "language": article.language.lower(),
        "source_id": article.source_id,
        "published_at": article.published_at.isoformat(),
        "embedding": vector,
        "embedding_model": model,
    }


def digest_document(
    article_id: str, version: int, *, summary: str, key_points: list[str], model: str
) -> dict[str, Any]:
    """The digests side document of one published article version."""
    return {
        "id": article_id,
        "version": version,
        "status": PUBLISHED,
        "ai_summary": summary,
        "ai_key_points": key_points,
        "digest_model": model,
    }


def side_tombstone(article_id: str, version: int) -> dict[str, Any]:
    """What a retraction leaves in a side index: nothing of the article, its version kept."""
    return {"id": article_id, "version": version, "status": RETRACTED}


def title_of(source: dict[str, Any]) -> str:
    """The title of a stored document, whichever language field holds it."""
    titles = source.get("title") or {}
    return next((str(t) for t in titles.values() if t), "")
