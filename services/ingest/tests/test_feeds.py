"""Feed parsing defects of issue 16, each reproduced as reported (pure: no servers)."""

from datetime import UTC, datetime

from newsflow_ingest.domain.encoding import decode_xml
from newsflow_ingest.domain.feeds import parse_feed

NOW = datetime(2026, 11, 29, tzinfo=UTC)
ITEM = "<item><title>{title}</title><link>https://x.example/1</link><description>{body}</description></item>"


def rss(title: str, body: str = "Body text", decl: str = "") -> str:
    head = f'<?xml version="1.0" encoding="{decl}"?>' if decl else ""
    return f'{head}<rss version="2.0"><channel><title>c</title>{ITEM.format(title=title, body=body)}</channel></rss>'


def test_multi_byte_declarations_do_not_lose_the_feed() -> None:
    for label, codec, title in (
        ("big5", "big5", "臺灣新聞"),
        ("euc-kr", "euc-kr", "한국 뉴스"),
        ("shift_jis", "shift_jis", "日本のニュース"),
        ("gb2312", "gb2312", "中国新闻"),
        ("csunicode", "utf-16", "Grüße 新聞"),
    ):
        feed = parse_feed(rss(title, decl=label).encode(codec), "application/rss+xml", now=NOW)
        assert feed.error is None, (label, feed.error)
        assert [i.title for i in feed.items] == [title], label


def test_the_http_charset_comes_first_and_a_mismatch_is_recorded() -> None:
    feed = parse_feed(rss("Новости").encode("koi8-r"), "application/rss+xml; charset=KOI8-R", now=NOW)
    assert [i.title for i in feed.items] == ["Новости"] and feed.problems == []
    feed = parse_feed(rss("Новини").encode("cp1251"), "text/xml; charset=windows-1251", now=NOW)
    assert [i.title for i in feed.items] == ["Новини"]
    lying = rss("Новости", decl="utf-8").encode("koi8-r")
    feed = parse_feed(lying, "application/rss+xml; charset=koi8-r", now=NOW)
    assert [i.title for i in feed.items] == ["Новости"]
    assert any(p.startswith("encoding-mismatch") for p in feed.problems), feed.problems


def test_a_utf8_document_under_a_single_byte_server_default_stays_utf8() -> None:
    body = rss("Grüße aus Köln", decl="utf-8").encode()
    feed = parse_feed(body, "text/xml; charset=iso-8859-1", now=NOW)
    assert [i.title for i in feed.items] == ["Grüße aus Köln"]
    assert any(p.startswith("encoding-mismatch") for p in feed.problems)


def test_bom_and_detection() -> None:
    decoded = decode_xml(b"\xef\xbb\xbf" + rss("Grüße").encode(), "application/xml; charset=iso-8859-1")
    assert "Grüße" in decoded.text and decoded.encoding == "utf-8"
    text = rss("Городской совет", body="Городской совет утвердил план расширения трамвайной сети. " * 5)
    decoded = decode_xml(text.encode("cp1251"))
    assert decoded.chosen_by == "detected" and "Городской совет" in decoded.text


def test_escaped_text_is_unescaped_once() -> None:
    atom = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>urn:1</id>'
        '<title type="text">&lt;img src=x onerror=alert(1)&gt; &amp;amp;</title>'
        '<link href="https://x.example/1"/><summary type="text">a &amp;lt;b&amp;gt; c</summary></entry></feed>'
    )
    item = parse_feed(atom.encode(), now=NOW).items[0]
    assert item.title == "<img src=x onerror=alert(1)> &amp;"  # exactly the text the feed escaped once
    assert item.summary == "a &lt;b&gt; c"
    item = parse_feed(rss("AT&amp;T &amp;amp; co", body="x &amp;lt; y").encode(), now=NOW).items[0]
    assert item.title == "AT&T & co" and item.summary == "x < y"  # RSS text is HTML: unescaped once as such


def test_items_without_link_or_title_are_kept() -> None:
    doc = (
        '<rss version="2.0"><channel><title>c</title><link>https://x.example/</link>'
        '<item><guid isPermaLink="false">tag:x,1</guid><title>Opaque id</title></item>'
        "<item><guid>/p/2</guid><title>Relative permalink</title></item>"
        "<item><link>../a/3</link><description>&lt;p&gt;Heavy rain closed the coastal road near the old harbour "
        "on Sunday morning officials said&lt;/p&gt;</description></item>"
        "</channel></rss>"
    )
    feed = parse_feed(doc.encode(), base_url="https://x.example/feeds/rss.xml", now=NOW)
    got = [(i.title, i.url, i.external_id) for i in feed.items]
    assert got == [
        ("Opaque id", "https://x.example/", "tag:x,1"),
        ("Relative permalink", "https://x.example/p/2", None),
        ("Heavy rain closed the coastal road near the old harbour on Sunday…", "https://x.example/a/3", None),
    ]
    assert feed.repaired == {"id-as-link": 1, "title-derived": 1}


def test_xml_base_resolves_links() -> None:
    doc = (
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://b.example/blog/"><title>t</title>'
        '<entry><id>urn:1</id><title>T</title><link href="post/1"/></entry></feed>'
    )
    assert parse_feed(doc.encode(), base_url="https://x.example/atom", now=NOW).items[0].url == (
        "https://b.example/blog/post/1"
    )


def test_recoverable_parse_errors_keep_the_items() -> None:
    doc = rss("Caf&eacute; &nbsp;opens").replace("</channel></rss>", "")
    feed = parse_feed(doc.encode(), now=NOW)
    assert feed.error is None and [i.title for i in feed.items] == ["Café opens"]
    assert any(p.startswith("recovered-parse-error") for p in feed.problems)


def test_absurd_dates_skip_the_item_with_a_reason() -> None:
    doc = rss("Future").replace("</item>", "<pubDate>Mon, 02 Nov 2999 10:00:00 GMT</pubDate></item>")
    feed = parse_feed(doc.encode(), now=NOW)
    assert feed.items == [] and feed.skipped == {"absurd-date": 1} and feed.error is None
    doc = rss("Epoch").replace("</item>", "<pubDate>Thu, 01 Jan 1970 00:00:00 GMT</pubDate></item>")
    assert parse_feed(doc.encode(), now=NOW).skipped == {"absurd-date": 1}
