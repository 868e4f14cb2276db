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
from pathlib import Path

from newsflow_gateway import bootstrap
from newsflow_gateway.keys import Role as KeyRole
from newsflow_gateway.settings import Settings
from newsflow_kit.roles import Role, dispatch


def _keys(parser: argparse.ArgumentParser) -> None:
    keys = parser.add_subparsers(dest="action", required=True)
    create = keys.add_parser("create", help="create a key and print it (shown only once)")
    create.add_argument("--role", choices=[r.value for r in KeyRole], required=True)
    create.add_argument("--source", help="the source a publisher key publishes for")
    create.add_argument("--name", required=True)
    keys.add_parser("list", help="list keys (never the keys themselves)")
    revoke = keys.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")


def _opml(parser: argparse.ArgumentParser) -> None:
    lists = parser.add_subparsers(dest="action", required=True)
    into = lists.add_parser("import", help="create a feed source per new subscription; prints a line per entry")
    into.add_argument("file", type=Path)
    into.add_argument("--language", default="en", help="for outlines without a language attribute")
    into.add_argument("--dry-run", action="store_true", help="report what would happen, create nothing")
    out = lists.add_parser("export", help="print every feed source as OPML 2.0")
    out.add_argument("--output", type=Path, help="write to this file instead of standard output")


ROLES: list[Role[Settings]] = [
    Role("api", "serve the public API, web pages and streams", bootstrap.run_api),
    Role(
        "websub",
        "notify WebSub subscribers of the out-feeds (a Kafka consumer group)",
        bootstrap.run_websub,
        json_logs=False,
    ),
    Role("keys", "create, list and revoke API keys", bootstrap.run_keys, _keys, json_logs=False),
    Role("opml", "import or export sources as OPML", bootstrap.run_opml, _opml, json_logs=False),
]


def main(argv: list[str] | None = None) -> None:
    dispatch("newsflow-gateway", __doc__, ROLES, Settings, argv)
