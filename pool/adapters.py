"""Driver adapters: how the pool reads, rolls back, checks and closes a connection.

The pool knows no driver. Everything driver-specific goes through a small object with
``state(conn)`` (no I/O: reads what the driver already knows), ``rollback(conn)``,
``check(conn)`` (raise if the connection is unusable), ``close(conn)`` and
``is_fatal(conn, exc)`` (does this error, raised while the connection was in use, mean the
connection must be thrown away?). The async pool wants ``rollback``, ``check`` and
``close`` as coroutines; ``ThreadedAdapter`` turns a sync adapter into one by running
each call in a worker thread, for blocking drivers such as redshift_connector.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

import anyio.to_thread


class ConnState(enum.Enum):
    IDLE = "idle"  # clean, outside a transaction: reusable as is
    INTRANS = "intrans"  # inside a transaction: roll back before reuse
    INERROR = "inerror"  # inside a failed transaction: roll back before reuse
    ACTIVE = "active"  # a command is still running: cannot be reused, close it
    BROKEN = "broken"  # closed or lost: close it


@runtime_checkable
class Adapter(Protocol):
    def state(self, conn: Any) -> ConnState: ...
    def rollback(self, conn: Any) -> None: ...
    def check(self, conn: Any) -> None: ...
    def close(self, conn: Any) -> None: ...
    def is_fatal(self, conn: Any, exc: BaseException) -> bool: ...


class AsyncAdapter(Protocol):
    def state(self, conn: Any) -> ConnState: ...
    async def rollback(self, conn: Any) -> None: ...
    async def check(self, conn: Any) -> None: ...
    async def close(self, conn: Any) -> None: ...
    def is_fatal(self, conn: Any, exc: BaseException) -> bool: ...


# psycopg.pq.TransactionStatus values, in order: IDLE, ACTIVE, INTRANS, INERROR, UNKNOWN.
_PSYCOPG_STATES = (
    ConnState.IDLE,
    ConnState.ACTIVE,
    ConnState.INTRANS,
    ConnState.INERROR,
    ConnState.BROKEN,
)


def _psycopg_state(conn: Any) -> ConnState:
    # pgconn.transaction_status is what conn.info.transaction_status reports, without
    # building a ConnectionInfo on every return; a closed connection reports UNKNOWN.
    return _PSYCOPG_STATES[conn.pgconn.transaction_status]


class PsycopgAdapter:
    """psycopg 3 ``Connection``: the full libpq transaction status is known locally."""

    def state(self, conn: Any) -> ConnState:
        return _psycopg_state(conn)

    def rollback(self, conn: Any) -> None:
        conn.rollback()

    def check(self, conn: Any) -> None:
        # The empty query is the cheapest round trip; run it in autocommit so it does not
        # open a transaction. If it fails the connection is discarded, so there is no
        # point restoring anything.
        if conn.autocommit:
            conn.execute("")
        else:
            conn.autocommit = True
            conn.execute("")
            conn.autocommit = False

    def close(self, conn: Any) -> None:
        conn.close()

    def is_fatal(self, conn: Any, exc: BaseException) -> bool:
        return bool(conn.closed)


class AsyncPsycopgAdapter:
    """psycopg 3 ``AsyncConnection``."""

    def state(self, conn: Any) -> ConnState:
        return _psycopg_state(conn)

    async def rollback(self, conn: Any) -> None:
        await conn.rollback()

    async def check(self, conn: Any) -> None:
        if conn.autocommit:
            await conn.execute("")
        else:
            await conn.set_autocommit(True)
            await conn.execute("")
            await conn.set_autocommit(False)

    async def close(self, conn: Any) -> None:
        await conn.close()

    def is_fatal(self, conn: Any, exc: BaseException) -> bool:
        return bool(conn.closed)


class RedshiftConnectorAdapter:
    """redshift_connector ``Connection``.

    The driver only exposes ``in_transaction`` (set from ReadyForQuery), so INTRANS and
    INERROR look alike -- both are rolled back -- and a dead socket is only noticed by
    I/O: any network error raised while the connection was in use discards it.
    """

    def __init__(self) -> None:
        fatal: list[type[BaseException]] = [OSError, EOFError]
        try:
            import redshift_connector

            fatal.append(redshift_connector.InterfaceError)
        except ImportError:  # pragma: no cover - the extra is not installed
            pass
        self._fatal = tuple(fatal)

    def state(self, conn: Any) -> ConnState:
        if getattr(conn, "_sock", None) is None:
            return ConnState.BROKEN
        return ConnState.INTRANS if conn.in_transaction else ConnState.IDLE

    def rollback(self, conn: Any) -> None:
        conn.rollback()

    def check(self, conn: Any) -> None:
        # Whether Redshift accepts an empty query string is unverified, so probe with a
        # real statement; redshift_connector is not in autocommit, so end the
        # transaction the probe opened.
        cursor = conn.cursor()
        try:
            cursor.execute("SELECT 1")
            cursor.fetchall()
        finally:
            cursor.close()
        if conn.in_transaction:
            conn.rollback()

    def close(self, conn: Any) -> None:
        conn.close()

    def is_fatal(self, conn: Any, exc: BaseException) -> bool:
        return isinstance(exc, self._fatal) or self.state(conn) is ConnState.BROKEN


class DBAPIAdapter:
    """Any DB-API 2.0 connection. Its transaction state is unknown, so every return is
    rolled back (a round trip on most drivers) and the check runs ``SELECT 1``."""

    def state(self, conn: Any) -> ConnState:
        if getattr(conn, "closed", False):
            return ConnState.BROKEN
        return ConnState.INTRANS

    def rollback(self, conn: Any) -> None:
        conn.rollback()

    def check(self, conn: Any) -> None:
        cursor = conn.cursor()
        try:
            cursor.execute("SELECT 1")
            cursor.fetchall()
        finally:
            cursor.close()
        conn.rollback()

    def close(self, conn: Any) -> None:
        conn.close()

    def is_fatal(self, conn: Any, exc: BaseException) -> bool:
        return isinstance(exc, OSError) or type(exc).__name__ in (
            "InterfaceError",
            "OperationalError",
        )


class ThreadedAdapter:
    """Async face of a sync adapter: each blocking call runs in a worker thread."""

    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter

    def state(self, conn: Any) -> ConnState:
        return self.adapter.state(conn)

    async def rollback(self, conn: Any) -> None:
        await anyio.to_thread.run_sync(self.adapter.rollback, conn)

    async def check(self, conn: Any) -> None:
        await anyio.to_thread.run_sync(self.adapter.check, conn)

    async def close(self, conn: Any) -> None:
        await anyio.to_thread.run_sync(self.adapter.close, conn)

    def is_fatal(self, conn: Any, exc: BaseException) -> bool:
        return self.adapter.is_fatal(conn, exc)


def to_thread_connect(connect: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
    """Make an async connect callable out of a blocking one (e.g. redshift_connector's)."""

    async def aconnect() -> Any:
        return await anyio.to_thread.run_sync(connect)

    return aconnect


def detect(conn: Any) -> Adapter:
    """The ready-made adapter for a sync connection, by its driver module."""
    module = type(conn).__module__.split(".", 1)[0]
    if module == "psycopg":
        return PsycopgAdapter()
    if module == "redshift_connector":
        return RedshiftConnectorAdapter()
    return DBAPIAdapter()


def detect_async(conn: Any) -> AsyncAdapter:
    """The adapter for a connection made by an async pool's connect callable: psycopg's
    AsyncConnection natively, anything else (a blocking driver) through threads."""
    if type(conn).__module__.split(".", 1)[0] == "psycopg" and inspect.iscoroutinefunction(
        getattr(conn, "rollback", None)
    ):
        return AsyncPsycopgAdapter()
    return ThreadedAdapter(detect(conn))


def ensure_async(adapter: Any) -> AsyncAdapter:
    """Accept a sync adapter in the async pool by running it in threads."""
    if inspect.iscoroutinefunction(adapter.rollback):
        return adapter
    return ThreadedAdapter(adapter)
