"""WebSub in: finding a feed's hub, checking pushed content's signature (pure logic)."""

import hashlib
import hmac

import httpx

from newsflow_ingest.websub import Advert, discover, valid_signature

ATOM = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<link rel="hub" href="https://hub.example/"/><link rel="self" href="https://pub.example/feed.atom"/></feed>"""
RSS = b"""<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>t</title>
<atom:link rel="hub" href="https://hub.example/rss"/><atom:link rel="self" href="/feed.rss"/></channel></rss>"""
JSON = b'{"version": "https://jsonfeed.org/version/1.1", "title": "t", "hubs": [{"type": "WebSub", "url": "https://hub.example/j"}]}'


def test_hub_from_link_headers_first() -> None:
    headers = httpx.Headers({"Link": '<https://hub.example/h>; rel="hub", </self.xml>; rel="self"'})
    assert discover(ATOM, headers, "https://pub.example/x") == Advert(
        "https://hub.example/h", "https://pub.example/self.xml"
    )


def test_hub_from_the_document() -> None:
    assert discover(ATOM, {}, "https://pub.example/x") == Advert(
        "https://hub.example/", "https://pub.example/feed.atom"
    )
    assert discover(RSS, {}, "https://pub.example/x") == Advert(
        "https://hub.example/rss", "https://pub.example/feed.rss"
    )
    assert discover(JSON, {}, "https://pub.example/f.json") == Advert(
        "https://hub.example/j", "https://pub.example/f.json"
    )
    assert discover(b"<rss version='2.0'><channel><title>t</title></channel></rss>", {}, "https://p/x") is None


def test_signatures() -> None:
    body = b"<feed/>"
    for name in ("sha1", "sha256", "sha512"):
        good = f"{name}=" + hmac.new(b"secret", body, getattr(hashlib, name)).hexdigest()
        assert valid_signature("secret", body, good)
        assert not valid_signature("other", body, good)
    assert not valid_signature("secret", body, None)
    assert not valid_signature("secret", body, "md5=" + hashlib.md5(body).hexdigest())
    assert not valid_signature("secret", body + b" ", "sha256=" + hmac.new(b"secret", body, "sha256").hexdigest())
