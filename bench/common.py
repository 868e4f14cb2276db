"""What every benchmark shares: load generators, role processes, statistics, the report and its JSON.

Every leg counts its non-2xx answers (and failed requests); a benchmark whose legs saw any records
them with :meth:`Result.error`, and ``python -m bench`` then exits non-zero. Goals are checked, not
just printed: :meth:`Result.add` takes ``met`` (True / False / None when there is no goal).
"""

import asyncio
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from newsflow_kit.testing import free_port

RESULTS = Path(__file__).resolve().parent / "results"
ES_URL = os.environ.get("NEWSFLOW_ELASTICSEARCH__URL", "http://127.0.0.1:9200")
MONGO_URI = os.environ.get("NEWSFLOW_MONGO__URI", "mongodb://127.0.0.1:27017/")
KAFKA_SERVERS = os.environ.get("NEWSFLOW_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092")
STACK = Path(__file__).resolve().parents[1] / "deploy" / "local" / "stack.py"
TICKS = os.sysconf("SC_CLK_TCK")
Send = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


def summary(samples: list[float]) -> dict[str, float]:
    """Median, min, max and tail percentiles of a list of samples."""
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    return {
        "n": len(ordered),
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "p95": pct(95),
        "p99": pct(99),
    }


def repeat(fn: Callable[[], float], times: int = 5) -> dict[str, float]:
    """Runs ``fn`` (which returns one figure) ``times`` times and summarises the figures."""
    return summary([fn() for _ in range(times)])


def load_average() -> str:
    """The 1/5/15-minute load averages, as `uptime` shows them: a benchmark's proof of a quiet machine."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


@dataclass
class Load:
    """What one load run saw: latencies (ms) of every request and the status of each answer."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def errors(self) -> int:
        """Answers outside 2xx, plus requests that failed or timed out."""
        return sum(n for status, n in self.statuses.items() if not status.startswith("2"))

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def record(self, started: float, status: str) -> None:
        self.latencies.append((time.perf_counter() - started) * 1000)
        self.statuses[status] += 1

    def describe_errors(self) -> str:
        return ", ".join(f"{n}× {s}" for s, n in sorted(self.statuses.items()) if not s.startswith("2"))


async def _one(send: Send, client: httpx.AsyncClient, i: int, load: Load) -> None:
    started = time.perf_counter()
    try:
        status = str((await send(client, i)).status_code)
    except httpx.HTTPError as exc:  # a timeout or a refused connection is a failed request, not a crash
        status = type(exc).__name__
    load.record(started, status)


async def closed_loop(send: Send, *, seconds: float, concurrency: int, timeout: float = 30) -> Load:
    """``concurrency`` clients sending back to back for ``seconds``."""
    load = Load()
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def client_loop(client: httpx.AsyncClient, worker: int) -> None:
        i = worker
        while time.perf_counter() < deadline:
            await _one(send, client, i, load)
            i += concurrency

    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client, w) for w in range(concurrency)))
        load.seconds = time.perf_counter() - started
    return load


async def open_loop(send: Send, *, rate: float, seconds: float, timeout: float = 10, warmup_s: float = 0) -> Load:
    """Open loop: one request every 1/rate s whatever the answers' speed (no coordinated omission).

    ``warmup_s`` first sends at the same rate on the same client without recording (its errors still
    count): the measured requests find connections open, as a service under steady load does.
    """
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
        return await _paced(lambda i, into: _one(send, client, i, into), rate=rate, seconds=seconds, warmup_s=warmup_s)


async def open_loop_calls(
    op: Callable[[int], Awaitable[Any]], *, rate: float, seconds: float, warmup_s: float = 0
) -> Load:
    """:func:`open_loop` for a baseline that is not HTTP (an async pymongo call, say): an exception is an error."""

    async def one(i: int, into: Load) -> None:
        started = time.perf_counter()
        try:
            await op(i)
            status = "200"
        except Exception as exc:  # counted as an error of the baseline, reported, never hidden
            status = type(exc).__name__
        into.record(started, status)

    return await _paced(one, rate=rate, seconds=seconds, warmup_s=warmup_s)


async def _paced(
    one: Callable[[int, Load], Coroutine[Any, Any, None]], *, rate: float, seconds: float, warmup_s: float
) -> Load:
    """Calls ``one(i, load)`` on schedule, ``rate`` a second: ``warmup_s`` unrecorded (numbered below
    0; only its errors are kept), then ``seconds`` measured."""

    async def run(into: Load, length: float, first: int) -> float:
        tasks: list[asyncio.Task[None]] = []
        start = time.perf_counter()
        for i in range(int(rate * length)):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(first + i, into)))
        await asyncio.gather(*tasks)
        return time.perf_counter() - start

    load = Load()
    if warmup_s > 0:
        warm = Load()
        await run(warm, warmup_s, -int(rate * warmup_s))
        load.statuses.update(status for status in warm.statuses.elements() if not status.startswith("2"))
    load.seconds = await run(load, seconds, 0)
    return load


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


def wait_quiet(*, busy_below: float = 0.15, window_s: float = 5, limit_s: float = 300) -> tuple[float, float]:
    """Waits until the machine's cores, together, were busy less than ``busy_below`` of a ``window_s``
    window: work still draining from what ran before (a previous benchmark, a leg that overloaded the
    store, servers finishing their start) would otherwise be measured as ours. Gives up after
    ``limit_s``. Returns the seconds waited and the busy share of the last window."""
    started = time.monotonic()
    while True:
        busy0, total0 = _cpu_ticks()
        time.sleep(window_s)
        busy1, total1 = _cpu_ticks()
        share = (busy1 - busy0) / max(total1 - total0, 1)
        waited = time.monotonic() - started
        if share < busy_below or waited >= limit_s:
            return waited, share


def cpu_seconds(pid: int, *, children: bool = True) -> float:
    """CPU seconds of a process, from /proc, and unless ``children`` is False those of its descendants:
    its live children's (a worker pool, PostgreSQL's backends) and those of the children it reaped."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = sum(int(f) for f in fields[11 : 15 if children else 13]) / TICKS  # utime, stime, cutime, cstime
    if not children:
        return total
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread or a child ended meanwhile
            for child in (task / "children").read_text().split():
                total += cpu_seconds(int(child))
    return total


def stack_pids() -> dict[str, int]:
    """The local stack's running servers by name, as ``deploy/local/stack.py status`` finds them."""
    out = subprocess.run([sys.executable, str(STACK), "status"], capture_output=True, text=True, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {row["server"]: row["pid"] for row in rows if row["pid"]}


@dataclass
class CpuMeter:
    """Where the CPU went: seconds used by each named process (with its descendants) between readings.

    :meth:`of_stack` names the local stack's servers (as :func:`stack_pids` finds them), this
    benchmark process (``bench``: its own CPU, not that of the roles it started) and the roles given.
    The per-article or per-request split it gives is the profile behind a ratio: it shows which
    process a goal's CPU budget went to.
    """

    pids: dict[str, int]

    @classmethod
    def of_stack(cls, **roles: int) -> "CpuMeter":
        return cls({**roles, **stack_pids(), "bench": os.getpid()})

    def read(self) -> dict[str, float]:
        return {name: cpu_seconds(pid, children=name != "bench") for name, pid in self.pids.items()}

    def since(self, before: dict[str, float]) -> dict[str, float]:
        """Seconds each process used since ``before`` (a :meth:`read`)."""
        now = self.read()
        return {name: now[name] - before[name] for name in before}

    @staticmethod
    def per_unit(spent: list[dict[str, float]], units: int) -> dict[str, float]:
        """Median CPU milliseconds per unit (article, request) of each process over several
        :meth:`since` readings, largest first."""
        split = {name: statistics.median(s[name] for s in spent) * 1000 / units for name in spent[0]}
        return dict(sorted(split.items(), key=lambda item: -item[1]))

    @staticmethod
    def describe(split: dict[str, float]) -> str:
        return ", ".join(f"{name} {ms:.2f}" for name, ms in split.items()) + f"; total {sum(split.values()):.2f} ms"


def wait_ready(url: str, timeout: float = 90, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Polls ``url`` until it answers 200; fails early when ``proc`` has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before {url} was ready")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready within {timeout}s")


@dataclass
class Role:
    """One ``newsflow-<service> <role>`` process the benchmark started, on its own port."""

    proc: subprocess.Popen[bytes]
    url: str

    @classmethod
    def start(cls, service: str, role: str, env: dict[str, str], *, ready: bool = True) -> "Role":
        port = free_port()
        full = {**os.environ, "NEWSFLOW_LOG_LEVEL": "WARNING", **env, "NEWSFLOW_PORT": str(port)}
        exe = Path(sys.executable).parent / f"newsflow-{service}"
        proc = subprocess.Popen([str(exe), role], env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started = cls(proc, f"http://127.0.0.1:{port}")
        if ready:
            try:
                wait_ready(f"{started.url}/readyz", proc=proc)
            except RuntimeError:
                started.stop()
                raise
        return started

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@dataclass
class Result:
    """One benchmark's figures: ``rows`` are (metric, ours, baseline, unit) and ``ratio`` = ours/baseline."""

    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(
        self, metric: str, ours: float, baseline: float | None, unit: str, goal: str = "", met: bool | None = None
    ) -> None:
        ratio = ours / baseline if baseline else None
        self.rows.append(
            {"metric": metric, "ours": ours, "baseline": baseline, "ratio": ratio, "unit": unit, "goal": goal,
             "met": met}
        )  # fmt: skip

    def error(self, leg: str, load: Load | None = None, detail: str = "") -> None:
        """Records that ``leg`` saw errors (non-2xx answers or failed calls): the run then fails."""
        if load is not None and load.errors:
            self.errors.append(f"{leg}: {load.errors} of {len(load.latencies)} failed ({load.describe_errors()})")
        elif detail:
            self.errors.append(f"{leg}: {detail}")

    def print(self) -> None:
        print(f"\n== {self.name} ==")
        print(f"{'metric':<46} {'ours':>10} {'baseline':>10} {'ratio':>6} {'unit':<9} {'goal':<28} verdict")
        for r in self.rows:
            base = f"{r['baseline']:.2f}" if r["baseline"] is not None else "-"
            ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "-"
            verdict = {True: "met", False: "MISSED", None: ""}[r["met"]]
            print(
                f"{r['metric']:<46} {r['ours']:>10.2f} {base:>10} {ratio:>6} {r['unit']:<9} {r['goal']:<28} {verdict}"
            )
        for note in self.notes:
            print(f"  note: {note}")
        for error in self.errors:
            print(f"  ERROR: {error}")

    def save(self) -> Path:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"{self.name}.json"
        document = {
            "name": self.name,
            "at": datetime.now(UTC).isoformat(),
            "host": platform.node(),
            "rows": self.rows,
            "notes": self.notes,
            "errors": self.errors,
        }
        path.write_text(json.dumps(document, indent=2) + "\n")
        return path


def timed(fn: Callable[[], Any]) -> float:
    """Seconds ``fn`` took."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started
