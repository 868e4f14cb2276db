"""WebSub in: subscribing to a hub, against a real local hub server and the real MongoDB-wire store."""

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from newsflow_ingest.fetch import SafeFetcher
from newsflow_ingest.records import Source
from newsflow_ingest.settings import FetchSettings, Settings, WebSubInSettings
from newsflow_ingest.store import HubSubscriptions
from newsflow_ingest.websub import WebSubIn
from newsflow_kit.mongo import async_mongo
from newsflow_kit.testing import unique


@dataclass
class Hub:
    """A hub that verifies intent *before* it answers the subscription request (WebSub allows either)."""

    url: str = ""
    verify: Callable[[dict[str, str]], bool] = lambda form: True
    status: int = 202
    answers: list[bool] = field(default_factory=list)


@pytest.fixture
def hub() -> Any:
    state = Hub()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
            form = {k: v[0] for k, v in parse_qs(body).items()}
            confirmed = state.verify(form)
            state.answers.append(confirmed)
            self.send_response(state.status if confirmed else 400)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hub"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class Rig:
    websub: WebSubIn
    subs: HubSubscriptions
    fetcher: SafeFetcher


@pytest.fixture
async def rig(settings: Settings, hub: Hub) -> AsyncIterator[Rig]:
    mongo = async_mongo(settings.mongo)
    subs = HubSubscriptions(mongo[settings.database])
    websub = WebSubIn(WebSubInSettings(callback_url="http://127.0.0.1:1/websub/callback"), subs)
    fetcher = SafeFetcher(FetchSettings(allow_hosts=[urlsplit(hub.url).netloc], timeout_s=5))
    yield Rig(websub, subs, fetcher)
    await fetcher.aclose()
    await mongo.close()


def _feed(hub: Hub) -> tuple[bytes, dict[str, str]]:
    return b"<feed/>", {"link": f'<{hub.url}>; rel="hub", <https://pub.example/feed.atom>; rel="self"'}


async def test_a_hub_that_verifies_before_answering_finds_the_request_on_record(rig: Rig, hub: Hub) -> None:
    """The request is on record before the hub is asked, so an immediate verification is confirmed
    (it used to be saved after the hub's answer: the verification was refused and the subscription
    stayed pending until a retry a minute later)."""
    loop = asyncio.get_running_loop()
    source = Source(id=unique("src"), name="s", feed_url="https://pub.example/feed.atom")

    def verify(form: dict[str, str]) -> bool:
        callback_id = form["hub.callback"].rsplit("/", 1)[1]
        confirm = rig.websub.confirm(callback_id, mode="subscribe", topic=form["hub.topic"], lease_seconds="600")
        return asyncio.run_coroutine_threadsafe(confirm, loop).result(10)

    hub.verify = verify
    body, headers = _feed(hub)
    await rig.websub.after_fetch(rig.fetcher, source, body, headers)
    assert hub.answers == [True]
    sub = await rig.subs.get(source.id)
    assert sub is not None and sub.state == "active" and sub.topic == "https://pub.example/feed.atom"
    assert sub.hub == hub.url and sub.lease_until is not None


async def test_a_refused_subscription_leaves_no_record(rig: Rig, hub: Hub) -> None:
    """A hub that says no (or cannot be reached) leaves things as they were: the next poll asks again."""
    source = Source(id=unique("src"), name="s", feed_url="https://pub.example/feed.atom")
    hub.verify = lambda form: False
    body, headers = _feed(hub)
    await rig.websub.after_fetch(rig.fetcher, source, body, headers)
    assert hub.answers == [False]
    assert await rig.subs.get(source.id) is None
    hub.verify = lambda form: True
    await rig.websub.after_fetch(rig.fetcher, source, body, headers)  # not held back as "pending"
    assert hub.answers == [False, True]
    sub = await rig.subs.get(source.id)
    assert sub is not None and sub.state == "pending"  # the hub has not verified yet
