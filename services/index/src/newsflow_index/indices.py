"""Index lifecycle: the versioned indices behind the alias, created idempotently, swapped atomically.

<alias>-v<MAPPING_VERSION>-0             the first index (a fixed name, so an API and a worker
                                         starting together cannot create two)
<alias>-v<MAPPING_VERSION>-<timestamp>   one per ``newsflow-index reindex``
"""

import logging
import time
from datetime import UTC, datetime
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

from newsflow_index.mapping import MAPPING_VERSION, index_body
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


def create_index(es: Elasticsearch, name: str, settings: IndexingSettings, **overrides: Any) -> None:
    """Creates ``name`` with the current mapping; an index that already exists is left alone."""
    try:
        es.indices.create(index=name, **index_body(settings, **overrides))
        log.info("created index %s (mapping v%d)", name, MAPPING_VERSION)
    except BadRequestError as exc:
        if exc.error != "resource_already_exists_exception":
            raise


def ensure_alias(es: Elasticsearch, alias: str, settings: IndexingSettings) -> str:
    """Makes sure ``alias`` points at an index (creating the first one if needed); returns that index."""
    indices = alias_indices(es, alias)
    if not indices:
        name = bootstrap_index_name(alias)
        create_index(es, name, settings)
        es.indices.update_aliases(actions=[{"add": {"index": name, "alias": alias}}])
        indices = alias_indices(es, alias)
    current = indices[-1]
    version = _mapping_version(es, current)
    if version != MAPPING_VERSION:
        log.warning("index %s has mapping v%s, the code v%d: reindex", current, version, MAPPING_VERSION)
    return current


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
