"""The site's helpers and browser niceties: relative times, the AI block's digest, body clean-up,
HTML errors for browsers (problem+json for API clients), favicon, compression, cache headers, offline docs."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from newsflow_gateway.main import create_app
from newsflow_gateway.settings import Settings
from newsflow_gateway.web.digest import digest
from newsflow_gateway.web.markup import clean_body, present, when
from newsflow_gateway.web.rendering import static
from newsflow_gateway.web.timefmt import relative
from newsflow_kit.text import shorten

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.parametrize(
    ("ago", "english", "russian"),
    [
        (timedelta(seconds=5), "just now", "только что"),
        (timedelta(seconds=-30), "just now", "только что"),  # a clock slightly ahead
        (timedelta(minutes=1), "1 minute ago", "1 минуту назад"),
        (timedelta(minutes=9), "9 minutes ago", "9 минут назад"),
        (timedelta(minutes=22), "22 minutes ago", "22 минуты назад"),
        (timedelta(hours=3), "3 hours ago", "3 часа назад"),
        (timedelta(hours=21), "21 hours ago", "21 час назад"),
        (timedelta(hours=30), "yesterday", "вчера"),
        (timedelta(days=5), "5 days ago", "5 дней назад"),
        (timedelta(days=40), "20 Oct 2026", "20 окт. 2026 г."),
    ],
)
def test_relative_times_in_english_and_russian(ago: timedelta, english: str, russian: str) -> None:
    assert relative(NOW - ago, now=NOW, language="en") == english
    assert relative(NOW - ago, now=NOW, language="ru") == russian


def test_a_time_element_carries_the_exact_time() -> None:
    html = str(when(NOW, "ru"))
    assert html.startswith('<time datetime="2026-11-29T12:00:00+00:00" title="2026-11-29 12:00 UTC" data-lang="ru">')
    assert str(when(None)) == ""


def test_key_points_never_repeat_and_never_become_a_giant_bullet() -> None:
    point = "The council approved the tram plan after months of hearings."
    shown = digest(summary="", key_points=[point, point.upper(), f"  {point}  ", "Costs rise."], text="")
    assert shown.key_points == [point, "Costs rise."]
    wall = " ".join(["word"] * 500)
    giant = digest(summary="", key_points=[wall], text=wall)
    assert len(giant.summary) <= 280 and giant.summary.endswith("…")
    assert giant.key_points == []  # a wall of text is no point
    long_point = "A sentence that runs long, " * 9 + "and ends."
    assert len(digest(summary="", key_points=[long_point], text="").key_points[0]) <= 220
    assert digest(summary="Lede.", key_points=["Lede."], text="").key_points == []
    assert not digest(summary="", key_points=[], text="")
    assert shorten("a b c", 10) == "a b c"


def test_bodies_keep_direction_and_resolve_or_drop_relative_urls() -> None:
    body = (
        '<p dir="rtl">שלום</p><p dir="sideways">x</p><img src="/i.png"><img src="http://plain.example/i.png">'
        '<a href="more/page">more</a><a href="#note">note</a><a href="mailto:a@b.example">mail</a>'
    )
    cleaned = str(clean_body(body, "https://news.example/world/story"))
    assert '<p dir="rtl">' in cleaned and "sideways" not in cleaned
    assert '<img src="https://news.example/i.png" alt="">' in cleaned
    assert "plain.example" not in cleaned  # http images would be blocked by the page's policy: dropped
    assert 'href="https://news.example/world/more/page"' in cleaned
    assert 'href="#note"' in cleaned and 'href="mailto:a@b.example"' in cleaned
    without_base = str(clean_body(body, None))
    assert "<img" not in without_base and "more/page" not in without_base


def test_an_author_that_sanitises_to_nothing_is_not_shown() -> None:
    assert present(["<b></b>", " ", "Ann", "<i>Bo</i>"]) == ["Ann", "Bo"]


@pytest.fixture
def gateway(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings())) as client:
        yield client


def test_browsers_get_html_error_pages_and_api_clients_problem_details(gateway: TestClient) -> None:
    page = gateway.get("/no/such/page", headers=BROWSER)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "There is no such page" in page.text and "Content-Security-Policy" in page.headers
    api = gateway.get("/no/such/page", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    v1 = gateway.get("/v1/nothing-here", headers=BROWSER)  # the API answers machines, whatever they accept
    assert v1.status_code == 404 and v1.headers["content-type"] == "application/problem+json"


def test_favicon_compression_and_long_lived_static_files(gateway: TestClient) -> None:
    icon = gateway.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    for name, kind in (("site.css", "text/css"), ("site.js", "javascript")):
        fingerprinted = gateway.get(static(name), headers={"Accept-Encoding": "gzip"})
        assert fingerprinted.status_code == 200 and kind in fingerprinted.headers["content-type"]
        assert fingerprinted.headers["content-encoding"] == "gzip"
        assert fingerprinted.headers["cache-control"] == "public, max-age=31536000, immutable"
        stale = gateway.get(f"/static/{name}?v=000000000000")
        assert stale.headers["cache-control"] == "no-cache"
    home = gateway.get("/", headers={"Accept-Encoding": "gzip", **BROWSER})
    assert home.headers.get("content-encoding") == "gzip"


def test_the_api_docs_need_no_cdn(gateway: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        page = gateway.get(path)
        assert page.status_code == 200 and "cdn" not in page.text.lower() and "https://" not in page.text, path
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        assert gateway.get(f"/docs-assets/{asset}").status_code == 200, asset
