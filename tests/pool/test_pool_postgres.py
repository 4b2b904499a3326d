"""The pool with real psycopg 3 connections to a real PostgreSQL server."""

from __future__ import annotations

import random
import threading
import uuid
from typing import Any

import anyio
import psycopg
import pytest

from pool import AsyncConnectionPool, ConnectionPool, to_thread_connect

pytestmark = pytest.mark.integration


@pytest.fixture
def app_name() -> str:
    return f"pooltest-{uuid.uuid4().hex[:10]}"


def backends(url: str, app_name: str) -> list[int]:
    with psycopg.connect(url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", [app_name]
        ).fetchall()
    return [r[0] for r in rows]


def terminate(url: str, app_name: str) -> int:
    with psycopg.connect(url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            [app_name],
        ).fetchall()
    return len(rows)


def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


@pytest.mark.chaos
def test_terminated_backends_are_detected_and_replaced(pool_pg_url: str, app_name: str) -> None:
    with ConnectionPool(
        lambda: psycopg.connect(pool_pg_url, application_name=app_name, autocommit=True),
        min_size=3,
        max_size=3,
        check_bypass=0.0,
        reconnect_delay=0.01,
    ) as p:
        p.wait(10.0)
        old = set(backends(pool_pg_url, app_name))
        assert terminate(pool_pg_url, app_name) == 3
        wait_for(lambda: not backends(pool_pg_url, app_name))
        with p.connection(timeout=10.0) as conn:
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        assert pid not in old
        stats = p.get_stats()
        assert stats["connections_lost"] == 1  # one failed check retired the rest
        wait_for(lambda: len(backends(pool_pg_url, app_name)) == 3)


@pytest.mark.chaos
def test_without_checks_a_dead_connection_is_discarded_after_its_error(
    pool_pg_url: str, app_name: str
) -> None:
    with ConnectionPool(
        lambda: psycopg.connect(pool_pg_url, application_name=app_name),
        min_size=1,
        max_size=1,
        check=False,
        reconnect_delay=0.01,
    ) as p:
        p.wait(10.0)
        terminate(pool_pg_url, app_name)
        with pytest.raises(psycopg.OperationalError), p.connection() as conn:
            conn.execute("SELECT 1")
        assert conn.closed
        with p.connection(timeout=10.0) as conn2:
            assert conn2.execute("SELECT 1").fetchone() == (1,)


def test_rollback_on_return_with_real_transactions(pool_pg_url: str, app_name: str) -> None:
    with ConnectionPool(
        lambda: psycopg.connect(pool_pg_url, application_name=app_name), min_size=1, max_size=1
    ) as p:
        with p.connection() as conn:
            conn.execute("CREATE TEMP TABLE t (x int)")
            conn.commit()
            conn.execute("INSERT INTO t VALUES (1)")  # never committed
        with pytest.raises(psycopg.errors.DivisionByZero), p.connection() as conn:
            conn.execute("SELECT 1/0")
        with p.connection() as conn:
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_threads_hammering(pool_pg_url: str, app_name: str) -> None:
    errors: list[BaseException] = []
    with ConnectionPool(
        lambda: psycopg.connect(pool_pg_url, application_name=app_name),
        min_size=2,
        max_size=4,
        timeout=30.0,
    ) as p:

        def worker(seed: int) -> None:
            rnd = random.Random(seed)
            try:
                for _ in range(50):
                    with p.connection() as conn:
                        conn.execute("SELECT 1")
                        if rnd.random() < 0.2:
                            conn.commit()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        stats = p.get_stats()
        assert stats["requests_num"] == 600 and stats["requests_waiting"] == 0
        assert stats["pool_available"] == stats["pool_size"] <= 4
        assert len(backends(pool_pg_url, app_name)) == stats["pool_size"]


async def cancellation_storm(p: AsyncConnectionPool, run_query: Any) -> dict[str, int]:
    rnd = random.Random(11)
    outcome = {"served": 0, "cancelled": 0}

    async def client() -> None:
        with anyio.move_on_after(rnd.uniform(0, 0.5)) as scope:
            async with p.connection() as conn:
                await run_query(conn)
            outcome["served"] += 1
        if scope.cancelled_caught:
            outcome["cancelled"] += 1

    async with anyio.create_task_group() as tg:
        for _ in range(1000):
            tg.start_soon(client)
    return outcome


@pytest.mark.chaos
@pytest.mark.anyio
async def test_async_cancellation_storm(
    pool_pg_url: str, app_name: str, anyio_backend: str
) -> None:
    if anyio_backend == "asyncio":
        # psycopg's AsyncConnection: native asyncio.
        async def connect() -> Any:
            return await psycopg.AsyncConnection.connect(pool_pg_url, application_name=app_name)

        async def run_query(conn: Any) -> None:
            await conn.execute("SELECT pg_sleep(0.001)")

    else:
        # psycopg's AsyncConnection is asyncio-only: on trio, sync connections in threads.
        connect = to_thread_connect(lambda: psycopg.connect(pool_pg_url, application_name=app_name))

        async def run_query(conn: Any) -> None:
            await anyio.to_thread.run_sync(conn.execute, "SELECT pg_sleep(0.001)")

    async with AsyncConnectionPool(connect, min_size=4, max_size=4, timeout=30.0) as p:
        await p.wait(10.0)
        outcome = await cancellation_storm(p, run_query)
        assert outcome["served"] > 0 and outcome["cancelled"] > 0
        with anyio.fail_after(10):
            while p.get_stats()["pool_available"] != 4:
                await anyio.sleep(0.01)
        stats = p.get_stats()
        assert stats["requests_waiting"] == 0 and stats["pool_size"] == 4
        # Every client was served or cancelled; a client whose deadline passed before it
        # reached the pool never asked it, so requests can be fewer than clients.
        assert outcome["served"] + outcome["cancelled"] == 1000
        assert outcome["served"] <= stats["requests_num"] <= 1000
        # No connection leaked on the server side either.
        pids = await anyio.to_thread.run_sync(backends, pool_pg_url, app_name)
        assert len(pids) == 4
        async with p.connection() as conn:
            if anyio_backend == "asyncio":
                cur = await conn.execute("SELECT 1")
                assert await cur.fetchone() == (1,)
            else:
                row = await anyio.to_thread.run_sync(lambda: conn.execute("SELECT 1").fetchone())
                assert row == (1,)
