"""The language rule, key points and the demo's full-text pages (pure logic, no servers)."""

import html

from starlette.testclient import TestClient

from newsflow_ingest.demo import FEEDS, feed_app, page_article
from newsflow_ingest.demo_content import article
from newsflow_ingest.domain import keypoints, language, normalize
from newsflow_ingest.poller import page_html


def test_demo_article_pages_are_in_their_feed_language() -> None:
    # The Russian feed's full-text pages used to be generated in English (the slug lost its feed name).
    slot = 5_900_000
    for feed, (_, lang) in FEEDS.items():
        expected = article(f"{feed}:{slot}", lang)
        assert page_article(expected.slug) == expected
        with TestClient(feed_app("http://127.0.0.1:1")) as client:
            page = client.get(f"/articles/{expected.slug}")
        assert page.status_code == 200 and html.escape(expected.title) in page.text
        assert language.decide(title=expected.title, body_text=page.text, claimed=lang).flags == []
    assert page_article("nowhere-12") is None and page_article("vecherny-kurier-x") is None


def test_the_detector_wins_over_a_claim_it_strongly_disagrees_with() -> None:
    ru, en = article("vecherny-kurier:1", "ru"), article("vecherny-kurier:1", "en")
    english_body = " ".join(en.paragraphs)
    verdict = language.decide(title=en.title, body_text=english_body, claimed="ru")
    assert verdict.language == "en" and verdict.flags == [language.OVERRIDDEN]
    kept = language.decide(title=ru.title, body_text=" ".join(ru.paragraphs), claimed="ru")
    assert kept.language == "ru" and kept.flags == []
    # Too little text to overrule anyone: the claim stands.
    assert language.decide(title="Hallo", body_text="Hello there, friends", claimed="de").language == "de"
    assert language.decide(title="x", body_text="", claimed=None, default="pl").language == "pl"


def test_a_title_and_body_in_two_languages_are_flagged() -> None:
    ru, en = article("vecherny-kurier:1", "ru"), article("vecherny-kurier:1", "en")
    mixed = language.decide(title=ru.title, body_text=" ".join(en.paragraphs), claimed="ru")
    assert mixed.mixed and mixed.language == "en"
    de = language.decide(
        title="Der Stadtrat hat den Ausbau der Straßenbahn beschlossen",
        body_text=" ".join(en.paragraphs),
        claimed=None,
    )
    assert de.mixed
    assert not language.decide(title=en.title, body_text=" ".join(en.paragraphs), claimed="en").mixed


def test_key_points_never_repeat_and_never_become_a_giant_bullet() -> None:
    repeated = "The council approved the tram plan today. " * 3 + (
        "Residents asked for clearer timelines and costs. The budget will be published next month. "
        "The council approved the tram plan today. Critics argue the plan leaves small towns behind."
    )
    points = normalize.key_points(repeated)
    assert len(points) == len({p.casefold() for p in points}) == 3
    unpunctuated = " ".join(["word"] * 400)
    assert normalize.key_points(unpunctuated) == []
    summary = keypoints.lede(unpunctuated)
    assert len(summary) <= keypoints.LEDE_CHARS and summary.endswith("…")
    assert keypoints.lede("Short opening sentence here. Then more text follows.") == "Short opening sentence here."


def test_a_fetched_page_is_decoded_by_its_charset_not_as_ascii() -> None:
    # The poller used httpx's header-value encoding (ascii) for page bodies: Cyrillic became U+FFFD.
    russian = "<p>Городской совет утвердил план.</p>"
    assert page_html(russian.encode(), "text/html; charset=utf-8") == russian
    assert page_html(russian.encode("cp1251"), "text/html; charset=windows-1251") == russian
    assert page_html(russian.encode(), "text/html") == russian.encode()  # left to trafilatura's detection
    assert page_html(b"x", "text/html; charset=no-such-charset") == b"x"
