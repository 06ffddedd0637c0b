"""``python -m bench``: run every benchmark in turn (``make bench``)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ["bench.resample", "bench.sweep", "bench.feed", "bench.api", "bench.sessions",
              "bench.frontend", "bench.live", "bench.load", "bench.gpu"]


def main() -> int:
    """Run each benchmark module's ``main()``; non-zero if any failed."""
    failed = 0
    for name in BENCHMARKS:
        print(f"\n=== {name} ===", flush=True)
        try:
            importlib.import_module(name).main()
        except Exception as error:  # report and go on with the others
            failed += 1
            print(f"{name} failed: {type(error).__name__}: {error}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
