"""Pure logic, no servers: text rules, heuristics, cursors, tokens, keyset conditions, the thread cache."""

import asyncio

import pytest

from newsflow_comments import cursors
from newsflow_comments.identity import Identity, token_hash, token_matches
from newsflow_comments.policy import Policy, hold_reasons, looks_like_spam
from newsflow_comments.store import ORDERS, keyset_after
from newsflow_comments.text import clean_body, clean_name
from newsflow_comments.thread_cache import ThreadCache
from newsflow_kit.errors import InvalidInput


def test_text_rules() -> None:
    assert clean_body("  line one\r\nline\ttwo  ") == "line one\nline\ttwo"
    assert clean_name("  Ann   Lee ") == "Ann Lee"
    for bad in ("", "   ", "x" * 5001, "bell\x07", "nul\x00"):
        with pytest.raises(ValueError):
            clean_body(bad)
    for bad in ("x" * 51, "bell\x07name", "evil\u202etxt.exe", "zero\u200bwidth"):
        with pytest.raises(ValueError):
            clean_name(bad)
    assert clean_body("x" * 5000) == "x" * 5000


def test_hold_reasons() -> None:
    policy = Policy(banned_words=["Spamword"])
    assert hold_reasons("see https://a.test and www.b.test", "Ann", policy) == []
    assert hold_reasons("https://a.test https://b.test cheap.com", "Ann", policy) == ["links"]
    assert hold_reasons("this has SPAMWORD in it", "Ann", policy) == ["banned-words"]
    assert hold_reasons("fine text", "spamword", policy) == ["banned-words"]
    assert hold_reasons("spamwords are a different word", "Ann", policy) == []
    assert looks_like_spam("THIS IS SHOUTING ABOUT EVERYTHING ALL THE TIME")
    assert looks_like_spam("nooooooooooooooooooo")
    assert looks_like_spam("buy " * 12)
    assert not looks_like_spam("A calm, reasonable comment about the article, with a NASA mention.")
    assert hold_reasons("BUY " * 20, "Ann", Policy(spam_heuristics=False)) == []


def test_cursors_round_trip_and_refuse_tampering() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    cursor = cursors.encode("thread:top", [3, at, "abc"])
    assert cursors.decode("thread:top", cursor, size=3) == [3, at, "abc"]
    for kind, bad in (("thread:oldest", cursor), ("thread:top", "not-base64!"), ("thread:top", cursor[:-4])):
        with pytest.raises(InvalidInput):
            cursors.decode(kind, bad, size=3)


def test_keyset_condition() -> None:
    assert keyset_after(ORDERS["top"], [2, "t", "id"]) == [
        {"score": {"$lt": 2}},
        {"score": 2, "created_at": {"$gt": "t"}},
        {"score": 2, "created_at": "t", "_id": {"$gt": "id"}},
    ]


def test_edit_tokens_and_fingerprints() -> None:
    identity = Identity("k1")
    token = identity.edit_token("c1")
    assert token == identity.edit_token("c1") != Identity("k2").edit_token("c1")
    assert token_matches(token, token_hash(token))
    assert not token_matches(token + "x", token_hash(token))
    assert not token_matches(None, token_hash(token))
    a, b = identity.client("1.2.3.4", "ua"), identity.client("1.2.3.4", "other")
    assert a.address == b.address and a.fingerprint != b.fingerprint
    assert "1.2.3.4" not in a.fingerprint + a.address


async def test_thread_cache_shares_reads_serves_stale_while_renewing_and_forgets_on_a_write() -> None:
    cache: ThreadCache[int] = ThreadCache(ttl_s=1.0)
    reads: list[int] = []

    async def load() -> int:
        reads.append(1)
        await asyncio.sleep(0.05)
        return len(reads)

    assert await asyncio.gather(*(cache.page("a1", "p1", load) for _ in range(10))) == [1] * 10  # one read
    assert await cache.page("a1", "p1", load) == 1 and len(reads) == 1  # fresh
    assert await cache.page("a1", "p2", load) == 2  # another page is a read of its own
    await asyncio.sleep(1.2)  # expired, within the stale second
    assert await cache.page("a1", "p1", load) == 1  # served stale at once; its renewal started
    await asyncio.sleep(0.3)
    assert await cache.page("a1", "p1", load) == 3 and len(reads) == 3

    cache.forget("a1")  # a write: the article's pages are not served again
    in_flight = asyncio.ensure_future(cache.page("a1", "p1", load))
    await asyncio.sleep(0.01)  # its read (the 4th) has started...
    cache.forget("a1")  # ...when another write lands
    assert await in_flight == 4  # its own reader gets it
    assert await cache.page("a1", "p1", load) == 5  # but a read from before the write is not kept
    assert await cache.page("b1", "p1", load) == 6 and len(reads) == 6


async def test_a_thread_cache_of_zero_seconds_reads_every_time() -> None:
    cache: ThreadCache[str] = ThreadCache(ttl_s=0)
    reads: list[int] = []

    async def load() -> str:
        reads.append(1)
        return "page"

    assert [await cache.page("a1", "p1", load) for _ in range(3)] == ["page"] * 3 and len(reads) == 3
