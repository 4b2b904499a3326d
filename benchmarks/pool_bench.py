"""Our pool beside psycopg_pool, both faces, against a real PostgreSQL.

    python -m benchmarks.pool_bench [--quick] [--dsn postgresql://...] [--out PATH]

Scenarios (ids from the pool-anchors reference §3.4): B1 uncontended getconn+putconn,
B2 getconn + SELECT 1 + putconn throughput, B4 fairness, B5 spike, B6 outage (through a
TCP forwarder that is stopped and restarted), B7 cancellation storm. Prints a markdown
table, writes benchmarks/results/pool.json, and a latency plot if matplotlib is importable.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import select
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import psycopg
import psycopg_pool
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from benchmarks._run_info import load_average, run_info
from pool import AsyncConnectionPool, ConnectionPool, to_thread_connect

RESULTS = Path(__file__).parent / "results" / "pool.json"


# -- helpers ---------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(q * len(s) + 0.5) - 1))]


def us(ns: float) -> float:
    return round(ns / 1000.0, 2)


def ms(ns: float) -> float:
    return round(ns / 1e6, 3)


@contextlib.contextmanager
def upstream(dsn: str | None) -> Iterator[str]:
    if dsn:
        yield dsn
        return
    env = os.environ.get("REDSHIFT_TEST_UPSTREAM")
    if env:
        yield env
        return
    try:
        from redshift_async_backend.emulator.upstream import EmbeddedPostgres
    except ImportError:
        yield "postgresql://postgres@127.0.0.1:5432/postgres"
        return
    with EmbeddedPostgres() as pg:
        yield pg.url


def ours_sync(dsn: str, size: int, **kw: Any) -> ConnectionPool:
    p = ConnectionPool(
        lambda: psycopg.connect(dsn, autocommit=True), min_size=size, max_size=size, **kw
    )
    p.wait(30)
    return p


def theirs_sync(dsn: str, size: int, **kw: Any) -> psycopg_pool.ConnectionPool:
    p = psycopg_pool.ConnectionPool(
        dsn, min_size=size, max_size=size, kwargs={"autocommit": True}, open=True, **kw
    )
    p.wait(30)
    return p


async def ours_async(dsn: str, size: int) -> AsyncConnectionPool:
    async def connect() -> Any:
        return await psycopg.AsyncConnection.connect(dsn, autocommit=True)

    return AsyncConnectionPool(connect, min_size=size, max_size=size)


def ours_trio(dsn: str, size: int) -> AsyncConnectionPool:
    return AsyncConnectionPool(
        to_thread_connect(lambda: psycopg.connect(dsn, autocommit=True)),
        min_size=size,
        max_size=size,
    )


async def theirs_async(dsn: str, size: int) -> psycopg_pool.AsyncConnectionPool:
    p = psycopg_pool.AsyncConnectionPool(
        dsn, min_size=size, max_size=size, kwargs={"autocommit": True}, open=False
    )
    await p.open(wait=True, timeout=30)
    return p


# -- B1: uncontended getconn + putconn ---------------------------------------------------


def b1_sync(pool: Any, n: int) -> list[float]:
    lat = []
    get, put, clock = pool.getconn, pool.putconn, time.perf_counter_ns
    for _ in range(n // 10):
        put(get())
    for _ in range(n):
        t0 = clock()
        put(get())
        lat.append(clock() - t0)
    return lat


async def b1_async(pool: Any, n: int) -> list[float]:
    lat = []
    clock = time.perf_counter_ns
    for _ in range(n // 10):
        await pool.putconn(await pool.getconn())
    for _ in range(n):
        t0 = clock()
        await pool.putconn(await pool.getconn())
        lat.append(clock() - t0)
    return lat


def run_b1(dsn: str, n: int, reps: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    samples: dict[str, list[float]] = {"ours sync": [], "psycopg_pool sync": []}
    for rep in range(reps):
        order = [("ours sync", ours_sync), ("psycopg_pool sync", theirs_sync)]
        for label, make in order if rep % 2 == 0 else order[::-1]:
            pool = make(dsn, 1)
            try:
                samples[label].append(statistics.median(b1_sync(pool, n)))
            finally:
                pool.close()

    async def asyncio_side() -> dict[str, list[float]]:
        out: dict[str, list[float]] = {"ours asyncio": [], "psycopg_pool asyncio": []}
        for rep in range(reps):
            ours = await ours_async(dsn, 1)
            async with ours:
                await ours.wait(30)
                a = statistics.median(await b1_async(ours, n))
            theirs = await theirs_async(dsn, 1)
            try:
                b = statistics.median(await b1_async(theirs, n))
            finally:
                await theirs.close()
            out["ours asyncio"].append(a)
            out["psycopg_pool asyncio"].append(b)
            del rep
        return out

    async def trio_side() -> list[float]:
        out = []
        for _ in range(reps):
            async with ours_trio(dsn, 1) as p:
                await p.wait(30)
                out.append(statistics.median(await b1_async(p, n)))
        return out

    samples.update(anyio.run(asyncio_side))
    samples["ours trio"] = anyio.run(trio_side, backend="trio")
    for label, values in samples.items():
        rows.append({"pool": label, "p50_us": us(statistics.median(values))})
    return rows


# -- B2 / B4: contended throughput and fairness ---------------------------------------------


def run_threads(pool: Any, workers: int, seconds: float, query: bool) -> dict[str, Any]:
    stop = threading.Event()
    waits: list[list[int]] = [[] for _ in range(workers)]
    counts = [0] * workers
    start = threading.Barrier(workers + 1)

    def worker(i: int) -> None:
        get, put, clock, w = pool.getconn, pool.putconn, time.perf_counter_ns, waits[i]
        start.wait()
        n = 0
        while not stop.is_set():
            t0 = clock()
            conn = get()
            w.append(clock() - t0)
            if query:
                conn.execute("SELECT 1")
            put(conn)
            n += 1
        counts[i] = n

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    start.wait()
    cpu0, t0 = time.process_time(), time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    allw = [x for w in waits for x in w]
    ops = sum(counts)
    return {
        "ops_s": round(ops / elapsed),
        "wait_p50_ms": ms(pct(allw, 0.5)),
        "wait_p99_ms": ms(pct(allw, 0.99)),
        "wait_p999_ms": ms(pct(allw, 0.999)),
        "wait_max_ms": ms(max(allw) if allw else 0),
        "cpu_us_per_op": round(cpu / ops * 1e6, 1) if ops else None,
        "_waits": allw,
    }


async def run_tasks(pool: Any, workers: int, seconds: float) -> dict[str, Any]:
    waits: list[int] = []
    count = 0
    done = False

    async def worker() -> None:
        nonlocal count
        clock = time.perf_counter_ns
        while not done:
            t0 = clock()
            conn = await pool.getconn()
            waits.append(clock() - t0)
            await conn.execute("SELECT 1")
            await pool.putconn(conn)
            count += 1

    t0 = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(workers):
            tg.start_soon(worker)
        await anyio.sleep(seconds)
        done = True
    elapsed = time.perf_counter() - t0
    return {
        "ops_s": round(count / elapsed),
        "wait_p50_ms": ms(pct(waits, 0.5)),
        "wait_p99_ms": ms(pct(waits, 0.99)),
        "wait_p999_ms": ms(pct(waits, 0.999)),
        "_waits": waits,
    }


def _b2_row(face: str, size: int, n: int, ours: list[int], theirs: list[int]) -> dict[str, Any]:
    # Paired runs (one of each, back to back): the ratio is the median of the pairs'
    # ratios, so that the machine's drift between pairs cancels out.
    pairs = [a / b for a, b in zip(ours, theirs, strict=True) if b]
    return {
        "face": face,
        "size": size,
        "workers": n,
        "ours_ops_s": round(statistics.median(ours)),
        "psycopg_pool_ops_s": round(statistics.median(theirs)),
        "ratio": round(statistics.median(pairs), 2),
        "pairs": len(pairs),
    }


def run_b2(dsn: str, seconds: float, reps: int) -> list[dict[str, Any]]:
    """Both pools open side by side for a cell; ``reps`` pairs of runs, alternating which
    pool goes first."""
    rows = []
    for size in (4, 16):
        for n in (1, 4, 16, 64):
            ours, theirs = ours_sync(dsn, size), theirs_sync(dsn, size)
            a_vals: list[int] = []
            b_vals: list[int] = []
            try:
                for pool in (ours, theirs):  # warm
                    run_threads(pool, n, min(seconds, 0.2), True)
                for rep in range(reps):
                    pair = [(a_vals, ours), (b_vals, theirs)]
                    for values, pool in pair if rep % 2 == 0 else pair[::-1]:
                        values.append(run_threads(pool, n, seconds, True)["ops_s"])
            finally:
                ours.close()
                theirs.close()
            rows.append(_b2_row("sync", size, n, a_vals, b_vals))

    async def async_cells() -> list[dict[str, Any]]:
        out = []
        for size in (4, 16):
            for n in (1, 4, 16, 64):
                a_vals: list[int] = []
                b_vals: list[int] = []
                ours = await ours_async(dsn, size)
                theirs = await theirs_async(dsn, size)
                try:
                    async with ours:
                        await ours.wait(30)
                        for pool in (ours, theirs):  # warm
                            await run_tasks(pool, n, min(seconds, 0.2))
                        for rep in range(reps):
                            pair = [(a_vals, ours), (b_vals, theirs)]
                            for values, pool in pair if rep % 2 == 0 else pair[::-1]:
                                values.append((await run_tasks(pool, n, seconds))["ops_s"])
                finally:
                    await theirs.close()
                out.append(_b2_row("asyncio", size, n, a_vals, b_vals))
        return out

    rows.extend(anyio.run(async_cells))
    return rows


def run_b4(
    dsn: str, seconds: float, reps: int = 1
) -> tuple[list[dict[str, Any]], dict[str, list[int]]]:
    """Fairness: 32 threads on 4 connections. ``reps`` interleaved runs per pool (ours
    first on even runs, theirs first on odd ones); each figure is the median over runs,
    the plotted curve is the run with the median p99.9."""
    n, size = 32, 4
    makers = {"ours": ours_sync, "psycopg_pool": theirs_sync}
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in makers}
    for rep in range(reps):
        order = list(makers) if rep % 2 == 0 else list(makers)[::-1]
        for label in order:
            pool = makers[label](dsn, size)
            try:
                runs[label].append(run_threads(pool, n, seconds, True))
            finally:
                pool.close()
    rows, curves = [], {}
    for label, results in runs.items():
        results.sort(key=lambda r: r["wait_p999_ms"])
        middle = results[len(results) // 2]
        curves[label] = middle.pop("_waits")
        for r in results:
            r.pop("_waits", None)
        r = {
            key: statistics.median(x[key] for x in results)
            for key in ("ops_s", "wait_p50_ms", "wait_p99_ms", "wait_p999_ms")
        }
        expected_ms = (n - size) / r["ops_s"] * 1000.0
        rows.append(
            {
                "pool": label,
                **r,
                "runs": len(results),
                "wait_p999_ms_each_run": [x["wait_p999_ms"] for x in results],
                "littles_law_wait_ms": round(expected_ms, 3),
                "p999_over_expected": round(r["wait_p999_ms"] / expected_ms, 2),
            }
        )
    return rows, curves


# -- B5: spike ---------------------------------------------------------------------------


class DelayedConnection(psycopg.Connection):  # type: ignore[type-arg]
    @classmethod
    def connect(cls, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        time.sleep(0.15)
        return super().connect(*args, **kwargs)


def spike(pool: Any) -> dict[str, Any]:
    stats = pool.get_stats
    samples: list[int] = []
    stop = threading.Event()

    def sampler() -> None:
        while not stop.is_set():
            samples.append(stats()["pool_size"])
            time.sleep(0.00025)

    start = threading.Barrier(51)
    served = []

    def worker() -> None:
        start.wait()
        conn = pool.getconn()
        time.sleep(0.002)
        pool.putconn(conn)
        served.append(1)

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for t in threads:
        t.start()
    s = threading.Thread(target=sampler)
    s.start()
    t0 = time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    all_served_ms = (time.perf_counter() - t0) * 1000
    time.sleep(0.4)  # let in-flight connection attempts land
    stop.set()
    s.join()
    return {
        "served": len(served),
        "all_served_ms": round(all_served_ms, 1),
        "peak_size": max(samples),
        "final_size": stats()["pool_size"],
    }


def run_b5(dsn: str) -> list[dict[str, Any]]:
    ours = ConnectionPool(
        lambda: DelayedConnection.connect(dsn, autocommit=True), min_size=5, max_size=20
    )
    ours.wait(30)
    theirs = psycopg_pool.ConnectionPool(
        dsn, min_size=5, max_size=20, connection_class=DelayedConnection, open=True
    )
    theirs.wait(30)
    rows = []
    for label, p in (("ours", ours), ("psycopg_pool", theirs)):
        try:
            rows.append({"pool": label, **spike(p)})
        finally:
            p.close()
    return rows


# -- B6: outage through a TCP forwarder ------------------------------------------------------


class Forwarder:
    """A tiny TCP forwarder to the server; stop() drops every session and the listener."""

    def __init__(self, target: tuple[Any, ...]) -> None:
        self.target = target  # ("tcp", host, port) or ("unix", path)
        self.port = 0
        self._listener: socket.socket | None = None
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        lst = socket.socket()
        lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lst.bind(("127.0.0.1", self.port))
        self.port = lst.getsockname()[1]
        lst.listen(64)
        self._listener = lst
        threading.Thread(target=self._accept, args=(lst,), daemon=True).start()

    def _upstream(self) -> socket.socket:
        if self.target[0] == "unix":
            s = socket.socket(socket.AF_UNIX)
            s.connect(self.target[1])
        else:
            s = socket.create_connection(self.target[1:])
        return s

    def _accept(self, lst: socket.socket) -> None:
        while True:
            try:
                client, _ = lst.accept()
            except OSError:
                return
            try:
                server = self._upstream()
            except OSError:
                client.close()
                continue
            with self._lock:
                self._socks += [client, server]
            threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1.0)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        raise OSError
                    (b if s is a else a).sendall(data)
        except (OSError, ValueError):
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()

    def stop(self) -> None:
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would leave
            # the kernel socket listening until that accept() returned.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()


def forward_target(dsn: str) -> tuple[Any, ...]:
    params = conninfo_to_dict(dsn)
    host = params.get("host") or "127.0.0.1"
    port = int(params.get("port") or 5432)
    if host.startswith("/"):
        return ("unix", f"{host}/.s.PGSQL.{port}")
    return ("tcp", host, port)


def outage(make: Callable[[str], Any], dsn: str, down_s: float) -> dict[str, Any]:
    fwd = Forwarder(forward_target(dsn))
    fwd.start()
    params = conninfo_to_dict(dsn)
    params.update(host="127.0.0.1", port=str(fwd.port))
    pool = make(make_conninfo(**params))
    errors = 0
    first_success: float | None = None
    up_at = 0.0
    try:
        with pool.connection() as conn:
            conn.execute("SELECT 1")
        fwd.stop()
        down_at = time.monotonic()
        up_at = down_at + down_s
        restarted = False
        while time.monotonic() < up_at + 30:
            if not restarted and time.monotonic() >= up_at:
                fwd.start()
                up_at = time.monotonic()
                restarted = True
            try:
                with pool.connection(timeout=0.2) as conn:
                    conn.execute("SELECT 1")
                if restarted:
                    first_success = time.monotonic()
                    break
            except Exception:
                errors += 1
                time.sleep(0.01)
    finally:
        pool.close()
        fwd.stop()
    return {
        "down_s": down_s,
        "failed_attempts": errors,
        "first_success_after_up_s": round(first_success - up_at, 3) if first_success else None,
    }


def run_b6(dsn: str, down_s: float) -> list[dict[str, Any]]:
    def ours(d: str) -> Any:
        p = ConnectionPool(lambda: psycopg.connect(d, autocommit=True), min_size=2, max_size=4)
        p.wait(30)
        return p

    def theirs(d: str) -> Any:
        p = psycopg_pool.ConnectionPool(
            d,
            min_size=2,
            max_size=4,
            kwargs={"autocommit": True},
            check=psycopg_pool.ConnectionPool.check_connection,
            open=True,
        )
        p.wait(30)
        return p

    return [
        {"pool": "ours", **outage(ours, dsn, down_s)},
        {"pool": "psycopg_pool", **outage(theirs, dsn, down_s)},
    ]


# -- B7: cancellation storm ------------------------------------------------------------------


async def storm(pool: Any, size: int, query: Callable[[Any], Any], count: int) -> dict[str, Any]:
    rnd = random.Random(5)
    served = cancelled = 0

    async def client() -> None:
        nonlocal served, cancelled
        with anyio.move_on_after(rnd.uniform(0, 0.05)) as scope:
            conn = await pool.getconn()
            try:
                await query(conn)
            finally:
                with anyio.CancelScope(shield=True):
                    await pool.putconn(conn)
            served += 1
        if scope.cancelled_caught:
            cancelled += 1

    t0 = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(count):
            tg.start_soon(client)
    elapsed = time.perf_counter() - t0
    with anyio.move_on_after(10):
        while pool.get_stats()["pool_available"] != size:
            await anyio.sleep(0.01)
    st = pool.get_stats()
    return {
        "acquires": count,
        "served": served,
        "cancelled": cancelled,
        "seconds": round(elapsed, 3),
        "available_after": st["pool_available"],
        "waiting_after": st["requests_waiting"],
        "leaks": size - st["pool_available"],
    }


def run_b7(dsn: str, runs: int) -> list[dict[str, Any]]:
    size = 4

    async def aq(conn: Any) -> None:
        await conn.execute("SELECT 1")

    async def tq(conn: Any) -> None:
        await anyio.to_thread.run_sync(conn.execute, "SELECT 1")

    async def ours_asyncio() -> list[dict[str, Any]]:
        out = []
        for _ in range(runs):
            p = await ours_async(dsn, size)
            async with p:
                await p.wait(30)
                out.append(await storm(p, size, aq, 1000))
        return out

    async def theirs_asyncio() -> list[dict[str, Any]]:
        out = []
        for _ in range(runs):
            p = await theirs_async(dsn, size)
            try:
                out.append(await storm(p, size, aq, 1000))
            finally:
                await p.close()
        return out

    async def ours_trio_run() -> list[dict[str, Any]]:
        out = []
        for _ in range(runs):
            async with ours_trio(dsn, size) as p:
                await p.wait(30)
                out.append(await storm(p, size, tq, 1000))
        return out

    rows = []
    for label, results in (
        ("ours asyncio", anyio.run(ours_asyncio)),
        ("ours trio", anyio.run(ours_trio_run, backend="trio")),
        ("psycopg_pool asyncio", anyio.run(theirs_asyncio)),
    ):
        rows.append(
            {
                "pool": label,
                "runs": len(results),
                "served": sum(r["served"] for r in results),
                "cancelled": sum(r["cancelled"] for r in results),
                "total_leaks": sum(r["leaks"] for r in results),
                "max_waiting_after": max(r["waiting_after"] for r in results),
            }
        )
    return rows


# -- report ----------------------------------------------------------------------------------


def table(title: str, rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    keys = [k for k in rows[0] if not k.startswith("_")]
    lines = [f"### {title}", "", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        lines.append("| " + " | ".join(str(r.get(k)) for k in keys) + " |")
    return "\n".join(lines) + "\n"


def plot(curves: dict[str, list[int]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    qs = [0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999]
    fig, ax = plt.subplots()
    for label, values in curves.items():
        ax.plot([str(q) for q in qs], [pct(values, q) / 1e6 for q in qs], marker="o", label=label)
    ax.set_xlabel("percentile")
    ax.set_ylabel("getconn wait (ms)")
    ax.set_title("B4 fairness: 32 threads, 4 connections")
    ax.legend()
    fig.savefig(path)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pool_bench")
    parser.add_argument("--dsn", help="libpq URL of a PostgreSQL server")
    parser.add_argument("--quick", action="store_true", help="short run (about 2 minutes)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    load_before = load_average()
    quick = args.quick
    import logging

    logging.getLogger("pool").setLevel(logging.ERROR)
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)

    with upstream(args.dsn) as dsn:
        result: dict[str, Any] = {
            "quick": quick,
            "python": sys.version.split()[0],
            "psycopg": psycopg.__version__,
            "psycopg_pool": psycopg_pool.__version__,
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        }
        out: list[str] = []
        b1 = run_b1(dsn, 20_000 if quick else 100_000, 3 if quick else 5)
        out.append(table("B1 uncontended getconn+putconn (median of reps)", b1))
        print(out[-1], flush=True)
        b2 = run_b2(dsn, 0.5, 2 if quick else 12)
        out.append(table("B2 getconn + SELECT 1 + putconn throughput", b2))
        print(out[-1], flush=True)
        b4, curves = run_b4(dsn, 2.0 if quick else 5.0, 1 if quick else 5)
        out.append(table("B4 fairness, N=32, size=4 (sync threads)", b4))
        print(out[-1], flush=True)
        b5 = run_b5(dsn)
        out.append(table("B5 spike: 150 ms connect, 2 ms hold, 50 threads, min 5 max 20", b5))
        print(out[-1], flush=True)
        b6 = run_b6(dsn, 2.0 if quick else 5.0)
        out.append(table("B6 outage: forwarder stopped, then restarted", b6))
        print(out[-1], flush=True)
        b7 = run_b7(dsn, 2 if quick else 10)
        out.append(table("B7 cancellation storm: 1,000 acquires, deadlines 0-50 ms, size 4", b7))
        print(out[-1], flush=True)
        result.update(B1=b1, B2=b2, B4=b4, B5=b5, B6=b6, B7=b7)
        png = args.out.with_suffix(".png")
        result["plot"] = str(png) if plot(curves, png) else None
        print("plot:", result["plot"] or "matplotlib not importable; no PNG written")
    result["run"] = run_info(
        load_before, quick=quick, packages=("psycopg", "psycopg-pool", "anyio", "trio")
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
