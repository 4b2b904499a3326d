"""Connection pools for the Django backend (``OPTIONS["pool"]``).

Sync: one ``pool.ConnectionPool`` per database alias per process, shared by every thread's
``DatabaseWrapper`` (Django's ``ConnectionHandler`` gives each thread its own wrapper; the
pool is the shared part). A forked child gets its own connections: that is the pool's job.

Async: one ``pool.AsyncConnectionPool`` per alias per running event loop (asyncio, or trio
through anyio), opened in a task of its own that lives as long as the loop, so the pool is
closed when the loop ends (``asyncio.run()`` and trio cancel that task) or forgotten when
the loop is found closed. The caller supplies the async connect callable.

Every new physical connection calls the driver's connect with freshly computed parameters,
so credentials fetched per connect (IAM) are always current.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import NO_DB_ALIAS

if TYPE_CHECKING:
    from pool import AsyncConnectionPool, ConnectionPool

__all__ = [
    "POOL_OPTIONS",
    "aclose_async_pool",
    "close_pool",
    "get_async_pool",
    "get_pool",
    "pool_settings",
]

_NUMBERS = (int, float)
#: ``OPTIONS["pool"]`` keys and the types their values may have (None: "off" / "never").
POOL_OPTIONS: dict[str, tuple[type, ...]] = {
    "min_size": (int,),
    "max_size": (int,),
    "timeout": _NUMBERS,
    "max_lifetime": (*_NUMBERS, type(None)),
    "max_idle": (*_NUMBERS, type(None)),
    "check": (bool, type(None)),  # or a callable: see pool_settings()
    "check_bypass": (*_NUMBERS, type(None)),
    "keepalive": (*_NUMBERS, type(None)),
    "leak_timeout": (*_NUMBERS, type(None)),
    "lifetime_jitter": _NUMBERS,
    "reconnect_delay": _NUMBERS,
    "reconnect_max_delay": _NUMBERS,
    "reset": (type(None),),  # or a callable
    "configure": (type(None),),  # or a callable, run after the backend's own configuration
    "name": (str,),
}
_CALLABLE_OK = frozenset({"check", "reset", "configure"})
_OWNED = {
    "connect": "the backend connects through the driver (with fresh IAM credentials)",
    "adapter": "the driver chooses the adapter",
    "open": "the backend opens the pool on first use",
}


def pool_settings(value: Any) -> dict[str, Any] | None:
    """Validate ``OPTIONS["pool"]``: None for no pool, else the pool's keyword arguments."""
    if value is None or value is False:
        return None
    if value is True:
        return {}
    if not isinstance(value, Mapping):
        raise ImproperlyConfigured(
            f"DATABASES OPTIONS['pool'] = {value!r} is not valid for the Redshift backend: "
            "use True, False or a dict of pool settings."
        )
    settings: dict[str, Any] = {}
    for key, item in value.items():
        if key in _OWNED:
            raise ImproperlyConfigured(
                f"DATABASES OPTIONS['pool'][{key!r}] cannot be set: {_OWNED[key]}."
            )
        if key not in POOL_OPTIONS:
            from .options import suggest

            raise ImproperlyConfigured(
                f"DATABASES OPTIONS['pool'] has unknown key {key!r}; allowed keys: "
                f"{', '.join(sorted(POOL_OPTIONS))}.{suggest(str(key), POOL_OPTIONS)}"
            )
        ok = isinstance(item, POOL_OPTIONS[key]) or (key in _CALLABLE_OK and callable(item))
        if isinstance(item, bool) and key not in ("check",):
            ok = False
        if not ok:
            raise ImproperlyConfigured(
                f"DATABASES OPTIONS['pool'][{key!r}] = {item!r} is not valid: {_expected(key)}."
            )
        settings[key] = item
    _check_values(settings)
    return settings


def _expected(key: str) -> str:
    if key in ("min_size", "max_size"):
        return "use an integer"
    if key == "check":
        return "use True (the driver's check), False (no check) or a callable check(conn)"
    if key in ("reset", "configure"):
        return "use a callable taking the connection"
    if key == "name":
        return "use a string"
    if type(None) in POOL_OPTIONS[key]:
        return "use a number of seconds or None"
    return "use a number of seconds"


def _check_values(settings: Mapping[str, Any]) -> None:
    # Let the pool's own validation speak (it names the option), without building a pool.
    from pool.core import PoolConfig

    sizes = {k: v for k, v in settings.items() if k in PoolConfig.__dataclass_fields__}
    try:
        PoolConfig(**sizes)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"DATABASES OPTIONS['pool'] is not valid: {exc}.") from None


def _pool_kwargs(alias: str, settings_dict: Mapping[str, Any]) -> dict[str, Any] | None:
    kwargs = pool_settings(settings_dict.get("OPTIONS", {}).get("pool"))
    if kwargs is None:
        return None
    if settings_dict.get("CONN_MAX_AGE", 0) != 0:
        raise ImproperlyConfigured(
            f"DATABASES[{alias!r}] uses OPTIONS['pool'], which needs CONN_MAX_AGE = 0 "
            f"(got {settings_dict.get('CONN_MAX_AGE')!r}): the pool keeps the connections, "
            "and each request borrows one."
        )
    check = kwargs.pop("check", None)
    if check is True or (check is None and settings_dict.get("CONN_HEALTH_CHECKS")):
        kwargs["check"] = None  # the adapter's check at checkout
    elif check is None or check is False:
        kwargs["check"] = False
    else:
        kwargs["check"] = check
    kwargs.setdefault("name", alias)
    return kwargs


# -- sync: one pool per alias per process ------------------------------------------------

_pools: dict[str, ConnectionPool] = {}
_pools_lock = threading.Lock()


def get_pool(wrapper: Any) -> ConnectionPool | None:
    """The alias's shared pool (built, not opened, on first use), or None without one."""
    alias = wrapper.alias
    if alias == NO_DB_ALIAS:
        return None
    pool = _pools.get(alias)
    if pool is not None and not pool.closed:
        return pool
    kwargs = _pool_kwargs(alias, wrapper.settings_dict)
    if kwargs is None:
        return None
    from pool import ConnectionPool

    user_configure = kwargs.pop("configure", None)

    def configure(conn: Any) -> None:
        wrapper.configure_pooled_connection(conn)
        if user_configure is not None:
            user_configure(conn)

    # Built closed (open=False: no threads yet); several threads may build one at once,
    # the first one stored wins and the others are dropped unopened.
    new = ConnectionPool(
        wrapper.connect_raw,
        adapter=wrapper.driver.pool_adapter(),
        configure=configure,
        open=False,
        **kwargs,
    )
    with _pools_lock:
        pool = _pools.get(alias)
        if pool is None or pool.closed:
            pool = _pools[alias] = new
    return pool


def give_back(pool: ConnectionPool, conn: Any, driver: Any, *, suspect: bool) -> None:
    """Return a borrowed connection. ``suspect`` (an error other than a data or integrity
    error happened on it) costs a rollback and a check here, so that a connection broken
    in a way its driver cannot see locally (redshift_connector's dead socket) is closed
    instead of being handed to the next borrower."""
    discard = False
    if suspect:
        from pool import ConnState

        adapter = driver.pool_adapter()
        state = adapter.state(conn)
        if state in (ConnState.IDLE, ConnState.INTRANS, ConnState.INERROR):
            try:
                if state is not ConnState.IDLE:
                    adapter.rollback(conn)
                adapter.check(conn)
            except Exception:
                discard = True
        # BROKEN and ACTIVE connections are closed by the pool itself.
    pool.putconn(conn, discard=discard)


@atexit.register
def _close_pools_at_exit() -> None:
    # Idle connections would otherwise be garbage at interpreter exit (psycopg warns
    # "ResourceWarning: ... deleted while still open") and the server would see them vanish.
    # Connections still lent out are left to their borrowers, as without a pool.
    with _pools_lock:
        pools = list(_pools.values())
    for pool in pools:
        with contextlib.suppress(Exception):
            pool.close(timeout=1.0)


def close_pool(alias: str) -> None:
    """Close the alias's sync pool (borrowed connections close when returned) and forget it;
    the alias's async pools are retired too (each closes on its own loop)."""
    with _pools_lock:
        pool = _pools.pop(alias, None)
    if pool is not None:
        pool.close()
    _retire_async(alias)


# -- async: one pool per alias per event loop --------------------------------------------


@dataclass(eq=False)
class _AsyncEntry:
    alias: str
    loop: Any  # asyncio loop or trio token
    pool: AsyncConnectionPool
    call_soon: Callable[[Callable[[], Any]], Any]  # thread-safe scheduling on that loop
    ready: Any = None  # anyio.Event, set once the pool is open (or failed to open)
    stop: Any = None  # anyio.Event, set to close the pool
    done: Any = None  # anyio.Event, set once the pool is closed
    error: BaseException | None = None
    task: Any = field(default=None, repr=False)


_async_pools: dict[Any, dict[str, _AsyncEntry]] = {}
_async_lock = threading.Lock()


def _running_loop() -> tuple[Any, Callable[[Callable[[], Any]], Any]]:
    """The running event loop's identity and its thread-safe ``call_soon``."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return loop, loop.call_soon_threadsafe
    try:
        import trio

        token = trio.lowlevel.current_trio_token()
    except (ImportError, RuntimeError):
        raise RuntimeError("get_async_pool() must be called from asyncio or trio") from None
    return token, token.run_sync_soon


def _loop_closed(loop: Any) -> bool:
    is_closed = getattr(loop, "is_closed", None)
    return bool(is_closed()) if is_closed is not None else False


def _forget_closed_loops() -> None:
    # A loop closed without cancelling its tasks (loop.close() after run_until_complete)
    # never ran our task's cleanup: drop its pools so they can be garbage-collected.
    with _async_lock:
        for loop in [loop for loop in _async_pools if _loop_closed(loop)]:
            del _async_pools[loop]


def _retire_async(alias: str) -> None:
    with _async_lock:
        entries = [e for pools in _async_pools.values() for a, e in pools.items() if a == alias]
        for entry in entries:
            _async_pools[entry.loop].pop(alias, None)
    for entry in entries:
        if entry.stop is not None:
            with contextlib.suppress(RuntimeError):  # RuntimeError: the loop is closed
                entry.call_soon(entry.stop.set)


async def get_async_pool(
    wrapper_or_alias: Any = DEFAULT_DB_ALIAS,
    aconnect: Callable[[], Awaitable[Any]] | None = None,
    *,
    adapter: Any = None,
    configure: Callable[[Any], Awaitable[Any]] | None = None,
) -> AsyncConnectionPool | None:
    """The alias's async pool on the running event loop, opened on first use; None when
    ``OPTIONS["pool"]`` is off.

    ``aconnect`` (needed when the pool is created) returns a new async connection; it is
    called for every physical connection. ``adapter=None`` lets the pool pick one from the
    first connection (psycopg's AsyncConnection natively, a blocking driver's connection
    through worker threads). ``configure`` runs on each new connection.
    """
    import anyio

    if isinstance(wrapper_or_alias, str):
        alias, settings_dict = wrapper_or_alias, connections.settings[wrapper_or_alias]
    else:
        alias, settings_dict = wrapper_or_alias.alias, wrapper_or_alias.settings_dict
    loop, call_soon = _running_loop()
    entry = _async_pools.get(loop, {}).get(alias)
    if entry is None:
        kwargs = _pool_kwargs(alias, settings_dict)
        if kwargs is None:
            return None
        if aconnect is None:
            raise TypeError(f"the async pool of {alias!r} does not exist yet: pass aconnect")
        from pool import AsyncConnectionPool

        # OPTIONS' configure/reset/check callables are sync, for the sync pool only.
        kwargs.pop("configure", None)
        kwargs.pop("reset", None)
        if callable(kwargs["check"]):
            kwargs["check"] = None
        kwargs["name"] = f"{kwargs['name']}-async"
        pool = AsyncConnectionPool(aconnect, adapter=adapter, configure=configure, **kwargs)
        entry = _AsyncEntry(alias, loop, pool, call_soon)
        entry.ready, entry.stop, entry.done = anyio.Event(), anyio.Event(), anyio.Event()
        _forget_closed_loops()
        with _async_lock:
            _async_pools.setdefault(loop, {})[alias] = entry
        _start_host(entry)
    if not entry.ready.is_set():
        await entry.ready.wait()
    if entry.error is not None:
        raise entry.error
    return entry.pool


def _start_host(entry: _AsyncEntry) -> None:
    # The pool's task group must be entered and left by one task; a task of our own, not
    # the caller's (which may be a short request), holds it for the loop's lifetime.
    if isinstance(entry.loop, asyncio.AbstractEventLoop):
        entry.task = entry.loop.create_task(_host(entry), name=f"{entry.pool.name}-host")
    else:
        import trio

        # System tasks are cancelled when the run's main task ends: the pool closes then.
        trio.lowlevel.spawn_system_task(_host, entry, name=f"{entry.pool.name}-host")


async def _host(entry: _AsyncEntry) -> None:
    try:
        async with entry.pool:
            entry.ready.set()
            await entry.stop.wait()
    except Exception as exc:  # opening failed: report it to the callers
        entry.error = exc
    finally:
        with _async_lock:
            pools = _async_pools.get(entry.loop)
            if pools is not None and pools.get(entry.alias) is entry:
                del pools[entry.alias]
                if not pools:
                    del _async_pools[entry.loop]
        entry.ready.set()
        entry.done.set()


async def aclose_async_pool(alias: str = DEFAULT_DB_ALIAS) -> None:
    """Close the alias's async pool on the running loop (if any) and wait until it is."""
    loop, _ = _running_loop()
    with _async_lock:
        entry = _async_pools.get(loop, {}).pop(alias, None)
    if entry is not None:
        entry.stop.set()
        await entry.done.wait()
