"""What a comment's text may contain: plain Unicode text, normalised, without control characters.

Text is stored exactly as written (no HTML escaping here: escaping is the renderer's job); the API
writes JSON with ``<``, ``>`` and ``&`` escaped (see ``responses.py``) so it is inert even when a page
inlines it.
"""

import unicodedata

BODY_MAX = 5000
NAME_MAX = 50
_BODY_WHITESPACE = {"\n", "\t"}


def clean_body(value: str) -> str:
    """NFC, CRLF → LF, trimmed; refuses control characters other than newline and tab."""
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n")).strip()
    _refuse(text, allowed=_BODY_WHITESPACE, formats=False)
    _length(text, BODY_MAX)
    return text


def clean_name(value: str) -> str:
    """NFC, inner whitespace collapsed; refuses control and invisible format characters (bidi overrides)."""
    text = " ".join(unicodedata.normalize("NFC", value).split())
    _refuse(text, allowed=set(), formats=True)
    _length(text, NAME_MAX)
    return text


def _refuse(text: str, *, allowed: set[str], formats: bool) -> None:
    for ch in text:
        category = unicodedata.category(ch)
        if ch not in allowed and (category == "Cc" or (formats and category == "Cf")):
            raise ValueError(f"must not contain control characters (found U+{ord(ch):04X})")


def _length(text: str, maximum: int) -> None:
    if not text:
        raise ValueError("must not be empty")
    if len(text) > maximum:
        raise ValueError(f"must be at most {maximum} characters")
