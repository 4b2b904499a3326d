"""``python -m redshift_async_backend.emulator.rules [--write-docs | --check-docs | --list]``"""

from __future__ import annotations

import argparse
import sys

from . import REGISTRY, docs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m redshift_async_backend.emulator.rules")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument(
        "--write-docs", action="store_true", help="rewrite docs/emulator-sql.md's rule tables"
    )
    action.add_argument(
        "--check-docs", action="store_true", help="exit 1 if docs/emulator-sql.md is stale"
    )
    action.add_argument("--list", action="store_true", help="print every rule: part, id, page")
    args = parser.parse_args(argv)
    if args.list:
        for rule in REGISTRY.rules:
            print(f"{rule.part.key:12} {rule.id:45} {rule.fidelity.value:7} {rule.page}")
        return 0
    if args.check_docs:
        if docs.current() != docs.render():
            print(f"{docs.PAGE} is stale: run with --write-docs", file=sys.stderr)
            return 1
        return 0
    print(f"{docs.PAGE}: {'written' if docs.write() else 'up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
