"""One role dispatcher for every ``newsflow-<service> <role>`` command.

A service's ``cli.py`` lists its roles and hands them to :func:`dispatch`; each role's ``run`` is a
function of its ``bootstrap.py`` (which builds the clients and wires them in). The dispatcher parses
the command line, loads the settings, configures logging as ``<service>.<role>`` and runs the role.
"""

import argparse
import asyncio
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from newsflow_kit import shutdown
from newsflow_kit.logging import configure_logging
from newsflow_kit.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


@dataclass(frozen=True)
class Role(Generic[S]):
    """One process role: its name on the command line, a line of help, and what it runs.

    ``arguments`` adds the role's own options to its sub-parser; ``run`` returns an exit status (or
    None for 0). ``json_logs=False`` keeps an operator command's logs plain text.
    """

    name: str
    help: str
    run: Callable[[S, argparse.Namespace], int | None]
    arguments: Callable[[argparse.ArgumentParser], None] | None = None
    json_logs: bool = True


def dispatch(
    prog: str, doc: str | None, roles: Sequence[Role[S]], settings: Callable[[], S], argv: list[str] | None = None
) -> None:
    """Parses ``argv`` (a role and its options), then runs that role with fresh settings."""
    parser = argparse.ArgumentParser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="role", required=True)
    by_name = {}
    for role in roles:
        by_name[role.name] = role
        role_parser = sub.add_parser(role.name, help=role.help)
        if role.arguments is not None:
            role.arguments(role_parser)
    args = parser.parse_args(argv)
    role = by_name[args.role]
    loaded = settings()
    service = prog.removeprefix("newsflow-")
    configure_logging(f"{service}.{role.name}", level=loaded.log_level, json=loaded.log_json and role.json_logs)
    shutdown.configure(loaded.shutdown_grace_s)
    status = role.run(loaded, args)
    if status:
        raise SystemExit(status)


def run_until_stopped(main: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Runs ``main(stop)`` on a new event loop; SIGTERM/SIGINT set ``stop`` (the work in hand finishes,
    within the shutdown grace)."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            stop.set()
            shutdown.arm()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal)
        await main(stop)

    asyncio.run(runner())
