"""The backend's pools under faults and cancellation, on both drivers (issue #15).

An emulator of each test's own (on a fixed port, so it can be restarted) kills sessions or
goes away; sessions are counted on the upstream PostgreSQL by their application_name.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from django.db import Error, OperationalError, connections

from pool import PoolTimeout
from redshift_async_backend import aio, pooling
from redshift_async_backend.emulator import Emulator
from tests.backend.test_pool import MakeAlias, make_alias  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

DRIVERS = ["psycopg", "redshift_connector"]


class Restartable:
    """An emulator that can go away and come back on the same port."""

    def __init__(self, upstream: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.upstream = upstream
        self.emu = Emulator(upstream=upstream, port=self.port).start()

    def restart(self) -> None:
        self.emu.stop()
        self.emu = Emulator(upstream=self.upstream, port=self.port).start()


@pytest.fixture
def restartable(emulator: Any) -> Iterator[Restartable]:
    box = Restartable(emulator.upstream_url)
    yield box
    box.emu.stop()


@pytest.fixture
def app() -> str:
    """The application_name of the test's sessions."""
    return f"faults-{uuid.uuid4().hex[:8]}"


def sessions(upstream: str, app: str) -> list[str]:
    """The states of the upstream sessions opened under ``app``."""
    with psycopg.connect(upstream, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT state FROM pg_stat_activity WHERE application_name = %s", [app]
        ).fetchall()
    return [str(r[0]) for r in rows]


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def pooled_alias(make_alias: MakeAlias, emu: Emulator, driver: str, app: str, **pool: Any) -> str:  # noqa: F811
    return make_alias(
        {"min_size": 0, "max_size": 2, "timeout": 5, **pool},
        emu,
        OPTIONS={"driver": driver, "application_name": app},
    )


# -- 7. a connection that failed with a connection-level error never goes back ----------


@pytest.mark.parametrize("driver", DRIVERS)
def test_async_pool_discards_dead_connections_after_kill_and_restart(
    make_alias: MakeAlias,  # noqa: F811
    restartable: Restartable,
    driver: str,
    app: str,
) -> None:
    alias = pooled_alias(make_alias, restartable.emu, driver, app)

    async def query() -> Any:
        async with aio.connection(alias) as conn:
            return await conn.fetchone("SELECT 1")

    async def requests(n: int) -> list[bool]:
        outcome = []
        for _ in range(n):
            try:
                outcome.append(tuple(await query()) == (1,))
            except Error:
                outcome.append(False)
        return outcome

    async def main() -> None:
        await asyncio.gather(query(), query())  # both pooled connections open
        restartable.emu.kill_all()
        outcome = await requests(6)
        # At most one failure per dead pooled connection, then every request works.
        assert outcome.count(False) <= 2 and outcome[-3:] == [True] * 3, outcome
        await asyncio.gather(query(), query())
        restartable.restart()
        outcome = await requests(6)
        assert outcome.count(False) <= 2 and outcome[-3:] == [True] * 3, outcome

    asyncio.run(main())


@pytest.mark.parametrize("driver", DRIVERS)
def test_sync_pool_discards_dead_connections_after_kill_and_restart(
    make_alias: MakeAlias,  # noqa: F811
    restartable: Restartable,
    driver: str,
    app: str,
) -> None:
    alias = pooled_alias(make_alias, restartable.emu, driver, app)
    wrapper = connections[alias]

    def request() -> bool:
        try:
            with wrapper.cursor() as cursor:
                cursor.execute("SELECT 1")
                return tuple(cursor.fetchone()) == (1,)
        except Error:
            return False
        finally:
            wrapper.close()  # the end of a request: back to the pool

    assert request()
    restartable.emu.kill_all()
    outcome = [request() for _ in range(5)]
    assert outcome.count(False) <= 2 and outcome[-3:] == [True] * 3, outcome
    restartable.restart()
    outcome = [request() for _ in range(5)]
    assert outcome.count(False) <= 2 and outcome[-3:] == [True] * 3, outcome


# -- 8. the same exception types on both faces --------------------------------------------


@pytest.mark.parametrize("driver", DRIVERS)
def test_async_pool_timeout_is_djangos_operational_error(
    make_alias: MakeAlias,  # noqa: F811
    restartable: Restartable,
    driver: str,
    app: str,
) -> None:
    alias = pooled_alias(make_alias, restartable.emu, driver, app, max_size=1, timeout=0.3)

    async def other_task() -> None:
        async with aio.connection(alias) as conn:
            await conn.fetchone("SELECT 1")

    async def main() -> None:
        async with aio.connection(alias) as conn:
            await conn.fetchone("SELECT 1")
            # A child task borrows its own connection: there is none to give.
            with pytest.raises(OperationalError, match="couldn't get a connection") as info:
                await asyncio.create_task(other_task())
        causes = []
        exc: BaseException | None = info.value
        while exc is not None:
            causes.append(exc)
            exc = exc.__cause__
        assert any(isinstance(e, PoolTimeout) for e in causes)

    asyncio.run(main())
    # The sync face raises the same type.
    wrapper = connections[alias]
    wrapper.ensure_connection()
    other = type(wrapper)(wrapper.settings_dict, alias)
    try:
        with pytest.raises(OperationalError, match="couldn't get a connection"):
            other.ensure_connection()
    finally:
        other.close()
        wrapper.close()


# -- asyncio's own cancellation at random points, 1,000 times ----------------------------


async def _client(alias: str, n: int) -> None:
    async with aio.connection(alias) as conn:
        await conn.execute("BEGIN")
        await conn.fetchone("SELECT 1")
        if n % 3:
            await conn.execute("COMMIT")  # else left open: the return rolls it back


async def _cancelled(alias: str, rnd: random.Random, n: int) -> None:
    delay = rnd.uniform(0, 0.006)
    if rnd.random() < 0.5:
        try:
            async with asyncio.timeout(delay):
                await _client(alias, n)
        except TimeoutError:
            pass
    else:
        task = asyncio.ensure_future(_client(alias, n))
        await asyncio.sleep(delay)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.mark.slow
@pytest.mark.parametrize("driver", DRIVERS)
def test_native_cancellation_anywhere_loses_no_connection(
    make_alias: MakeAlias,  # noqa: F811
    restartable: Restartable,
    driver: str,
    app: str,
) -> None:
    alias = pooled_alias(make_alias, restartable.emu, driver, app, min_size=2, max_size=4)
    upstream = restartable.upstream
    rnd = random.Random(15)
    generations, per_generation, at_once = 5, 200, 8

    async def generation() -> None:
        # Acquire, use and return, cancelled at random points ...
        for start in range(0, per_generation, at_once):
            await asyncio.gather(*(_cancelled(alias, rnd, start + i) for i in range(at_once)))
        entry = pooling._async_pools[asyncio.get_running_loop()][alias]
        p = entry.pool
        # ... then every connection is accounted for: the pool's count and the server's
        # agree, and none of them sits in a transaction.
        for _ in range(500):
            stats = p.get_stats()
            states = await asyncio.to_thread(sessions, upstream, app)
            if stats["pool_available"] == stats["pool_size"] == len(states):
                break
            await asyncio.sleep(0.02)
        assert stats["requests_waiting"] == 0
        assert stats["pool_available"] == stats["pool_size"] == len(states), (stats, states)
        assert "idle in transaction" not in states, states
        # The close, with the pool's task cancelled at a random point of it (as the end
        # of asyncio.run() cancels it), still closes them all.
        entry.stop.set()
        await asyncio.sleep(rnd.uniform(0, 0.003))
        entry.task.cancel()
        await entry.done.wait()
        assert p.closed
        await asyncio.to_thread(wait_for, lambda: sessions(upstream, app) == [])

    async def main() -> None:
        for _ in range(generations):
            await generation()

    asyncio.run(main())
