"""Which characters a feed's bytes stand for.

Precedence, as feed readers do it: the HTTP ``Content-Type`` charset, then a byte order mark, then
the XML declaration, then the XML default (UTF-8), then detection (charset-normalizer). A label that
cannot decode the bytes strictly gives way to the next one; disagreements between the labels are
recorded as a problem, never a lost feed. Labels are read the way browsers read them (WHATWG):
``gb2312`` is decoded as GB18030, ``big5`` as Big5-HKSCS, ``shift_jis`` as Windows-932, ``euc-kr`` as
Windows-949, ``iso-8859-1``/``ascii`` as Windows-1252, ``csunicode`` (and ``ucs-2``) as UTF-16.

One exception to the order: when the HTTP charset is a single-byte one (often a server's default)
but the BOM or the declaration says UTF-8 and the bytes are valid, non-ASCII UTF-8, UTF-8 wins —
random single-byte text is practically never valid UTF-8.
"""

import codecs
import re
from dataclasses import dataclass, field

import charset_normalizer

# codecs to try (the first that decodes strictly wins) <- the labels (lower-case) that name them
_DECODERS: dict[tuple[str, ...], str] = {
    ("utf-16",): "csunicode unicode ucs-2 iso-10646-ucs-2",
    ("utf-32",): "csucs4 iso-10646-ucs-4",
    ("gb18030",): "gb2312 csgb2312 gbk x-gbk",
    ("big5hkscs", "cp950"): "big5 csbig5 x-x-big5",
    ("cp932", "shift_jis"): "shift_jis shift-jis",
    ("cp932",): "sjis x-sjis ms_kanji csshiftjis",
    ("cp949", "euc_kr"): "euc-kr",
    ("cp949",): "cseuckr ks_c_5601-1987",
    ("cp1252", "latin-1"): "iso-8859-1 latin1 l1 us-ascii ascii",
    ("cp1254", "iso-8859-9"): "iso-8859-9",
    ("cp874",): "tis-620 iso-8859-11",
}
_ALIASES = {label: decoders for decoders, labels in _DECODERS.items() for label in labels.split()}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# XML 1.0 Appendix F: the first bytes of a document ("<?xml", or its root element) without a BOM
_SNIFF = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
)
_DECLARATION = re.compile(r"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:\-]+)["']""")
_REPLACE_DECLARATION = re.compile(r"""^(\s*<\?xml[^>]*?\bencoding\s*=\s*)["'][^"']*["']""")
_WIDE = ("utf-16", "utf-32")


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # the codec that decoded the bytes
    chosen_by: str  # http | bom | declaration | sniffed | default | detected | lossy
    problems: list[str] = field(default_factory=list)


def codec_names(label: str) -> tuple[str, ...]:
    """Codecs for a charset label, browser-style; empty when the label names no known encoding."""
    key = label.strip().strip("\"'").lower()
    if key in _ALIASES:
        return _ALIASES[key]
    try:
        return (codecs.lookup(key).name,)
    except LookupError:
        return ()


def http_charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "charset" and value.strip().strip("\"'"):
            return value.strip().strip("\"'")
    return None


def decode_xml(body: bytes, content_type: str = "") -> Decoded:
    """The document's text; never raises (undecodable bytes become U+FFFD as a last resort)."""
    problems: list[str] = []
    bom, bom_len = _bom(body)
    family = bom or _sniff(body)
    declared = _declared(body[bom_len : bom_len + 1024], family)
    if declared and family is None and codec_names(declared)[:1] and codec_names(declared)[0].startswith(_WIDE):
        problems.append(f"encoding-mismatch: declaration says {declared} but the bytes are ASCII-compatible")
        declared = None
    labels = [("http", http_charset(content_type)), ("bom", bom), ("declaration", declared)]
    present = [(by, label) for by, label in labels if label]
    known = {by: codec_names(label) for by, label in present}
    for by, label in present:
        if not known[by]:
            problems.append(f"unknown-encoding: {by} names {label!r}")
    if len({_family(names[0]) for names in known.values() if names}) > 1:
        problems.append("encoding-mismatch: " + ", ".join(f"{by}={label}" for by, label in present))
    order = [(by, label) for by, label in present if known[by]]
    if _prefer_utf8(known, body):
        order.sort(key=lambda pair: pair[0] == "http")
    for by, _label in order:
        for codec in known[by]:
            if codec.startswith(_WIDE) and family is None:
                continue  # a wide encoding cannot start with an ASCII "<"
            text = _strict(body, codec)
            if text is not None:
                return Decoded(text, codec, by, problems)
        problems.append(f"undecodable: the {by} charset {_label!r} does not fit the bytes")
    return _unlabelled(body, family if not bom else None, problems)


def _unlabelled(body: bytes, sniffed: str | None, problems: list[str]) -> Decoded:
    """No label fits: UTF-16/32 seen in the first bytes, the XML default UTF-8, detection, lossy UTF-8."""
    if sniffed:  # no BOM, but the first bytes are "<" in UTF-16 or UTF-32
        text = _strict(body, sniffed)
        if text is not None:
            return Decoded(text, sniffed, "sniffed", problems)
    text = _strict(body, "utf-8")
    if text is not None:
        return Decoded(text, "utf-8", "default", problems)
    best = charset_normalizer.from_bytes(body).best()
    if best is not None and best.encoding:
        text = _strict(body, best.encoding)
        if text is not None:
            return Decoded(text, best.encoding, "detected", problems)
    problems.append("undecodable: invalid UTF-8 replaced")
    return Decoded(body.decode("utf-8", errors="replace").removeprefix("\ufeff"), "utf-8", "lossy", problems)


def as_utf8_xml(text: str) -> bytes:
    """The text as UTF-8 bytes whose XML declaration (if any) says so."""
    return _REPLACE_DECLARATION.sub(r'\1"utf-8"', text, count=1).encode("utf-8")


def _bom(body: bytes) -> tuple[str | None, int]:
    for mark, name in _BOMS:
        if body.startswith(mark):
            return name, len(mark)
    return None, 0


def _sniff(body: bytes) -> str | None:
    for head, name in _SNIFF:
        if body.startswith(head):
            return name
    return None


def _declared(head: bytes, family: str | None) -> str | None:
    text = head.decode(family or "latin-1", errors="ignore")
    match = _DECLARATION.match(text)
    return match.group(1) if match else None


def _family(codec: str) -> str:
    return codec.replace("_", "-").removesuffix("-sig").removesuffix("-le").removesuffix("-be")


def _prefer_utf8(known: dict[str, tuple[str, ...]], body: bytes) -> bool:
    http = known.get("http") or ()
    says_utf8 = any((known.get(by) or ("",))[0].startswith("utf-8") for by in ("bom", "declaration"))
    if not http or http[0].startswith(("utf", "gb", "big5", "cp93", "cp94", "cp95", "shift", "euc")) or not says_utf8:
        return False
    return not body.isascii() and _strict(body, "utf-8") is not None


def _strict(body: bytes, codec: str) -> str | None:
    try:
        text = body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None
    return text.removeprefix("\ufeff")
