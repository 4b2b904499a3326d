"""Run every benchmark: ``python -m benchmarks [--quick]`` (``hatch run bench``)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

MODULES = ["emulator_bench", "pool_bench", "orm_bench", "bulk_create_bench"]


def main(argv: list[str]) -> int:
    failed = []
    for name in MODULES:
        module = f"benchmarks.{name}"
        if importlib.util.find_spec(module) is None:
            continue
        print(f"\n## {name}\n", flush=True)
        if subprocess.call([sys.executable, "-m", module, *argv]) != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
