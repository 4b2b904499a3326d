"""The small interface between the backend and a DB-API driver.

The backend never asks "which driver is this?"; it asks the driver object. A driver knows
how to turn Django settings into ``connect()`` arguments, how to open a connection, which
module holds its DB-API exceptions (Django maps them), how to recognise Redshift's
serialization failures in its exceptions, and whether a connection is inside a transaction
(for the pool).

Both drivers hand Django a connection with the same surface: ``cursor()`` (DB-API, ``%s``
placeholders), ``commit()``, ``rollback()``, ``close()``, an ``autocommit`` attribute and
``info.parameter_status(name)``; and both raise their module's DB-API exception classes
chosen by the server's SQLSTATE, so Django's error wrapper maps them the same way.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, NamedTuple, TypeVar

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")

# Redshift endpoints (MG:connecting-to-cluster, MG:serverless-connecting): provisioned
# ``<cluster>.<id>.<region>.redshift.amazonaws.com`` and serverless
# ``<workgroup>.<account>.<region>.redshift-serverless.amazonaws.com`` (also .cn).
_REDSHIFT_HOST_RE = re.compile(
    r"\.redshift(-serverless)?\.amazonaws\.com(\.cn)?\.?$", re.IGNORECASE
)
#: sslmode used for a Redshift endpoint when OPTIONS has none.
REDSHIFT_DEFAULT_SSLMODE = "verify-full"
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def is_redshift_host(host: str | None) -> bool:
    """True for an AWS Redshift (provisioned or serverless) endpoint name."""
    return bool(host) and _REDSHIFT_HOST_RE.search(str(host)) is not None


class Secret(str):
    """A password: the text itself to the drivers, ``'********'`` in ``repr()``, so that it
    shows neither in the frame locals of Django's DEBUG error page (which prints locals with
    ``repr``, and whose ``sensitive_variables`` filter is off while DEBUG is on) nor in a
    dict of connection parameters that holds it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'********'"


def hide_password(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with its password, if any, as a :class:`Secret`."""
    password = params.get("password")
    if isinstance(password, str) and not isinstance(password, Secret):
        params["password"] = Secret(password)
    return params


def without_frames(exc: BaseException) -> BaseException:
    """``exc`` without the traceback of the driver's own frames, whose locals hold the
    password and the conninfo (raise it ``from None``: nothing chained under it)."""
    return exc.with_traceback(None)


class Driver:
    """Base class; one subclass per driver module in this package."""

    name: str = ""
    #: DB-API module whose exception classes Django's error wrapper maps.
    Database: ModuleType
    paramstyle: str = "format"
    #: Whether parameters travel as bind parameters (the extended protocol), where
    #: Redshift allows at most 32,767 in a statement, rather than as literals in its text.
    binds_server_side: bool = True

    def literal_renderer(self, use_tz: bool, timezone: Any) -> Callable[[Any], str] | None:
        """For a driver that writes values into the statement's text: a function giving
        each value's literal as the driver would write it (the insert compiler renders
        bulk inserts with it, to split them at 16 MB by their exact size)."""
        return None

    def check_options(
        self, options: Mapping[str, Any], settings_dict: Mapping[str, Any] | None = None
    ) -> None:
        """Raise ImproperlyConfigured for an option (or a ``PORT``) the driver's connect()
        would refuse or misread: the key, and the value's type and range."""

    def connect_params(
        self,
        settings_dict: Mapping[str, Any],
        options: Mapping[str, Any],
        *,
        use_tz: bool,
        timezone: Any,
    ) -> dict[str, Any]:
        raise NotImplementedError

    def connect(self, params: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def with_login(self, params: Mapping[str, Any], user: str, password: str) -> dict[str, Any]:
        """``params`` with another user and password (IAM credentials for one login)."""
        return {**params, "user": user, "password": Secret(password)}

    def in_transaction(self, connection: Any) -> bool:
        """Whether the server has a transaction open (or failed) on ``connection``."""
        raise NotImplementedError

    def is_usable(self, connection: Any) -> bool:
        """A round trip that tells whether ``connection`` still works."""
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except self.Database.Error:
            return False
        return True

    def pool_adapter(self) -> Any:
        """How ``pool`` reads, rolls back, checks and closes this driver's connections."""
        from pool import DBAPIAdapter

        return DBAPIAdapter()

    def sqlstate(self, exc: BaseException) -> str | None:
        return None

    def message(self, exc: BaseException) -> str:
        return str(exc)

    async def aconnect(self, params: Mapping[str, Any]) -> AsyncConnection:
        """A new connection for async code (``redshift_async_backend.aio``). By default
        the blocking connection of ``connect()``, driven from worker threads."""
        import anyio.to_thread

        conn = await anyio.to_thread.run_sync(self.connect, params)
        # The async layer sends BEGIN/COMMIT itself, as Django does on the sync side.
        conn.autocommit = True
        return AsyncConnection(self, conn)


class AsyncResult(NamedTuple):
    """One statement's outcome: the first result that has columns, else the last one.
    ``sets`` holds the rows of every result that has columns (several ``;``-separated
    statements)."""

    description: Any
    rows: list[tuple[Any, ...]]
    rowcount: int
    sets: list[list[tuple[Any, ...]]]


class AsyncConnection:
    """The small async interface ``aio`` uses, whatever the driver.

    This base class runs a blocking DB-API connection (redshift_connector, or psycopg
    under trio) in worker threads. A task cancelled while its thread runs returns at once
    (asyncio's own cancellation does not wait for threads), and the connection may then
    go back to the pool with that thread still on it: every call takes ``_lock`` in its
    thread, so the next borrower's statement waits for the old one instead of racing it
    on one socket. ``raw`` is the driver's connection.
    """

    def __init__(self, driver: Driver, raw: Any) -> None:
        self.driver = driver
        self.raw = raw
        self._lock = threading.Lock()

    def _locked(self, fn: Callable[..., T], *args: Any) -> T:
        with self._lock:
            return fn(*args)

    def _execute(self, sql: str, params: Any) -> AsyncResult:
        with self._lock, self.raw.cursor() as cursor:
            if params is None:
                cursor.execute(sql)
            else:
                cursor.execute(sql, params)
            first: AsyncResult | None = None
            sets: list[list[tuple[Any, ...]]] = []
            while True:
                if cursor.description is not None:
                    sets.append(cursor.fetchall())
                    first = first or AsyncResult(cursor.description, sets[0], cursor.rowcount, sets)
                if not cursor.nextset():
                    return first or AsyncResult(None, [], cursor.rowcount, sets)

    async def execute(self, sql: str, params: Any = None) -> AsyncResult:
        import anyio.to_thread

        return await anyio.to_thread.run_sync(self._execute, sql, params)

    @property
    def in_transaction(self) -> bool:
        return self.driver.in_transaction(self.raw)

    def parameter_status(self, name: str) -> str | None:
        value: str | None = self.raw.info.parameter_status(name)
        return value

    # The pool's adapter calls (see pool_adapter()).

    def state(self) -> Any:
        return self.driver.pool_adapter().state(self.raw)

    async def rollback(self) -> None:
        import anyio.to_thread

        await anyio.to_thread.run_sync(self._locked, self.driver.pool_adapter().rollback, self.raw)

    async def check(self) -> None:
        import anyio.to_thread

        await anyio.to_thread.run_sync(self._locked, self.driver.pool_adapter().check, self.raw)

    async def close(self) -> None:
        import anyio.to_thread

        await anyio.to_thread.run_sync(self._locked, self.driver.pool_adapter().close, self.raw)

    def is_fatal(self, exc: BaseException) -> bool:
        return bool(self.driver.pool_adapter().is_fatal(self.raw, exc))

    @staticmethod
    def pool_adapter() -> AsyncConnectionAdapter:
        return AsyncConnectionAdapter()


class AsyncConnectionAdapter:
    """``pool``'s async adapter for :class:`AsyncConnection` objects of any driver."""

    def state(self, conn: AsyncConnection) -> Any:
        return conn.state()

    async def rollback(self, conn: AsyncConnection) -> None:
        await conn.rollback()

    async def check(self, conn: AsyncConnection) -> None:
        await conn.check()

    async def close(self, conn: AsyncConnection) -> None:
        await conn.close()

    def is_fatal(self, conn: AsyncConnection, exc: BaseException) -> bool:
        return conn.is_fatal(exc)


_DRIVERS = {
    "psycopg": ("redshift_async_backend.drivers.psycopg", "psycopg"),
    "redshift_connector": ("redshift_async_backend.drivers.redshift_connector", "redshift"),
}


def get_driver(name: str) -> Driver:
    try:
        path, extra = _DRIVERS[name]
    except KeyError:
        raise ImproperlyConfigured(
            f"DATABASES OPTIONS['driver'] = {name!r} is not valid: use one of "
            + ", ".join(repr(n) for n in _DRIVERS)
            + "."
        ) from None
    try:
        module: ModuleType = importlib.import_module(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"The {name!r} driver is not installed ({exc}); install "
            f"redshift-async-backend[{extra}]."
        ) from exc
    driver: Driver = module.driver
    return driver
