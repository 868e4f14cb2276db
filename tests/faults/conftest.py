"""The fault matrix's world: a PRIVATE stack (its own Kafka, Elasticsearch, PostgreSQL and FerretDB, every
port shifted by ``NEWSFLOW_FAULTS_PORT_OFFSET``, default 1000, data in a temporary directory) and every
role of every service as a real process against it. Killing or freezing these servers disturbs no other
test and no developer's ``make infra``.

The stack is started once per session (``deploy/local/stack.py start`` with the offset), the topics are
created with ``newsflow-topics``, and everything is stopped at the end.
"""

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from newsflow_kit.testing import ServiceProcess, eventually, stop_all

from .platform import start_roles

ROOT = Path(__file__).resolve().parents[2]
STACK = [sys.executable, str(ROOT / "deploy/local/stack.py")]
OFFSET = os.environ.get("NEWSFLOW_FAULTS_PORT_OFFSET", "1000")
ADMIN_KEY = "faults-admin-" + secrets.token_hex(16)
SERVERS = ("kafka", "elasticsearch", "postgres", "ferretdb")


class PrivateStack:
    """``stack.py`` with the offset and a data directory of its own."""

    def __init__(self, data: Path) -> None:
        self.env = {
            **os.environ,
            "NEWSFLOW_STACK_PORT_OFFSET": OFFSET,
            "NEWSFLOW_DATA_DIR": str(data),
            # A restarted Elasticsearch recovering its shards on a busy 2-core machine can take minutes.
            "NEWSFLOW_STACK_TIMEOUT": os.environ.get("NEWSFLOW_STACK_TIMEOUT", "420"),
        }

    def run(self, *args: str, timeout: float = 900) -> str:
        done = subprocess.run([*STACK, *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"stack.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
        return done.stdout

    def settings(self) -> dict[str, str]:
        return dict(line.split("=", 1) for line in self.run("env").splitlines() if "=" in line)

    def pgid(self, name: str) -> int:
        return int(self.run("pgid", name))

    def kill(self, name: str) -> None:
        """SIGKILL of the server's whole process group (the JVM, or PostgreSQL with its backends)."""
        pgid = self.pgid(name)
        os.killpg(pgid, signal.SIGKILL)

        def gone() -> bool:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return True
            return False

        eventually(gone, timeout=30)

    def start(self, *names: str) -> None:
        self.run("start", *names)

    def signal(self, name: str, sig: signal.Signals) -> None:
        os.killpg(self.pgid(name), sig)


@dataclass
class FaultPlatform:
    stack: PrivateStack
    settings: dict[str, str]
    roles: dict[str, ServiceProcess]
    admin_key: str = ADMIN_KEY
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.roles["gateway-api"].url

    def restart(self, name: str) -> None:
        """Starts a role again on the same port (what supervisord does under ``make up``)."""
        self.roles[name].start(timeout=120)

    def all_ready(self) -> None:
        for proc in self.roles.values():
            if proc.port is not None:
                eventually(lambda p=proc: httpx.get(f"{p.url}/readyz", timeout=5).status_code == 200, timeout=180)  # type: ignore[misc]


@pytest.fixture(scope="session")
def private_stack() -> Iterator[PrivateStack]:
    # While developing a fault test: NEWSFLOW_FAULTS_DATA_DIR=DIR NEWSFLOW_FAULTS_KEEP_STACK=1 reuses one.
    given = os.environ.get("NEWSFLOW_FAULTS_DATA_DIR")
    data = Path(given) if given else Path(tempfile.mkdtemp(prefix="newsflow-faults-"))
    stack = PrivateStack(data)
    try:
        stack.start()
        yield stack
    finally:
        if not os.environ.get("NEWSFLOW_FAULTS_KEEP_STACK"):
            stack.run("stop")
            if not given:
                shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def fault_platform(private_stack: PrivateStack) -> Iterator[FaultPlatform]:
    settings = private_stack.settings()
    topics = subprocess.run(
        [str(Path(sys.executable).parent / "newsflow-topics")],
        env={**os.environ, **settings},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert topics.returncode == 0, topics.stderr
    roles: dict[str, ServiceProcess] = {}
    try:
        start_roles(settings | {"NEWSFLOW_ADMIN_KEY": ADMIN_KEY}, roles)
        platform = FaultPlatform(private_stack, settings, roles)
        yield platform
    finally:
        stop_all(list(roles.values()))


@pytest.fixture
def healthy(fault_platform: FaultPlatform) -> Iterator[FaultPlatform]:
    """Every server and role up before a fault test, and again after it (a failed test heals the world)."""
    _heal(fault_platform)
    yield fault_platform
    _heal(fault_platform)


def _heal(platform: FaultPlatform) -> None:
    for name in SERVERS:
        platform.stack.signal(name, signal.SIGCONT) if _has_pgid(platform.stack, name) else None
    platform.stack.start()
    for name, proc in platform.roles.items():
        if proc.proc is None or proc.proc.poll() is not None:
            platform.restart(name)
    started = time.monotonic()
    platform.all_ready()
    if time.monotonic() - started > 1:
        print(f"platform ready again after {time.monotonic() - started:.0f}s")


def _has_pgid(stack: PrivateStack, name: str) -> bool:
    try:
        stack.pgid(name)
    except AssertionError:
        return False
    return True
