"""Index lifecycle: the versioned indices behind the alias, created idempotently, swapped atomically.

<alias>-v<MAPPING_VERSION>-0             the first index (a fixed name, so an API and a worker
                                         starting together cannot create two)
<alias>-v<MAPPING_VERSION>-<timestamp>   one per ``newsflow-index reindex``

The side indices of the AI roles (mapping.py, docs/ai.md) follow the same scheme with aliases derived
from the articles alias, so a test's private alias brings private side indices along:

<alias>-vectors  →  <alias>-vectors-v<SIDE_MAPPING_VERSION>-0
<alias>-digests  →  <alias>-digests-v<SIDE_MAPPING_VERSION>-0

A reindex of the articles leaves them alone: they are keyed by article id and version, not by index.
"""

import logging
import time
from datetime import UTC, datetime
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

from newsflow_index.mapping import MAPPING_VERSION, SIDE_MAPPING_VERSION, digests_body, index_body, vectors_body
from newsflow_index.settings import IndexingSettings

log = logging.getLogger(__name__)


def bootstrap_index_name(alias: str) -> str:
    return f"{alias}-v{MAPPING_VERSION}-0"


def new_index_name(alias: str) -> str:
    return f"{alias}-v{MAPPING_VERSION}-{datetime.now(UTC):%Y%m%d%H%M%S%f}"


def alias_indices(es: Elasticsearch, alias: str) -> list[str]:
    """The indices the alias points at (empty when it does not exist)."""
    try:
        return sorted(es.indices.get_alias(name=alias).body)
    except NotFoundError:
        return []


def vectors_alias(alias: str) -> str:
    """The alias of the embedder's vectors next to the articles ``alias``."""
    return f"{alias}-vectors"


def digests_alias(alias: str) -> str:
    """The alias of the summarizer's AI blocks next to the articles ``alias``."""
    return f"{alias}-digests"


def side_aliases(alias: str) -> tuple[str, str]:
    return vectors_alias(alias), digests_alias(alias)


def create_index(es: Elasticsearch, name: str, settings: IndexingSettings, **overrides: Any) -> None:
    """Creates ``name`` with the current mapping; an index that already exists is left alone."""
    _create(es, name, index_body(settings, **overrides), MAPPING_VERSION)


def _create(es: Elasticsearch, name: str, body: dict[str, Any], version: int) -> None:
    try:
        es.indices.create(index=name, **body)
        log.info("created index %s (mapping v%d)", name, version)
    except BadRequestError as exc:
        if exc.error != "resource_already_exists_exception":
            raise


def _ensure(es: Elasticsearch, alias: str, first: str, body: dict[str, Any], expected: int) -> str:
    """``alias`` → an index (``first`` with ``body``, when it points nowhere); warns on an old mapping."""
    indices = alias_indices(es, alias)
    if not indices:
        _create(es, first, body, expected)
        es.indices.update_aliases(actions=[{"add": {"index": first, "alias": alias}}])
        indices = alias_indices(es, alias)
    current = indices[-1]
    version = _mapping_version(es, current)
    if version != expected:
        log.warning("index %s has mapping v%s, the code v%d: reindex", current, version, expected)
    return current


def ensure_alias(es: Elasticsearch, alias: str, settings: IndexingSettings) -> str:
    """Makes sure ``alias`` points at an index (creating the first one if needed) and that its side
    indices exist (:func:`ensure_side_aliases`); returns the articles index."""
    current = _ensure(es, alias, bootstrap_index_name(alias), index_body(settings), MAPPING_VERSION)
    ensure_side_aliases(es, alias, settings)
    return current


def ensure_side_aliases(es: Elasticsearch, alias: str, settings: IndexingSettings) -> tuple[str, str]:
    """The vectors and digests indices behind their aliases, created if missing (idempotent: fixed names)."""
    vectors, digests = side_aliases(alias)
    return (
        _ensure(es, vectors, f"{vectors}-v{SIDE_MAPPING_VERSION}-0", vectors_body(settings), SIDE_MAPPING_VERSION),
        _ensure(es, digests, f"{digests}-v{SIDE_MAPPING_VERSION}-0", digests_body(settings), SIDE_MAPPING_VERSION),
    )


def ensure_alias_with_retry(es: Elasticsearch, alias: str, settings: IndexingSettings, *, stop: Any = None) -> str:
    """:func:`ensure_alias`, retried while Elasticsearch does not answer (``stop()`` ends the wait)."""
    delay = 0.5
    while True:
        try:
            return ensure_alias(es, alias, settings)
        except Exception as exc:  # any failure to reach ES: wait and retry, the process has nothing else to do
            if stop is not None and stop():
                raise
            log.warning("cannot prepare index alias %s yet (%s); retrying in %.1fs", alias, exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)


def swap_alias(es: Elasticsearch, alias: str, new_index: str) -> list[str]:
    """Points ``alias`` at ``new_index`` only, in one atomic request; returns the indices it left."""
    old = [name for name in alias_indices(es, alias) if name != new_index]
    actions: list[dict[str, Any]] = [{"remove": {"index": name, "alias": alias}} for name in old]
    actions.append({"add": {"index": new_index, "alias": alias}})
    es.indices.update_aliases(actions=actions)
    log.info("alias %s now points at %s (was %s)", alias, new_index, ", ".join(old) or "nothing")
    return old


def current_mapping_version(es: Elasticsearch, index: str) -> int | None:
    """The ``_meta.mapping_version`` of ``index`` (None when it has none)."""
    return _mapping_version(es, index)


def _mapping_version(es: Elasticsearch, index: str) -> int | None:
    meta = es.indices.get_mapping(index=index).body[index]["mappings"].get("_meta", {})
    version = meta.get("mapping_version")
    return int(version) if version is not None else None
