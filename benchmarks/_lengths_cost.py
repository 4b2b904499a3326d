"""What the emulator's byte-length check costs an INSERT (emulator/lengths.py).

    python -m benchmarks._lengths_cost --upstream postgresql://postgres@127.0.0.1:5432/db

Two tables with the same three VARCHAR columns, created through the emulator (so its DDL
event trigger writes the check); one keeps the check, the other has it dropped. Each round
inserts the same 200,000 ASCII rows into each, alternating which goes first, with one
INSERT ... SELECT on the upstream directly (generate_series is leader-only on Redshift, so
the emulator refuses it next to a table; and the check's cost is the upstream's, its worst
case being a statement that does nothing else per row). The median of each side and their
ratio are printed. Needs a PostgreSQL the emulator may set up (its admin rights).
"""

from __future__ import annotations

import argparse
import statistics
import time

import psycopg

from redshift_async_backend.emulator import Emulator
from redshift_async_backend.emulator.lengths import TRIGGER

ROWS = 200_000
FILL = (
    "INSERT INTO {t} SELECT g, 'name ' || g, 'x', 'some longer text ' || g "
    f"FROM generate_series(1, {ROWS}) g"
)


def _once(conn: psycopg.Connection, table: str) -> float:
    conn.execute(f"TRUNCATE {table}")
    start = time.perf_counter()
    conn.execute(FILL.format(t=table))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with Emulator(upstream=args.upstream) as emu, psycopg.connect(emu.url, autocommit=True) as c:
        for t in ("bench_checked", "bench_plain"):
            c.execute(f"DROP TABLE IF EXISTS {t}")
            c.execute(f"CREATE TABLE {t} (id INT, a VARCHAR(50), b VARCHAR(50), c VARCHAR(100))")
        times: dict[str, list[float]] = {"bench_checked": [], "bench_plain": []}
        with psycopg.connect(args.upstream, autocommit=True) as admin:
            admin.execute(f"DROP TRIGGER {TRIGGER} ON bench_plain")
            for r in range(args.rounds):
                order = ("bench_checked", "bench_plain")
                for t in order if r % 2 else reversed(order):
                    times[t].append(_once(admin, t))
        checked = statistics.median(times["bench_checked"])
        plain = statistics.median(times["bench_plain"])
        print(f"{ROWS} rows, median of {args.rounds}: checked {checked * 1e3:.0f} ms, "
              f"no check {plain * 1e3:.0f} ms, ratio {checked / plain:.2f}")  # fmt: skip
        for t in times:
            c.execute(f"DROP TABLE {t}")


if __name__ == "__main__":
    main()
