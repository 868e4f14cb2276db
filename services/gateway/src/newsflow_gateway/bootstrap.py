"""The composition root of the gateway: the only module that builds clients and wires them into the roles.

``cli.py`` maps each role to a ``run_*`` function here; ``main.py`` (the api) opens :func:`api_runtime`
for its lifespan. Everything below receives what it needs (backends, the key store, the stream hub).
"""

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from pymongo import AsyncMongoClient

from newsflow_gateway.backends import Backends
from newsflow_gateway.compat import opml, websub_notifier
from newsflow_gateway.compat.opml_import import export, import_entries
from newsflow_gateway.compat.websub import Subscriptions
from newsflow_gateway.deps import Gateway, HubState
from newsflow_gateway.keys import ApiKey, KeyStore, Role
from newsflow_gateway.ratelimit import RateLimiter
from newsflow_gateway.settings import Settings
from newsflow_gateway.streams.changes import ChangeFollower
from newsflow_gateway.streams.consumer import BroadcastConsumer
from newsflow_gateway.streams.hub import Hub
from newsflow_gateway.streams.stories import StoryFollower
from newsflow_kit.app import serve
from newsflow_kit.health import Check
from newsflow_kit.kafka import kafka_check
from newsflow_kit.mongo import async_mongo, mongo_check


@dataclass
class Runtime:
    """What the api's lifespan opens: the routes' state, the hub endpoint's, and the readiness checks."""

    gateway: Gateway
    websub: HubState
    consumer: BroadcastConsumer
    stories: StoryFollower
    mongo: AsyncMongoClient[dict[str, object]]
    kafka: Check

    def checks(self) -> Mapping[str, Check]:
        consumer = self.consumer

        async def stream() -> None:
            ready = consumer.ready.is_set() or await asyncio.to_thread(consumer.ready.wait, 2.0)
            if not (consumer.alive and ready):
                raise RuntimeError("stream consumer not reading yet")

        return {"mongodb": mongo_check(self.mongo), "kafka": self.kafka, "stream": stream}


@asynccontextmanager
async def api_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """The api's clients, the stream consumer and its background tasks, open for the app's lifespan."""
    mongo: AsyncMongoClient[dict[str, object]] = async_mongo(settings.mongo)
    store = KeyStore(
        mongo[settings.database],
        bootstrap_admin_key=settings.admin_key.get_secret_value(),
        cache_ttl_s=settings.key_cache_ttl_s,
    )
    hub = Hub(queue_size=settings.streams.queue_size, recent=settings.streams.recent)
    gw = Gateway(settings, Backends(settings.services), store, RateLimiter(), hub)
    follower = ChangeFollower(
        backends=gw.backends, hub=hub, page=settings.streams.replay_page, poll_s=settings.streams.poll_s
    )
    consumer = BroadcastConsumer(
        settings.kafka,
        loop=asyncio.get_running_loop(),
        on_articles=follower.offer,
        on_comments=hub.submit,
    )
    stories = StoryFollower(backends=gw.backends, poll_s=settings.streams.stories_poll_s)
    hub_client = httpx.AsyncClient(timeout=settings.websub.timeout_s, follow_redirects=False)
    subscriptions = Subscriptions(mongo[settings.database])
    runtime = Runtime(gw, HubState(subscriptions, hub_client), consumer, stories, mongo, kafka_check(settings.kafka))
    background: list[asyncio.Task[None]] = []
    started = False
    try:
        await store.ensure_indexes()
        await subscriptions.ensure_indexes()
        consumer.start()
        started = True
        background = [
            asyncio.create_task(hub.run(), name="stream-fan-out"),
            asyncio.create_task(follower.run(), name="stream-changes"),
            asyncio.create_task(hub.heartbeat(settings.streams.heartbeat_s), name="stream-heartbeat"),
            asyncio.create_task(stories.run(), name="stream-stories"),
        ]
        yield runtime
    finally:
        for task in background:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*background)
        if started:  # a start that failed earlier (the store down) leaves no thread to stop
            await asyncio.to_thread(consumer.stop)
        await gw.backends.aclose()
        await hub_client.aclose()
        await mongo.close()


def run_api(settings: Settings, _args: argparse.Namespace) -> None:
    serve("newsflow_gateway.main:create_app", settings)


def run_websub(settings: Settings, _args: argparse.Namespace) -> None:
    websub_notifier.run(settings)


def run_opml(settings: Settings, args: argparse.Namespace) -> int:
    """Runs against ingest directly (``NEWSFLOW_SERVICES__INGEST_URL``), as the admin API does."""
    return asyncio.run(_opml(settings, args))


async def _opml(settings: Settings, args: argparse.Namespace) -> int:
    backends = Backends(settings.services)
    try:
        if args.action == "export":
            document = await export(backends=backends)
            if args.output:
                args.output.write_bytes(document)
            else:
                sys.stdout.buffer.write(document)
            return 0
        entries = opml.read(args.file.read_bytes())
        report = await import_entries(backends=backends, entries=entries, language=args.language, dry_run=args.dry_run)
        for item in report["items"]:
            _line(json.dumps(item, ensure_ascii=False))
        _line(json.dumps({"total": report["total"], "counts": report["counts"]}))
        return 1 if report["counts"].get("failed") else 0
    finally:
        await backends.aclose()


def run_keys(settings: Settings, args: argparse.Namespace) -> None:
    asyncio.run(_keys(settings, args))


async def _keys(settings: Settings, args: argparse.Namespace) -> None:
    mongo = async_mongo(settings.mongo)
    store = KeyStore(mongo[settings.database], bootstrap_admin_key="")
    try:
        await store.ensure_indexes()
        if args.action == "create":
            role = Role(args.role)
            if (role is Role.PUBLISHER) != (args.source is not None):
                raise SystemExit("a publisher key needs --source; admin and reader keys take none")
            record, plain = await store.create(name=args.name, role=role, source_id=args.source)
            _line(json.dumps({**_row(record), "key": plain}))
        elif args.action == "list":
            for record in await store.list():
                _line(json.dumps(_row(record)))
        else:
            _line(json.dumps(_row(await store.revoke(args.key_id))))
    finally:
        await mongo.close()


def _row(key: ApiKey) -> dict[str, str | None]:
    return {
        "id": key.key_id,
        "name": key.name,
        "role": key.role.value,
        "source_id": key.source_id,
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def _line(text: str) -> None:
    """One line of an operator command's output (JSON lines on standard output)."""
    sys.stdout.write(text + "\n")
