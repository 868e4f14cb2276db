"""What every benchmark shares: repeated measurement, summary statistics, the report and its JSON."""

import json
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


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


@dataclass
class Result:
    """One benchmark's figures: ``rows`` are (metric, ours, baseline, unit) and ``ratio`` = ours/baseline."""

    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, metric: str, ours: float, baseline: float | None, unit: str, goal: str = "") -> None:
        ratio = ours / baseline if baseline else None
        self.rows.append(
            {"metric": metric, "ours": ours, "baseline": baseline, "ratio": ratio, "unit": unit, "goal": goal}
        )

    def print(self) -> None:
        print(f"\n== {self.name} ==")
        print(f"{'metric':<44} {'ours':>12} {'baseline':>12} {'ratio':>7} {'unit':<8} goal")
        for r in self.rows:
            base = f"{r['baseline']:.2f}" if r["baseline"] is not None else "-"
            ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "-"
            print(f"{r['metric']:<44} {r['ours']:>12.2f} {base:>12} {ratio:>7} {r['unit']:<8} {r['goal']}")
        for note in self.notes:
            print(f"  note: {note}")

    def save(self) -> Path:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"{self.name}.json"
        path.write_text(
            json.dumps(
                {
                    "name": self.name,
                    "at": datetime.now(UTC).isoformat(),
                    "host": platform.node(),
                    "rows": self.rows,
                    "notes": self.notes,
                },
                indent=2,
            )
            + "\n"
        )
        return path


def timed(fn: Callable[[], Any]) -> float:
    """Seconds ``fn`` took."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started
