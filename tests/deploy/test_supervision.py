"""`make up`'s supervision (deploy/local/supervise.py + supervisord) with real roles on the local servers.

A SIGKILLed role is logged and restarted while the other keeps answering; `supervise.py down` stops
exactly what was started, leaving no process (nor process group) behind.
"""

import os
import signal
import subprocess
import sys
import xmlrpc.client
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from supervisor.xmlrpc import SupervisorTransport

from newsflow_kit.settings import KafkaSettings, MongoSettings
from newsflow_kit.testing import eventually, free_port, settings_env

ROOT = Path(__file__).resolve().parents[2]
SUPERVISE = ROOT / "deploy/local/supervise.py"
BIN = Path(sys.executable).parent


@dataclass
class Supervised:
    proc: "subprocess.Popen[bytes]"
    env: dict[str, str]
    log: Path
    rpc: Any
    port: int

    def info(self, role: str) -> dict[str, Any]:
        return dict(self.rpc.supervisor.getProcessInfo(role))

    def running_pid(self, role: str) -> int | None:
        info = self.info(role)
        return int(info["pid"]) if info["statename"] == "RUNNING" and info["pid"] else None

    def ready(self) -> bool:
        return httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=5).status_code == 200


@pytest.fixture
def supervised(tmp_path: Path, kafka_topics: KafkaSettings, mongo_database: MongoSettings) -> Iterator[Supervised]:
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        "# two roles of the real Procfile's kind\n"
        f"api: {BIN / 'newsflow-ingest'} api\n"
        f"relay: {BIN / 'newsflow-ingest'} relay\n"
    )
    port = free_port()
    env = {
        **os.environ,
        **settings_env(kafka=kafka_topics, mongo=mongo_database),
        "NEWSFLOW_DATA_DIR": str(tmp_path / "data"),
        "NEWSFLOW_ENVIRONMENT": "test",
        "NEWSFLOW_LOG_JSON": "false",
        "NEWSFLOW_PORT": str(port),
    }
    log = tmp_path / "supervisord.out"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(SUPERVISE), "up", "--procfile", str(procfile)], env=env, stdout=out, stderr=out
        )
    sock = tmp_path / "data/run/supervisord.sock"
    eventually(sock.exists, timeout=30)
    rpc = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=SupervisorTransport(None, None, f"unix://{sock}"))
    supervised = Supervised(proc, env, log, rpc, port)
    try:
        yield supervised
    finally:
        rpc("close")()
        subprocess.run([sys.executable, str(SUPERVISE), "down"], env=env, timeout=90, check=False)
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _gone(pid: int) -> bool:
    """Neither the process nor anything left in its process group (roles run as group leaders)."""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_killed_role_comes_back_while_the_other_keeps_serving_and_down_leaves_nothing(
    supervised: Supervised,
) -> None:
    eventually(supervised.ready, timeout=90, interval=0.5)
    relay = eventually(lambda: supervised.running_pid("relay"), timeout=30)
    api = eventually(lambda: supervised.running_pid("api"), timeout=30)
    pids = {relay, api}

    os.kill(relay, signal.SIGKILL)

    def relay_back() -> int | None:
        assert supervised.ready(), "the api stopped answering while the relay was down"
        pid = supervised.running_pid("relay")
        return pid if pid not in (None, relay) else None

    new_relay = eventually(relay_back, timeout=30, interval=0.2)
    assert supervised.running_pid("api") == api, "the api was restarted too"
    pids.add(new_relay)

    os.kill(api, signal.SIGKILL)
    new_api = eventually(lambda: supervised.running_pid("api") not in (None, api) and supervised.ready(), timeout=90)
    assert new_api
    pids.add(int(supervised.info("api")["pid"]))
    assert supervised.running_pid("relay") == new_relay

    log = supervised.log.read_text()
    assert "exited: relay (terminated by SIGKILL; not expected)" in log, log[-3000:]
    assert "exited: api (terminated by SIGKILL; not expected)" in log, log[-3000:]
    assert "ingest.relay" in log and "| " in log, "roles' lines should be plain text prefixed by the role"

    down = subprocess.run(
        [sys.executable, str(SUPERVISE), "down"], env=supervised.env, timeout=90, capture_output=True, check=False
    )
    assert down.returncode == 0, down.stderr
    assert supervised.proc.wait(30) == 0
    eventually(lambda: all(_gone(pid) for pid in pids), timeout=10)
