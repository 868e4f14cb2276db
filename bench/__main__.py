"""``python -m bench [NAME...]`` (or ``make bench BENCH="NAME..."``): run benchmarks, print, save JSON.

Every module ``bench/bench_<name>.py`` is a benchmark: it exposes ``NAME`` and ``run() -> Result``.
Each one starts on a quiet machine: the runner first waits (up to 5 min) until the cores were less
than 15 % busy for 5 s, so that work left over from what ran before is not measured. The load
average is printed before and after each one (a figure taken on a busy machine says so), and the
exit status is 1 when any leg of any benchmark saw errors, or any benchmark failed to run (the
others still run).
"""

import argparse
import importlib
import pkgutil
import signal
import sys
import traceback
from pathlib import Path

from bench.common import Result, load_average, wait_quiet


def discover() -> dict[str, object]:
    here = Path(__file__).resolve().parent
    found: dict[str, object] = {}
    for info in pkgutil.iter_modules([str(here)]):
        if info.name.startswith("bench_"):
            module = importlib.import_module(f"bench.{info.name}")
            found[module.NAME] = module
    return found


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopping a run still stops what it started
    benches = discover()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help=f"any of: {', '.join(sorted(benches))} (default: all)")
    args = parser.parse_args()
    unknown = set(args.names) - set(benches)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    failed = []
    for name in args.names or sorted(benches):
        waited, busy = wait_quiet()
        quiet = f"waited {waited:.0f} s for a quiet machine ({busy:.0%} busy over the last 5 s)"
        before = load_average()
        print(f"running {name} ({quiet}; load average {before}) ...", file=sys.stderr, flush=True)
        try:
            result: Result = benches[name].run()  # type: ignore[attr-defined]
        except Exception as exc:  # one benchmark that cannot run must not cost the others their figures
            traceback.print_exc()
            result = Result(name, errors=[f"did not run to the end: {exc!r}"])
        result.notes.append(f"{quiet}; load average before {before}, after {load_average()} (2 cores)")
        result.print()
        print(f"  saved {result.save()}")
        if result.errors:
            failed.append(name)
    if failed:
        print(f"\nbenchmarks with errors: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
