"""A role asked to stop exits within its shutdown grace even when its last steps hang.

Each case runs a real process whose shutdown blocks (as a Kafka consumer's close or a producer's flush
does while their broker is unreachable), sends it SIGTERM and times its exit.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from newsflow_kit.shutdown import EXIT_STATUS
from newsflow_kit.testing import free_port

GRACE_S = 1.5

CASES = {
    # an asyncio role (poller, relay, worker): its main ignores ``stop`` and blocks in a thread
    "run_until_stopped": """
        import asyncio, time
        from newsflow_kit import shutdown
        from newsflow_kit.roles import run_until_stopped

        async def main(stop):
            print("ready", flush=True)
            await stop.wait()
            await asyncio.to_thread(time.sleep, 60)  # a close that waits on a dead server

        shutdown.configure({grace})
        run_until_stopped(main)
    """,
    # a consumer loop role (index worker, comments projection): run() does not return after stop()
    "run_until_signalled": """
        import threading, time
        from newsflow_kit import shutdown
        from newsflow_kit.consumer import run_until_signalled

        class Stuck:
            name = "stuck"
            def __init__(self):
                self.stopped = threading.Event()
            def run(self):
                print("ready", flush=True)
                self.stopped.wait()
                time.sleep(60)
            def stop(self):
                self.stopped.set()

        shutdown.configure({grace})
        run_until_signalled(Stuck())
    """,
    # an HTTP api: uvicorn stops, then the lifespan's shutdown hangs
    "serve": """
        import time
        from contextlib import asynccontextmanager
        from fastapi import FastAPI
        from newsflow_kit.app import serve
        from newsflow_kit.settings import ServiceSettings

        @asynccontextmanager
        async def lifespan(app):
            print("ready", flush=True)
            yield
            time.sleep(60)

        def create_app():
            return FastAPI(lifespan=lifespan)

        if __name__ == "__main__":
            serve("role:create_app", ServiceSettings(port={port}, shutdown_grace_s={grace}))
    """,
}


def _start(tmp_path: Path, source: str) -> subprocess.Popen[str]:
    script = tmp_path / "role.py"
    script.write_text(textwrap.dedent(source.format(grace=GRACE_S, port=free_port())))
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "ready" in line:
            return proc
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"the role did not start: {proc.stdout.read()}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_stuck_shutdown_ends_at_the_grace(tmp_path: Path, case: str) -> None:
    proc = _start(tmp_path, CASES[case])  # uvicorn installs its signal handlers before the lifespan starts
    asked = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        status = proc.wait(GRACE_S + 10)
        output = proc.stdout.read() if proc.stdout else ""
    finally:
        proc.kill()
        if proc.stdout:
            proc.stdout.close()
    took = time.monotonic() - asked
    assert status == EXIT_STATUS, output
    assert GRACE_S - 0.2 <= took <= GRACE_S + 5, took


def test_a_clean_shutdown_exits_at_once_with_success(tmp_path: Path) -> None:
    proc = _start(
        tmp_path,
        """
        from newsflow_kit import shutdown
        from newsflow_kit.roles import run_until_stopped

        async def main(stop):
            print("ready", flush=True)
            await stop.wait()

        shutdown.configure({grace})
        run_until_stopped(main)
        """,
    )
    asked = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        assert proc.wait(GRACE_S + 10) == 0
    finally:
        proc.kill()
        if proc.stdout:
            proc.stdout.close()
    assert time.monotonic() - asked < GRACE_S
