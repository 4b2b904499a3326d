"""``create()`` against django-redshift-backend 5.0.0: one at a time and from 8 threads.

    python -m benchmarks.create_bench [--quick] [--upstream postgresql://...] [--repeat N]

Each way runs in a process of its own (``benchmarks/_create_runner.py``) through one
emulator on the same upstream PostgreSQL, with no added latency and with the emulator adding
20 ms to every round trip (``Emulator(latency_ms=20)``): the median of 200 ``create()`` calls
one at a time, then 8 threads x 40 ``create()`` calls, each thread on its own connection,
with the ids each call returned checked against the rows (a wrong id is a pk that is not
the row that call wrote). The prior art (``.benchmarks-venv/drb``, made by
``bulk_create_bench``) reads ``MAX(pk)`` after its INSERT without a lock; ours allocates the
pk under the table lock (``OPTIONS["last_insert_id"] = "lock"``) in one batch. The ways run
interleaved, --repeat times (3); each way's median run is reported. Prints a markdown table
and writes ``benchmarks/results/create.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from benchmarks._run_info import run_info
from benchmarks.bulk_create_bench import DEFAULT_VENV, ROOT, prior_art_python, version_of

RESULTS = Path(__file__).parent / "results" / "create.json"
RUNNER = Path(__file__).parent / "_create_runner.py"
PRIOR_ART = "django-redshift-backend 5.0.0"
# (label, added latency in ms, the upstream's synchronous_commit): PostgreSQL releases a
# transaction's locks after its commit record is flushed, so with every commit flushed the
# table lock is held across an fsync; the third setting shows how much of the gap that is.
SETTINGS = (("0 ms", 0, "on"), ("20 ms", 20, "on"), ("0 ms, synchronous_commit off", 0, "off"))


def run_one(
    emu: Any, python: Path, engine: str, database: str, options: dict[str, Any], quick: bool
) -> dict[str, Any]:
    emu.reset_stats()
    proc = subprocess.run(
        [
            str(python),
            str(RUNNER),
            *("--engine", engine, "--host", emu.host, "--port", str(emu.port)),
            *("--user", emu.admin_user, "--name", database, "--options", json.dumps(options)),
            *(("--serial", "20") if quick else ()),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)} if python == Path(sys.executable) else None,
    )
    try:
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        result = {"error": f"runner failed (exit {proc.returncode}): {proc.stderr[-1500:]}"}
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one run a way, 20 serial creates")
    parser.add_argument("--upstream", default=os.environ.get("REDSHIFT_TEST_UPSTREAM"))
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--repeat", type=int, default=None, help="runs per way (default 3)")
    args = parser.parse_args()
    with ExitStack() as stack:
        if not args.upstream:
            from redshift_async_backend.emulator.upstream import EmbeddedPostgres

            args.upstream = stack.enter_context(EmbeddedPostgres()).url
        run_all(args)


def run_all(args: argparse.Namespace) -> None:
    import psycopg

    from redshift_async_backend.emulator import Emulator

    repeat = args.repeat or (1 if args.quick else 3)
    drb_python = prior_art_python(args.venv)
    ours_python = Path(sys.executable)
    ways = [
        (PRIOR_ART, drb_python, "django_redshift_backend", {}),
        ("ours (psycopg)", ours_python, "redshift_async_backend", {}),
        (
            "ours (redshift_connector)",
            ours_python,
            "redshift_async_backend",
            {"driver": "redshift_connector", "sslmode": "disable"},
        ),
    ]
    database = "bench_create"
    load_before = os.getloadavg()
    results: dict[str, Any] = {
        "model": "AutoField pk, CharField(40), IntegerField",
        "threads": 8,
        "creates_per_thread": 40,
        "prior_art": {
            "django_redshift_backend": version_of(drb_python, "django-redshift-backend"),
            "django": version_of(drb_python, "django"),
            "psycopg2": version_of(drb_python, "psycopg2-binary"),
        },
        "repeat": repeat,
        "latencies": {},
    }
    with Emulator(upstream=args.upstream) as emu:
        for key, latency, sync_commit in SETTINGS:
            emu.latency_ms = latency
            samples: dict[str, list[dict[str, Any]]] = {label: [] for label, *_ in ways}
            for attempt in range(repeat):
                for label, python, engine, options in ways:
                    print(f"{key}, {label}, run {attempt + 1}/{repeat} ...", flush=True)
                    with psycopg.connect(args.upstream, autocommit=True) as admin:
                        admin.execute(f"DROP DATABASE IF EXISTS {database}")
                        admin.execute(f"CREATE DATABASE {database}")
                        admin.execute(
                            f"ALTER DATABASE {database} SET synchronous_commit = {sync_commit}"
                        )
                    samples[label].append(
                        run_one(emu, python, engine, database, options, args.quick)
                    )
            results["latencies"][key] = _summarise(samples)
        with psycopg.connect(args.upstream, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {database}")
    results["run"] = run_info(
        load_before, quick=args.quick, packages=("django", "psycopg", "redshift-connector")
    )
    print_table(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


def _summarise(samples: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Each way's median run (by concurrent rate), every run's figures, and the ratios to
    the prior art's median run."""
    out: dict[str, Any] = {}
    for label, runs in samples.items():
        ok = sorted(
            (r for r in runs if r.get("concurrent_creates_per_s")),
            key=lambda r: r["concurrent_creates_per_s"],
        )
        best = ok[len(ok) // 2] if ok else runs[-1]
        out[label] = {
            **best,
            "all_concurrent_creates_per_s": [r.get("concurrent_creates_per_s") for r in runs],
            "all_create_us": [r.get("create_us") for r in runs],
            "all_wrong_ids": [r.get("wrong_ids") for r in runs],
        }
    prior = out.get(PRIOR_ART, {})
    for run in out.values():
        rate, base = run.get("concurrent_creates_per_s"), prior.get("concurrent_creates_per_s")
        run["concurrent_vs_prior_art"] = round(rate / base, 3) if rate and base else None
        us, base_us = run.get("create_us"), prior.get("create_us")
        run["create_time_vs_prior_art"] = round(us / base_us, 3) if us and base_us else None
    return out


def print_table(results: dict[str, Any]) -> None:
    print(
        "\n| latency | way | create() µs | vs prior art | 8 x 40 creates/s | vs prior art "
        "| wrong ids | duplicate pks | creates/s of each run |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for latency, ways in results["latencies"].items():
        for label, r in ways.items():
            if "error" in r:
                print(f"| {latency} | {label} | error: {r['error'][:300]} |||||||")
                continue
            print(
                f"| {latency} | {label} | {r['create_us']} | {r['create_time_vs_prior_art']} "
                f"| {r['concurrent_creates_per_s']} | {r['concurrent_vs_prior_art']} "
                f"| {r['wrong_ids']} | {r['duplicate_pks']} "
                f"| {', '.join(str(x) for x in r['all_concurrent_creates_per_s'])} |"
            )
    print(f"\nload average: {results['run']['load_average']}")


if __name__ == "__main__":
    main()
