"""Shapes of the index's search answers that the gateway relays."""

from pydantic import BaseModel


class Highlight(BaseModel):
    """HTML-escaped text with matches in ``<mark>``; null when nothing matched (or no query)."""

    title: str | None = None
    snippet: str | None = None
