"""Per-query ORM overhead: this backend vs Django's stock PostgreSQL backend.

    python -m benchmarks.orm_bench [--quick] [--upstream postgresql://...]

One run, one upstream PostgreSQL, four ways in:

- **stock direct**: Django's PostgreSQL backend straight to PostgreSQL (database bench_pg);
- **stock via emulator**: the same backend and database through the emulator. The emulator
  reports Redshift's server_version 8.0.2, which the stock backend refuses, so this uses
  ``benchmarks.stock_pg_via_emulator`` (BENCHMARK ONLY: the stock backend minus its version
  check). Statements Redshift refuses stay refused (``INSERT … RETURNING``: no figure);
- **ours** (psycopg 3) and **ours, redshift_connector** through the emulator (database
  bench_ours; our SQL is Redshift's, so it needs the emulator).

``ours / stock via emulator`` is the backend's own overhead (both pay the emulator);
``ours / stock direct`` is the total. The emulator's cost per statement is measured apart
(``SELECT 1`` with psycopg, through it vs direct). Timings are medians over interleaved
rounds. Prints markdown tables and writes ``benchmarks/results/orm.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import django
from django.conf import settings

from benchmarks._run_info import run_info

RESULTS = Path(__file__).parent / "results" / "orm.json"
ROUNDS = 5
READS = ("get(pk=)", "filter+count", "iterate 100 rows")
TARGET = 1.15  # ours / stock, for the reads (issue #4)

# alias -> column label
WAYS = {
    "pg": "stock direct",
    "pg_emu": "stock via emulator",
    "default": "ours (psycopg)",
    "rs": "ours (redshift_connector)",
}


def configure(emu: Any, upstream: str) -> None:
    up = urlsplit(upstream)
    common = {"USER": up.username or "postgres", "PASSWORD": up.password or "", "CONN_MAX_AGE": 60}
    # Through the emulator as its admin user (never the upstream's superuser).
    via_emulator = {"HOST": emu.host, "PORT": str(emu.port), "USER": emu.admin_user, "PASSWORD": ""}
    settings.configure(
        SECRET_KEY="bench",
        USE_TZ=True,
        INSTALLED_APPS=["benchmarks"],
        DATABASES={
            "default": {
                **common,
                **via_emulator,
                "ENGINE": "redshift_async_backend",
                "NAME": "bench_ours",
                "TEST": {"MAINTENANCE_NAME": emu.database},
            },
            # The same database through AWS's driver (no TLS: the emulator has none).
            "rs": {
                **common,
                **via_emulator,
                "ENGINE": "redshift_async_backend",
                "NAME": "bench_ours",
                "OPTIONS": {"driver": "redshift_connector", "sslmode": "disable"},
            },
            "pg": {
                **common,
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "bench_pg",
                "HOST": up.hostname,
                "PORT": str(up.port or 5432),
            },
            "pg_emu": {
                **common,
                **via_emulator,
                "ENGINE": "benchmarks.stock_pg_via_emulator",
                "NAME": "bench_pg",
            },
        },
    )
    django.setup()


def samples_of(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--upstream", default=os.environ.get("REDSHIFT_TEST_UPSTREAM"))
    args = parser.parse_args()
    with ExitStack() as stack:
        if not args.upstream:
            # No server given: an embedded PostgreSQL for this run (as the tests do).
            from redshift_async_backend.emulator.upstream import EmbeddedPostgres

            args.upstream = stack.enter_context(EmbeddedPostgres()).url
        run_all(args)


def run_all(args: argparse.Namespace) -> None:
    n = 100 if args.quick else 1000

    import psycopg

    from redshift_async_backend.emulator import Emulator

    with psycopg.connect(args.upstream, autocommit=True) as admin:
        for name in ("bench_ours", "bench_pg"):
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
            admin.execute(f"CREATE DATABASE {name}")
    load_before = os.getloadavg()
    with Emulator(upstream=args.upstream) as emu:
        configure(emu, args.upstream)
        from django.db import DatabaseError, connections, models

        class Row(models.Model):
            name = models.CharField(max_length=40)
            n = models.IntegerField()
            objects: ClassVar[models.Manager[Any]] = models.Manager()

            class Meta:
                app_label = "benchmarks"

        for alias in ("default", "pg"):
            with connections[alias].schema_editor() as editor:
                editor.create_model(Row)
            Row.objects.using(alias).bulk_create([Row(name=f"r{i}", n=i % 7) for i in range(100)])

        ops: dict[str, Callable[[str], Callable[[], Any]]] = {
            "get(pk=)": lambda a: lambda: Row.objects.using(a).get(pk=50),
            "filter+count": lambda a: lambda: Row.objects.using(a).filter(n=3).count(),
            "iterate 100 rows": lambda a: lambda: list(Row.objects.using(a).all()[:100]),
            "create()": lambda a: lambda: Row.objects.using(a).create(name="new", n=1),
            "bulk_create 50": lambda a: (
                lambda: Row.objects.using(a).bulk_create([Row(name="bulk", n=i) for i in range(50)])
            ),
        }
        results: dict[str, Any] = {
            "iterations": n,
            "rounds": ROUNDS,
            "python": platform.python_version(),
            "django": django.get_version(),
            "ways": WAYS,
            "stock_via_emulator_note": (
                "benchmarks.stock_pg_via_emulator: Django's PostgreSQL backend without its "
                "server version check, benchmark only"
            ),
            "ops": {},
        }
        for label, make in ops.items():
            runnable: dict[str, Callable[[], Any]] = {}
            refused: dict[str, str] = {}
            for alias in WAYS:
                fn = make(alias)
                try:
                    for _ in range(3):  # warm up (connections, caches)
                        fn()
                except DatabaseError as exc:
                    refused[alias] = str(exc).splitlines()[0]
                    continue
                runnable[alias] = fn
            samples: dict[str, list[float]] = {alias: [] for alias in runnable}
            for _ in range(ROUNDS):  # interleaved, so drift hits every way alike
                for alias, fn in runnable.items():
                    samples[alias] += samples_of(fn, max(n // ROUNDS, 1))
            us = {
                alias: round(statistics.median(samples[alias]) * 1e6, 1)
                if alias in samples
                else None
                for alias in WAYS
            }
            results["ops"][label] = {
                "stock_direct_us": us["pg"],
                "stock_via_emulator_us": us["pg_emu"],
                "ours_us": us["default"],
                "ours_redshift_connector_us": us["rs"],
                "backend_overhead": ratio(us["default"], us["pg_emu"]),
                "total_vs_stock_direct": ratio(us["default"], us["pg"]),
                "rc_vs_psycopg": ratio(us["rs"], us["default"]),
                "refused": refused,
            }

        round_trips = {}
        for alias, driver in (("default", "psycopg"), ("rs", "redshift_connector")):
            connections[alias].ensure_connection()
            emu.reset_stats()
            Row.objects.using(alias).create(name="rt", n=0)
            round_trips[driver] = emu.stats()["round_trips"]
        results["create_round_trips"] = round_trips

        with (
            psycopg.connect(emu.url, autocommit=True) as via,
            psycopg.connect(
                args.upstream.rsplit("/", 1)[0] + "/bench_pg", autocommit=True
            ) as direct,
        ):
            e = statistics.median(samples_of(lambda: via.execute("SELECT 1").fetchall(), n))
            d = statistics.median(samples_of(lambda: direct.execute("SELECT 1").fetchall(), n))
        results["emulator_select1"] = {
            "through_emulator_us": round(e * 1e6, 1),
            "direct_us": round(d * 1e6, 1),
            "overhead_us": round((e - d) * 1e6, 1),
        }
        for alias in WAYS:
            connections[alias].close()
    results["reads_target"] = {
        "max_ratio": TARGET,
        "backend_overhead_met": all(
            (results["ops"][op]["backend_overhead"] or 99) <= TARGET for op in READS
        ),
        "total_met": all(
            (results["ops"][op]["total_vs_stock_direct"] or 99) <= TARGET for op in READS
        ),
    }
    results["load_average"] = {"before": load_before, "after": os.getloadavg()}
    results["run"] = run_info(
        load_before,
        quick=args.quick,
        packages=("django", "psycopg", "redshift-connector", "pglast"),
    )
    print_tables(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


def print_tables(results: dict[str, Any]) -> None:
    def cell(v: Any) -> str:
        return "refused" if v is None else str(v)

    print(
        "| operation | stock direct (µs) | stock via emulator (µs) | ours (µs) "
        "| ours / stock via emulator | ours / stock direct "
        "| ours, redshift_connector (µs) | redshift_connector / psycopg |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, r in results["ops"].items():
        print(
            f"| {label} | {cell(r['stock_direct_us'])} | {cell(r['stock_via_emulator_us'])} "
            f"| {cell(r['ours_us'])} | {r['backend_overhead'] or '—'} "
            f"| {r['total_vs_stock_direct']} | {cell(r['ours_redshift_connector_us'])} "
            f"| {r['rc_vs_psycopg']} |"
        )
    for label, r in results["ops"].items():
        for alias, why in r["refused"].items():
            print(f"\n{label}, {WAYS[alias]}: refused by the emulator ({why})")
    em = results["emulator_select1"]
    rt = results["create_round_trips"]
    print(
        f"\ncreate() round trips: {rt['psycopg']} (psycopg), "
        f"{rt['redshift_connector']} (redshift_connector)"
    )
    print(
        f"emulator overhead per statement (SELECT 1, psycopg): {em['overhead_us']} µs "
        f"({em['through_emulator_us']} through it vs {em['direct_us']} direct)"
    )
    t = results["reads_target"]
    print(
        f"reads within {t['max_ratio']}x: backend overhead {t['backend_overhead_met']}, "
        f"total {t['total_met']}; load average {results['load_average']}; "
        f"{results['iterations']} iterations in {results['rounds']} interleaved rounds"
    )


if __name__ == "__main__":
    main()
