"""Native async ORM (``redshift_async_backend.aio``) against its two anchors.

    python -m benchmarks.async_bench [--quick] [--upstream postgresql://...]

1. Concurrency: 64 tasks, each a filtered ``acount()`` and a 100-row ``async for``, with
   the emulator at ``latency_ms=20`` and the async pool at max 16: native (``AsyncManager``)
   against Django's own a-methods (``sync_to_async`` into one thread) on the same backend.
2. Overhead: at ``latency_ms=0``, the time per query of the native path against raw
   psycopg ``AsyncConnection`` running the same compiled SQL (rows fetched, no models);
   beside them the async layer alone (a pooled connection running that compiled SQL, no
   Django) and Django's sync ORM, to show which part of the difference is whose.

Without ``--upstream`` an embedded PostgreSQL is started. Prints a markdown table and
writes ``benchmarks/results/async.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import django
from django.conf import settings

from benchmarks._run_info import load_average, run_info

RESULTS = Path(__file__).parent / "results" / "async.json"
TASKS, POOL_MAX, LATENCY_MS = 64, 16, 20
BLOCKS = 10  # the overhead measures alternate in this many blocks


def configure(emu: Any, upstream: str) -> None:
    settings.configure(
        SECRET_KEY="bench",
        USE_TZ=True,
        INSTALLED_APPS=["benchmarks"],
        DATABASES={
            "default": {
                "ENGINE": "redshift_async_backend",
                "NAME": "bench_async",
                "USER": emu.admin_user,  # through the emulator: never the upstream's superuser
                "PASSWORD": "",
                "HOST": emu.host,
                "PORT": str(emu.port),
                "CONN_MAX_AGE": 0,
                "OPTIONS": {"pool": {"min_size": 0, "max_size": POOL_MAX}},
            }
        },
    )
    django.setup()


async def timed_samples(fn: Callable[[], Awaitable[Any]], n: int) -> list[float]:
    """Microseconds of each of ``n`` calls."""
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - start) * 1e6)
    return samples


def compiled(fn: Callable[[], Any]) -> tuple[str, Any]:
    """The SQL and params of the first query ``fn`` runs (compiled, not executed)."""
    from redshift_async_backend.compiler import io_override

    class Stop(BaseException):
        pass

    class Capture:
        def execute_sql(self, compiler: Any, *args: Any, **kwargs: Any) -> Any:
            raise Stop(*compiler.as_sql())

    token = io_override.set(Capture())
    try:
        fn()
    except Stop as stop:
        return stop.args[0], stop.args[1]
    finally:
        io_override.reset(token)
    raise RuntimeError("no query")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--upstream", default=os.environ.get("REDSHIFT_TEST_UPSTREAM"))
    args = parser.parse_args()
    load_before = load_average()
    rounds = 2 if args.quick else 5
    n = 200 if args.quick else 1000

    import psycopg

    from redshift_async_backend.emulator import Emulator
    from redshift_async_backend.emulator.upstream import EmbeddedPostgres

    with ExitStack() as stack:
        upstream = args.upstream or stack.enter_context(EmbeddedPostgres()).url
        with psycopg.connect(upstream, autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS bench_async")
            admin.execute("CREATE DATABASE bench_async")
        emu = stack.enter_context(Emulator(upstream=upstream))
        configure(emu, upstream)
        results = run(emu, rounds, n)
        from django.db import connections

        connections.close_all()
        connections["default"].close_pool()

    results["run"] = run_info(
        load_before, quick=args.quick, packages=("django", "psycopg", "pglast")
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    c, o = results["concurrency"], results["overhead"]
    print(
        f"| {TASKS} tasks x (acount + 100 rows), latency {LATENCY_MS} ms, pool {POOL_MAX} "
        "| seconds | tasks/s |"
    )
    print("|---|---:|---:|")
    print(f"| Django a-methods (thread) | {c['django_s']} | {c['django_tasks_per_s']} |")
    print(f"| native (aio.AsyncManager) | {c['native_s']} | {c['native_tasks_per_s']} |")
    print(f"| **speed-up** | | **{c['speedup']}x** (target ≥ 10x) |")
    print()
    print(
        "| latency 0, per query | native (µs) | raw psycopg AsyncConnection (µs) | ratio "
        "| async layer alone (µs) | layer / raw | Django sync ORM (µs) | sync / raw |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, r in o.items():
        print(
            f"| {label} | {r['native_us']} | {r['raw_us']} | {r['ratio']} "
            f"| {r['layer_us']} | {r['layer_ratio']} | {r['django_sync_us']} | {r['sync_vs_raw']} |"
        )
    print("\n(target: ratio ≤ 1.3)")


def run(emu: Any, rounds: int, n: int) -> dict[str, Any]:
    from django.db import connections, models

    from redshift_async_backend.aio import AsyncManager
    from redshift_async_backend.aio.connections import borrow

    class Row(models.Model):
        name = models.CharField(max_length=40)
        n = models.IntegerField()

        objects = models.Manager()
        aobjects = AsyncManager()

        class Meta:
            app_label = "benchmarks"

    with connections["default"].schema_editor() as editor:
        editor.create_model(Row)
    Row.objects.bulk_create([Row(name=f"r{i}", n=i % 7) for i in range(1000)])
    connections["default"].close()

    async def task(manager: Any) -> None:
        await manager.filter(n=3).acount()
        rows = [r async for r in manager.all()[:100]]
        assert len(rows) == 100

    async def burst(manager: Any) -> float:
        start = time.perf_counter()
        await asyncio.gather(*(task(manager) for _ in range(TASKS)))
        return time.perf_counter() - start

    async def concurrency() -> dict[str, Any]:
        await burst(Row.aobjects)  # warm: the loop's pool fills up
        await burst(Row.objects)
        native = min([await burst(Row.aobjects) for _ in range(rounds)])
        thread = min([await burst(Row.objects) for _ in range(rounds)])
        return {
            "tasks": TASKS,
            "latency_ms": LATENCY_MS,
            "pool_max": POOL_MAX,
            "native_s": round(native, 3),
            "django_s": round(thread, 3),
            "native_tasks_per_s": round(TASKS / native, 1),
            "django_tasks_per_s": round(TASKS / thread, 1),
            "speedup": round(thread / native, 1),
        }

    emu.latency_ms = LATENCY_MS
    conc = asyncio.run(concurrency())
    connections.close_all()  # the thread path's connection (sync_to_async's own thread)
    emu.latency_ms = 0

    async def overhead() -> dict[str, Any]:
        import psycopg

        from redshift_async_backend.drivers.psycopg import adapters_for

        count_qs = Row.aobjects.filter(n=3)
        rows_qs = Row.aobjects.all()[:100]
        # The same compiled SQL, on a raw AsyncConnection configured as the backend's.
        sql_count, params_count = compiled(count_qs.count)
        sql_rows, params_rows = compiled(lambda: list(rows_qs))
        wrapper = connections["default"]
        raw = await psycopg.AsyncConnection.connect(
            emu.url.rsplit("/", 1)[0] + "/bench_async",
            autocommit=True,
            cursor_factory=psycopg.AsyncClientCursor,
            prepare_threshold=None,
            context=adapters_for(True, wrapper.timezone),
        )

        async def raw_count() -> Any:
            async with raw.cursor() as cur:
                await cur.execute(sql_count, params_count)
                return await cur.fetchall()

        async def raw_rows() -> Any:
            async with raw.cursor() as cur:
                await cur.execute(sql_rows, params_rows)
                return await cur.fetchall()

        async def native_rows() -> Any:
            return [r async for r in Row.aobjects.all()[:100]]

        async def native_values() -> Any:
            return [r async for r in Row.aobjects.values_list("id", "name", "n")[:100]]

        async def layer_count() -> Any:
            async with borrow("default") as conn:
                return (await conn.run(sql_count, params_count)).rows

        async def layer_rows() -> Any:
            async with borrow("default") as conn:
                return (await conn.run(sql_rows, params_rows)).rows

        await count_qs.acount()
        out: dict[str, Any] = {}
        for label, native_fn, layer_fn, raw_fn in (
            ("filtered acount()", count_qs.acount, layer_count, raw_count),
            ("100 rows as models", native_rows, layer_rows, raw_rows),
            ("100 rows values_list()", native_values, layer_rows, raw_rows),
        ):
            # Blocks of each in turn, so that the machine's drift falls on all three.
            fns = {"native": native_fn, "layer": layer_fn, "raw": raw_fn}
            samples: dict[str, list[float]] = {name: [] for name in fns}
            for _ in range(BLOCKS):
                for name, fn in fns.items():
                    samples[name].extend(await timed_samples(fn, max(1, n // BLOCKS)))
            native_us, layer_us, raw_us = (statistics.median(samples[k]) for k in fns)
            out[label] = {
                "native_us": round(native_us, 1),
                "raw_us": round(raw_us, 1),
                "ratio": round(native_us / raw_us, 3),
                "layer_us": round(layer_us, 1),
                "layer_ratio": round(layer_us / raw_us, 3),
            }
        await raw.close()
        return out

    over = asyncio.run(overhead())

    # Django's sync ORM on the same queries and backend: what any ORM call pays for
    # compiling the query and building the results, sync or async.
    def sync_timed(fn: Callable[[], Any]) -> float:
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - start) * 1e6)
        return statistics.median(samples)

    for label, sync_fn in (
        ("filtered acount()", lambda: Row.objects.filter(n=3).count()),
        ("100 rows as models", lambda: list(Row.objects.all()[:100])),
        ("100 rows values_list()", lambda: list(Row.objects.values_list("id", "name", "n")[:100])),
    ):
        sync_fn()
        sync_us = sync_timed(sync_fn)
        over[label]["django_sync_us"] = round(sync_us, 1)
        over[label]["native_vs_sync"] = round(over[label]["native_us"] / sync_us, 3)
        over[label]["sync_vs_raw"] = round(sync_us / over[label]["raw_us"], 3)
    connections.close_all()
    return {"concurrency": conc, "overhead": over}


if __name__ == "__main__":
    main()
