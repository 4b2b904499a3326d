"""Async connections: the pool per alias per event loop, ``connection()`` and ``atomic()``.

A task that enters ``connection(alias)`` or ``atomic(alias)`` holds one async connection
for the block; every native query of that task on that alias (raw or ORM) runs on it. The
holding is recorded in a contextvar together with the task, so child tasks (which inherit
the context) borrow their own connection instead of sharing one mid-command.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from types import SimpleNamespace
from typing import Any

import anyio
import anyio.to_thread
import sniffio
from django.db import DEFAULT_DB_ALIAS, connections

from pool import PoolError, complete, to_thread_connect

from .. import pooling
from ..base import RedshiftErrorWrapper
from ..drivers import AsyncConnection, AsyncConnectionAdapter, AsyncResult, Driver

__all__ = ["Connection", "atomic", "connection"]

# Redshift: FETCH FORWARD takes at most 1000 rows on single-node clusters (DG:fetch).
MAX_FETCH = 1000


class Connection:
    """One async connection lent to a block: ``execute``/``fetchone``/``fetchall``/
    ``stream`` with Django's ``%s`` placeholders, errors mapped to ``django.db`` ones."""

    def __init__(self, alias: str, conn: AsyncConnection) -> None:
        self.alias = alias
        self.conn = conn
        self.atomic_depth = 0
        self._errors = _error_wrapper(conn.driver)
        # A blocking driver's statement runs in a worker thread, which a cancelled task
        # does not wait for (asyncio's cancellation returns at once): after that the
        # connection may still be busy, so it is closed rather than reused.
        self._threaded = type(conn).execute is AsyncConnection.execute
        self.interrupted = False

    def __repr__(self) -> str:
        return f"<aio.Connection alias={self.alias!r} driver={self.conn.driver.name!r}>"

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open on the server (an ``atomic()`` block, or a BEGIN
        sent through ``execute``)."""
        return self.conn.in_transaction

    async def run(self, sql: str, params: Sequence[Any] | None = None) -> AsyncResult:
        try:
            with self._errors:
                return await self.conn.execute(sql, params)
        except BaseException as exc:
            if self._threaded and not isinstance(exc, Exception):
                self.interrupted = True
            raise

    async def execute(self, sql: str, params: Sequence[Any] | None = None) -> int:
        """Run one statement (or several, ``;``-separated); the row count."""
        return (await self.run(sql, params)).rowcount

    async def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[Any]:
        return (await self.run(sql, params)).rows

    async def fetchone(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        rows = (await self.run(sql, params)).rows
        return rows[0] if rows else None

    async def stream(
        self, sql: str, params: Sequence[Any] | None = None, chunk_size: int = MAX_FETCH
    ) -> AsyncIterator[list[Any]]:
        """The rows of a SELECT in lists of at most ``chunk_size`` rows, read through a
        server-side cursor; memory stays bounded by one chunk."""
        async for rows in stream_rows(self, sql, params, chunk_size):
            yield rows


_cursor_counter = 0


async def stream_rows(
    conn: Connection, sql: str, params: Sequence[Any] | None, chunk_size: int
) -> AsyncIterator[list[Any]]:
    # Redshift: a cursor exists only inside a transaction block (DG:declare), so one is
    # opened here unless the caller has one. Rows are fetched FORWARD at most MAX_FETCH at
    # a time (DG:fetch).
    global _cursor_counter
    _cursor_counter += 1
    name = f"aio_cursor_{_cursor_counter}"
    fetch = min(chunk_size, MAX_FETCH)
    own = not conn.in_transaction
    if own:
        await conn.run("BEGIN")
    try:
        await conn.run(f"DECLARE {name} CURSOR FOR {sql}", params)
        rows: list[Any] = []
        while True:
            batch = (await conn.run(f"FETCH FORWARD {fetch} FROM {name}")).rows
            rows.extend(batch)
            if len(rows) >= chunk_size or (rows and len(batch) < fetch):
                yield rows
                rows = []
            if len(batch) < fetch:
                break
        if rows:
            yield rows
        await conn.run(f"CLOSE {name}")
        if own:
            await conn.run("COMMIT")
    except BaseException:
        if own:
            await _rollback_quietly(conn)
        raise


async def _rollback_quietly(conn: Connection) -> None:
    # To its end even if the task is cancelled: the connection leaves the transaction.
    # An interrupted connection is closed instead (its thread may still be running).
    if conn.interrupted:
        return
    with suppress(Exception):
        if conn.conn.state().value in ("intrans", "inerror"):
            await complete(conn.conn.execute, "ROLLBACK")


def _error_wrapper(driver: Any) -> RedshiftErrorWrapper:
    return RedshiftErrorWrapper(SimpleNamespace(Database=driver.Database, driver=driver))


def _unavailable(driver: Any, exc: PoolError) -> BaseException:
    """Django's OperationalError for a pool that has no connection to give, as the sync
    connections raise it (base.py ``_borrow``): ``except OperationalError`` catches both."""
    try:
        with _error_wrapper(driver):
            raise driver.Database.OperationalError(str(exc)) from exc
    except BaseException as mapped:
        return mapped
    raise AssertionError("unreachable")  # pragma: no cover


# -- borrowing -----------------------------------------------------------------------------


@dataclass
class _Held:
    conn: Connection
    task: int


_ADAPTER = AsyncConnectionAdapter()

_held: ContextVar[dict[str, _Held] | None] = ContextVar("redshift_aio_held", default=None)


def held(alias: str) -> Connection | None:
    """The connection the current task holds for ``alias`` (in a connection() block)."""
    current = _held.get()
    if not current:
        return None
    entry = current.get(alias)
    if entry is None or entry.task != anyio.get_current_task().id:
        return None
    return entry.conn


async def _open(driver: Driver, params: Any) -> AsyncConnection:
    """``driver.aconnect(params)``; a blocking driver's connect (redshift_connector, or
    psycopg off asyncio) runs through ``pool.to_thread_connect``, so that a connect whose
    task is cancelled meanwhile (the end of ``asyncio.run()`` cancels every task) is closed
    by its thread instead of being left open on the server."""
    if sniffio.current_async_library() == "asyncio" and type(driver).aconnect is not (
        Driver.aconnect
    ):
        return await driver.aconnect(params)
    raw = await to_thread_connect(partial(driver.connect, params))()
    raw.autocommit = True  # as Driver.aconnect: the async layer sends BEGIN/COMMIT itself
    return AsyncConnection(driver, raw)


def _aconnect_for(wrapper: Any) -> Callable[[], Awaitable[AsyncConnection]]:
    async def aconnect() -> AsyncConnection:
        params = wrapper.get_connection_params()
        if wrapper.redshift_options.iam is not None:
            # Fetching IAM credentials may call AWS: not on the event loop.
            params = await anyio.to_thread.run_sync(wrapper.login_params, params)
        conn = await _open(wrapper.driver, params)
        try:
            # As the sync connections: the session time zone (base.py _configure_timezone).
            zone = wrapper.timezone_name
            if zone and conn.parameter_status("TimeZone") != zone:
                await conn.execute(wrapper.ops.set_time_zone_sql(), [zone])
        except BaseException:
            with suppress(Exception):
                await complete(conn.close)
            raise
        return conn

    return aconnect


@asynccontextmanager
async def borrow(alias: str) -> AsyncIterator[Connection]:
    """The task's held connection for ``alias``, or one borrowed for this block (from the
    alias's async pool when ``OPTIONS["pool"]`` is on, else a new one closed after)."""
    current = held(alias)
    if current is not None:
        yield current
        return
    wrapper: Any = connections[alias]
    aconnect = _aconnect_for(wrapper)
    try:
        pool = await pooling.get_async_pool(wrapper, aconnect, adapter=_ADAPTER)
        conn: Any = await pool.getconn() if pool is not None else None
    except PoolError as exc:
        mapped = _unavailable(wrapper.driver, exc)
        raise mapped from mapped.__cause__
    if pool is not None:
        handle = Connection(alias, conn)
        try:
            yield handle
        except Exception as exc:
            # Rolled back by the pool; closed if the error broke it (the whole chain is
            # looked at: Django's error from the driver's from the socket's).
            await pool.putconn(conn, discard=handle.interrupted or _ADAPTER.is_fatal(conn, exc))
            raise
        except BaseException:
            await pool.putconn(conn, discard=handle.interrupted)
            raise
        await pool.putconn(conn, discard=handle.interrupted)
        return
    conn = await aconnect()
    try:
        yield Connection(alias, conn)
    finally:
        with suppress(Exception):
            await complete(conn.close)


@asynccontextmanager
async def connection(using: str = DEFAULT_DB_ALIAS) -> AsyncIterator[Connection]:
    """``async with aio.connection(alias) as conn:`` one async connection for the block;
    native ORM calls of this task on ``alias`` use it too."""
    current = held(using)
    if current is not None:
        yield current
        return
    async with borrow(using) as conn:
        token = _held.set({**(_held.get() or {}), using: _Held(conn, anyio.get_current_task().id)})
        try:
            yield conn
        finally:
            _held.reset(token)


@asynccontextmanager
async def atomic(using: str = DEFAULT_DB_ALIAS) -> AsyncIterator[Connection]:
    """``async with aio.atomic(alias) as conn:`` BEGIN … COMMIT on one connection, ROLLBACK
    if the block raises or is cancelled. Nested blocks join the outer transaction:
    Redshift has no savepoints (DG:c_unsupported-postgresql-features)."""
    async with connection(using) as conn:
        if conn.atomic_depth:
            conn.atomic_depth += 1
            try:
                yield conn
            finally:
                conn.atomic_depth -= 1
            return
        await conn.run(begin_sql(using))
        conn.atomic_depth = 1
        try:
            yield conn
        except BaseException:
            conn.atomic_depth = 0
            await _rollback_quietly(conn)
            raise
        conn.atomic_depth = 0
        try:
            await conn.run("COMMIT")
        except BaseException:
            await _rollback_quietly(conn)
            raise


def begin_sql(alias: str) -> str:
    # OPTIONS["isolation_level"], as the sync connections send it (DG:r_BEGIN).
    wrapper: Any = connections[alias]
    level = wrapper.redshift_options.isolation_level
    return f"BEGIN ISOLATION LEVEL {level.upper()}" if level else "BEGIN"
