#!/usr/bin/env python3
"""Runs the local servers: Kafka (KRaft), Elasticsearch, PostgreSQL and FerretDB, on 127.0.0.1 only.

    stack.py start [NAME...]   start what is not already answering (detached), wait until ready
    stack.py stop [NAME...]    stop the servers this checkout started (pid files under .data/run)
    stack.py status            one line per server
    stack.py pgid NAME         the process group of a running server (to pause it in fault tests)
    stack.py run NAME          run one server in the foreground (for a process manager)
    stack.py session -- CMD    start what is missing, run CMD, stop only what this call started
    stack.py env               the NEWSFLOW_* variables that point services at this stack
    stack.py watch [NAME...]   keep running servers alive: restart one that died or hung

NEWSFLOW_STACK_PORT_OFFSET=N with NEWSFLOW_DATA_DIR=DIR runs a second, private stack with every port
shifted by N (fault tests use one, so killing its servers disturbs nobody else).

Binaries come from deploy/local/fetch.sh (cached). Data and logs live under .data/ (Elasticsearch's
and PostgreSQL's under /var/lib/newsflow when this checkout sits where their unprivileged users cannot
reach). The command line is here; `servers.py` defines the servers and `processes.py` runs them.
Only the standard library is used, so this runs before any virtualenv exists.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading

from processes import REVIVING, revive, run_foreground, running_pid, start, status, stop, wait
from servers import SERVERS, service_env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop", "status", "run", "session", "wait", "pgid", "env", "watch"])
    parser.add_argument("names", nargs="*")
    argv = sys.argv[1:]
    rest = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    names = [n for n in args.names if n in SERVERS] or list(SERVERS)
    if args.action == "start":
        start(names)
    elif args.action == "wait":
        wait(names)
    elif args.action == "stop":
        stop(names)
    elif args.action == "status":
        status()
    elif args.action == "watch":
        try:
            revive(names)
        except KeyboardInterrupt:
            return 0
    elif args.action == "env":
        print("".join(f"{k}={v}\n" for k, v in service_env().items()), end="")
    elif args.action == "pgid":
        pid = running_pid(SERVERS[names[0]])
        if pid is None:
            return 1
        print(os.getpgid(pid))
    elif args.action == "run":
        run_foreground(args.names[0])
    elif args.action == "session":
        if not rest:
            parser.error("session needs a command after --")
        started = start(list(SERVERS))
        watchdog = threading.Thread(target=revive, args=(started,), daemon=True)
        watchdog.start()
        try:
            return subprocess.call(rest)
        finally:
            REVIVING.clear()
            stop(started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
