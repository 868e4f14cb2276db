"""What the article page's "Try Our AI Features" block shows: a short summary and distinct key points.

Works on whatever the article carries (stored key points and summary, or its text): points are
never repeated (nor a repeat of the summary), and no point or summary is a wall of text, even for a
body without sentence punctuation.
"""

import re
from dataclasses import dataclass, field

from newsflow_kit.text import shorten

SUMMARY_CHARS = 280
POINT_CHARS = 220
NOT_A_SENTENCE = 300  # a stored "point" longer than this is text without punctuation: not shown
MAX_POINTS = 3
_FOLD = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Digest:
    summary: str = ""
    key_points: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.summary or self.key_points)


def _folded(text: str) -> str:
    return _FOLD.sub(" ", text.casefold()).strip()


def digest(*, summary: str, key_points: list[str], text: str = "") -> Digest:
    """The summary (or the text's opening) shortened, and the key points distinct from it and each other."""
    short = shorten(summary or text, SUMMARY_CHARS)
    seen = {_folded(short), _folded(summary)} - {""}
    points: list[str] = []
    for raw in key_points:
        if len(raw.strip()) > NOT_A_SENTENCE:
            continue
        point = shorten(raw, POINT_CHARS)
        key = _folded(point)
        if not key or key in seen:
            continue
        seen.add(key)
        points.append(point)
        if len(points) == MAX_POINTS:
            break
    return Digest(summary=short, key_points=points)
