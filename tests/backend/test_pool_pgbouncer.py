"""Many app processes -> our pool -> PgBouncer (transaction pooling) -> emulator.

Each subprocess runs a small ORM workload (create, get, filter/count, update, delete,
a committed and a rolled-back transaction) in a few threads sharing its own pool; PgBouncer
multiplexes every process's client connections onto a few server connections.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from redshift_async_backend.drivers import get_driver
from tests.pgbouncer.harness import SERVER_POOL_SIZE, PgBouncer, pgbouncer  # noqa: F401
from tests.testapp.models import Item

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 3
THREADS = 2


def _setups() -> list[Any]:
    # psycopg: transaction pooling. redshift_connector prepares every statement and sends
    # Parse/Describe/Sync and then Bind/Execute/Sync: PgBouncer 1.18 may hand the second
    # half to another server connection ("prepared statement ... does not exist"), so it
    # runs behind session pooling, one server connection per client connection.
    setups = [pytest.param("psycopg", ("transaction", SERVER_POOL_SIZE), id="psycopg-transaction")]
    try:
        get_driver("redshift_connector")
    except Exception:  # the extra is not installed: psycopg only
        return setups
    session = ("session", PROCESSES * 2)
    return [*setups, pytest.param("redshift_connector", session, id="rc-session")]


def run_workers(bouncer: PgBouncer, settings_dict: dict[str, Any], driver: str) -> list[Any]:
    procs = []
    for n in range(PROCESSES):
        config = {
            "host": bouncer.host,
            "port": bouncer.port,
            "name": settings_dict["NAME"],
            "user": settings_dict["USER"] or "postgres",
            "password": settings_dict["PASSWORD"] or "",
            "driver": driver,
            "prefix": f"{driver[:2]}-p{n}",
            "threads": THREADS,
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.pgbouncer.worker", json.dumps(config)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, f"worker failed:\n{err}\n{bouncer.log()}"
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.mark.parametrize(("driver", "pgbouncer"), _setups(), indirect=["pgbouncer"])
def test_orm_smoke_set_through_pgbouncer_from_many_processes(
    pgbouncer: PgBouncer,  # noqa: F811
    settings_dict: dict[str, Any],
    transactional_db: None,
    driver: str,
) -> None:
    pgbouncer.emulator.reset_stats()
    results = run_workers(pgbouncer, settings_dict, driver)

    assert len({r["pid"] for r in results}) == PROCESSES
    for result in results:
        assert result["errors"] == [], result["errors"]
        stats = result["pool"]
        assert stats["requests_num"] >= THREADS * 14  # every request borrowed from our pool
        assert stats["connections_num"] <= 2  # each process: at most its max_size
        assert stats["returns_bad"] == 0
    # Every process's rows, exactly: 5 created - 1 deleted + 1 in a committed transaction.
    for n in range(PROCESSES):
        for t in range(THREADS):
            name = f"{driver[:2]}-p{n}-{t}"
            assert Item.objects.filter(name=name).count() == 5
            assert Item.objects.filter(name=name, kind="tx").count() == 1
            assert not Item.objects.filter(name=name, amount=200).exists()

    # Up to PROCESSES x 2 client connections; in transaction mode PgBouncer multiplexes
    # them onto at most its pool size of server connections to the (emulated) cluster.
    upstream = pgbouncer.emulator.stats()["connections"]
    assert 1 <= len(upstream) <= pgbouncer.pool_size
    (stats_row,) = [
        r for r in pgbouncer.admin("SHOW STATS") if r["database"] == settings_dict["NAME"]
    ]
    assert stats_row["total_xact_count"] >= PROCESSES * THREADS * 14
