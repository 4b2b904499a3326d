"""AsyncConnectionPool against the fake driver, on asyncio and on trio."""

from __future__ import annotations

import random
from typing import Any

import anyio
import pytest

from pool import AsyncConnectionPool, ConnState, PoolClosed, PoolTimeout, to_thread_connect

pytestmark = [pytest.mark.unit, pytest.mark.anyio]


def make_pool(server: Any, aadapter: Any, fast: dict[str, Any], **kw: Any) -> AsyncConnectionPool:
    options = {"adapter": aadapter, "check": False, **fast, **kw}
    return AsyncConnectionPool(server.aconnect, **options)


async def wait_until(predicate: Any, timeout: float = 2.0) -> None:
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.002)


async def test_borrow_return_and_rollback(server: Any, aadapter: Any, fast: Any) -> None:
    async with make_pool(server, aadapter, fast, min_size=1, max_size=1) as p:
        async with p.connection() as conn:
            conn.execute("BEGIN")
        assert conn.status is ConnState.IDLE
        assert await p.getconn() is conn


async def test_timeout_not_earlier_and_nothing_lost(server: Any, aadapter: Any, fast: Any) -> None:
    async with make_pool(server, aadapter, fast, min_size=1, max_size=1) as p:
        conn = await p.getconn()
        t0 = anyio.current_time()
        with pytest.raises(PoolTimeout):
            await p.getconn(timeout=0.05)
        assert anyio.current_time() - t0 >= 0.05
        await p.putconn(conn)
        assert p.get_stats()["pool_available"] == 1


async def test_cancelled_waiter_leaves_the_queue(server: Any, aadapter: Any, fast: Any) -> None:
    async with make_pool(server, aadapter, fast, min_size=1, max_size=1) as p:
        conn = await p.getconn()
        with anyio.move_on_after(0.02) as scope:
            await p.getconn(timeout=5.0)
        assert scope.cancelled_caught  # a cancellation, not a PoolTimeout
        assert p.get_stats()["requests_waiting"] == 0
        await p.putconn(conn)
        assert p.get_stats()["pool_available"] == 1


async def test_connection_handed_to_a_cancelled_waiter_is_reclaimed(
    server: Any, aadapter: Any, fast: Any
) -> None:
    async with make_pool(server, aadapter, fast, min_size=1, max_size=1) as p:
        conn = await p.getconn()
        scope = anyio.CancelScope()
        got: list[Any] = []

        async def waiter() -> None:
            with scope:
                got.append(await p.getconn(timeout=5.0))

        async with anyio.create_task_group() as tg:
            tg.start_soon(waiter)
            await wait_until(lambda: p.get_stats()["requests_waiting"] == 1)
            # Hand the connection over and cancel the waiter before it can run.
            await p.putconn(conn)
            scope.cancel()
        assert got == [] and scope.cancelled_caught
        stats = p.get_stats()
        assert stats["pool_available"] == 1 and stats["pool_size"] == 1
        assert await p.getconn() is conn


async def test_cancelled_during_check_drops_the_connection_and_propagates(
    server: Any, aadapter: Any, fast: Any
) -> None:
    async with make_pool(
        server, aadapter, fast, min_size=1, max_size=1, check=None, check_bypass=0.0
    ) as p:
        await p.wait(1.0)
        first = server.conns[0]
        server.check_delay = 0.5
        with anyio.move_on_after(0.05) as scope:
            await p.getconn()
        assert scope.cancelled_caught
        server.check_delay = 0.0
        await wait_until(lambda: first.closed)
        conn = await p.getconn(timeout=1.0)
        assert conn is not first


async def test_cancelled_return_still_returns(server: Any, aadapter: Any, fast: Any) -> None:
    async with make_pool(server, aadapter, fast, min_size=1, max_size=1) as p:
        conn = await p.getconn()
        conn.execute("BEGIN")
        server.check_delay = 0.05  # the fake rollback takes 50 ms
        with anyio.CancelScope() as scope:
            scope.cancel()
            await p.putconn(conn)  # rollback is shielded
        server.check_delay = 0.0
        assert conn.status is ConnState.IDLE and not conn.closed
        assert p.get_stats()["pool_available"] == 1


async def test_cancelled_inside_a_block_mid_command_discards(
    server: Any, aadapter: Any, fast: Any
) -> None:
    async with make_pool(server, aadapter, fast, min_size=1, max_size=1) as p:
        # The scope is cancelled once the command is under way, however slow the acquire
        # was on a loaded machine (a fixed deadline could fire before the block began).
        with anyio.CancelScope() as scope:
            async with p.connection() as conn:
                conn.execute("START")
                scope.cancel()
                await anyio.sleep(1)
        await wait_until(lambda: conn.closed)  # closed in the background
        assert (await p.getconn(timeout=1.0)) is not conn


async def test_failed_check_invalidates_idle(server: Any, aadapter: Any, fast: Any) -> None:
    async with make_pool(
        server, aadapter, fast, min_size=3, max_size=3, check=None, check_bypass=0.0
    ) as p:
        await p.wait(1.0)
        server.restart()
        conn = await p.getconn(timeout=1.0)
        assert conn.serial > 3
        assert sum(c.checks for c in server.conns[:3]) == 1


async def test_reconnects_after_outage(server: Any, aadapter: Any, fast: Any) -> None:
    server.up = False
    async with make_pool(server, aadapter, fast, min_size=1, max_size=1) as p:
        with pytest.raises(PoolTimeout, match="FakeError"):
            await p.getconn(timeout=0.2)
        await wait_until(lambda: server.attempts >= 4)
        server.up = True
        assert await p.getconn(timeout=1.0) is not None


async def test_close_fails_waiters(server: Any, aadapter: Any, fast: Any) -> None:
    p = make_pool(server, aadapter, fast, min_size=1, max_size=1)
    errors: list[BaseException] = []
    async with p:
        conn = await p.getconn()

        async def waiter() -> None:
            try:
                await p.getconn(timeout=5.0)
            except PoolClosed as exc:
                errors.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(waiter)
            await wait_until(lambda: p.get_stats()["requests_waiting"] == 1)
            await p.close()
    assert len(errors) == 1
    await p.putconn(conn)  # returned after close: closed at once
    assert conn.closed
    with pytest.raises(PoolClosed):
        await p.getconn()


async def test_leak_and_keepalive(server: Any, aadapter: Any, fast: Any) -> None:
    async with make_pool(
        server, aadapter, fast, min_size=2, max_size=2, leak_timeout=0.05, keepalive=0.05
    ) as p:
        await p.wait(1.0)
        leaked = await p.getconn()
        server.conns[1].killed = True
        await wait_until(lambda: p.get_stats()["leaks"] == 1)
        await wait_until(lambda: p.get_stats()["connections_lost"] >= 1)
        await p.putconn(leaked)


async def test_cancellation_storm_leaves_every_connection_available(
    server: Any, aadapter: Any, fast: Any
) -> None:
    rnd = random.Random(7)
    async with make_pool(server, aadapter, fast, min_size=4, max_size=4, timeout=5.0) as p:
        await p.wait(1.0)

        async def client() -> None:
            with anyio.move_on_after(rnd.uniform(0, 0.005)):
                async with p.connection() as conn:
                    conn.execute("BEGIN")
                    await anyio.sleep(rnd.uniform(0, 0.002))

        async with anyio.create_task_group() as tg:
            for _ in range(1000):
                tg.start_soon(client)
        await wait_until(lambda: p.get_stats()["pool_available"] == 4)
        stats = p.get_stats()
        assert stats["requests_waiting"] == 0 and stats["pool_size"] == 4
        assert all(c.status is ConnState.IDLE for c in server.open_conns)


async def test_blocking_driver_through_worker_threads(server: Any, adapter: Any) -> None:
    # A sync adapter and a blocking connect, as with redshift_connector.
    async with AsyncConnectionPool(
        to_thread_connect(server.connect), adapter=adapter, min_size=1, max_size=2
    ) as p:
        async with p.connection() as conn:
            conn.execute("BEGIN")
        assert conn.status is ConnState.IDLE


async def test_not_open_and_bad_connect(server: Any, adapter: Any) -> None:
    p = AsyncConnectionPool(server.aconnect)
    with pytest.raises(PoolClosed, match="not open"):
        await p.getconn()
    async with AsyncConnectionPool(
        server.connect, adapter=adapter, min_size=1, reconnect_delay=0.01
    ) as bad:
        with pytest.raises(PoolTimeout, match="TypeError"):
            await bad.getconn(timeout=0.1)


def test_pool_built_outside_any_event_loop(server: Any, aadapter: Any, fast: Any) -> None:
    # Loop-bound objects are made in open(), so a pool can be built at import time
    # (before any loop exists) and used on either backend.
    for backend in ("asyncio", "trio"):
        p = make_pool(server, aadapter, fast, min_size=1, max_size=1)

        async def use(p: AsyncConnectionPool = p) -> bool:
            async with p, p.connection() as conn:
                return not conn.closed

        assert anyio.run(use, backend=backend)
