"""Opaque, validated pagination cursors.

A cursor is base64url(JSON) of
``{"v": 2, "k": kind, "f": fingerprint, "a": search_after, "t": as_of, "p": point_in_time}``:
``kind`` names the listing and its sort, ``fingerprint`` the query and filters it was issued for
(a cursor cannot be replayed against another query), ``a`` the sort values of the last hit, ``t``
the instant the first page was computed (recency scoring uses it, so scores do not drift between pages)
and ``p`` (search only) the Elasticsearch point in time the pages are read from. Anything else is
refused with 422; a client can only hand back what the API gave out.
"""

import base64
import binascii
import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from newsflow_contracts import CURSOR_MAX_CHARS
from newsflow_kit.errors import InvalidInput

VERSION = 2
MAX_LENGTH = CURSOR_MAX_CHARS
# ``t`` (epoch ms) and integer sort values must fit what was given out: a datetime and an ES long.
MIN_AS_OF, MAX_AS_OF = 0, 7_258_118_400_000  # 1970 .. 2200-01-01
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
# A point-in-time id is base64 (URL-safe or not) Elasticsearch gave out; anything else never reaches it.
PIT_ID = re.compile(r"^[A-Za-z0-9+/_=-]{1,1500}$")

SortValue = str | int | float


@dataclass(frozen=True)
class Cursor:
    kind: str
    fingerprint: str
    after: list[SortValue]
    as_of: int  # epoch milliseconds
    pit: str | None = None  # the point-in-time id the pages are read from (search only)


def fingerprint(*parts: object) -> str:
    """A short stable hash of what a listing was asked for."""
    raw = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2s(raw.encode(), digest_size=8).hexdigest()


def encode(cursor: Cursor) -> str:
    payload: dict[str, Any] = {
        "v": VERSION, "k": cursor.kind, "f": cursor.fingerprint, "a": cursor.after, "t": cursor.as_of
    }  # fmt: skip
    if cursor.pit is not None:
        payload["p"] = cursor.pit
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode(token: str, *, kind: str, fingerprint: str, length: int, pit: bool = False) -> Cursor:
    """Parses a cursor issued for this ``kind`` and ``fingerprint`` with ``length`` sort values (and a
    point-in-time id when ``pit``), or raises 422."""
    payload = _payload(token)
    after = payload.get("a")
    as_of = payload.get("t")
    pit_id = payload.get("p")
    if (
        payload.get("v") != VERSION
        or not isinstance(after, list)
        or len(after) != length
        or not all(_sort_value(v) for v in after)
        or not isinstance(as_of, int)
        or isinstance(as_of, bool)
        or not MIN_AS_OF <= as_of <= MAX_AS_OF
        or (_pit_id(pit_id) if pit else "p" in payload) is not pit
    ):
        raise invalid("malformed cursor")
    if payload.get("k") != kind or payload.get("f") != fingerprint:
        raise invalid("the cursor belongs to another query or sort")
    return Cursor(kind, fingerprint, after, as_of, pit_id if pit else None)


def _payload(token: str) -> dict[str, Any]:
    if len(token) > MAX_LENGTH:
        raise invalid("malformed cursor")
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        payload = json.loads(raw)
    except (binascii.Error, ValueError):
        raise invalid("malformed cursor") from None
    if not isinstance(payload, dict):
        raise invalid("malformed cursor")
    return payload


def _pit_id(value: object) -> bool:
    return isinstance(value, str) and PIT_ID.match(value) is not None


def _sort_value(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        return len(value) <= 256
    if isinstance(value, int):
        return LONG_MIN <= value <= LONG_MAX
    return isinstance(value, float) and math.isfinite(value)


def invalid(message: str) -> InvalidInput:
    """The 422 of a cursor the API did not give out."""
    return InvalidInput(message, errors=[{"field": "query.cursor", "message": message, "type": "value_error"}])
