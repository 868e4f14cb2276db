"""Pure normalisation and identity logic (no servers)."""

from datetime import UTC, datetime, timedelta

from newsflow_ingest.domain import identity, normalize


def test_canonical_url_drops_tracking_fragment_and_case() -> None:
    a = identity.canonical_url("HTTPS://News.Example.COM:443/a/b?utm_source=x&id=7&fbclid=1#top")
    b = identity.canonical_url("https://news.example.com/a/b?id=7")
    assert a == b == "https://news.example.com/a/b?id=7"
    assert identity.article_id(a) == identity.article_id(b)
    assert identity.canonical_url("http://x.test:8080/p") == "http://x.test:8080/p"


def test_sanitizer_keeps_structure_and_drops_scripts() -> None:
    dirty = (
        '<p onclick="x()">Hi <b>there</b><script>alert(1)</script></p>'
        '<a href="javascript:alert(2)">bad</a><a href="https://ok.test/">ok</a><img src=x onerror=alert(3)>'
    )
    clean = normalize.sanitize_html(dirty)
    assert "<script" not in clean and "onclick" not in clean and "onerror" not in clean
    assert "javascript:" not in clean
    assert "<b>there</b>" in clean and 'href="https://ok.test/"' in clean


def test_plain_text() -> None:
    html = "<p>The council approved the tram plan.</p><p>Residents asked about costs and timelines today.</p>"
    text = normalize.html_to_text(html)
    assert text == "The council approved the tram plan.\n\nResidents asked about costs and timelines today."


def test_hashtags_are_slugs_and_capped() -> None:
    tags = normalize.hashtags(
        declared=["Climate Change", "#Energy", "climate change", "Über Politik"] + list("abcdefgh"), text=""
    )
    assert tags[:3] == ["climate-change", "energy", "uber-politik"]
    assert len(tags) == 8
    assert normalize.hashtags(declared=["Транспорт"], text="")[0] == "транспорт"


def test_key_points_pick_sentences_in_order() -> None:
    text = (
        "The tram network will grow by ten stations. The council approved the tram budget on Monday. "
        "Weather was mild. The tram expansion starts in spring next year. Nobody commented further today."
    )
    points = normalize.key_points(text, count=2)
    assert len(points) == 2
    assert all("tram" in p for p in points)
    assert text.index(points[0]) < text.index(points[1])


def test_clean_text_unescapes_nothing() -> None:
    """Feed parsing unescaped the text once already: a second unescape would turn text into markup."""
    assert normalize.clean_text("&lt;img src=x onerror=alert(1)&gt;", limit=99) == "&lt;img src=x onerror=alert(1)&gt;"
    assert normalize.clean_text("AT&T <b>wins</b>\n again", limit=99) == "AT&T wins again"


def test_absurd_times_are_recognised() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert normalize.absurd_time(datetime(1989, 12, 31, tzinfo=UTC), now=now)
    assert normalize.absurd_time(now + timedelta(days=2), now=now)
    assert not normalize.absurd_time(now + timedelta(hours=20), now=now)
    assert not normalize.absurd_time(datetime(2001, 1, 1), now=now)


def test_absurd_dates_become_now() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert normalize.sane_time(datetime(1970, 1, 1, tzinfo=UTC), now=now) == now
    assert normalize.sane_time(now + timedelta(days=30), now=now) == now
    assert normalize.sane_time(datetime(2025, 5, 5, 12), now=now) == datetime(2025, 5, 5, 12, tzinfo=UTC)


def test_demo_feeds_parse_in_every_format() -> None:
    import time

    from newsflow_ingest.demo import FEEDS, SLOT_S, render_feed
    from newsflow_ingest.domain.feeds import parse_feed

    for name in FEEDS:  # dates of a recent slot: a 1970 one would be skipped as absurd
        text, content_type = render_feed(name, "http://127.0.0.1:8010", slot=int(time.time() // SLOT_S))
        feed = parse_feed(text.encode(), content_type)
        assert feed.error is None and len(feed.items) == 8, name
        assert all(item.title and item.url.startswith("http://127.0.0.1:8010/articles/") for item in feed.items)
