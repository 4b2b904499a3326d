"""Run every benchmark, then write the report: ``python -m benchmarks [--quick]``.

``hatch run bench`` runs this. The arguments go to every benchmark. Each benchmark writes
``benchmarks/results/<name>.json``; ``benchmarks.report`` then renders
``benchmarks/RESULTS.md`` from whatever JSON files exist, even when a benchmark failed (the
command then exits non-zero).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

MODULES = ["emulator_bench", "pool_bench", "orm_bench", "bulk_create_bench", "async_bench"]


def main(argv: list[str]) -> int:
    failed = []
    for name in MODULES:
        module = f"benchmarks.{name}"
        if importlib.util.find_spec(module) is None:
            continue
        print(f"\n## {name}\n", flush=True)
        if subprocess.call([sys.executable, "-m", module, *argv]) != 0:
            failed.append(name)
    print("\n## report\n", flush=True)
    if subprocess.call([sys.executable, "-m", "benchmarks.report"]) != 0:
        failed.append("report")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
