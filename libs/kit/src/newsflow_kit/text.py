"""Plain-text helpers every service shows text with."""

import re

_SPACE = re.compile(r"\s+")


def shorten(text: str, limit: int) -> str:
    """``text`` with its white space folded, cut at a word boundary to at most ``limit`` characters,
    with an ellipsis when cut."""
    text = _SPACE.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-–—") + "…"
