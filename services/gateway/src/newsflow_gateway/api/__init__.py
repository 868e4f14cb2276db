"""Routers of the public API, one per resource; shared parameter types and documented errors."""

from typing import Any

from fastapi import APIRouter, Depends

# The parameter types live in deps.py (the web pages use them too); re-exported for the routers.
from newsflow_gateway.deps import Cursor, IdPath, Text, Token, caller
from newsflow_gateway.schemas import Problem

__all__ = ["PROBLEMS", "PROBLEM_SCHEMA", "Cursor", "IdPath", "Text", "Token", "v1_router"]

# RFC 9457 problem details, inline so every error response documents its shape.
PROBLEM_SCHEMA: dict[str, Any] = Problem.model_json_schema()
_PROBLEM = {"application/problem+json": {"schema": PROBLEM_SCHEMA}}
PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": _PROBLEM}
    for status, description in (
        (400, "The body could not be read as JSON"),
        (401, "No, unknown or revoked API key"),
        (403, "The key lacks the right"),
        (404, "Not found"),
        (409, "Conflict"),
        (413, "Body too large"),
        (422, "Invalid input"),
        (429, "Rate limited (see Retry-After)"),
        (502, "A backing service failed"),
        (503, "A backing service is unavailable"),
    )
}


def v1_router(*, tags: list[str]) -> APIRouter:
    """A ``/v1`` router whose every route is rate limited and documents problem responses."""
    return APIRouter(prefix="/v1", tags=list(tags), dependencies=[Depends(caller)], responses=PROBLEMS)
