"""Hazards found by running psycopg_pool's own test suite against ``pool`` (issue #15).

Every test uses real connections: psycopg 3 and redshift_connector through an emulator of
this module's own (its latency and fault injection slow down or kill sessions without
disturbing other tests). Sessions are counted on the upstream PostgreSQL by their
``application_name``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import anyio.to_thread
import psycopg
import pytest
import redshift_connector

from pool import (
    AsyncConnectionPool,
    AsyncPsycopgAdapter,
    ConnectionPool,
    PoolTimeout,
    PsycopgAdapter,
    to_thread_connect,
)
from redshift_async_backend.emulator import Emulator

pytestmark = pytest.mark.integration

# Drivers as the async pool sees them: psycopg's AsyncConnection natively, psycopg's and
# redshift_connector's blocking connections through worker threads.
ASYNC_DRIVERS = ["psycopg-async", "psycopg-threads", "redshift_connector"]
THREADED_DRIVERS = ["psycopg-threads", "redshift_connector"]


@pytest.fixture(scope="module")
def hz_emulator(pool_pg_url: str) -> Iterator[Emulator]:
    with Emulator(upstream=pool_pg_url) as emu:
        yield emu


@pytest.fixture
def emu(hz_emulator: Emulator) -> Iterator[Emulator]:
    yield hz_emulator
    hz_emulator.latency_ms = 0
    hz_emulator.clear_faults()
    hz_emulator.resume()


@pytest.fixture
def app() -> str:
    return f"hz-{uuid.uuid4().hex[:10]}"


def sessions(emu: Emulator, app: str) -> list[tuple[int, str]]:
    """(pid, state) of the upstream sessions opened under ``app``."""
    with psycopg.connect(emu.upstream_url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pid, state FROM pg_stat_activity WHERE application_name = %s", [app]
        ).fetchall()
    return [(int(pid), str(state)) for pid, state in rows]


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def sync_connect(driver: str, emu: Emulator, app: str, **kw: Any) -> Callable[[], Any]:
    if driver == "redshift_connector":
        return lambda: redshift_connector.connect(
            host=emu.host, port=emu.port, database=emu.database, user=emu.admin_user,
            password="x", ssl=False, application_name=app,
        )  # fmt: skip
    return lambda: psycopg.connect(emu.url, application_name=app, **kw)


def async_connect(driver: str, emu: Emulator, app: str, **kw: Any) -> Any:
    if driver == "psycopg-async":

        async def aconnect() -> psycopg.AsyncConnection[Any]:
            return await psycopg.AsyncConnection.connect(emu.url, application_name=app, **kw)

        return aconnect
    return to_thread_connect(sync_connect(driver.removesuffix("-threads"), emu, app, **kw))


async def run(conn: Any, sql: str) -> list[Any]:
    """Run one statement on any of the drivers' connections; its rows (if any)."""
    if isinstance(conn, psycopg.AsyncConnection):
        cur = await conn.execute(sql)
        return await cur.fetchall() if cur.description else []

    def blocking() -> list[Any]:
        cursor = conn.cursor()
        cursor.execute(sql)
        rows = list(cursor.fetchall()) if cursor.description else []
        cursor.close()
        return rows

    return await anyio.to_thread.run_sync(blocking)


def in_transaction(conn: Any) -> bool:
    if isinstance(conn, psycopg.Connection | psycopg.AsyncConnection):
        return conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
    return bool(conn.in_transaction)


# -- 1. asyncio's own cancellation during the pool's cleanup ------------------------------


@pytest.mark.chaos
@pytest.mark.parametrize("how", ["asyncio.timeout", "Task.cancel"])
@pytest.mark.parametrize("driver", ASYNC_DRIVERS)
def test_native_cancel_during_return_keeps_the_connection(
    emu: Emulator, app: str, driver: str, how: str
) -> None:
    async def main() -> None:
        async with AsyncConnectionPool(
            async_connect(driver, emu, app), min_size=1, max_size=1, check=False
        ) as p:
            conn = await p.getconn()
            await run(conn, "BEGIN")
            await run(conn, "SELECT 1")
            assert in_transaction(conn)
            emu.latency_ms = 200  # the rollback on return takes 0.2 s
            if how == "asyncio.timeout":
                with pytest.raises(TimeoutError):
                    async with asyncio.timeout(0.05):
                        await p.putconn(conn)
            else:
                task = asyncio.ensure_future(p.putconn(conn))
                await asyncio.sleep(0.05)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            emu.latency_ms = 0
            # Not lost: the one connection comes back, rolled back.
            again = await p.getconn(timeout=5.0)
            assert again is conn and not in_transaction(again)
            await p.putconn(again)
            stats = p.get_stats()
            assert stats["pool_size"] == stats["pool_available"] == 1

    asyncio.run(main())
    wait_for(lambda: sessions(emu, app) == [])


@pytest.mark.chaos
@pytest.mark.parametrize("driver", ASYNC_DRIVERS)
def test_native_cancel_during_close_still_closes_every_connection(
    emu: Emulator, app: str, driver: str
) -> None:
    async def main() -> None:
        ready, go = asyncio.Event(), asyncio.Event()
        pools: list[AsyncConnectionPool] = []

        async def owner() -> None:
            async with AsyncConnectionPool(
                async_connect(driver, emu, app), min_size=4, max_size=4
            ) as p:
                await p.wait(10.0)
                pools.append(p)
                ready.set()
                await go.wait()
            # leaving the block closes the pool: cancelled in the middle of it

        task = asyncio.ensure_future(owner())
        await ready.wait()
        assert len(sessions(emu, app)) == 4
        go.set()
        await asyncio.sleep(0)  # the owner starts closing
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert pools[0].closed

    asyncio.run(main())
    # Every session ended; none left open for the server to time out.
    wait_for(lambda: sessions(emu, app) == [], timeout=3.0)


@pytest.mark.chaos
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("driver", THREADED_DRIVERS)
def test_cancel_scope_during_return_keeps_the_connection(
    emu: Emulator, app: str, driver: str, backend: str
) -> None:
    async def main() -> None:
        async with AsyncConnectionPool(
            async_connect(driver, emu, app),
            min_size=1,
            max_size=1,
            check=False,
        ) as p:
            conn = await p.getconn()
            await run(conn, "BEGIN")
            await run(conn, "SELECT 1")
            emu.latency_ms = 200
            with anyio.move_on_after(0.05) as scope:
                await p.putconn(conn)
                await anyio.sleep(1)  # the scope's cancellation is delivered after
            assert scope.cancelled_caught
            emu.latency_ms = 0
            again = await p.getconn(timeout=5.0)
            assert again is conn and not in_transaction(again)
            await p.putconn(again)

    anyio.run(main, backend=backend)
    wait_for(lambda: sessions(emu, app) == [])


# -- 2. a reset that leaves a transaction open ------------------------------------------


def test_reset_leaving_a_transaction_discards_the_connection(emu: Emulator, app: str) -> None:
    # psycopg outside autocommit opens a transaction for RESET ALL; rolling that back
    # would undo the reset and hand the next borrower the previous one's settings.
    with ConnectionPool(
        sync_connect("psycopg", emu, app),
        min_size=1,
        max_size=1,
        check=False,
        reset=lambda conn: conn.execute("RESET ALL"),
    ) as p:
        with p.connection() as conn:
            conn.execute("SET search_path TO first_borrower")
            conn.commit()
        with p.connection() as conn2:
            assert conn2 is not conn
            assert conn2.execute("SHOW search_path").fetchone() != ("first_borrower",)
        assert p.get_stats()["returns_bad"] == 2  # both returns: RESET ALL opened a transaction
    wait_for(lambda: sessions(emu, app) == [])


def test_async_reset_leaving_a_transaction_discards_the_connection(emu: Emulator, app: str) -> None:
    async def reset(conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute("RESET ALL")

    async def main() -> None:
        async with AsyncConnectionPool(
            async_connect("psycopg-async", emu, app),
            min_size=1,
            max_size=1,
            check=False,
            reset=reset,
        ) as p:
            async with p.connection() as conn:
                await conn.execute("SET search_path TO first_borrower")
                await conn.commit()
            async with p.connection() as conn2:
                assert conn2 is not conn
                cur = await conn2.execute("SHOW search_path")
                assert await cur.fetchone() != ("first_borrower",)

    asyncio.run(main())
    wait_for(lambda: sessions(emu, app) == [])


def test_reset_in_autocommit_keeps_the_connection(emu: Emulator, app: str) -> None:
    def reset(conn: psycopg.Connection[Any]) -> None:
        conn.autocommit = True
        conn.execute("RESET ALL")

    with ConnectionPool(
        sync_connect("psycopg", emu, app), min_size=1, max_size=1, check=False, reset=reset
    ) as p:
        with p.connection() as conn:
            conn.autocommit = True
            conn.execute("SET search_path TO first_borrower")
        with p.connection() as conn2:
            assert conn2 is conn
            assert conn2.execute("SHOW search_path").fetchone() != ("first_borrower",)
        assert p.get_stats()["returns_bad"] == 0


# -- 3. a configure that leaves a transaction open ---------------------------------------


def test_configure_leaving_a_transaction_fails_the_attempt(
    emu: Emulator, app: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Rolling the transaction back would hand out a connection without its settings.
    caplog.set_level(logging.WARNING, logger="pool")
    with ConnectionPool(
        sync_connect("psycopg", emu, app),
        min_size=0,
        max_size=1,
        check=False,
        configure=lambda conn: conn.execute("SET search_path TO configured"),
    ) as p:
        with pytest.raises(PoolTimeout, match="configure left the connection in a transaction"):
            p.getconn(timeout=0.5)
        stats = p.get_stats()
        assert stats["connections_errors"] >= 1
        assert stats["connections_num"] == stats["connections_errors"]
    assert "configure left the connection in a transaction" in caplog.text
    wait_for(lambda: sessions(emu, app) == [])


def test_async_configure_leaving_a_transaction_fails_the_attempt(emu: Emulator, app: str) -> None:
    async def configure(conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute("SET search_path TO configured")

    async def main() -> None:
        async with AsyncConnectionPool(
            async_connect("psycopg-async", emu, app),
            min_size=0,
            max_size=1,
            check=False,
            configure=configure,
        ) as p:
            with pytest.raises(PoolTimeout, match="configure left the connection in a"):
                await p.getconn(timeout=0.5)
            assert p.get_stats()["connections_errors"] >= 1

    asyncio.run(main())
    wait_for(lambda: sessions(emu, app) == [])


def test_configure_that_commits_is_kept(emu: Emulator, app: str) -> None:
    def configure(conn: psycopg.Connection[Any]) -> None:
        conn.execute("SET search_path TO configured")
        conn.commit()

    with (
        ConnectionPool(
            sync_connect("psycopg", emu, app), min_size=0, max_size=1, check=False,
            configure=configure,
        ) as p,
        p.connection() as conn,
    ):  # fmt: skip
        assert conn.execute("SHOW search_path").fetchone() == ("configured",)


# -- 4. backoff after failed checks; a custom check sees every connection ---------------


def failing_check(conn: Any) -> None:
    raise RuntimeError("the check refuses every connection")


@pytest.mark.parametrize("callers", [1, 10])
def test_failed_checks_back_off_like_failed_connects(emu: Emulator, app: str, callers: int) -> None:
    attempts: list[float] = []
    connect = sync_connect("psycopg", emu, app)

    def counted() -> Any:
        attempts.append(time.monotonic())
        return connect()

    with ConnectionPool(counted, min_size=0, max_size=4, check=failing_check) as p:
        errors: list[BaseException] = []

        def caller() -> None:
            try:
                p.getconn(timeout=1.0)
            except BaseException as exc:
                errors.append(exc)

        import threading

        threads = [threading.Thread(target=caller) for _ in range(callers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert len(errors) == callers and all(isinstance(e, PoolTimeout) for e in errors)
        assert "health check" in str(errors[0])
    # Backoff from 0.1 s, doubling, jittered down to half: at most 6 in a second, where
    # an immediate retry opened dozens.
    assert 2 <= len(attempts) <= 8, len(attempts)
    wait_for(lambda: sessions(emu, app) == [])


def test_custom_check_runs_on_a_brand_new_connection(emu: Emulator, app: str) -> None:
    checked: list[Any] = []
    with ConnectionPool(
        sync_connect("psycopg", emu, app), min_size=0, max_size=1, check=checked.append
    ) as p:
        with p.connection() as conn:
            pass
        with p.connection():
            pass
    assert checked == [conn, conn]


# -- 5. housekeeping before the first connection -----------------------------------------


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_outage_at_start_logs_the_connect_failure_not_a_crash(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="pool")
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/postgres"
    for check in (None, False):
        caplog.clear()
        with ConnectionPool(
            lambda: psycopg.connect(url, connect_timeout=2),
            min_size=1,
            max_idle=0.04,  # housekeeping every 10 ms
            check=check,
            reconnect_delay=0.05,
        ):
            time.sleep(0.3)
        assert "connection attempt failed (OperationalError)" in caplog.text
        assert "housekeeping failed" not in caplog.text
        assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)


def test_async_outage_at_start_logs_the_connect_failure_not_a_crash(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="pool")
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/postgres"

    async def aconnect() -> Any:
        return await psycopg.AsyncConnection.connect(url, connect_timeout=2)

    async def main() -> None:
        async with AsyncConnectionPool(aconnect, min_size=1, max_idle=0.04, reconnect_delay=0.05):
            await asyncio.sleep(0.3)

    asyncio.run(main())
    assert "connection attempt failed (OperationalError)" in caplog.text
    assert "housekeeping failed" not in caplog.text
    assert not any(r.exc_info for r in caplog.records)


# -- 6. adapters chosen by what the connection is ----------------------------------------


class AppConnection(psycopg.AsyncConnection[Any]):
    """A user's own subclass, defined outside psycopg's modules."""


def test_subclass_of_async_connection_gets_the_async_adapter(emu: Emulator, app: str) -> None:
    async def aconnect() -> AppConnection:
        return await AppConnection.connect(emu.url, application_name=app)

    async def main() -> None:
        async with AsyncConnectionPool(aconnect, min_size=1, max_size=1, check=False) as p:
            async with p.connection() as conn:
                assert isinstance(conn, AppConnection)
                await conn.execute("CREATE TEMP TABLE hz_sub (n int)")
                await conn.commit()
                await conn.execute("INSERT INTO hz_sub VALUES (1)")  # never committed
            async with p.connection() as conn2:
                assert conn2 is conn
                assert not in_transaction(conn2)
                cur = await conn2.execute("SELECT count(*) FROM hz_sub")
                assert await cur.fetchone() == (0,)
                await conn2.execute("BEGIN")  # left open: the pool's close must end it
            assert sessions(emu, app)[0][1] == "idle"

    asyncio.run(main())
    wait_for(lambda: sessions(emu, app) == [])


def test_a_sync_adapter_on_an_async_connection_is_refused(emu: Emulator, app: str) -> None:
    async def main() -> None:
        async with AsyncConnectionPool(
            async_connect("psycopg-async", emu, app),
            adapter=PsycopgAdapter(),  # the sync one, by mistake
            min_size=0,
            max_size=1,
            check=False,
        ) as p:
            with pytest.raises(PoolTimeout, match="async connection"):
                await p.getconn(timeout=0.5)

    asyncio.run(main())
    wait_for(lambda: sessions(emu, app) == [])


def test_the_sync_pool_refuses_an_async_connection(emu: Emulator, app: str) -> None:
    loop = asyncio.new_event_loop()
    made: list[Any] = []

    def connect() -> Any:
        conn = loop.run_until_complete(
            psycopg.AsyncConnection.connect(emu.url, application_name=app)
        )
        made.append(conn)
        return conn

    try:
        with (
            ConnectionPool(connect, min_size=0, max_size=1, check=False) as p,
            pytest.raises(PoolTimeout, match="async connection"),
        ):
            p.getconn(timeout=0.5)
        assert made
    finally:
        for conn in made:  # a programming error: the pool cannot await their close
            loop.run_until_complete(conn.close())
        loop.close()


def test_explicit_async_adapter_still_works(emu: Emulator, app: str) -> None:
    async def main() -> None:
        async with AsyncConnectionPool(
            async_connect("psycopg-async", emu, app),
            adapter=AsyncPsycopgAdapter(),
            min_size=1,
            max_size=1,
            check=False,
        ) as p:
            async with p.connection() as conn:
                await conn.execute("BEGIN")
            assert not in_transaction(conn)

    asyncio.run(main())


# -- 9. statistics with psycopg_pool's meanings ------------------------------------------


def test_stats_count_attempts_failed_waits_and_errors(emu: Emulator, app: str) -> None:
    emu.pause(refuse=True)  # the first attempts are refused (FATAL 57P03)
    with ConnectionPool(
        sync_connect("psycopg", emu, app), min_size=1, max_size=1, check=False,
        reconnect_delay=0.02, reconnect_max_delay=0.05,
    ) as p:  # fmt: skip
        wait_for(lambda: p.get_stats()["connections_errors"] >= 2)
        emu.resume()
        p.wait(10.0)
        stats = p.get_stats()
        # connections_num counts attempts, as psycopg_pool's does.
        assert stats["connections_num"] == stats["connections_errors"] + 1
        held = p.getconn()
        with pytest.raises(PoolTimeout):
            p.getconn(timeout=0.2)
        stats = p.get_stats()
        assert stats["requests_errors"] == 1
        assert stats["requests_wait_ms"] >= 150  # the timed-out wait is counted
        p.putconn(held)


def test_stats_count_a_cancelled_wait_as_a_request_error(emu: Emulator, app: str) -> None:
    async def main() -> None:
        async with AsyncConnectionPool(
            async_connect("psycopg-async", emu, app), min_size=1, max_size=1, check=False
        ) as p:
            held = await p.getconn()
            with anyio.move_on_after(0.1):
                await p.getconn()
            stats = p.get_stats()
            assert stats["requests_errors"] == 1
            assert stats["requests_wait_ms"] >= 80
            await p.putconn(held)

    asyncio.run(main())
