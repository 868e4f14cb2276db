"""Writes documents with Elasticsearch's ``_bulk`` and external versions; classifies what failed.

Versioning makes every write idempotent and order-proof: a publish/update is indexed with
``version_type=external`` (only a strictly newer version wins), a retraction tombstone with
``external_gte`` (it also wins over the same version). A version conflict therefore means "a newer
or equal state is already stored" and counts as success.
"""

import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any, cast

from confluent_kafka import KafkaException
from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, Elasticsearch

from newsflow_index.writes import Write

log = logging.getLogger(__name__)


class TransientBulkError(Exception):
    """Some items were refused for a passing reason (429, 5xx): retry the whole batch."""


def is_transient(exc: BaseException) -> bool:
    """Whether retrying later can succeed: ES unreachable, overloaded or failing, or Kafka hiccups."""
    if isinstance(exc, TransientBulkError | TransportConnectionError | ConnectionTimeout | KafkaException):
        return True
    if isinstance(exc, ApiError):
        return exc.meta.status == 429 or exc.meta.status >= 500
    return False


def write_bulk(es: Elasticsearch, index: str, writes: Sequence[Write], *, max_bytes: int) -> dict[int, str]:
    """Stores ``writes`` into ``index``; returns the permanently refused ones as {position: error}.

    Raises :class:`TransientBulkError` (after every chunk was tried) if any item may succeed later.
    """
    refused: dict[int, str] = {}
    transient: list[str] = []
    lines = [_operation(index, w) for w in writes]  # serialised once: sized, then sent as is
    for offset, chunk in _chunks(lines, max_bytes):
        response = es.bulk(operations=cast(Any, b"".join(chunk)))
        if not response.get("errors"):
            continue
        for i, item in enumerate(response["items"]):
            result = next(iter(item.values()))
            status = int(result.get("status", 500))
            if status < 300 or status == 409:
                continue
            error = json.dumps(result.get("error"))[:1000]
            if status == 429 or status >= 500:
                transient.append(f"{status} {error}")
            else:
                refused[offset + i] = f"{status} {error}"
    if transient:
        raise TransientBulkError(f"{len(transient)} items refused for now, e.g. {transient[0]}")
    return refused


def _operation(index: str, write: Write) -> bytes:
    """The two NDJSON lines of one write."""
    action = {
        "_index": index,
        "_id": write.id,
        "version": write.version,
        "version_type": "external_gte" if write.retracted else "external",
    }
    return b"%s\n%s\n" % (_json({"index": action}), _json(write.document))


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _chunks(lines: Sequence[bytes], max_bytes: int) -> Iterator[tuple[int, Sequence[bytes]]]:
    """Consecutive slices of at most ``max_bytes`` (at least one write each)."""
    start, size = 0, 0
    for i, line in enumerate(lines):
        if i > start and size + len(line) > max_bytes:
            yield start, lines[start:i]
            start, size = i, 0
        size += len(line)
    if start < len(lines):
        yield start, lines[start:]
