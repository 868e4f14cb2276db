#!/usr/bin/env python3
"""Runs every role of deploy/local/Procfile under supervisord (the `supervisor` package).

    supervise.py up [--procfile FILE] [--env-file FILE]   # foreground; Ctrl-C stops every role
    supervise.py down                                    # stops what `up` started (its pid file)
    supervise.py status                                  # one line per role (supervisorctl status)
    supervise.py config [--procfile FILE]                # prints the generated supervisord.conf

The Procfile stays the one list of roles (`name: command`, one per line, `#` comments); this script
turns it into a supervisord configuration under $NEWSFLOW_DATA_DIR/run (default .data/run):

- a role that exits with 0 has finished (the `ready` announcer does); any other exit, a signal
  included, is a crash: supervisord logs it and restarts the role, backing off (1 s, 2 s, 3 s, …)
  while it keeps failing within its first second, up to 10 attempts; the other roles keep running;
- every role runs in its own process group, signalled as a group on stop;
- every line a role writes goes to this terminal (roles log plain text prefixed by their name when
  NEWSFLOW_LOG_JSON=false, as deploy/local/up.env sets; JSON lines in production);
- `down` signals supervisord by the pid in its pid file, and supervisord stops the roles it
  started by their pids; nothing is matched by name.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN = Path(os.environ.get("NEWSFLOW_DATA_DIR", ROOT / ".data")) / "run"
CONF = RUN / "supervisord.conf"
PIDFILE = RUN / "supervisord.pid"
SOCKET = RUN / "supervisord.sock"
BIN = Path(sys.executable).parent
ROLE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")
STOP_TIMEOUT = 60.0


def roles(procfile: Path) -> dict[str, str]:
    """The Procfile's roles, in order: name → command."""
    out: dict[str, str] = {}
    for line in procfile.read_text().splitlines():
        match = ROLE.match(line.strip())
        if match and not line.lstrip().startswith("#"):
            out[match.group(1)] = match.group(2).strip()
    return out


def _absolute(command: str) -> str:
    """Relative executables (``.venv/bin/…``) resolved against the checkout; ``%`` escaped for supervisord."""
    words = shlex.split(command)
    if "/" in words[0] and not words[0].startswith("/"):
        words[0] = str(ROOT / words[0])
    return shlex.join(words).replace("%", "%%")


def config(procfile: Path) -> str:
    sections = [
        "[supervisord]\nnodaemon=true\n"
        f"pidfile={PIDFILE}\nlogfile=/dev/stdout\nlogfile_maxbytes=0\nloglevel=info\n"
        f"directory={ROOT}\n",
        f"[unix_http_server]\nfile={SOCKET}\nchmod=0700\n",
        "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
        f"[supervisorctl]\nserverurl=unix://{SOCKET}\n",
    ]
    for name, command in roles(procfile).items():
        sections.append(
            f"[program:{name}]\ncommand={_absolute(command)}\ndirectory={ROOT}\n"
            "autostart=true\nautorestart=unexpected\nexitcodes=0\nstartsecs=1\nstartretries=10\n"
            "stopsignal=TERM\nstopwaitsecs=20\nstopasgroup=true\nkillasgroup=true\n"
            "redirect_stderr=true\nstdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\n"
        )
    return "\n".join(sections)


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (shell quoting allowed), as honcho and compose read them."""
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            words = shlex.split(value)
            env[key.strip()] = words[0] if words else ""
    return env


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it has stopped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def supervisord_pid() -> int | None:
    try:
        pid = int(PIDFILE.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def up(procfile: Path, env_file: Path | None) -> int:
    if (pid := supervisord_pid()) is not None:
        print(f"supervisord already runs (pid {pid}); `make down` stops it", file=sys.stderr)
        return 1
    RUN.mkdir(parents=True, exist_ok=True)
    CONF.write_text(config(procfile))
    env = {**os.environ, **(read_env_file(env_file) if env_file else {}), "PYTHONUNBUFFERED": "1"}
    os.execve(str(BIN / "supervisord"), [str(BIN / "supervisord"), "-c", str(CONF)], env)


def down() -> int:
    pid = supervisord_pid()
    if pid is None:
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if not alive(pid):
            return 0
        time.sleep(0.2)
    print(f"supervisord (pid {pid}) still runs after {STOP_TIMEOUT:.0f}s", file=sys.stderr)
    return 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["up", "down", "status", "config"])
    parser.add_argument("--procfile", type=Path, default=ROOT / "deploy/local/Procfile")
    parser.add_argument("--env-file", type=Path, default=None)
    args = parser.parse_args()
    if args.action == "up":
        return up(args.procfile, args.env_file)
    if args.action == "down":
        return down()
    if args.action == "config":
        print(config(args.procfile), end="")
        return 0
    return subprocess.call([str(BIN / "supervisorctl"), "-c", str(CONF), "status"])


if __name__ == "__main__":
    sys.exit(main())
