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

import contextlib
import enum
import inspect
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Protocol, runtime_checkable

import anyio.to_thread

from ._cancel import complete
from .errors import AdapterMismatch


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


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception behind it (``__cause__``, else ``__context__``).

    A connection-level error usually arrives wrapped: Django's OperationalError from the
    driver's OperationalError from the socket's error. ``is_fatal`` looks at all of them.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


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
        return self.state(conn) is ConnState.BROKEN or any(
            isinstance(e, self._fatal) for e in exception_chain(exc)
        )


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
        return any(
            isinstance(e, OSError) or type(e).__name__ in ("InterfaceError", "OperationalError")
            for e in exception_chain(exc)
        )


class ThreadedAdapter:
    """Async face of a sync adapter: each blocking call runs in a worker thread.

    A call, once started, runs to its end even if the calling task is cancelled (the
    cancellation is raised after it): otherwise the next call on the connection (the
    close that follows a cancelled check) would run in another thread at the same time.
    """

    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter

    def state(self, conn: Any) -> ConnState:
        return self.adapter.state(conn)

    async def _call(self, method: Callable[[Any], Any], conn: Any) -> None:
        result = await complete(anyio.to_thread.run_sync, method, conn)
        if inspect.isawaitable(result):
            _discard_awaitable(result)
            raise AdapterMismatch(
                f"{type(self.adapter).__name__}.{method.__name__} returned an awaitable: "
                f"{type(conn).__name__} is an async connection and needs an async adapter"
            )

    async def rollback(self, conn: Any) -> None:
        await self._call(self.adapter.rollback, conn)

    async def check(self, conn: Any) -> None:
        await self._call(self.adapter.check, conn)

    async def close(self, conn: Any) -> None:
        await self._call(self.adapter.close, conn)

    def is_fatal(self, conn: Any, exc: BaseException) -> bool:
        return self.adapter.is_fatal(conn, exc)


def _discard_awaitable(result: Any) -> None:
    close = getattr(result, "close", None)  # a coroutine never awaited: no warning
    if callable(close):
        close()


def _close_quietly(conn: Any) -> None:
    with contextlib.suppress(Exception):
        conn.close()


def to_thread_connect(connect: Callable[[], Any]) -> Callable[[], Awaitable[Any]]:
    """Make an async connect callable out of a blocking one (e.g. redshift_connector's).

    If the calling task is cancelled while the thread connects, the task does not wait
    (a server that does not answer would hold it): the connection the thread still
    makes is closed, by the thread or by the task, whichever sees it second.
    """

    async def aconnect() -> Any:
        lock = threading.Lock()
        box: dict[str, Any] = {}

        def run() -> Any:
            conn = connect()
            with lock:
                if "abandoned" in box:
                    _close_quietly(conn)
                    return None
                box["conn"] = conn
            return conn

        try:
            return await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
        except BaseException:
            with lock:
                box["abandoned"] = True
                conn = box.pop("conn", None)
            if conn is not None:
                _close_quietly(conn)
            raise

    return aconnect


def _is_instance(conn: Any, module: str, name: str) -> bool:
    # Only a module that is already imported can have made ``conn``: no import here.
    mod = sys.modules.get(module)
    cls = getattr(mod, name, None) if mod is not None else None
    return cls is not None and isinstance(conn, cls)


def _has_async_methods(conn: Any) -> bool:
    return any(
        inspect.iscoroutinefunction(getattr(conn, name, None)) for name in ("rollback", "close")
    )


def detect(conn: Any) -> Adapter:
    """The ready-made adapter for a sync connection, by what the connection is (its class
    or a subclass of it, wherever that subclass is defined)."""
    if _is_instance(conn, "psycopg", "Connection"):
        return PsycopgAdapter()
    if _is_instance(conn, "redshift_connector", "Connection"):
        return RedshiftConnectorAdapter()
    if _has_async_methods(conn) or _is_instance(conn, "psycopg", "AsyncConnection"):
        raise AdapterMismatch(
            f"{type(conn).__name__} is an async connection: use it with AsyncConnectionPool "
            "(or pass an adapter whose methods fit it)"
        )
    return DBAPIAdapter()


def detect_async(conn: Any) -> AsyncAdapter:
    """The adapter for a connection made by an async pool's connect callable: psycopg's
    AsyncConnection (or a subclass) natively, a blocking driver's through threads."""
    if _is_instance(conn, "psycopg", "AsyncConnection"):
        return AsyncPsycopgAdapter()
    if _has_async_methods(conn):
        raise AdapterMismatch(
            f"no ready-made adapter for the async connection {type(conn).__name__}: "
            "pass adapter= with async rollback, check and close"
        )
    return ThreadedAdapter(detect(conn))


def check_fits(adapter: Any, conn: Any) -> None:
    """Refuse, on a new connection, an adapter that would drive it wrongly: a sync one
    (or a sync one in threads) on an async connection never awaits its rollback or
    close, and the session stays in its transaction."""
    sync = isinstance(adapter, ThreadedAdapter) or not inspect.iscoroutinefunction(
        getattr(adapter, "rollback", None)
    )
    if sync and _has_async_methods(conn):
        name = type(getattr(adapter, "adapter", adapter)).__name__
        raise AdapterMismatch(
            f"{type(conn).__name__} is an async connection but the adapter {name} is sync: "
            "it needs AsyncConnectionPool and an async adapter (or adapter=None)"
        )


def ensure_async(adapter: Any) -> AsyncAdapter:
    """Accept a sync adapter in the async pool by running it in threads."""
    if inspect.iscoroutinefunction(adapter.rollback):
        return adapter
    return ThreadedAdapter(adapter)
