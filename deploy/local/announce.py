#!/usr/bin/env python3
"""Waits until every service answers /readyz, prints where everything runs, then exits with 0.

Under `make up` it is the `ready` role: supervisord treats its exit 0 as done, not as a crash.
"""

import sys
import time
import urllib.request

SERVICES = {"gateway": 8000, "ingest": 8001, "index": 8002, "comments": 8003}
TIMEOUT = 120.0


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def main() -> int:
    started = time.monotonic()
    pending = dict(SERVICES)
    while pending and time.monotonic() - started < TIMEOUT:
        pending = {name: port for name, port in pending.items() if not ready(port)}
        if pending:
            time.sleep(0.5)
    if pending:
        print(f"not ready after {TIMEOUT:.0f}s: {', '.join(pending)}", flush=True)
    else:
        print(f"all services ready in {time.monotonic() - started:.1f}s", flush=True)
    print(
        "\n  web site + public API   http://127.0.0.1:8000/        (OpenAPI docs: /docs)\n"
        "  live stream (SSE)       http://127.0.0.1:8000/v1/stream\n"
        "  ingest api (internal)   http://127.0.0.1:8001/docs\n"
        "  index api (internal)    http://127.0.0.1:8002/docs\n"
        "  comments api (internal) http://127.0.0.1:8003/docs\n"
        "  Elasticsearch 9200, Kafka 9092, MongoDB wire (FerretDB) 27017\n"
        "  Ctrl-C (or `make down` elsewhere) stops everything.\n",
        flush=True,
    )
    return 0 if not pending else 1


if __name__ == "__main__":
    sys.exit(main())
