"""The async pool registry: one AsyncConnectionPool per alias per event loop."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import psycopg
import pytest
from django.db import connections

from pool import AsyncConnectionPool, to_thread_connect
from redshift_async_backend import pooling
from redshift_async_backend.emulator import Emulator
from tests.backend.test_pool import MakeAlias, make_alias, own_emulator  # noqa: F401

pytestmark = pytest.mark.integration


def conninfo(alias: str) -> dict[str, Any]:
    sd = connections.settings[alias]
    return {
        "host": sd["HOST"],
        "port": sd["PORT"],
        "user": sd["USER"],
        "password": sd["PASSWORD"] or None,
        "dbname": sd["NAME"],
        "autocommit": True,
    }


def aconnect_for(alias: str) -> Callable[[], Awaitable[Any]]:
    async def aconnect() -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(**conninfo(alias))

    return aconnect


async def pid(conn: Any) -> int:
    cur = await conn.execute("SELECT pg_backend_pid()")
    row = await cur.fetchone()
    return int(row[0])


def registered() -> int:
    return sum(len(pools) for pools in pooling._async_pools.values())


def test_one_async_pool_per_alias_per_loop(make_alias: MakeAlias) -> None:  # noqa: F811
    alias = make_alias({"max_size": 2, "min_size": 0})
    pools: list[AsyncConnectionPool] = []

    async def main() -> None:
        pool = await pooling.get_async_pool(alias, aconnect_for(alias))
        assert isinstance(pool, AsyncConnectionPool)
        assert await pooling.get_async_pool(connections[alias]) is pool  # wrapper or alias
        pids: set[int] = set()

        async def work() -> None:
            for _ in range(5):
                async with pool.connection() as conn:
                    pids.add(await pid(conn))

        async with anyio.create_task_group() as tg:
            for _ in range(6):
                tg.start_soon(work)
        assert 1 <= len(pids) <= 2
        stats = pool.get_stats()
        assert stats["requests_num"] == 30
        assert stats["connections_num"] <= 2
        pools.append(pool)

    asyncio.run(main())
    asyncio.run(main())
    first, second = pools
    assert first is not second  # a new loop, a new pool
    # asyncio.run() cancelled the pool's task at the end of each loop: both are closed.
    assert first.closed and second.closed
    assert first.get_stats()["pool_size"] == 0
    assert registered() == 0


def test_concurrent_first_calls_build_one_pool(make_alias: MakeAlias) -> None:  # noqa: F811
    alias = make_alias({"max_size": 1, "min_size": 0})

    async def main() -> None:
        pools = await asyncio.gather(
            *(pooling.get_async_pool(alias, aconnect_for(alias)) for _ in range(5))
        )
        assert len({id(p) for p in pools}) == 1

    asyncio.run(main())


def test_trio_pool_with_a_blocking_connect(make_alias: MakeAlias) -> None:  # noqa: F811
    alias = make_alias({"max_size": 2, "min_size": 1})
    seen: list[AsyncConnectionPool] = []

    async def main() -> None:
        connect = to_thread_connect(lambda: psycopg.connect(**conninfo(alias)))
        pool = await pooling.get_async_pool(alias, connect)
        assert pool is not None
        async with pool.connection() as conn:
            row = await anyio.to_thread.run_sync(
                lambda: conn.execute("SELECT pg_backend_pid()").fetchone()
            )
            assert row[0] > 0
        seen.append(pool)

    anyio.run(main, backend="trio")
    # trio cancels system tasks when the run ends: the pool closed with its loop.
    assert seen[0].closed
    assert registered() == 0


def test_pool_of_a_loop_closed_without_cleanup_is_forgotten(
    make_alias: MakeAlias,  # noqa: F811
) -> None:
    alias = make_alias({"max_size": 1, "min_size": 0})
    loop = asyncio.new_event_loop()
    pool = loop.run_until_complete(pooling.get_async_pool(alias, aconnect_for(alias)))
    assert pool is not None
    loop.close()  # the pool's task never ran its cleanup
    assert registered() == 1

    async def other() -> None:
        await pooling.get_async_pool(alias, aconnect_for(alias))

    asyncio.run(other())
    assert registered() == 0
    del loop
    gc.collect()


def test_aclose_async_pool_and_close_pool(make_alias: MakeAlias) -> None:  # noqa: F811
    alias = make_alias({"max_size": 1, "min_size": 1})

    async def main() -> None:
        pool = await pooling.get_async_pool(alias, aconnect_for(alias))
        assert pool is not None
        await pooling.aclose_async_pool(alias)
        assert pool.closed
        again = await pooling.get_async_pool(alias, aconnect_for(alias))
        assert again is not pool and again is not None
        connections[alias].close_pool()  # retires the async pools too, on their loops
        await anyio.sleep(0.05)
        assert again.closed
        assert registered() == 0

    asyncio.run(main())


def test_async_pool_off_and_missing_connect(make_alias: MakeAlias) -> None:  # noqa: F811
    off = make_alias(False)
    on = make_alias(True)

    async def main() -> None:
        assert await pooling.get_async_pool(off, aconnect_for(off)) is None
        with pytest.raises(TypeError, match="pass aconnect"):
            await pooling.get_async_pool(on)

    asyncio.run(main())


def test_async_broken_connection_is_discarded(
    make_alias: MakeAlias,  # noqa: F811
    own_emulator: Emulator,  # noqa: F811
) -> None:
    alias = make_alias({"max_size": 1, "min_size": 1}, own_emulator)

    async def main() -> None:
        pool = await pooling.get_async_pool(alias, aconnect_for(alias))
        assert pool is not None
        with pytest.raises(psycopg.OperationalError):
            async with pool.connection() as conn:
                await pid(conn)
                own_emulator.kill_all()  # mid-use
                await pid(conn)
        assert pool.get_stats()["returns_bad"] == 1  # closed, not kept
        async with pool.connection() as conn:  # the next request works
            assert await pid(conn) > 0
        assert pool.get_stats()["connections_num"] == 2

    asyncio.run(main())
