"""Opaque keyset cursors: the sort keys of the last item seen, so inserts never shift later pages."""

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from newsflow_kit.errors import InvalidInput


def encode(kind: str, keys: list[Any]) -> str:
    raw = json.dumps({"k": kind, "v": [_out(v) for v in keys]}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(kind: str, cursor: str, *, size: int) -> list[Any]:
    """The keys in ``cursor``; 422 when it is malformed or was made for another listing."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if raw["k"] != kind or len(raw["v"]) != size:
            raise ValueError("cursor of another listing")
        return [_in(v) for v in raw["v"]]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise InvalidInput("invalid cursor", errors=[{"field": "cursor", "message": str(exc)}]) from exc


def _out(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": int(value.timestamp() * 1000)}
    return value


def _in(value: Any) -> Any:
    if isinstance(value, dict):
        return datetime.fromtimestamp(int(value["t"]) / 1000, UTC)
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ValueError("bad cursor key")
    return value
