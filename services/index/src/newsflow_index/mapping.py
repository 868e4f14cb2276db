"""The index mapping, versioned in code, and how an article becomes a document.

Text is analysed per language: an article's title and body go into ``title.<field>`` and
``body.<field>`` for its own language only (``en``, ``ru``, or ``other`` = case/accent folding,
no stemming that could be wrong), so stemming never crosses languages and every query searches all
three. Bump :data:`MAPPING_VERSION` on any mapping change and run ``newsflow-index reindex``.

A retracted article is kept as a *tombstone* document (``status: retracted``, no text) at the
retraction's version instead of being deleted: Elasticsearch forgets the version of a deleted
document after ``index.gc_deletes`` (60 s), after which a replayed older ``article.published``
would resurrect it. Every read filters on ``status: published``.
"""

from typing import Any

from newsflow_contracts import ArticleData, ArticleStatus
from newsflow_index.settings import IndexingSettings

# 2: embedding (dense_vector, HNSW), embedding_model, ai_summary, ai_key_points; 3: digest_model
MAPPING_VERSION = 3

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


def index_body(settings: IndexingSettings, *, refresh_interval: str | None = None) -> dict[str, Any]:
    """Settings and mappings of a new index (``refresh_interval`` overrides, e.g. ``-1`` while reindexing)."""
    keyword = {"type": "keyword"}
    stored_only = {"type": "keyword", "index": False, "doc_values": False}
    return {
        "settings": {
            "number_of_shards": settings.shards,
            "number_of_replicas": settings.replicas,
            "refresh_interval": refresh_interval or settings.refresh_interval,
        },
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
                # Written only by the embedder role (docs/ai.md): the title + lead vector.
                "embedding": {
                    "type": "dense_vector",
                    "dims": EMBEDDING_DIMS,
                    "index": True,
                    "similarity": "cosine",
                    "index_options": {"type": "hnsw", "m": 16, "ef_construction": 100},
                },
                "embedding_model": keyword,
                # Written only by the summarizer role, at the same version: the AI block.
                "digest_model": keyword,
                "ai_summary": {"type": "text", "index": False},
                "ai_key_points": {"type": "text", "index": False},
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


def with_vector(document: dict[str, Any], *, vector: list[float], model: str) -> dict[str, Any]:
    """A published article's document plus the vector the embedder computed for the same version."""
    return {**document, "embedding": vector, "embedding_model": model}


def with_digest(document: dict[str, Any], *, summary: str, key_points: list[str], model: str) -> dict[str, Any]:
    """A stored document plus the AI block the summarizer computed for the same version."""
    return {**document, "ai_summary": summary, "ai_key_points": key_points, "digest_model": model}


def title_of(source: dict[str, Any]) -> str:
    """The title of a stored document, whichever language field holds it."""
    titles = source.get("title") or {}
    return next((str(t) for t in titles.values() if t), "")
