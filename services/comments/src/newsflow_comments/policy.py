"""The moderation policy and the content heuristics that hold a comment for a moderator.

The policy lives in MongoDB (one document) so moderators change it at run time; every heuristic is a
pure function of the text, so it is tested without a server.
"""

import re
import unicodedata

from pydantic import BaseModel, ConfigDict, Field, field_validator

_LINK = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|net|org|info|biz|ru|io|xyz|top|club|shop)\b", re.I)
_REPEATED_CHAR = re.compile(r"(.)\1{14,}", re.S)
_WORD = re.compile(r"\w+", re.U)


class Policy(BaseModel):
    """What sends a comment to the moderation queue instead of straight to readers."""

    model_config = ConfigDict(extra="forbid")

    premoderate_new_authors: bool = Field(
        default=True, description="Hold comments of authors with no approved comment yet."
    )
    max_links: int = Field(default=2, ge=0, le=100, description="More links than this → held.")
    banned_words: list[str] = Field(default_factory=list, max_length=1000, description="Whole words, any case → held.")
    spam_heuristics: bool = Field(default=True, description="Shouting, long repeated characters or words → held.")

    @field_validator("banned_words")
    @classmethod
    def _normalise_words(cls, words: list[str]) -> list[str]:
        out = sorted({unicodedata.normalize("NFC", w).strip().casefold() for w in words} - {""})
        if any(len(w) > 50 for w in out):
            raise ValueError("each banned word is at most 50 characters")
        return out


def hold_reasons(body: str, author_name: str, policy: Policy) -> list[str]:
    """Why the content needs a moderator (empty: it may be published)."""
    reasons = []
    if len(_LINK.findall(body)) > policy.max_links:
        reasons.append("links")
    words = {w.casefold() for w in _WORD.findall(f"{author_name} {body}")}
    if policy.banned_words and words.intersection(policy.banned_words):
        reasons.append("banned-words")
    if policy.spam_heuristics and looks_like_spam(body):
        reasons.append("spam")
    return reasons


def looks_like_spam(body: str) -> bool:
    """Cheap signals of junk: shouting, a character held down, one word repeated over and over."""
    letters = [c for c in body if c.isalpha()]
    if len(letters) >= 30 and sum(c.isupper() for c in letters) / len(letters) > 0.8:
        return True
    if _REPEATED_CHAR.search(body):
        return True
    words = [w.casefold() for w in _WORD.findall(body)]
    return len(words) >= 12 and max(words.count(w) for w in set(words)) / len(words) > 0.5
