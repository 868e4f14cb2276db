"""Event contracts shared by every Newsflow service: one envelope, typed payloads, topic names."""

from newsflow_contracts.articles import BODY_ATTRIBUTES, BODY_TAGS, ArticleData, ArticleStatus
from newsflow_contracts.comments import COUNTS_IDS_MAX, BanCreate, CommentData, CommentStatus, CountsPage, CountsRequest
from newsflow_contracts.envelope import Envelope, EventType, new_event
from newsflow_contracts.limits import (
    CURSOR_MAX_CHARS,
    PAGE_SIZE_MAX,
    SEARCH_QUERY_MAX_CHARS,
    SUGGEST_QUERY_MAX_CHARS,
)
from newsflow_contracts.search import Highlight
from newsflow_contracts.topics import ARTICLES, ARTICLES_DLQ, COMMENTS, TopicSpec, all_topics

__all__ = [
    "ARTICLES",
    "ARTICLES_DLQ",
    "BODY_ATTRIBUTES",
    "BODY_TAGS",
    "COMMENTS",
    "COUNTS_IDS_MAX",
    "CURSOR_MAX_CHARS",
    "PAGE_SIZE_MAX",
    "SEARCH_QUERY_MAX_CHARS",
    "SUGGEST_QUERY_MAX_CHARS",
    "ArticleData",
    "ArticleStatus",
    "BanCreate",
    "CommentData",
    "CommentStatus",
    "CountsPage",
    "CountsRequest",
    "Envelope",
    "EventType",
    "Highlight",
    "TopicSpec",
    "all_topics",
    "new_event",
]
