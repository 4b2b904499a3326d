"""A PgBouncer (transaction pooling) in front of an emulator, for the multi-process tests
(``tests/backend/test_pool_pgbouncer.py``; the fixture needs tests/backend's fixtures).

``pgbouncer`` (function scope) writes its own config in a temporary directory, starts
``/usr/sbin/pgbouncer`` (or whichever ``pgbouncer`` is on PATH) on a free loopback port in
front of a dedicated emulator (on the session's PostgreSQL), waits until it accepts
connections, and stops it afterwards (:mod:`.process`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from redshift_async_backend.emulator import Emulator

from .process import PGBOUNCER, PgBouncerError, read_log, run_pgbouncer

#: Server connections PgBouncer may open per (database, user) pair.
SERVER_POOL_SIZE = 2


@dataclass
class PgBouncer:
    host: str
    port: int
    emulator: Emulator
    directory: Path
    pool_size: int

    def admin(self, command: str) -> list[dict[str, Any]]:
        """Run a console command (SHOW POOLS, SHOW STATS...) on the admin database."""
        # The admin console speaks only the simple query protocol: a client-side cursor.
        with psycopg.connect(
            host=self.host,
            port=self.port,
            dbname="pgbouncer",
            user="postgres",
            autocommit=True,
            cursor_factory=psycopg.ClientCursor,
        ) as conn:
            cur = conn.execute(command)
            names = [d.name for d in cur.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def log(self) -> str:
        return read_log(self.directory)


@pytest.fixture
def pgbouncer(
    request: pytest.FixtureRequest,
    emulator: Any,
    django_db_setup: str,
) -> Iterator[PgBouncer]:
    """PgBouncer in transaction pooling mode with SERVER_POOL_SIZE server connections;
    parametrize it indirectly with ``(pool_mode, pool_size)`` for another set-up."""
    if PGBOUNCER is None:
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    pool_mode, pool_size = getattr(request, "param", ("transaction", SERVER_POOL_SIZE))
    with Emulator(upstream=emulator.upstream_url) as emu, tempfile.TemporaryDirectory() as tmp:
        yield from _run_pgbouncer(emu, Path(tmp), pool_mode, pool_size)


def _run_pgbouncer(
    emu: Emulator, directory: Path, pool_mode: str, pool_size: int
) -> Iterator[PgBouncer]:
    try:
        with run_pgbouncer(
            emu.host, emu.port, directory, pool_mode=pool_mode, pool_size=pool_size
        ) as (port, _pid):
            yield PgBouncer("127.0.0.1", port, emu, directory, pool_size)
    except PgBouncerError as exc:
        pytest.fail(str(exc))
