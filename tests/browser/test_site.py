"""The web site in a real browser (chromium), on the real platform, as a reader uses it.

Each page is looked at 390 px and 1280 px wide: no horizontal scroll, no dialog, no console error,
axe-core finds no serious or critical violation; screenshots go to .artifacts/screenshots.
"""

import re
import secrets
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from newsflow_kit.testing import eventually

Tab = Any  # conftest.Tab: a browser window of one width that records dialogs and console errors
WIDTHS = (390, 1280)

LONG_WORD = "Supercalifragilistic" * 15  # 300 characters without a break
LONG_URL = "https://e2e.example/" + "a/" * 150
HOSTILE_BODY = (
    "<p>Opening paragraph of the hostile story with enough words to read like news.</p>"
    "<script>alert('script')</script>"
    "<p onclick=\"alert('click')\" onmouseover=\"alert('over')\">Handlers must be gone.</p>"
    '<p><a href="javascript:alert(\'link\')">a javascript link</a> and <a href="/relative/page">a relative one</a></p>'
    f"<p>{LONG_WORD}</p>"
    f'<p><a href="{LONG_URL}">{LONG_URL}</a></p>'
    '<p dir="rtl">هذا نص عربي طويل بما يكفي ليكون فقرة كاملة من اليمين إلى اليسار في المقال.</p>'
    f"<pre>{'x' * 400}</pre>"
    "<table><tr>" + "".join(f"<td>cell-{i}-{LONG_WORD[:40]}</td>" for i in range(12)) + "</tr></table>"
    '<img src="/images/relative.png" alt="A relative image">'
    '<img src="x" onerror="alert(\'img\')">'
    '<iframe src="https://evil.example/"></iframe><style>body { width: 5000px; }</style>'
)


def publish(platform: Any, key: str, word: str, n: int = 0, **fields: Any) -> str:
    body = {
        "title": f"{word} harbour story number {n}",
        "url": f"https://e2e.example/{word}/{n}",
        "body": (
            f"<p>The {word} report {n} says the harbour reopened after the storm.</p>"
            "<p>Officials said ships can dock again. Residents welcomed the news on Tuesday.</p>"
            "<p>The port operator expects full traffic by next week.</p>"
        ),
        "tags": ["harbour", "storm"],
        "language": "en",
        **fields,
    }
    headers = {"Authorization": f"Bearer {key}"}

    def sent() -> httpx.Response | None:  # a busy machine may make ingest answer late: try again
        answer = httpx.post(f"{platform.url}/v1/articles", json=body, headers=headers, timeout=30)
        return None if answer.status_code == 503 else answer

    answer = eventually(sent, timeout=90, interval=1)
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["id"])


def searchable(platform: Any, word: str, count: int) -> None:
    def found() -> bool:
        page = httpx.get(f"{platform.url}/v1/search", params={"q": word, "size": 50}, timeout=10).json()
        return bool(page.get("total", 0) >= count)

    eventually(found, timeout=60, interval=0.5)


def look(tab: Tab, name: str, *, axe: bool = True) -> None:
    """The checks every page gets at every width: no overflow, nothing run, nothing broken, accessible."""
    tab.screenshot(name)
    assert tab.overflow() <= 0, f"{name} scrolls sideways at {tab.width}px"
    assert tab.dialogs == [], tab.dialogs
    assert tab.errors == [], tab.errors
    if axe:
        assert tab.axe() == [], f"{name} at {tab.width}px"


def order(page: Page, selectors: list[str]) -> list[int]:
    """The document positions of the first element matching each selector (-1: missing)."""
    return list(
        page.evaluate(
            """selectors => {
                const all = Array.from(document.querySelectorAll('*'));
                return selectors.map(s => all.indexOf(document.querySelector(s)));
            }""",
            selectors,
        )
    )


def test_article_page_in_the_designs_order_and_words(
    platform: Any, new_publisher: Callable[[], Any], tab: Callable[[int], Tab], word: str
) -> None:
    publisher = new_publisher()
    ids = [publish(platform, publisher.key, word, n) for n in range(3)]
    searchable(platform, word, 3)
    eventually(
        lambda: httpx.get(f"{platform.url}/v1/articles/{ids[0]}", timeout=30).json()["related"],
        timeout=60,
        interval=0.5,
    )
    for width in WIDTHS:
        t = tab(width)
        page = t.goto(f"/articles/{ids[0]}")
        parts = [
            ".story .meta",
            ".story h1",
            ".story .body",
            "#hashtags-heading",
            "#ai-heading",
            "#comments-heading",
            "#comments .empty",
            "#comments form.comment-form",
            "#related-heading",
        ]
        positions = order(page, parts)
        assert -1 not in positions and positions == sorted(positions), dict(zip(parts, positions, strict=True))
        meta = page.locator(".story .meta").inner_text()
        assert meta.startswith(publisher_name(platform, publisher.source_id)) and "just now" in meta
        assert page.locator(".story .meta time").get_attribute("datetime")
        expect(page.locator("#hashtags-heading")).to_have_text("Hashtags")
        expect(page.locator(".hashtags a").first).to_have_text("#harbour")
        expect(page.locator("#ai-heading")).to_have_text("Try Our AI Features")
        points = page.locator(".ai .key-points li").all_inner_texts()
        assert points and len(points) == len(set(points)) and all(len(p) < 300 for p in points)
        assert page.locator(".ai .ai-summary").inner_text()
        expect(page.locator("#comments .empty")).to_contain_text("No comments yet…")
        expect(page.locator("#related-heading")).to_have_text("Related Articles")
        assert page.locator("#related li.article").count() >= 1
        headings = page.evaluate("Array.from(document.querySelectorAll('h1,h2,h3,h4')).map(h => +h.tagName[1])")
        assert headings[0] == 1 and headings.count(1) == 1
        assert all(b - a <= 1 for a, b in zip(headings, headings[1:], strict=False)), headings
        assert page.locator("section h2").count() == page.locator("section > h2").count()  # no h2 in an h2 section
        assert page.locator("nav[aria-label]").count() == 1
        page.keyboard.press("Tab")
        skip = page.evaluate("document.activeElement.textContent")
        assert skip == "Skip to main content"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        look(t, "article")


def publisher_name(platform: Any, source_id: str) -> str:
    with platform.admin() as admin:
        return str(admin.get(f"/v1/admin/sources/{source_id}").json()["name"])


def test_keyboard_only_comment_moderation_and_reply(
    platform: Any, new_publisher: Callable[[], Any], tab: Callable[[int], Tab], word: str
) -> None:
    publisher = new_publisher()
    article_id = publish(platform, publisher.key, word)
    t = tab(1280)
    page = t.goto(f"/articles/{article_id}")
    name = page.locator("#new-name")

    # An empty form is stopped by the browser, in words written for people.
    name.focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"
    page.keyboard.press("Enter")
    assert name.evaluate("el => el.validationMessage") == "Please write your name"
    assert page.url.endswith(f"/articles/{article_id}")

    # Keyboard only: Tab from the top of the page to the form, type, submit with Enter.
    page.locator("body").focus()
    for _ in range(200):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "new-name":
            break
    else:
        pytest.fail("the comment form cannot be reached with the keyboard")
    author = f"Reader {secrets.token_hex(3)}"
    page.keyboard.type(author)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "new-body"
    page.keyboard.type(f"First thoughts {word}")
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    notice = page.locator(".posted").inner_text()
    assert "Thank you" in notice
    comment_id = approve_pending(platform, article_id)
    page.reload()
    comment = page.locator(f"#comment-{comment_id}")
    expect(comment.locator(".text")).to_have_text(f"First thoughts {word}")
    expect(comment.locator(".author")).to_have_text(author)
    expect(page.locator("#comments-heading")).to_have_text("Comments (1)")

    # A reply, still with the keyboard: open "Reply", fill, send.
    comment.locator("summary").focus()
    page.keyboard.press("Enter")
    comment.locator("form input[name=author_name]").focus()
    page.keyboard.type(author)
    page.keyboard.press("Tab")
    page.keyboard.type(f"A reply {word}")
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    approve_pending(platform, article_id, required=False)
    page.reload()
    expect(page.locator(f"#comment-{comment_id} .thread .comment .text")).to_have_text(f"A reply {word}")
    look(t, "article-with-comments")


def approve_pending(platform: Any, article_id: str, *, required: bool = True) -> str:
    """Approves this article's pending comment (if any) as a moderator; returns the newest comment's id."""
    with platform.admin() as admin:

        def pending() -> list[dict[str, Any]] | None:
            queue = admin.get("/v1/admin/comments/queue").json()["items"]
            mine = [c for c in queue if c["article_id"] == article_id]
            return mine or None

        queued = eventually(pending, timeout=10, interval=0.3) if required else (pending() or [])
        for comment in queued:
            assert admin.post(f"/v1/admin/comments/{comment['id']}:approve").status_code == 200
    thread = httpx.get(f"{platform.url}/v1/articles/{article_id}/comments", timeout=30).json()["items"]
    return str(thread[0]["id"])


def test_live_arrival_and_retraction_on_the_home_page(
    platform: Any, new_publisher: Callable[[], Any], tab: Callable[[int], Tab], word: str
) -> None:
    publisher = new_publisher()
    t = tab(390)
    page = t.goto("/")
    expect(page.locator("ol.articles[data-stream]")).to_have_attribute("data-live", "connected")
    article_id = publish(platform, publisher.key, word, tags=["live-news"])
    arrived = page.locator(f"li.article[data-id='{article_id}']")
    expect(arrived).to_be_visible(timeout=15000)
    expect(arrived.locator(".tags a").first).to_have_text("#live-news")
    expect(arrived.locator("time")).to_have_text("just now")
    expect(page.locator("#announcer")).to_contain_text(f"New article: {word} harbour story number 0")
    look(t, "home-live", axe=False)
    gone = httpx.delete(
        f"{platform.url}/v1/articles/{article_id}", headers={"Authorization": f"Bearer {publisher.key}"}, timeout=30
    )
    assert gone.status_code == 200, gone.text
    expect(arrived).to_have_count(0, timeout=15000)
    expect(page.locator("#announcer")).to_contain_text("Article withdrawn")


def test_relative_times_advance_in_english_and_russian(
    platform: Any, new_publisher: Callable[[], Any], tab: Callable[[int], Tab], word: str
) -> None:
    publisher = new_publisher()
    english = publish(platform, publisher.key, word, 1)
    russian = publish(
        platform,
        publisher.key,
        word,
        2,
        title=f"{word}: городской совет утвердил план расширения трамвайной сети",
        body="<p>Городской совет утвердил план расширения трамвайной сети. Жители просят назвать сроки.</p>"
        "<p>Бюджет первого этапа планируют опубликовать в следующем месяце.</p>",
        language="ru",
    )
    expectations = {
        english: ("just now", "10 minutes ago", "yesterday"),
        russian: ("только что", "10 минут назад", "вчера"),
    }
    for article_id, (now, later, next_day) in expectations.items():
        t = tab(1280)
        t.page.clock.install()
        page = t.goto(f"/articles/{article_id}")
        when = page.locator(".story .meta time")
        expect(when).to_have_text(now)
        page.clock.fast_forward("10:00")
        expect(when).to_have_text(later)
        page.clock.fast_forward("24:00:00")
        expect(when).to_have_text(next_day)
        assert re.match(r"\d{4}-\d\d-\d\dT", when.get_attribute("datetime") or "")


def test_a_hostile_article_stays_inert_and_inside_the_page(
    platform: Any, new_publisher: Callable[[], Any], tab: Callable[[int], Tab], word: str
) -> None:
    publisher = new_publisher()
    article_id = publish(
        platform,
        publisher.key,
        word,
        title=f"{word} <script>alert('title')</script> {LONG_WORD}",
        body=HOSTILE_BODY,
        authors=["<b></b>"],
        tags=["<svg onload=alert(1)>", LONG_WORD[:60]],
    )
    for width in WIDTHS:
        t = tab(width)
        page = t.goto(f"/articles/{article_id}")
        page.wait_for_load_state("networkidle")
        assert page.locator(".story .body script, .story .body iframe, .story .body style").count() == 0
        assert page.locator("[onclick], [onmouseover], [onerror]").count() == 0
        assert page.locator("a[href^='javascript:']").count() == 0
        expect(page.locator(".story .body a", has_text="a relative one")).to_have_attribute(
            "href", "https://e2e.example/relative/page"
        )
        expect(page.locator(".story .body img").first).to_have_attribute(
            "src", "https://e2e.example/images/relative.png"
        )
        assert page.locator(".story .body [dir=rtl]").count() == 1
        assert page.locator(".story .byline").count() == 0  # an author that sanitises to nothing
        page.mouse.move(200, 400)
        page.locator(".story .body p", has_text="Handlers").click()
        look(t, "article-hostile")


def test_search_with_facets_filters_and_paging(
    platform: Any, new_publisher: Callable[[], Any], tab: Callable[[int], Tab], word: str
) -> None:
    first, second = new_publisher(), new_publisher()
    for n in range(14):
        publish(platform, first.key, word, n, tags=["alpha"])
    for n in range(14, 25):
        publish(platform, second.key, word, n, tags=["beta"])
    searchable(platform, word, 25)
    first_name = publisher_name(platform, first.source_id)
    for width in WIDTHS:
        t = tab(width)
        page = t.goto(f"/search?q={word}")
        assert page.locator("input[type=search]").count() == 1  # one search box
        expect(page.locator(".total")).to_have_text("25 results")
        sources = page.locator(".facets h3:has-text('Sources') + ul a").all_inner_texts()
        assert first_name in sources and first.source_id not in sources
        look(t, "search")
        ids = set(page.locator("#results li.article").evaluate_all("els => els.map(e => e.dataset.id)"))
        assert len(ids) == 20
        page.locator(".more a").click()
        expect(page).to_have_url(re.compile(r"[?&]cursor="))  # the next page, not the one being left
        expect(page.locator("#results li.article")).to_have_count(5)
        more = set(page.locator("#results li.article").evaluate_all("els => els.map(e => e.dataset.id)"))
        assert len(more) == 5 and not ids & more

        page = t.goto(f"/search?q={word}")
        page.locator(".facets a", has_text=first_name).click()
        expect(page.locator(".total")).to_have_text("14 results")
        active = page.locator(".facets a[aria-current=true]")
        expect(active).to_contain_text(first_name)
        expect(page.locator(".filters .chip")).to_contain_text(first_name)
        page.locator(".facets a", has_text="#alpha").click()
        expect(page.locator(".filters .chip")).to_have_count(2)
        look(t, "search-filtered")
        page.get_by_label(f"Remove the source filter {first_name}").click()
        expect(page.locator(".filters .chip")).to_have_count(1)
        expect(page.locator(".total")).to_have_text("14 results")


def test_every_page_is_accessible_and_fits_at_both_widths(
    platform: Any, new_publisher: Callable[[], Any], tab: Callable[[int], Tab], word: str
) -> None:
    publisher = new_publisher()
    ids = [publish(platform, publisher.key, word, n, tags=["harbour", "axe-check"]) for n in range(2)]
    searchable(platform, word, 2)
    pages = {
        "home": "/",
        "article": f"/articles/{ids[0]}",
        "search": f"/search?q={word}",
        "tag": "/tags/axe-check",
        "source": f"/sources/{publisher.source_id}",
    }
    for width in WIDTHS:
        for name, path in pages.items():
            t = tab(width)
            t.goto(path)
            look(t, name)
