"""An article's language is the language its text is written in.

A feed's or publisher's claim is kept unless the detector strongly disagrees with it on enough text
(then the detector wins: a "Russian" feed serving English pages must not get Russian stemming).
A title and a body in two different languages are flagged (``mixed``), never stored silently.
The detector's model ships with the package (``py3langid``): nothing is downloaded.
"""

import logging
import re
from dataclasses import dataclass, field
from functools import cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

log = logging.getLogger(__name__)
LANGUAGES = ("en", "ru", "de", "fr", "es", "it", "uk", "pt", "nl", "pl")
SAMPLE_CHARS = 1000  # the detector is linear in text length; a thousand characters is plenty to tell
MIN_WORDS = 3  # fewer words: no guess at all
OVERRIDE_WORDS = 20  # a claim is only overruled on at least this much text…
OVERRIDE_CONFIDENCE = 0.95  # …and when the detector is this sure
MIXED_TITLE_WORDS = 4
MIXED_CONFIDENCE = 0.9
SCRIPT_SHARE = 0.8  # "written in Cyrillic" / "written in Latin": at least this share of the letters
_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")

MIXED = "mixed-language"
OVERRIDDEN = "claim-overridden"


@dataclass(frozen=True)
class Guess:
    language: str
    confidence: float


@dataclass(frozen=True)
class Verdict:
    """The language to store, and what was noticed on the way (``flags``, kept with the article)."""

    language: str
    claimed: str | None = None
    detected: Guess | None = None
    flags: list[str] = field(default_factory=list)

    @property
    def mixed(self) -> bool:
        return MIXED in self.flags


@cache
def _identifier() -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def words(text: str) -> int:
    return len(_WORD.findall(text))


def detect(text: str) -> Guess | None:
    """The most likely language of ``text`` with its probability; None for too little text."""
    sample = text[:SAMPLE_CHARS]
    if words(sample) < MIN_WORDS:
        return None
    language, confidence = _identifier().classify(sample)
    return Guess(str(language), float(confidence))


def script(text: str) -> str | None:
    """``cyrillic`` or ``latin`` when nearly all letters are of that script, else None."""
    sample = text[:SAMPLE_CHARS]
    letters = len(_LETTER.findall(sample))
    if letters < 10:
        return None
    cyrillic = len(_CYRILLIC.findall(sample)) / letters
    latin = len(_LATIN.findall(sample)) / letters
    if cyrillic >= SCRIPT_SHARE:
        return "cyrillic"
    if latin >= SCRIPT_SHARE:
        return "latin"
    return None


def is_mixed(title: str, body_text: str, body_guess: Guess | None = None) -> bool:
    """A title and a body written in two languages (by script, or both confidently detected).

    ``body_guess`` is the body's detection when the caller already has it (detection dominates the cost).
    """
    if not body_text.strip() or words(title) < 2:
        return False
    title_script, body_script = script(title), script(body_text)
    if title_script and body_script and title_script != body_script:
        return True
    if words(title) < MIXED_TITLE_WORDS:
        return False
    title_guess, body_guess = detect(title), body_guess or detect(body_text)
    return bool(
        title_guess
        and body_guess
        and title_guess.confidence >= MIXED_CONFIDENCE
        and body_guess.confidence >= MIXED_CONFIDENCE
        and title_guess.language != body_guess.language
    )


def decide(*, title: str, body_text: str, claimed: str | None, default: str = "en") -> Verdict:
    """The article's language: the claim unless the text strongly says otherwise; mixed texts flagged.

    ``claimed`` is what the publisher or feed said for this article (None if nothing); ``default`` is the
    source's configured language, used only when the text is too short to tell.
    """
    body_sample = body_text[:SAMPLE_CHARS]
    text = body_sample if words(body_sample) >= MIN_WORDS else f"{title}. {body_sample}"
    guess = detect(text)
    flags: list[str] = []
    if claimed:
        language = claimed
        strong = guess is not None and guess.confidence >= OVERRIDE_CONFIDENCE and words(text) >= OVERRIDE_WORDS
        if strong and guess is not None and guess.language != claimed:
            language = guess.language
            flags.append(OVERRIDDEN)
    else:
        language = guess.language if guess is not None else default
    if is_mixed(title, body_text, guess if text is body_sample else None):
        flags.append(MIXED)
    verdict = Verdict(language=language, claimed=claimed, detected=guess, flags=flags)
    if flags:
        log.warning(
            "article language: %s (claimed %s, detected %s): %s",
            language,
            claimed,
            guess.language if guess else None,
            ", ".join(flags),
        )
    return verdict


_identifier()  # load the model at import (as normalize's py3langid does), not on the first article
