"""The web site's rendering: hostile content comes out inert, outages become notices, the comment form.

The backing services are played by a local stand-in (like ``test_backend_errors.py``): these tests are
about the gateway's own rendering, so the stand-in answers with hostile titles, bodies, comments and
highlights that a real ingest would have cleaned.
"""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from newsflow_gateway.main import create_app
from newsflow_gateway.settings import ServicesSettings, Settings
from newsflow_gateway.web.markup import clean_body, highlighted, http_url
from newsflow_kit.testing import free_port, serving

NOW = datetime.now(UTC).isoformat()
XSS = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


def article(article_id: str, **fields: Any) -> dict[str, Any]:
    base = {
        "id": article_id, "version": 1, "seq": 1, "source_id": "s1", "source_name": "Source One",
        "url": f"https://news.example/{article_id}", "canonical_url": f"https://news.example/{article_id}",
        "title": f"Title {article_id}", "body_html": "<p>Plain body.</p>", "published_at": NOW, "updated_at": NOW,
    }  # fmt: skip
    return {**base, **fields}


ARTICLES = {
    "a1": article("a1"),
    "hostile": article(
        "hostile",
        title=f"{XSS} Headline",
        source_name="<b>Src</b>",
        url="javascript:alert(1)",
        image_url="javascript:alert(2)",
        authors=[IMG],
        tags=["<svg onload=alert(1)>", "ok-tag"],
        key_points=[f"<b>point</b> one {XSS}"],
        body_html=(
            '<p>Body <strong>bold</strong></p><script>alert(1)</script><img src="https://img.example/x.png" '
            'onerror="alert(1)"><a href="javascript:alert(1)">click</a><p onclick="alert(1)">para</p>'
            '<iframe src="https://evil.example"></iframe><style>body{display:none}</style>'
        ),
    ),
    "gone": article("gone", status="retracted"),
}


def summary(article_id: str, **fields: Any) -> dict[str, Any]:
    full = {**ARTICLES.get(article_id, article(article_id)), **fields}
    keys = ("id", "title", "url", "source_id", "source_name", "tags", "published_at", "highlight", "summary")
    return {k: full[k] for k in keys if k in full}


def problem(status: int, detail: str) -> JSONResponse:
    body = {"type": "https://newsflow.dev/problems/not-found", "title": "Not found", "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


STORY = {
    "id": "st-hostile",
    "title": f"{XSS} Story",
    "size": 3,
    "sources_count": 3,
    "sources": [{"id": "s1", "name": f"{IMG} Wire"}, {"id": "s2", "name": "Вести"}, {"id": "s3", "name": "Post"}],
    "languages": ["en", "ru"],
    "first_published_at": NOW,
    "last_published_at": NOW,
    "updated_at": NOW,
}


class StandIn:
    """Ingest, index and comments on one port, with the comments posted during a test."""

    def __init__(self) -> None:
        self.url = ""
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.posts: list[tuple[dict[str, Any], dict[str, str]]] = []
        self.app = Starlette(
            routes=[
                Route("/articles/{id}", self.article),
                Route("/sources/{id}", self.source),
                Route("/latest", self.latest),
                Route("/search", self.search),
                Route("/articles/{id}/related", self.related),
                Route("/articles/{id}/comments", self.thread, methods=["GET", "POST"]),
                Route("/articles/{id}/comments/count", self.count),
                Route("/articles/{id}/story", self.article_story),
                Route("/stories/{id}", self.story),
            ]
        )

    def reset(self) -> None:
        self.posts.clear()
        hostile = {"id": "c1", "article_id": "hostile", "author_name": IMG, "status": "visible", "created_at": NOW,
                   "body": f"{XSS} <a href='javascript:alert(1)'>x</a>", "replies": []}  # fmt: skip
        self.comments = {"hostile": [hostile]}

    async def article(self, request: Request) -> Response:
        found = ARTICLES.get(request.path_params["id"])
        return JSONResponse(found) if found else problem(404, "no such article")

    async def source(self, request: Request) -> Response:
        if request.path_params["id"] != "s1":
            return problem(404, "no such source")
        return JSONResponse({"id": "s1", "name": f"{XSS} Source", "homepage": "javascript:alert(1)", "feed_url": "x"})

    async def latest(self, request: Request) -> Response:
        return JSONResponse({"items": [summary("hostile"), summary("a1")], "next_cursor": "c-2"})

    async def search(self, request: Request) -> Response:
        # The index escapes the text (encoder html) and marks matches; a hostile fragment must still be inert.
        highlight = {
            "title": "<mark>match</mark> &lt;b&gt;escaped&lt;/b&gt;",
            "snippet": f"<em>also</em> {XSS} {IMG} <b>bold</b> <mark>open",
        }
        item = summary("hostile", highlight=highlight)
        return JSONResponse({"total": 1, "items": [item], "facets": {"tags": [{"value": "ok-tag", "count": 1}]}})

    async def related(self, request: Request) -> Response:
        return JSONResponse({"items": [summary("a1", title=f"Related {XSS}")]})

    async def thread(self, request: Request) -> Response:
        article_id = request.path_params["id"]
        if request.method == "POST":
            body = await request.json()
            self.posts.append((body, dict(request.headers)))
            status = "pending" if body["author_name"] == "held" else "visible"
            comment = {"id": f"c{len(self.posts) + 1}", "article_id": article_id, "status": status,
                       "created_at": NOW, "replies": [], **body}  # fmt: skip
            if status == "visible":
                self.comments.setdefault(article_id, []).append(comment)
            return JSONResponse({"comment": comment, "edit_token": "secret-token"}, status_code=201)
        return JSONResponse({"items": self.comments.get(article_id, []), "next_cursor": None})

    async def article_story(self, request: Request) -> Response:
        article_id = request.path_params["id"]
        story = STORY if article_id == "hostile" else None
        return JSONResponse({"article_id": article_id, "story": story})

    async def story(self, request: Request) -> Response:
        story_id = request.path_params["id"]
        if story_id not in ("st-hostile", "st-merged"):
            return problem(404, "no such story")
        articles = [summary("hostile"), {**summary("a1"), "language": "ru"}]
        return JSONResponse({**STORY, "articles": articles, "requested_id": story_id})

    async def count(self, request: Request) -> Response:
        article_id = request.path_params["id"]
        return JSONResponse({"article_id": article_id, "count": len(self.comments.get(article_id, []))})


@pytest.fixture(scope="module")
def stand_in() -> Iterator[StandIn]:
    fake = StandIn()
    with serving(fake.app) as fake.url:
        yield fake


@pytest.fixture
def services(stand_in: StandIn) -> StandIn:
    """The stand-in, with this test's comments only."""
    stand_in.reset()
    return stand_in


def site_with(make_settings: Callable[..., Settings], **urls: str) -> TestClient:
    return TestClient(create_app(make_settings(services=ServicesSettings(part_timeout_s=0.5, **urls))))


@pytest.fixture
def site(make_settings: Callable[..., Settings], services: StandIn) -> Iterator[TestClient]:
    with site_with(make_settings, ingest_url=services.url, index_url=services.url, comments_url=services.url) as c:
        yield c


@pytest.fixture
def site_without_index_and_comments(make_settings: Callable[..., Settings], services: StandIn) -> Iterator[TestClient]:
    dead = f"http://127.0.0.1:{free_port()}"
    with site_with(make_settings, ingest_url=services.url, index_url=dead, comments_url=dead) as client:
        yield client


class Tags(HTMLParser):
    """Every start tag of a page with its attributes (values unescaped, as a browser sees them)."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def assert_inert(page: str) -> None:
    """No script but our own files, no event handler, no javascript: URL, no frame, style or svg."""
    tags = Tags(page).tags
    for tag, attrs in tags:
        assert tag not in ("iframe", "style", "svg", "object", "embed"), (tag, attrs)
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/"), attrs
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        for name in ("href", "src", "action", "formaction"):
            assert not attrs.get(name, "").strip().lower().startswith("javascript:"), (tag, attrs)
    assert XSS not in page and "<img src=x" not in page


def test_home_lists_the_latest_articles_escaped_with_a_strict_policy(site: TestClient) -> None:
    answer = site.get("/")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "unsafe-inline" not in policy
    assert_inert(answer.text)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Headline" in answer.text
    assert 'href="/articles/a1"' in answer.text and 'href="/?cursor=c-2"' in answer.text
    assert 'data-stream="/v1/stream"' in answer.text and "/static/site.js?v=" in answer.text


def test_an_article_page_renders_hostile_content_inert(site: TestClient) -> None:
    answer = site.get("/articles/hostile")
    assert answer.status_code == 200, answer.text
    page = answer.text
    assert_inert(page)
    assert "<p>Body <strong>bold</strong></p>" in page  # the allow-listed body survives
    assert '<img src="https://img.example/x.png" alt="">' in page
    assert "&lt;b&gt;point&lt;/b&gt; one" in page  # key points are text
    assert 'href="/tags/%3Csvg%20onload%3Dalert%281%29%3E"' in page and 'href="/tags/ok-tag"' in page
    assert "&lt;b&gt;Src&lt;/b&gt;" in page and "Related &lt;script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # comment author (and article author) as text
    assert "Comments (1)" in page and "No comments yet" not in page
    assert "Read at the source" not in page  # a javascript: URL is not linked at all


def test_a_story_page_and_the_article_line_that_links_it(site: TestClient) -> None:
    article = site.get("/articles/hostile").text
    assert '<a href="/stories/st-hostile">Covered by 3 sources</a>' in article
    assert "Covered by" not in site.get("/articles/a1").text  # not clustered (story: null)
    answer = site.get("/stories/st-hostile")
    assert answer.status_code == 200, answer.text
    page = answer.text
    assert_inert(page)
    levels = [int(tag[1]) for tag, _ in Tags(page).tags if tag in ("h1", "h2", "h3", "h4")]
    assert levels[0] == 1 and all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False))  # headings nest
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Story" in page and "3 articles" in page and "3 sources" in page
    assert "<bdi>Вести</bdi>" in page and "&lt;img src=x onerror=alert(1)&gt; Wire" in page
    assert "<time datetime=" in page and 'href="/articles/a1"' in page and 'lang="ru"' in page
    merged = site.get("/stories/st-merged", follow_redirects=False)
    assert merged.status_code == 301 and merged.headers["location"] == "/stories/st-hostile"
    assert site.get("/stories/st-unknown").status_code == 404
    assert site.get("/stories/not-a-story-id").status_code == 404


def test_an_article_without_comments_says_so_and_offers_the_form(site: TestClient) -> None:
    page = site.get("/articles/a1").text
    assert "No comments yet" in page and "Comments (0)" in page
    assert '<form class="comment-form" method="post" action="/articles/a1/comments">' in page
    assert "Read at the source" in page


def test_search_keeps_only_the_match_markers_of_highlights(site: TestClient) -> None:
    answer = site.get("/search", params={"q": "match"})
    assert answer.status_code == 200
    page = answer.text
    assert_inert(page)
    assert "<mark>match</mark> &lt;b&gt;escaped&lt;/b&gt;" in page  # escaped once, not twice
    assert "<em>also</em>" in page and "<mark>open</mark>" in page  # an unclosed marker is closed
    assert "<b>bold</b>" not in page and "bold" in page
    assert 'href="/search?q=match&amp;sort=relevance&amp;tag=ok-tag"' in page  # facet links drop empty filters
    assert 'value="match"' in page


def test_unknown_retracted_and_malformed_articles_are_404_pages(site: TestClient) -> None:
    for path in ("/articles/missing", "/articles/gone", "/articles/-bad", "/sources/unknown"):
        answer = site.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("text/html") and "There is no such page" in answer.text


def test_pages_render_with_a_notice_when_services_are_down(site_without_index_and_comments: TestClient) -> None:
    site = site_without_index_and_comments
    home = site.get("/")
    assert home.status_code == 200 and "The latest articles are unavailable right now" in home.text
    article = site.get("/articles/a1")
    assert article.status_code == 200 and "Title a1" in article.text
    for notice in ("Comments are unavailable", "comment count is unavailable", "Related articles are unavailable"):
        assert notice in article.text
    assert "No comments yet" not in article.text  # unknown, not empty
    found = site.get("/search", params={"q": "x"})
    assert found.status_code == 200 and "Search is unavailable right now" in found.text
    tag = site.get("/tags/ok-tag")
    assert tag.status_code == 200 and "#ok-tag" in tag.text
    source = site.get("/sources/s1")
    assert source.status_code == 200 and "&lt;script&gt;alert(1)&lt;/script&gt; Source" in source.text
    assert_inert(source.text)
    posted = site.post("/articles/a1/comments", data={"author_name": "me", "body": "kept"}, follow_redirects=False)
    assert posted.status_code == 503 and "the comments service is unavailable" in posted.text
    assert ">kept</textarea>" in posted.text  # what the reader typed is not lost


def test_an_article_page_without_ingest_is_a_503_page(client: TestClient) -> None:
    answer = client.get("/articles/a1")
    assert answer.status_code == 503 and answer.headers["content-type"].startswith("text/html")
    assert "the ingest service is unavailable" in answer.text and "127.0.0.1" not in answer.text


def test_the_comment_form_posts_then_redirects_to_the_thread(site: TestClient, services: StandIn) -> None:
    form = {"author_name": IMG, "body": f"  {XSS} hello  "}
    answer = site.post("/articles/a1/comments", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/articles/a1?posted=visible#comments"
    [(sent, headers)] = services.posts
    assert sent == {"author_name": IMG, "body": f"{XSS} hello"}
    assert headers["x-client-ip"] == "testclient"
    page = site.get(answer.headers["location"]).text
    assert "your comment is published" in page and "&lt;script&gt;alert(1)&lt;/script&gt; hello" in page
    assert "secret-token" not in page
    assert_inert(page)
    held = site.post("/articles/a1/comments", data={"author_name": "held", "body": "hi"}, follow_redirects=False)
    assert held.headers["location"] == "/articles/a1?posted=held#comments"


def test_an_invalid_comment_is_shown_again_with_its_errors(site: TestClient, services: StandIn) -> None:
    answer = site.post("/articles/a1/comments", data={"author_name": f'">{XSS}', "body": "   "})
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("text/html")
    assert "Please write a comment." in answer.text
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in answer.text  # kept, escaped
    assert_inert(answer.text)
    assert services.posts == []


def test_a_comment_form_from_another_site_is_refused(site: TestClient, services: StandIn) -> None:
    form = {"author_name": "me", "body": "hi"}
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        answer = site.post("/articles/a1/comments", data=form, headers=headers, follow_redirects=False)
        assert answer.status_code == 403, headers
    same = site.post(
        "/articles/a1/comments", data=form, headers={"Sec-Fetch-Site": "same-origin"}, follow_redirects=False
    )
    assert same.status_code == 303
    assert len(services.posts) == 1


def test_the_static_files_are_served(site: TestClient) -> None:
    css = site.get("/static/site.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    script = site.get("/static/site.js")
    assert script.status_code == 200 and "EventSource" in script.text
    assert "innerHTML" not in script.text.replace("never innerHTML", "")


def test_markup_filters() -> None:
    assert str(clean_body('<p onclick="x">a<script>b</script><a href="javascript:x">c</a></p>')) == (
        '<p>a<a rel="noopener noreferrer nofollow ugc">c</a></p>'
    )
    assert str(highlighted("<mark>a</mark> <i>b</i> &amp;")) == "<mark>a</mark> b &amp;"
    assert http_url(" JavaScript:alert(1)") is None and http_url("//evil.example") is None
    assert http_url("https://ok.example/a") == "https://ok.example/a"
