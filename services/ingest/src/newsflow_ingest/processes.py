"""CPU-bound work of the poller (parsing feeds, normalising items) in worker processes.

One poller process is bound by the GIL at about one core: a first import spent most of it parsing
feeds and normalising items (language detection, sanitising), while the store waited. Both steps are
pure functions of their input, so a pool of worker processes (``NEWSFLOW_POLLER__PROCESSES``) runs
them beside the poller, which keeps the I/O. A pool that broke (a worker killed) is replaced and the
call tried once more in the new one.
"""

import asyncio
import functools
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ParamSpec, TypeVar

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


class WorkerPool:
    """Runs pure functions in ``size`` worker processes (spawned: no forked copy of the poller's threads)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pool = self._new()

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.size, mp_context=multiprocessing.get_context("spawn"))

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        call = functools.partial(fn, *args, **kwargs)
        try:
            return await loop.run_in_executor(self._pool, call)
        except BrokenProcessPool:
            log.warning("worker pool broken (a worker died): starting a new one")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new()
            return await loop.run_in_executor(self._pool, call)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


async def run_off_loop(pool: WorkerPool | None, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn`` in the pool when there is one, else in a thread (never on the event loop)."""
    if pool is not None:
        return await pool.run(fn, *args, **kwargs)
    return await asyncio.to_thread(fn, *args, **kwargs)
