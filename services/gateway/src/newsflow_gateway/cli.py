"""``newsflow-gateway <role>``: ``api`` serves the public API; ``keys`` manages API keys.

newsflow-gateway api
newsflow-gateway websub                                     (WebSub deliveries to subscribers of the out-feeds)
newsflow-gateway keys create --role publisher --source <source id> --name "Daily Planet"
newsflow-gateway keys create --role admin --name ops
newsflow-gateway keys create --role reader --name "my app"     (a key for the NewsAPI-compatible /v2)
newsflow-gateway keys list
newsflow-gateway keys revoke <key id>
newsflow-gateway opml import subscriptions.opml [--language en] [--dry-run]   (feed sources, via ingest)
newsflow-gateway opml export [--output sources.opml]
"""

import argparse
import asyncio
import json
import sys
from pathlib import Path

from newsflow_gateway.backends import Backends
from newsflow_gateway.compat import opml
from newsflow_gateway.compat.opml_import import export, import_entries
from newsflow_gateway.keys import ApiKey, KeyStore, Role
from newsflow_gateway.settings import Settings
from newsflow_kit.app import serve
from newsflow_kit.logging import configure_logging
from newsflow_kit.mongo import async_mongo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="newsflow-gateway", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    roles = parser.add_subparsers(dest="role", required=True)
    roles.add_parser("api", help="serve the public API, web pages and streams")
    roles.add_parser("websub", help="notify WebSub subscribers of the out-feeds (a Kafka consumer group)")
    keys = roles.add_parser("keys", help="create, list and revoke API keys").add_subparsers(
        dest="action", required=True
    )
    create = keys.add_parser("create", help="create a key and print it (shown only once)")
    create.add_argument("--role", choices=[r.value for r in Role], required=True)
    create.add_argument("--source", help="the source a publisher key publishes for")
    create.add_argument("--name", required=True)
    keys.add_parser("list", help="list keys (never the keys themselves)")
    revoke = keys.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    lists = roles.add_parser("opml", help="import or export sources as OPML").add_subparsers(
        dest="action", required=True
    )
    into = lists.add_parser("import", help="create a feed source per new subscription; prints a line per entry")
    into.add_argument("file", type=Path)
    into.add_argument("--language", default="en", help="for outlines without a language attribute")
    into.add_argument("--dry-run", action="store_true", help="report what would happen, create nothing")
    out = lists.add_parser("export", help="print every feed source as OPML 2.0")
    out.add_argument("--output", type=Path, help="write to this file instead of standard output")
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging("gateway." + args.role, level=settings.log_level, json=settings.log_json and args.role == "api")
    if args.role == "api":
        serve("newsflow_gateway.main:create_app", settings)
        return
    if args.role == "websub":
        from newsflow_gateway.compat import websub_notifier

        websub_notifier.run(settings)
        return
    if args.role == "opml":
        raise SystemExit(asyncio.run(_opml(settings, args)))
    asyncio.run(_keys(settings, args))


async def _opml(settings: Settings, args: argparse.Namespace) -> int:
    """Runs against ingest directly (``NEWSFLOW_SERVICES__INGEST_URL``), as the admin API does."""
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
            print(json.dumps(item, ensure_ascii=False))
        print(json.dumps({"total": report["total"], "counts": report["counts"]}))
        return 1 if report["counts"].get("failed") else 0
    finally:
        await backends.aclose()


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
            print(json.dumps({**_row(record), "key": plain}))
        elif args.action == "list":
            for record in await store.list():
                print(json.dumps(_row(record)))
        else:
            print(json.dumps(_row(await store.revoke(args.key_id))))
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
