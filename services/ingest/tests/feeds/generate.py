"""Writes the feed corpus: real-world shapes, each with what must be stored from it.

``python services/ingest/tests/feeds/generate.py`` rewrites ``corpus/*`` and ``manifest.json``
(deterministic: ``test_feed_corpus.py`` checks the committed files are what this script writes).
The expectations are built here from what each file was made of, never from the parser's output.

Each manifest entry: ``file``, ``content_type`` (what the test server sends), ``base`` (the feed's
URL), and ``expect``: ``items`` (title, url, external_id of every stored item, in order), ``error``
(the error kind of an unusable feed), ``skipped`` (reason → count), ``problems`` (substrings the
recorded problems must contain), ``hostile`` (the stored HTML must be free of active content).
"""

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

HERE = Path(__file__).parent
CORPUS = HERE / "corpus"
BASE = "https://feeds.example/news/feed.xml"
HOME = "https://feeds.example/news/"
DATE = ("Sun, 01 Nov 2026 10:00:00 GMT", "2026-11-01T10:00:00Z")
FUTURE = ("Mon, 02 Nov 2999 10:00:00 GMT", "2999-11-02T10:00:00Z")
PAST = ("Thu, 01 Jan 1970 00:00:00 GMT", "1970-01-01T00:00:00Z")
FILLER = "The regional council approved the plan after long public hearings on costs and timelines. "
NS = (
    'xmlns:media="http://search.yahoo.com/mrss/" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/"'
)

# charset label -> (codec used to write, words in that script)
CHARSETS: dict[str, tuple[str, str]] = {
    "utf-8": ("utf-8", "Grüße aus Köln — Новости 新聞"),
    "big5": ("big5", "臺灣新聞報導今日頭條"),
    "euc-kr": ("euc-kr", "한국 뉴스 속보 오늘"),
    "shift_jis": ("shift_jis", "日本のニュース速報です"),
    "gb2312": ("gb2312", "中国新闻报道今日要闻"),
    "csunicode": ("utf-16", "Grüße 新聞 Новости"),
    "koi8-r": ("koi8-r", "Новости дня из Москвы"),
    "windows-1251": ("cp1251", "Новини дня з Києва"),
    "iso-8859-1": ("latin-1", "Café déjà vu à Genève"),
    "windows-1252": ("cp1252", "“Smart” quotes – café"),
    "iso-8859-2": ("iso-8859-2", "Zażółć gęślą jaźń"),
    "euc-jp": ("euc-jp", "日本語のニュースです"),
}

Item = dict[str, Any]
Entry = dict[str, Any]


def item(n: int, **over: Any) -> Item:
    """An item spec: what is written, and (``want``) what must be stored, or (``skip``) why not."""
    base: Item = {
        "title": f"Story number {n} about the harbour",
        "link": f"https://feeds.example/news/{n}",
        "guid": f"https://feeds.example/news/{n}",
        "permalink": True,
        "body": f"<p>{FILLER * 5}Item {n}.</p>",
        "date": DATE,
        "extra": "",
    }
    base.update(over)
    if "want" not in base and "skip" not in base:
        base["want"] = {"title": base["title"], "url": base["link"], "external_id": None}
    return base


def stored(n: int, url: str | None = None, external_id: str | None = None, *, title: str | None = None) -> Item:
    """What must be stored from item ``n``: its own title and link unless given otherwise."""
    return {
        "title": item(n)["title"] if title is None else title,
        "url": url or item(n)["link"],
        "external_id": external_id,
    }


# --- writers: items -> document text -------------------------------------------------------------


def _prolog(decl: str | None) -> str:
    """The XML declaration: none (``None``), the default UTF-8 one (``""``), or one naming ``decl``."""
    if decl is None:
        return ""
    return f'<?xml version="1.0" encoding="{decl or "utf-8"}"?>\n'


Part = tuple[str, Callable[[Item], str]]


def _elements(it: Item, parts: list[Part]) -> str:
    """The item's child elements: each part whose field the item has, in the format's order."""
    return "".join(render(it) for field, render in parts if it[field] is not None)


TITLE: Part = ("title", lambda it: f"<title>{escape(it['title'])}</title>")
DESCRIPTION: Part = ("body", lambda it: f"<description>{escape(it['body'])}</description>")
RSS_PARTS: list[Part] = [
    TITLE,
    ("link", lambda it: f"<link>{escape(it['link'])}</link>"),
    ("guid", lambda it: f'<guid isPermaLink="{"true" if it["permalink"] else "false"}">{escape(it["guid"])}</guid>'),
    ("date", lambda it: f"<pubDate>{it['date'][0]}</pubDate>"),
    DESCRIPTION,
]
RSS091_PARTS = [part for part in RSS_PARTS if part[0] not in ("guid", "date")]
RDF_PARTS: list[Part] = [
    TITLE,
    ("link", lambda it: f"<link>{escape(it['link'])}</link>"),
    ("date", lambda it: f"<dc:date>{it['date'][1]}</dc:date>"),
    DESCRIPTION,
]
ATOM_PARTS: list[Part] = [
    ("guid", lambda it: f"<id>{escape(it['guid'])}</id>"),
    ("title", lambda it: f'<title type="text">{escape(it["title"])}</title>'),
    ("link", lambda it: f'<link rel="alternate" href={quoteattr(it["link"])}/>'),
    ("date", lambda it: f"<updated>{it['date'][1]}</updated>"),
    ("body", lambda it: f'<content type="html">{escape(it["body"])}</content>'),
]
ATOM03_PARTS: list[Part] = [
    TITLE,
    ("link", lambda it: f'<link rel="alternate" type="text/html" href={quoteattr(it["link"])}/>'),
    ("guid", lambda it: f"<id>{escape(it['guid'])}</id>"),
    ("date", lambda it: f"<issued>{it['date'][1]}</issued><modified>{it['date'][1]}</modified>"),
    ("body", lambda it: f'<content type="text/html" mode="escaped">{escape(it["body"])}</content>'),
]


def rss(items: list[Item], version: str = "2.0", decl: str | None = "", channel: str = "", head: str = "") -> str:
    parts = RSS091_PARTS if version == "0.91" else RSS_PARTS
    out = "".join(f"<item>{_elements(it, parts)}{it['extra']}</item>" for it in items)
    return (
        f'{_prolog(decl)}{head}<rss version="{version}" {NS}><channel><title>News</title><link>{HOME}</link>'
        f"<description>All the news</description>{channel}{out}</channel></rss>\n"
    )


def rdf(items: list[Item], decl: str | None = "", channel: str = "", head: str = "") -> str:
    out, seq = [], []
    for n, it in enumerate(items):
        about = it["link"] or it["guid"] or f"urn:item:{n}"
        out.append(f"<item rdf:about={quoteattr(about)}>{_elements(it, RDF_PARTS)}{it['extra']}</item>")
        seq.append(f"<rdf:li rdf:resource={quoteattr(about)}/>")
    return (
        f'{_prolog(decl)}{head}<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        f'xmlns="http://purl.org/rss/1.0/" {NS}><channel rdf:about="{HOME}"><title>News</title><link>{HOME}</link>'
        f"<description>d</description><items><rdf:Seq>{''.join(seq)}</rdf:Seq></items>{channel}</channel>"
        f"{''.join(out)}</rdf:RDF>\n"
    )


def atom(items: list[Item], decl: str | None = "", channel: str = "", base: str | None = None, head: str = "") -> str:
    out = "".join(f"<entry>{_elements(it, ATOM_PARTS)}{it['extra']}</entry>" for it in items)
    xml_base = f" xml:base={quoteattr(base)}" if base else ""
    return (
        f'{_prolog(decl)}{head}<feed xmlns="http://www.w3.org/2005/Atom" {NS}{xml_base}><title>News</title>'
        f'<id>urn:feed</id><updated>2026-11-01T10:00:00Z</updated><link rel="alternate" href="{HOME}"/>'
        f"{channel}{out}</feed>\n"
    )


def atom03(items: list[Item], decl: str | None = "", channel: str = "", head: str = "") -> str:
    out = "".join(f"<entry>{_elements(it, ATOM03_PARTS)}{it['extra']}</entry>" for it in items)
    return (
        f'{_prolog(decl)}{head}<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>News</title>'
        f'<link rel="alternate" type="text/html" href="{HOME}"/><modified>2026-11-01T10:00:00Z</modified>'
        f"{channel}{out}</feed>\n"
    )


def cdf(items: list[Item], decl: str | None = "", channel: str = "", head: str = "") -> str:
    out = []
    for it in items:
        abstract = f"<ABSTRACT>{escape(it['body'] or '')}</ABSTRACT>" if it["body"] else ""
        title = f"<TITLE>{escape(it['title'])}</TITLE>" if it["title"] is not None else ""
        date = f' LASTMOD="{it["date"][1][:16]}"' if it["date"] else ""
        out.append(f"<ITEM HREF={quoteattr(it['link'] or '')}{date}>{title}{abstract}</ITEM>")
    return f'{_prolog(decl)}{head}<CHANNEL HREF="{HOME}"><TITLE>News</TITLE>{channel}{"".join(out)}</CHANNEL>\n'


def jsonfeed(items: list[Item], version: str = "1.1", top: dict[str, Any] | None = None) -> str:
    out = []
    for it in items:
        entry: dict[str, Any] = {}
        if it["guid"] is not None:
            entry["id"] = it["guid"]
        if it["link"] is not None:
            entry["url"] = it["link"]
        if it["title"] is not None:
            entry["title"] = it["title"]
        if it["body"] is not None:
            entry["content_html"] = it["body"]
        if it["date"] is not None:
            entry["date_published"] = it["date"][1]
        entry.update(it.get("json", {}))
        out.append(entry)
    doc: dict[str, Any] = {
        "version": f"https://jsonfeed.org/version/{version}",
        "title": "News",
        "home_page_url": HOME,
        "feed_url": BASE,
        **(top or {}),
        "items": out,
    }
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


XML_FORMATS: dict[str, Callable[..., str]] = {
    "rss20": rss,
    "rss092": lambda items, **kw: rss(items, version="0.92", **kw),
    "rss091": lambda items, **kw: rss(items, version="0.91", **kw),
    "rdf": rdf,
    "atom10": atom,
    "atom03": atom03,
}
WRITERS: dict[str, Callable[..., str]] = {**XML_FORMATS, "cdf": cdf, "json": jsonfeed}
CT = {
    "rss20": "application/rss+xml",
    "rss092": "text/xml",
    "rss091": "text/xml",
    "rdf": "application/rdf+xml",
    "atom10": "application/atom+xml",
    "atom03": "application/atom+xml",
    "cdf": "application/xml",
    "json": "application/feed+json",
}


# --- the cases ---------------------------------------------------------------------------------


class Corpus:
    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.files: dict[str, bytes] = {}

    def add(
        self,
        name: str,
        data: bytes,
        content_type: str,
        items: list[Item],
        *,
        error: str | None = None,
        problems: list[str] | None = None,
        hostile: bool = False,
        base: str = BASE,
    ) -> None:
        ext = "json" if "json" in content_type else "xml"
        file = f"{len(self.entries) + 1:03d}-{name}.{ext}"
        skipped: dict[str, int] = {}
        for it in items:
            if "skip" in it:
                skipped[it["skip"]] = skipped.get(it["skip"], 0) + 1
        expect: dict[str, Any] = {
            "items": [] if error else [it["want"] for it in items if "want" in it],
            "error": error,
            "skipped": {} if error else skipped,
            "problems": problems or [],
            "hostile": hostile,
        }
        self.entries.append({"file": file, "content_type": content_type, "base": base, "expect": expect})
        self.files[file] = data

    def feed(self, name: str, fmt: str, items: list[Item], **expect: Any) -> None:
        """Adds ``items`` written in format ``fmt`` (UTF-8, its usual content type)."""
        self.add(name, WRITERS[fmt](items).encode(), CT[fmt], items, **expect)


def three(prefix: str = "Story") -> list[Item]:
    return [item(n, title=f"{prefix} number {n} about the harbour") for n in range(1, 4)]


def formats(c: Corpus) -> None:
    for fmt in XML_FORMATS:
        for variant in range(4):
            items = [item(n + 10 * variant, title=f"{fmt} story {variant}-{n}") for n in range(1, 3 + variant)]
            if fmt == "rss091":
                for it in items:
                    it["guid"] = None
            c.feed(f"{fmt}-basic-{variant}", fmt, items)
    for variant in range(3):
        items = [item(n, title=f"CDF item {variant}-{n}", guid=None) for n in range(1, 3 + variant)]
        c.feed(f"cdf-{variant}", "cdf", items)
    for version in ("1", "1.1"):
        for variant in range(4):
            items = [item(n, title=f"JSON {version} story {variant}-{n}") for n in range(1, 3 + variant)]
            c.add(f"json-{version}-{variant}", jsonfeed(items, version).encode(), CT["json"], items)


def charsets(c: Corpus) -> None:
    """Every charset: declared only, HTTP header only, both, header right and declaration wrong."""
    for label, (codec, words) in CHARSETS.items():
        for fmt in ("rss20", "atom10", "rdf"):
            write = XML_FORMATS[fmt]
            for mode in ("decl", "header", "both", "mismatch"):
                items = [
                    item(n, title=f"{words} {mode} {n}", body=f"<p>{words}. {FILLER * 4}</p>") for n in range(1, 3)
                ]
                decl = {"decl": label, "header": None, "both": label, "mismatch": "iso-8859-1"}[mode]
                if codec == "utf-16" and mode == "mismatch":
                    decl = "utf-8"
                text = write(items, decl=decl) if decl else write(items, decl=None)
                data = text.encode(codec)  # utf-16 writes its BOM
                ct = CT[fmt] + (f"; charset={label}" if mode in ("header", "both", "mismatch") else "")
                # iso-8859-1 is read as windows-1252 (as browsers do): no mismatch with a windows-1252 header
                problems = ["encoding-mismatch"] if mode == "mismatch" and codec not in ("latin-1", "cp1252") else []
                c.add(f"{fmt}-{label}-{mode}", data, ct, items, problems=problems)


def detection(c: Corpus) -> None:
    """No label at all: UTF-8 by default, other encodings detected from a long enough text."""
    samples = {
        "utf-8": ("utf-8", "Grüße aus Köln, die Nachrichten des Tages über den Hafen und die Stadt."),
        "windows-1251": ("cp1251", "Городской совет утвердил план расширения трамвайной сети в городе."),
        "gb18030": ("gb18030", "中国新闻报道今日要闻，城市交通建设取得重大进展，市民出行更加方便。"),
        "shift_jis": ("shift_jis", "東京都は本日、新しい交通計画を発表しました。市民の生活が便利になります。"),
    }
    for label, (codec, words) in samples.items():
        for fmt in ("rss20", "atom10"):
            items = [item(n, title=f"{words[:12]} {n}", body=f"<p>{words * 6}</p>") for n in range(1, 4)]
            text = XML_FORMATS[fmt](items, decl=None)
            c.add(f"{fmt}-undeclared-{label}", text.encode(codec), CT[fmt], items)


def boms(c: Corpus) -> None:
    for codec, bom in (("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")):
        for fmt in ("rss20", "atom10", "rdf", "atom03"):
            for declared in (None, "utf-8" if codec == "utf-8" else "utf-16"):
                items = [item(n, title=f"BOM {codec} Grüße {n}") for n in range(1, 3)]
                text = XML_FORMATS[fmt](items, decl=declared) if declared else XML_FORMATS[fmt](items, decl=None)
                c.add(f"{fmt}-bom-{codec}-{declared or 'nodecl'}", bom + text.encode(codec), CT[fmt], items)
        # the header disagrees with the BOM: the BOM's encoding is the only one that fits the bytes
        items = [item(1, title=f"BOM {codec} against the header")]
        c.add(
            f"rss20-bom-{codec}-header-wrong",
            bom + rss(items, decl=None).encode(codec),
            "application/rss+xml; charset=" + ("iso-8859-1" if codec == "utf-8" else "utf-8"),
            items,
            problems=["encoding-mismatch"],
        )
    json_items = [item(1, title="JSON with a BOM — Grüße")]
    c.add("json-bom", b"\xef\xbb\xbf" + jsonfeed(json_items).encode(), CT["json"], json_items)


def text_shapes(c: Corpus) -> None:
    """CDATA, entities, escaping: plain text comes out unescaped exactly once."""
    for fmt in ("rss20", "rdf", "atom10", "atom03", "rss092"):
        write = XML_FORMATS[fmt]
        cases = [
            ("amp", "AT&T and Procter & Gamble merge", "AT&T and Procter & Gamble merge"),
            ("lt", "Why 2 < 3 matters", "Why 2 < 3 matters"),
            ("quotes", "He said \"yes\" and 'no'", "He said \"yes\" and 'no'"),
            ("numeric", "Caf&#233; &#8220;open&#8221; &#x2014; today", "Café “open” — today"),
        ]
        for name, raw, want in cases:
            if name == "numeric":  # written as character references, not escaped again
                items = [item(1, title="PLACEHOLDER", want=stored(1, title=want))]
                text = write(items).replace("PLACEHOLDER", raw)
            else:
                items = [item(1, title=raw, want=stored(1, title=want))]
                text = write(items)
            if fmt in ("rss20", "rdf", "atom03", "rss092") and name == "lt":
                # RSS titles are HTML: "2 < 3" written as "2 &lt; 3" is the text "2 < 3"
                pass
            c.add(f"{fmt}-text-{name}", text.encode(), CT[fmt], items)
        body = f"<p>Text in CDATA with <b>bold</b> &amp; more. {FILLER * 5}</p>"
        items = [item(1, title="CDATA story", body=body)]
        text = write(items).replace(escape(body), f"<![CDATA[{body}]]>")
        c.add(f"{fmt}-cdata-body", text.encode(), CT[fmt], items)
        cdata_title = [item(2, title="CDATA title & more")]
        text = write(cdata_title).replace(escape("CDATA title & more"), "<![CDATA[CDATA title & more]]>")
        c.add(f"{fmt}-cdata-title", text.encode(), CT[fmt], cdata_title)


def escaped_markup(c: Corpus) -> None:
    """A title that is escaped markup stays text; markup in a title never reaches the store."""
    for fmt in ("rss20", "atom10", "json"):
        hostile = "&lt;img src=x onerror=alert(1)&gt; Breaking"
        want = stored(1, title="&lt;img src=x onerror=alert(1)&gt; Breaking")
        if fmt == "atom10":  # type="text": the title is exactly this text
            items = [item(1, title=hostile, want=want)]
            c.add(f"{fmt}-escaped-markup-title", atom(items).encode(), CT[fmt], items, hostile=True)
        elif fmt == "json":  # JSON Feed titles are plain text
            items = [item(1, title=hostile, want=want)]
            c.add(f"{fmt}-escaped-markup-title", jsonfeed(items).encode(), CT[fmt], items, hostile=True)
        else:  # RSS titles are HTML: escaped once more, it is markup, whose tags a title never keeps
            items = [item(1, title=hostile, want={**want, "title": "Breaking"})]
            text = rss(items)
            c.add(f"{fmt}-escaped-markup-title", text.encode(), CT[fmt], items, hostile=True)
    bad = [
        '<script>alert("x")</script><p>Script before text</p>',
        '<p onclick="steal()">Handler</p><img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)">click</a><p>js link</p>',
        '<iframe src="https://evil.example/"></iframe><p>iframe</p>',
        "<style>body{display:none}</style><p>style</p>",
        '<object data="x.swf"></object><embed src="x.swf"><p>plugins</p>',
        '<form action="https://evil.example/"><input name="p"></form><p>form</p>',
        '<svg onload="alert(1)"><circle r="1"/></svg><p>svg</p>',
        '<a href="data:text/html;base64,PHNjcmlwdD4=">data url</a>',
        "<math><mtext><script>alert(1)</script></mtext></math><p>math</p>",
    ]
    for n, payload in enumerate(bad):
        body = payload + f"<p>{FILLER * 5}</p>"
        for fmt in ("rss20", "atom10", "json"):
            items = [item(n, title=f"Hostile body {n}", body=body)]
            c.feed(f"{fmt}-hostile-{n}", fmt, items, hostile=True)
    # markup inside an RSS title is HTML: its text is kept, its tags are not
    items = [
        item(
            1,
            title="<b>Bold</b> <script>x()</script>move",
            want=stored(1, title="Bold move"),
        )
    ]
    c.feed("rss20-markup-title", "rss20", items, hostile=True)


def links(c: Corpus) -> None:
    """Missing links, guids, relative links and xml:base."""
    for fmt in ("rss20", "rss092"):
        rss_cases = {
            "permalink-guid": [
                item(
                    1, link=None, guid="https://feeds.example/news/p1", want=stored(1, "https://feeds.example/news/p1")
                )
            ],
            "relative-permalink-guid": [
                item(1, link=None, guid="/news/rel-guid", want=stored(1, "https://feeds.example/news/rel-guid"))
            ],
            "opaque-guid": [
                item(
                    1,
                    link=None,
                    guid="tag:feeds.example,2026:1",
                    permalink=False,
                    want=stored(1, HOME, "tag:feeds.example,2026:1"),
                )
            ],
            "opaque-guids-many": [
                item(n, link=None, guid=f"id-{n}", permalink=False, want=stored(n, HOME, f"id-{n}"))
                for n in range(1, 4)
            ],
            "no-link-no-guid": [item(1, link=None, guid=None, skip="no-link-or-id"), item(2)],
            "relative-links": [
                item(n, link=f"../archive/{n}.html", want=stored(n, f"https://feeds.example/archive/{n}.html"))
                for n in range(1, 3)
            ],
            "root-relative-link": [item(1, link="/story/1", want=stored(1, "https://feeds.example/story/1"))],
            "javascript-link": [item(1, link="javascript:alert(1)", guid=None, skip="no-link-or-id"), item(2)],
        }
        for name, items in rss_cases.items():
            c.feed(f"{fmt}-{name}", fmt, items)
    urn = "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"
    for fmt in ("atom10", "atom03"):
        atom_cases = {
            "no-link-urn-id": [item(1, link=None, guid=urn, want=stored(1, HOME, urn))],
            # an Atom id that is an http(s) URL is the entry's link (as with a permalink guid)
            "no-link-url-id": [
                item(
                    1,
                    link=None,
                    guid="https://feeds.example/news/by-id",
                    want=stored(1, "https://feeds.example/news/by-id"),
                )
            ],
            "relative-link": [
                item(1, link="2026/11/story", want=stored(1, "https://feeds.example/news/2026/11/story"))
            ],
        }
        for name, items in atom_cases.items():
            c.feed(f"{fmt}-{name}", fmt, items)
    for n, xml_base in enumerate(("https://other.example/blog/", "/blog/", "https://other.example/a/b/")):
        resolved = {
            0: "https://other.example/blog/post-1",
            1: "https://feeds.example/blog/post-1",
            2: "https://other.example/a/b/post-1",
        }[n]
        items = [item(1, link="post-1", want=stored(1, resolved))]
        c.add(f"atom10-xml-base-{n}", atom(items, base=xml_base).encode(), CT["atom10"], items)
    entry_base = [
        item(
            1,
            link="x.html",
            extra="",
            want=stored(1, "https://entry.example/e/x.html"),
        )
    ]
    text = atom(entry_base).replace("<entry>", '<entry xml:base="https://entry.example/e/">')
    c.add("atom10-entry-xml-base", text.encode(), CT["atom10"], entry_base)
    rdf_rel = [
        item(
            1,
            link="/rdf/1",
            want=stored(1, "https://feeds.example/rdf/1"),
        )
    ]
    c.feed("rdf-relative-link", "rdf", rdf_rel)
    # JSON Feed: id without url, relative url, external_url
    j1 = [item(1, link=None, guid="j-1", want=stored(1, HOME, "j-1"))]
    c.feed("json-no-url", "json", j1)
    j2 = [
        item(
            1,
            link="/news/rel",
            want=stored(1, "https://feeds.example/news/rel"),
        )
    ]
    c.feed("json-relative-url", "json", j2)
    j3 = [
        item(
            1,
            link=None,
            guid="j-3",
            json={"external_url": "https://elsewhere.example/x"},
            want=stored(1, "https://elsewhere.example/x"),
        )
    ]
    c.feed("json-external-url", "json", j3)
    j4 = [item(1, link=None, guid=None, skip="no-link-or-id"), item(2)]
    c.feed("json-no-url-no-id", "json", j4)


def titles(c: Corpus) -> None:
    """An item without a title is titled by its first words; one without title and text is skipped."""
    words = "Heavy rain closed the coastal road near the old harbour on Sunday morning, officials said today"
    derived = " ".join(words.split()[:12]) + "…"
    for fmt in ("rss20", "rss092", "rdf", "atom10", "atom03", "json"):
        items = [
            item(
                1,
                title=None,
                body=f"<p>{words}</p><p>{FILLER}</p>",
                want=stored(1, title=derived),
            ),
            item(
                2,
                title="   ",
                body="<p>Short note.</p>",
                want=stored(2, title="Short note."),
            ),
            item(3, title=None, body=None, skip="empty-item"),
            item(4),
        ]
        c.feed(f"{fmt}-untitled", fmt, items)


def dates(c: Corpus) -> None:
    for fmt in ("rss20", "rdf", "atom10", "atom03", "json"):
        items = [
            item(1, date=FUTURE, skip="absurd-date"),
            item(2, date=PAST, skip="absurd-date"),
            item(3, date=None),
            item(4),
        ]
        c.feed(f"{fmt}-dates", fmt, items)
    odd = [
        item(1, date=("2026-11-01 10:00", "2026-11-01"), title="Odd date format"),
        item(2, date=("yesterday", "x"), title="Unparseable date"),
    ]
    c.feed("rss20-odd-dates", "rss20", odd)


def duplicates(c: Corpus) -> None:
    for fmt in ("rss20", "atom10", "json"):
        items = [item(1), item(2, guid=item(1)["guid"], skip="duplicate-guid"), item(3)]
        c.feed(f"{fmt}-duplicate-ids", fmt, items)


def media(c: Corpus) -> None:
    """Enclosures, Media RSS, iTunes podcasts: the items land (with an image where one is given)."""
    extras = {
        "enclosure-image": '<enclosure url="https://cdn.example/i.jpg" type="image/jpeg" length="100"/>',
        "enclosure-audio": '<enclosure url="https://cdn.example/ep.mp3" type="audio/mpeg" length="123456"/>',
        "enclosure-relative": '<enclosure url="/img/r.png" type="image/png" length="1"/>',
        "media-content": '<media:content url="https://cdn.example/m.jpg" medium="image" width="600"/>',
        "media-thumbnail": '<media:thumbnail url="https://cdn.example/t.jpg"/>',
        "media-group": '<media:group><media:content url="https://cdn.example/v.mp4" type="video/mp4"/>'
        '<media:thumbnail url="https://cdn.example/vt.jpg"/></media:group>',
        "itunes": '<itunes:duration>00:42:00</itunes:duration><itunes:image href="https://cdn.example/pod.jpg"/>'
        "<itunes:explicit>no</itunes:explicit><itunes:episode>7</itunes:episode>"
        '<enclosure url="https://cdn.example/ep7.mp3" type="audio/mpeg" length="1"/>',
        "content-encoded": f"<content:encoded><![CDATA[<p>Full text. {FILLER * 3}</p>]]></content:encoded>",
        "dc-creator": "<dc:creator>Mara Lind</dc:creator><category>Harbour</category><category>City</category>",
        "comments": '<comments>https://feeds.example/news/1#comments</comments><source url="https://o.example/">O</source>',
    }
    for name, extra in extras.items():
        for fmt in ("rss20", "rss092"):
            items = [item(n, extra=extra) for n in range(1, 3)]
            c.feed(f"{fmt}-{name}", fmt, items)
    podcast_channel = (
        '<itunes:author>Pod</itunes:author><itunes:category text="News"/><itunes:owner><itunes:name>P</itunes:name>'
        "</itunes:owner><image><url>https://cdn.example/c.jpg</url><title>News</title><link>https://feeds.example/</link></image>"
    )
    episodes = [
        item(
            n,
            title=f"Episode {n}",
            body=None,
            want=stored(n, title=f"Episode {n}"),
            extra='<enclosure url="https://cdn.example/e.mp3" type="audio/mpeg" length="1"/>',
        )
        for n in range(1, 4)
    ]
    c.add("rss20-podcast-no-description", rss(episodes, channel=podcast_channel).encode(), CT["rss20"], episodes)
    atom_media = [item(1, extra='<link rel="enclosure" type="image/jpeg" href="https://cdn.example/a.jpg"/>')]
    c.feed("atom10-enclosure-link", "atom10", atom_media)
    jimg = [
        item(
            1,
            json={
                "image": "https://cdn.example/j.jpg",
                "attachments": [{"url": "https://cdn.example/j.mp3", "mime_type": "audio/mpeg"}],
                "authors": [{"name": "A"}],
            },
        )
    ]
    c.feed("json-image-attachments", "json", jimg)


def broken(c: Corpus) -> None:
    """Recoverable problems keep the items; unusable documents fail with a precise kind."""
    for fmt in ("rss20", "rss091", "rdf"):  # HTML entities XML does not define
        title = "Story number 1 about the harbour"
        items = [item(1, want=stored(1, title="Story number 1 about the caf\u00e9"))]
        text = XML_FORMATS[fmt](items).replace(escape(title), "Story&nbsp;number 1 about the caf&eacute;")
        c.add(f"{fmt}-undefined-entity", text.encode(), CT[fmt], items, problems=["recovered-parse-error"])
    netscape = '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
    items = [item(1, guid=None)]
    c.add("rss091-netscape-doctype", rss(items, version="0.91", head=netscape).encode(), CT["rss091"], items)
    truncated = rss([item(1), item(2)])
    cut = truncated[: truncated.index("<item>", truncated.index("<item>") + 1) + 40]
    # the cut item has neither link nor guid left
    c.add(
        "rss20-truncated",
        cut.encode(),
        CT["rss20"],
        [item(1), item(2, skip="no-link-or-id")],
        problems=["recovered-parse-error"],
    )
    unclosed = rss([item(1), item(2)]).replace("</channel>", "")
    c.add(
        "rss20-unclosed-channel", unclosed.encode(), CT["rss20"], [item(1), item(2)], problems=["recovered-parse-error"]
    )
    bare = [item(1, title="Tom PLACEHOLDER Jerry", want=stored(1, title="Tom & Jerry"))]
    c.add(
        "rss20-bare-ampersand",
        rss(bare).replace("PLACEHOLDER", "&").encode(),
        CT["rss20"],
        bare,
        problems=["recovered-parse-error"],
    )
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
        '<rss version="2.0"><channel><title>&lol2;</title></channel></rss>'
    )
    c.add("rss20-billion-laughs", bomb.encode(), CT["rss20"], [], error="unsafe-xml")
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<rss version="2.0"><channel><item><title>&x;</title><link>https://x.example/</link></item></channel></rss>'
    )
    c.add("rss20-external-entity", xxe.encode(), CT["rss20"], [], error="unsafe-xml")
    c.add(
        "html-page",
        b"<!doctype html><html><head><title>Home</title></head><body><p>Not a feed</p></body></html>",
        "text/html",
        [],
        error="not-a-feed",
    )
    c.add("empty-body", b"", "application/rss+xml", [], error="empty")
    c.add("whitespace-body", b"  \n\t ", "application/rss+xml", [], error="empty")
    c.add("plain-text", b"Service temporarily unavailable, try later.", "text/plain", [], error="not-a-feed")
    c.add("garbage-xml", b"<rss><channel><item><title>broken", "application/rss+xml", [], error="malformed-xml")
    c.add("binary", bytes(range(256)) * 4, "application/octet-stream", [], error="not-a-feed")
    c.add(
        "json-malformed",
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [',
        CT["json"],
        [],
        error="malformed-json",
    )
    c.add(
        "json-wrong-version",
        b'{"version": "https://example.org/v9", "items": []}',
        CT["json"],
        [],
        error="not-json-feed",
    )
    c.add("json-array", b'[{"title": "x"}]', CT["json"], [], error="not-json-feed")
    c.add(
        "json-items-not-objects",
        jsonfeed([]).replace('"items": []', '"items": [1, "x", null]').encode(),
        CT["json"],
        [],
        error=None,
    )
    c.entries[-1]["expect"]["skipped"] = {"malformed-item": 3}
    for fmt in ("rss20", "rdf", "atom10", "atom03"):
        c.feed(f"{fmt}-empty-feed", fmt, [])
    c.feed("json-empty-feed", "json", [])


def build() -> Corpus:
    c = Corpus()
    for part in (
        formats,
        charsets,
        detection,
        boms,
        text_shapes,
        escaped_markup,
        links,
        titles,
        dates,
        duplicates,
        media,
        broken,
    ):
        part(c)
    return c


def main() -> None:
    corpus = build()
    CORPUS.mkdir(exist_ok=True)
    for old in CORPUS.iterdir():
        old.unlink()
    for name, data in corpus.files.items():
        (CORPUS / name).write_bytes(data)
    (HERE / "manifest.json").write_text(json.dumps(corpus.entries, indent=1, ensure_ascii=False) + "\n")
    sys.stderr.write(f"{len(corpus.entries)} feeds written to {CORPUS}\n")


if __name__ == "__main__":
    main()
