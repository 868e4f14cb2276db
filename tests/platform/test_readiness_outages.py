"""Each service's /readyz names the server it lost, and recovers without a restart.

This test stops the shared local servers one at a time (FerretDB and Kafka for real, Elasticsearch
frozen with SIGSTOP), so it lives last in the suite (``tests/platform`` runs after everything else).
"""

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from newsflow_kit.testing import ServiceProcess, eventually

ROOT = Path(__file__).resolve().parents[2]
STACK = [sys.executable, str(ROOT / "deploy/local/stack.py")]

# Which servers each service's readiness depends on.
NEEDS = {
    "ingest": {"mongodb", "kafka"},
    "index": {"elasticsearch", "kafka"},
    "comments": {"mongodb"},  # the api only answers HTTP; Kafka is its projection's and worker's
    "gateway": {"mongodb", "kafka"},
}


@pytest.fixture
def services(service_process: Callable[..., ServiceProcess]) -> Iterator[dict[str, ServiceProcess]]:
    procs = {name: service_process(f"newsflow-{name}", "api", start=False) for name in ("ingest", "index", "comments")}
    gateway_env = {f"NEWSFLOW_SERVICES__{n.upper()}_URL": p.url for n, p in procs.items()}
    procs["gateway"] = service_process("newsflow-gateway", "api", env=gateway_env, start=False)
    for proc in procs.values():
        proc.start(timeout=90)
    yield procs


def _readiness(proc: ServiceProcess) -> tuple[int, str]:
    resp = httpx.get(f"{proc.url}/readyz", timeout=10)
    return resp.status_code, resp.text


def _expect(services: dict[str, ServiceProcess], lost: str) -> None:
    for name, proc in services.items():
        if lost in NEEDS[name]:

            def down(p: ServiceProcess = proc) -> bool:
                status, body = _readiness(p)
                return status == 503 and lost in body

            eventually(down, timeout=40, interval=0.5)
        else:
            status, body = _readiness(proc)
            assert status == 200 or lost not in body, f"{name} should not depend on {lost}: {body}"


def _all_ready(services: dict[str, ServiceProcess]) -> None:
    for proc in services.values():
        eventually(lambda p=proc: _readiness(p)[0] == 200, timeout=90, interval=0.5)  # type: ignore[misc]


def _pgid(name: str) -> int:
    return int(subprocess.run([*STACK, "pgid", name], check=True, capture_output=True, text=True).stdout)


def test_readyz_names_the_lost_server_and_recovers(services: dict[str, ServiceProcess]) -> None:
    _all_ready(services)

    subprocess.run([*STACK, "stop", "ferretdb"], check=True)
    try:
        _expect(services, "mongodb")
    finally:
        subprocess.run([*STACK, "start", "ferretdb"], check=True)
    _all_ready(services)

    os.killpg(_pgid("elasticsearch"), signal.SIGSTOP)
    try:
        _expect(services, "elasticsearch")
    finally:
        os.killpg(_pgid("elasticsearch"), signal.SIGCONT)
    _all_ready(services)

    subprocess.run([*STACK, "stop", "kafka"], check=True)
    try:
        _expect(services, "kafka")
    finally:
        subprocess.run([*STACK, "start", "kafka"], check=True)
    _all_ready(services)
