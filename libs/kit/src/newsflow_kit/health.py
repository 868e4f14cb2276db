"""``/healthz`` (the process lives) and ``/readyz`` (every dependency answers, else 503 naming it).

``/readyz`` is public on the gateway, so its checks are single-flight and their result is reused
for ``READY_CACHE_S``: a flood of probes costs the dependencies at most one round per interval.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request

from newsflow_kit.errors import problem

Check = Callable[[], Awaitable[None]]
CHECK_TIMEOUT_S = 2.5
READY_CACHE_S = 1.0


def health_router(checks: Callable[[Request], Mapping[str, Check]]) -> APIRouter:
    """``checks(request)`` names each dependency and how to ping it (clients live on app state)."""
    router = APIRouter(tags=["operations"])
    lock = asyncio.Lock()
    last: dict[str, Any] = {"at": -READY_CACHE_S, "status": {}}

    async def statuses(request: Request) -> dict[str, str | None]:
        async with lock:  # single flight: waiters reuse the result of the round in progress
            if time.monotonic() - last["at"] >= READY_CACHE_S:
                named = dict(checks(request))
                results = await asyncio.gather(*(_run(check) for check in named.values()))
                last["status"], last["at"] = dict(zip(named, results, strict=True)), time.monotonic()
            status: dict[str, str | None] = last["status"]
            return status

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @router.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Any:
        """Readiness: every dependency this service uses answers."""
        status = await statuses(request)
        failing = {name: err for name, err in status.items() if err is not None}
        if not failing:
            return {"status": "ready", "checks": dict.fromkeys(status, "ok")}
        return problem(
            request,
            status=503,
            code="not-ready",
            title="Not ready",
            detail="not ready: " + ", ".join(sorted(failing)),
            errors=[{"dependency": name, "message": err} for name, err in sorted(failing.items())],
        )

    return router


async def _run(check: Check) -> str | None:
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
    except TimeoutError:
        return "timed out"
    except Exception as exc:  # any failure means "not ready"; the message says which
        return f"{type(exc).__name__}: {exc}"[:300]
    return None
