"""``bulk_create`` of 100,000 rows: this backend vs django-redshift-backend 5.0.0.

    python -m benchmarks.bulk_create_bench [--quick] [--upstream postgresql://...]

Both run through the emulator on the same upstream PostgreSQL, each in a process of its
own (``benchmarks/_bulk_runner.py``: same model, same rows, default batch size). The prior
art needs Django < 5.2 and psycopg2, so it runs from its own virtual environment,
``.benchmarks-venv/drb`` in the checkout (created on first use with
``django-redshift-backend==5.0.0``, ``Django>=5.1,<5.2`` and ``psycopg2-binary``; set
``--venv`` to put it elsewhere). This backend runs from the current interpreter, once per
driver; each way runs --repeat times (3), interleaved, and its median run is reported. The
emulator's statement and round-trip counts come with each figure. Prints a
markdown table and writes ``benchmarks/results/bulk_create.json``.
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

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).parent / "results" / "bulk_create.json"
RUNNER = Path(__file__).parent / "_bulk_runner.py"
DEFAULT_VENV = ROOT / ".benchmarks-venv" / "drb"
PRIOR_ART = ["django-redshift-backend==5.0.0", "Django>=5.1,<5.2", "psycopg2-binary"]


def prior_art_python(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} with {' '.join(PRIOR_ART)}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PRIOR_ART], check=True)
    return python


def version_of(python: Path, package: str) -> str:
    out = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({package!r}))"],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() or "?"


def run_one(
    emu: Any, python: Path, engine: str, database: str, rows: int, options: dict[str, Any]
) -> dict[str, Any]:
    emu.reset_stats()
    proc = subprocess.run(
        [
            str(python),
            str(RUNNER),
            *("--engine", engine, "--host", emu.host, "--port", str(emu.port)),
            *("--user", emu.admin_user),
            *("--name", database, "--rows", str(rows), "--options", json.dumps(options)),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)} if python == Path(sys.executable) else None,
    )
    stats = emu.stats()
    try:
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        result = {"error": f"runner failed (exit {proc.returncode}): {proc.stderr[-1500:]}"}
    # Statements and round trips of the whole run (CREATE TABLE, bulk_create, COUNT).
    result["emulator_statements"] = stats["statements"]
    result["emulator_round_trips"] = stats["round_trips"]
    return result


def _in(url: str, database: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="10,000 rows instead of 100,000")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--upstream", default=os.environ.get("REDSHIFT_TEST_UPSTREAM"))
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument(
        "--repeat", type=int, default=None, help="interleaved runs per way (default 3, quick 1)"
    )
    args = parser.parse_args()
    with ExitStack() as stack:
        if not args.upstream:
            # No server given: an embedded PostgreSQL for this run (as the tests do).
            from redshift_async_backend.emulator.upstream import EmbeddedPostgres

            args.upstream = stack.enter_context(EmbeddedPostgres()).url
        run_all(args)


def run_all(args: argparse.Namespace) -> None:
    rows = args.rows or (10_000 if args.quick else 100_000)
    repeat = args.repeat or (1 if args.quick else 3)

    import psycopg

    from redshift_async_backend.emulator import Emulator

    drb_python = prior_art_python(args.venv)
    ours_python = Path(sys.executable)
    ways = [
        ("django-redshift-backend 5.0.0", drb_python, "django_redshift_backend", {}),
        ("ours (psycopg)", ours_python, "redshift_async_backend", {}),
        (
            "ours (redshift_connector)",
            ours_python,
            "redshift_async_backend",
            {"driver": "redshift_connector", "sslmode": "disable"},
        ),
    ]
    databases = [f"bench_bulk_{i}" for i in range(len(ways))]
    with psycopg.connect(args.upstream, autocommit=True) as admin:
        for name in databases:
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
            admin.execute(f"CREATE DATABASE {name}")
    load_before = os.getloadavg()
    results: dict[str, Any] = {
        "rows": rows,
        "model": "AutoField pk, CharField(40), IntegerField, DecimalField(12, 2), DateTimeField",
        "prior_art": {
            "django_redshift_backend": version_of(drb_python, "django-redshift-backend"),
            "django": version_of(drb_python, "django"),
            "psycopg2": version_of(drb_python, "psycopg2-binary"),
        },
        "ours_django": version_of(ours_python, "django"),
        "repeat": repeat,
        "runs": {},
    }
    with Emulator(upstream=args.upstream) as emu:
        samples: dict[str, list[dict[str, Any]]] = {label: [] for label, *_ in ways}
        # Interleaved, so that load from elsewhere on the machine hits every way alike;
        # each way's figure is its median run.
        for attempt in range(repeat):
            for (label, python, engine, options), database in zip(ways, databases, strict=True):
                print(f"{label}: {rows} rows, run {attempt + 1}/{repeat} ...", flush=True)
                with psycopg.connect(_in(args.upstream, database), autocommit=True) as db:
                    db.execute("DROP TABLE IF EXISTS bulkbench_bulkrow")
                samples[label].append(run_one(emu, python, engine, database, rows, options))
        for label, runs in samples.items():
            ok = sorted((r for r in runs if "rows_per_s" in r), key=lambda r: r["rows_per_s"])
            best = ok[len(ok) // 2] if ok else runs[-1]
            results["runs"][label] = {
                **best,
                "all_rows_per_s": [r.get("rows_per_s") for r in runs],
            }
    with psycopg.connect(args.upstream, autocommit=True) as admin:
        for name in databases:
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
    results["load_average"] = {"before": load_before, "after": os.getloadavg()}
    results["run"] = run_info(
        load_before,
        quick=args.quick,
        packages=("django", "psycopg", "redshift-connector", "pglast"),
    )
    prior = results["runs"]["django-redshift-backend 5.0.0"].get("rows_per_s")
    for run in results["runs"].values():
        rate = run.get("rows_per_s")
        run["vs_prior_art"] = round(rate / prior, 3) if rate and prior else None
    print_table(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


def print_table(results: dict[str, Any]) -> None:
    print(
        f"\n| bulk_create({results['rows']:,} rows) | seconds | rows/s | vs prior art "
        "| pks set | emulator round trips | rows/s of each run |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    for label, r in results["runs"].items():
        if "error" in r:
            print(f"| {label} | error: {r['error'][:200]} | | | | | |")
            continue
        print(
            f"| {label} | {r['seconds']} | {r['rows_per_s']:,} | {r['vs_prior_art']} "
            f"| {r['pks_set']:,} | {r['emulator_round_trips']} "
            f"| {', '.join(f'{x:,}' for x in r['all_rows_per_s'] if x)} |"
        )
    print(f"\nload average: {results['load_average']}")


if __name__ == "__main__":
    main()
