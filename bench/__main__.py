"""``python -m bench [NAME...]`` (or ``make bench BENCH="NAME..."``): run benchmarks, print, save JSON.

Every module ``bench/bench_<name>.py`` is a benchmark: it exposes ``NAME`` and ``run() -> Result``.
"""

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

from bench.common import Result


def discover() -> dict[str, object]:
    here = Path(__file__).resolve().parent
    found = {}
    for info in pkgutil.iter_modules([str(here)]):
        if info.name.startswith("bench_"):
            module = importlib.import_module(f"bench.{info.name}")
            found[module.NAME] = module
    return found


def main() -> int:
    benches = discover()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help=f"any of: {', '.join(sorted(benches))} (default: all)")
    args = parser.parse_args()
    unknown = set(args.names) - set(benches)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    for name in args.names or sorted(benches):
        print(f"running {name} ...", file=sys.stderr, flush=True)
        result: Result = benches[name].run()  # type: ignore[attr-defined]
        result.print()
        print(f"  saved {result.save()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
