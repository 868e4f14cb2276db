"""Process supervision of the local servers: start detached, wait until ready, stop by process
group, revive one that died on its own. Pid files live under .data/run."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time

from servers import LOGS, READY_TIMEOUT, ROOT, RUN, SERVERS, Server, log, port_open


def running_pid(server: Server) -> int | None:
    """The server's pid from our pid file, or else the process listening on its port."""
    try:
        pid = int(server.pidfile.read_text())
        _reap(pid)  # a server this process restarted and that was killed since is a zombie, not alive
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return listening_pid(server.port)


def listening_pid(port: int) -> int | None:
    """Finds who listens on 127.0.0.1:port (another checkout's server, say) through ss(8)."""
    try:
        out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True).stdout
    except OSError:
        return None
    for part in out.split("pid=")[1:]:
        digits = part.split(",", 1)[0]
        if digits.isdigit():
            return int(digits)
    return None


def start(names: list[str]) -> list[str]:
    """Starts each named server not already answering; returns the names this call started."""
    RUN.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    started = []
    for name in with_needs(names):
        server = SERVERS[name]
        (RUN / f"{name}.stopped").unlink(missing_ok=True)
        if server.needs:
            wait(list(server.needs))
        if running_pid(server) or port_open(server.port):
            log(f"{name}: already running on {server.port}")
            continue
        server.prepare()
        cmd, env = server.command()
        with open(server.logfile, "ab") as out:
            proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **env},
                start_new_session=True,
                cwd=ROOT,
            )
        server.pidfile.write_text(str(proc.pid))
        started.append(name)
        log(f"{name}: started (pid {proc.pid}, log {server.logfile})")
    wait(with_needs(names))
    return started


def with_needs(names: list[str]) -> list[str]:
    """The names with the servers they need, each needed one first (in the order of SERVERS)."""
    wanted = set(names)
    for name in names:
        wanted.update(SERVERS[name].needs)
    return [name for name in SERVERS if name in wanted]


def wait(names: list[str]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    pending = list(names)
    while pending:
        for name in list(pending):
            server = SERVERS[name]
            if server.ready():
                log(f"{name}: ready on 127.0.0.1:{server.port}")
                pending.remove(name)
            elif server.pidfile.exists() and running_pid(server) is None and not port_open(server.port):
                tail = server.logfile.read_text(errors="replace")[-3000:] if server.logfile.exists() else ""
                raise SystemExit(f"{name} exited during start-up; last log lines:\n{tail}")
        if pending and time.monotonic() > deadline:
            raise SystemExit(f"not ready after {READY_TIMEOUT:.0f}s: {', '.join(pending)} (logs in {LOGS})")
        if pending:
            time.sleep(0.5)


def stop(names: list[str]) -> None:
    for name in reversed([n for n in SERVERS if n in names]):  # dependents before what they need
        server = SERVERS[name]
        if RUN.is_dir():
            (RUN / f"{name}.stopped").touch()
        pid = running_pid(server)
        if pid is None:
            server.pidfile.unlink(missing_ok=True)
            continue
        log(f"{name}: stopping (pid {pid})")
        pid = os.getpgid(pid) if _alive_pid(pid) else pid
        with_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if _alive(pid):
            with_group(pid, signal.SIGKILL)
        server.pidfile.unlink(missing_ok=True)


def with_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the whole session: runuser and the JVM it started
    except OSError:
        with contextlib.suppress(OSError):
            os.kill(pid, sig)


def _alive_pid(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def _reap(pid: int) -> None:
    """Collects ``pid`` if it is an exited child of ours (a server this process restarted), so that its
    zombie does not look alive; never any other child (``stack.py session`` waits for its command)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _alive(pid: int) -> bool:
    _reap(pid)
    try:
        os.killpg(pid, 0)
        return True
    except OSError:
        return False


REVIVING = threading.Event()


def revive(names: list[str]) -> None:
    """Restarts a server of this session that died on its own, or that stayed hung (up, but not
    answering) for three checks in a row. A server stopped on purpose (`stack.py stop`, as fault
    tests do) leaves a marker and is left alone."""
    REVIVING.set()
    hung: dict[str, int] = {}
    while REVIVING.is_set():
        time.sleep(2)
        for name in names:
            server = SERVERS[name]
            if not REVIVING.is_set() or (RUN / f"{name}.stopped").exists():
                continue
            if running_pid(server) is None and not port_open(server.port):
                time.sleep(1)
                if REVIVING.is_set() and running_pid(server) is None and not port_open(server.port):
                    log(f"{name}: died during the session; restarting it")
                    with contextlib.suppress(SystemExit, Exception):
                        start([name])
                continue
            hung[name] = hung.get(name, 0) + 1 if server.hung() else 0
            if hung[name] >= 3 and REVIVING.is_set():
                log(f"{name}: up but not answering for three checks; restarting it")
                hung[name] = 0
                server.post_mortem()
                with contextlib.suppress(SystemExit, Exception):
                    stop([name])
                    start([name])


def status() -> None:
    for name, server in SERVERS.items():
        state = "ready" if server.ready() else ("starting" if running_pid(server) else "down")
        print(json.dumps({"server": name, "port": server.port, "state": state, "pid": running_pid(server)}))


def run_foreground(name: str) -> None:
    server = SERVERS[name]
    server.prepare()
    cmd, env = server.command()
    os.execvpe(cmd[0], cmd, {**os.environ, **env})
