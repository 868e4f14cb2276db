"""Per-request context (request id, W3C trace) carried by contextvars into logs and events."""

import re
import secrets
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
traceparent_var: ContextVar[str | None] = ContextVar("traceparent", default=None)

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def parse_traceparent(value: str | None) -> str | None:
    """Returns a valid W3C ``traceparent`` header value, or None when absent or malformed."""
    if value and _TRACEPARENT.match(value.strip()) and not value.startswith("00-" + "0" * 32):
        return value.strip()
    return None


def new_traceparent(parent: str | None = None) -> str:
    """A child span of ``parent`` (same trace id), or a new trace when there is none."""
    trace_id = parent.split("-")[1] if parent else secrets.token_hex(16)
    return f"00-{trace_id}-{secrets.token_hex(8)}-01"


def trace_id(traceparent: str | None) -> str | None:
    return traceparent.split("-")[1] if traceparent else None
