"""The async face: ``AsyncConnectionPool``, on anyio (asyncio and trio).

The same shell as the sync pool around the same ``PoolCore``; every core call runs on the
event loop without an ``await`` in the middle, so no lock is needed. Loop-bound objects
(the task group, events) are created in ``open()``, inside the running loop.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from time import monotonic
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel

from . import _fork
from ._base import BasePool, logger
from ._cancel import complete
from .adapters import ConnState, ThreadedAdapter, check_fits, detect_async, ensure_async
from .core import Record, Waiter, backoff
from .errors import AdapterMismatch, PoolClosed

_IDLE = ConnState.IDLE
_ROLLBACK = (ConnState.INTRANS, ConnState.INERROR)


class AsyncConnectionPool(BasePool):
    """A pool of connections for anyio code (asyncio or trio). See docs/pool.md.

    ``connect`` is an async callable returning a new connection; for a blocking driver
    wrap its connect with ``pool.adapters.to_thread_connect``. Use it as
    ``async with AsyncConnectionPool(...) as pool:`` (or ``await open()`` and
    ``await close()`` from the same task).
    """

    def __init__(
        self,
        connect: Callable[[], Awaitable[Any]],
        *,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 30.0,
        max_lifetime: float | None = 3600.0,
        max_idle: float | None = 600.0,
        check: Callable[[Any], Awaitable[Any]] | bool | None = None,
        reset: Callable[[Any], Awaitable[Any]] | None = None,
        configure: Callable[[Any], Awaitable[Any]] | None = None,
        adapter: Any = None,
        name: str | None = None,
        keepalive: float | None = None,
        leak_timeout: float | None = None,
        check_bypass: float | None = None,
        lifetime_jitter: float = 0.05,
        reconnect_delay: float = 0.1,
        reconnect_max_delay: float = 1.0,
    ) -> None:
        super().__init__(
            connect,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            max_lifetime=max_lifetime,
            max_idle=max_idle,
            check=check,
            reset=reset,
            configure=configure,
            adapter=ensure_async(adapter) if adapter is not None else None,
            name=name,
            keepalive=keepalive,
            leak_timeout=leak_timeout,
            check_bypass=check_bypass,
            lifetime_jitter=lifetime_jitter,
            reconnect_delay=reconnect_delay,
            reconnect_max_delay=reconnect_max_delay,
        )
        self._tg: anyio.abc.TaskGroup | None = None
        self._stop: anyio.Event | None = None
        self._ready: anyio.Event | None = None
        self._scopes: set[anyio.CancelScope] = set()
        self._in_context = False

    def _signal_factory(self) -> Any:
        return anyio.Event

    # -- lifecycle ----------------------------------------------------------------------

    async def open(self, wait: bool = False, timeout: float = 30.0) -> None:
        """Start the background tasks (fill to min_size, housekeeping). Must be called,
        like ``close()``, from the task that owns the pool (``async with`` does both)."""
        if self._core.closed:
            raise PoolClosed(f"pool {self.name!r} is closed and cannot be reopened")
        if not self._opened:
            self._stop = anyio.Event()
            self._ready = anyio.Event()
            tg = anyio.create_task_group()
            await tg.__aenter__()
            self._tg = tg
            self._opened = True
            tg.start_soon(self._housekeeper)
            self._spawn(self._core.spawn_needed())
        if wait:
            await self.wait(timeout)

    async def wait(self, timeout: float = 30.0) -> None:
        """Wait until min_size connections are open; PoolTimeout if that takes longer."""
        core = self._core
        with anyio.move_on_after(timeout):
            while not (core.closed or core.size >= core.cfg.min_size):
                assert self._ready is not None
                await self._ready.wait()
                self._ready = anyio.Event()
        if core.closed:
            raise PoolClosed(f"pool {self.name!r} is closed")
        if core.size < core.cfg.min_size:
            raise self._timeout_error(timeout)

    async def close(self, timeout: float = 5.0) -> None:
        """Fail waiters with PoolClosed, close idle connections now and borrowed ones when
        they are returned; give background work up to ``timeout`` seconds, then cancel it."""
        await self._shutdown(timeout)
        if not self._in_context:
            await self._exit_task_group()

    async def _shutdown(self, timeout: float) -> None:
        core = self._core
        if core.closed:
            return
        failed = core.close(monotonic())
        for waiter in failed:
            waiter.signal.set()
        if self._stop is not None:
            self._stop.set()
        if self._ready is not None:
            self._ready.set()
        # Runs to its end even if this task is cancelled (asyncio's Task.cancel()
        # included); the cancellation is raised afterwards.
        await complete(self._finish_shutdown, core.take_doomed(), timeout)

    async def _finish_shutdown(self, doomed: list[Record], timeout: float) -> None:
        await self._dispose(doomed)
        with anyio.move_on_after(timeout):
            while self._scopes:
                await anyio.sleep(0.005)
        for scope in list(self._scopes):
            scope.cancel()

    async def _exit_task_group(self) -> None:
        # Not shielded: cancel scopes must unwind in order, and the background tasks are
        # already stopped or cancelled.
        tg, self._tg = self._tg, None
        if tg is not None:
            await tg.__aexit__(None, None, None)

    async def __aenter__(self) -> AsyncConnectionPool:
        await self.open()
        self._in_context = True
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        # close() may have run inside the block (even from a nested task group); the
        # task group opened by __aenter__ is only left here, where nesting allows it.
        await self._shutdown(5.0)
        await self._exit_task_group()

    # -- borrowing ----------------------------------------------------------------------

    async def getconn(self, timeout: float | None = None) -> Any:
        """Borrow a connection; PoolTimeout if none within ``timeout`` (default: the
        pool's), which covers waiting in the queue, health checks and reconnections.

        A cancel point; it only yields to the loop when it has to wait or check.
        """
        await anyio.lowlevel.checkpoint_if_cancelled()
        t0 = now = monotonic()
        if self._fork_gen != _fork.generation:
            self._after_fork()
        if not self._opened:
            raise self._not_open()
        if timeout is None:
            timeout = self._core.cfg.timeout
        deadline = t0 + timeout
        core = self._core
        while True:
            rec = core.acquire(now)
            if core.doomed or type(rec) is Waiter:
                self._dispose_soon(core.take_doomed())
                self._spawn(core.spawn_needed())
            if type(rec) is Waiter:
                rec = await self._wait(rec, deadline, timeout)
                now = monotonic()
            assert isinstance(rec, Record)
            check = self._check_fn
            if check is not None and now - rec.last_used >= self._check_bypass:
                try:
                    with anyio.move_on_after(deadline - now) as scope:
                        await check(rec.conn)
                except Exception as exc:
                    # The next connection comes after a backoff (see core.check_failed),
                    # waited for in the queue: no busy loop of checks and reconnections.
                    self._check_failed(rec, exc)
                    now = monotonic()
                    if now < deadline:
                        continue
                    core.request_failed()
                    raise self._timeout_error(timeout) from None
                except BaseException:
                    # Cancelled mid-check: the connection's state is unknown, drop it;
                    # the cancellation propagates.
                    core.request_failed()
                    self._discard(rec)
                    raise
                if scope.cancelled_caught:
                    self._discard(rec)
                    core.request_failed()
                    raise self._timeout_error(timeout)
                core.check_passed()
            if core.cfg.leak_timeout is not None:
                core.mark_leak_check(rec, "".join(traceback.format_stack()[:-1]))
            core.record_latency(monotonic() - t0)
            return rec.conn

    async def _wait(self, waiter: Waiter, deadline: float, timeout: float) -> Record:
        core = self._core
        try:
            with anyio.move_on_after(deadline - monotonic()):
                await waiter.signal.wait()
            # A cancellation requested while the hand-off was in flight wins: the
            # connection goes back (below) rather than to a caller that is going away.
            await anyio.lowlevel.checkpoint_if_cancelled()
        except BaseException:
            # Cancelled while queued. If a connection was handed over in the meantime it
            # goes straight to the next waiter (no I/O, so nothing to shield), and the
            # cancellation propagates unchanged.
            now = monotonic()
            rec = core.withdraw(waiter, now)
            if rec is not None:
                nxt = core.give_back(rec, now)
                if nxt is not None:
                    nxt.signal.set()
                self._dispose_soon(core.take_doomed())
            raise
        rec = core.settle(waiter, monotonic())
        if rec is None:
            raise self._timeout_error(timeout)
        return rec

    def _check_failed(self, rec: Record, exc: BaseException) -> None:
        logger.info("pool %r: health check failed; retiring idle connections", self.name)
        self._core.check_failed(rec, monotonic(), exc)
        self._dispose_soon(self._core.take_doomed())
        self._spawn(self._core.spawn_needed())

    def _discard(self, rec: Record) -> None:
        self._core.release(rec.conn, monotonic(), ok=False)
        self._dispose_soon(self._core.take_doomed())
        self._spawn(self._core.spawn_needed())

    async def putconn(self, conn: Any, *, discard: bool = False) -> None:
        """Give a connection back. It is rolled back if in a transaction, and closed (and
        replaced as needed) if broken, busy, expired, or if ``discard`` is true.

        The rollback and ``reset`` run to their end even if the task is cancelled
        (asyncio's ``Task.cancel()`` and ``asyncio.timeout()`` included), then the
        connection is released and the cancellation raised: it is never lost."""
        core = self._core
        if not core.owns(conn):
            if self._orphan(conn) or self._returned_twice(conn):
                return
            raise ValueError(
                f"connection {type(conn).__name__} is not borrowed from pool {self.name!r}"
            )
        if not discard:
            state = self._adapter.state(conn)
            if state is not _IDLE or self._reset is not None:
                await complete(self._return, conn, state)
                return
        doomed = self._release(conn, not discard)
        if doomed:
            await complete(self._dispose, doomed)

    async def _return(self, conn: Any, state: ConnState) -> None:
        ok = False
        try:
            ok = await self._reset_connection(conn, state)
        finally:
            doomed = self._release(conn, ok)
            if doomed:
                await self._dispose(doomed)

    def _release(self, conn: Any, ok: bool) -> list[Record]:
        """Hand the connection back to the core; what must be closed here (nothing while
        the task group runs: it closes them in the background)."""
        core = self._core
        waiter = core.release(conn, monotonic(), ok)
        if waiter is not None:
            waiter.signal.set()
        if not core.doomed:
            return []
        doomed = core.take_doomed()
        self._spawn(core.spawn_needed())
        if self._tg is not None:
            self._tg.start_soon(self._dispose, doomed)
            return []
        return doomed

    async def _reset_connection(self, conn: Any, state: ConnState) -> bool:
        adapter = self._adapter
        if state is not _IDLE:
            if state not in _ROLLBACK:
                return False
            try:
                await adapter.rollback(conn)
            except Exception:
                return False
        if self._reset is not None:
            try:
                await self._reset(conn)
            except Exception as exc:
                self._log_reset_failure(exc)
                return False
            return self._reset_left_ok(adapter.state(conn))
        return True

    @asynccontextmanager
    async def connection(self, timeout: float | None = None) -> AsyncIterator[Any]:
        """Borrow a connection for an ``async with`` block. Uncommitted work is rolled
        back on return; an error that broke the connection gets it discarded."""
        conn = await self.getconn(timeout)
        try:
            yield conn
        except Exception as exc:
            await self.putconn(conn, discard=self._adapter.is_fatal(conn, exc))
            raise
        except BaseException:
            # Cancelled inside the block. A native async connection tells its state: it is
            # rolled back (to its end, see putconn) or closed if a command still runs. A
            # blocking one may still be in use by a worker thread the task did not wait
            # for: closed.
            await self.putconn(conn, discard=isinstance(self._adapter, ThreadedAdapter))
            raise
        await self.putconn(conn)

    # -- maintenance --------------------------------------------------------------------

    def resize(self, min_size: int, max_size: int | None = None) -> None:
        """Change the sizes at run time; extra idle connections are closed now, extra
        borrowed ones when returned."""
        if max_size is None:
            max_size = max(min_size, self._core.cfg.max_size)
        self._core.resize(min_size, max_size)
        self._dispose_soon(self._core.take_doomed())
        self._spawn(self._core.spawn_needed() if self._opened else 0)

    def drain(self) -> None:
        """Replace every connection: idle ones now, borrowed ones when returned."""
        self._core.drain()
        self._dispose_soon(self._core.take_doomed())
        self._spawn(self._core.spawn_needed() if self._opened else 0)

    def get_stats(self) -> dict[str, Any]:
        return self._core.stats()

    def pop_stats(self) -> dict[str, Any]:
        """Like get_stats, then reset the counters."""
        return self._core.pop_stats()

    # -- background work ----------------------------------------------------------------

    def _spawn(self, n: int) -> None:
        if self._tg is None:
            # Not open (or closed): give the reserved attempts back.
            for _ in range(n):
                self._core.connect_abandoned()
            return
        for _ in range(n):
            self._tg.start_soon(self._connect_loop)

    async def _connect_loop(self) -> None:
        core = self._core
        delay: float | None = None
        counted = True
        with anyio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                while True:
                    # After failed checks the next connection waits its backoff.
                    pause = core.connect_after - monotonic()
                    if pause > 0:
                        assert self._stop is not None
                        with anyio.move_on_after(pause):
                            await self._stop.wait()
                        if self._stop.is_set():
                            return
                    t0 = monotonic()
                    try:
                        conn = await self._new_connection()
                    except Exception as exc:
                        core.connect_failed(exc)
                        delay = backoff(delay, core.cfg, self._rng)
                        self._log_connect_failure(exc, delay)
                        assert self._stop is not None
                        with anyio.move_on_after(delay):
                            await self._stop.wait()
                        if self._stop.is_set():
                            return
                        if not core.keep_trying():
                            counted = False
                            return
                        continue
                    now = monotonic()
                    counted = False
                    waiter = core.connected(conn, now, now - t0)
                    if waiter is not None:
                        waiter.signal.set()
                    if self._ready is not None:
                        self._ready.set()
                    self._dispose_soon(core.take_doomed())
                    self._spawn(core.spawn_needed())
                    return
            except Exception:  # pragma: no cover - a bug, not a connection failure
                logger.exception("pool %r: connection task crashed", self.name)
            finally:
                if counted:
                    core.connect_abandoned()
                self._scopes.discard(scope)

    async def _new_connection(self) -> Any:
        result = self._connect()
        if not inspect.isawaitable(result):
            self._close_sync_quietly(result)
            raise TypeError(
                "the async pool's connect must be an async callable; wrap a blocking one "
                "with pool.adapters.to_thread_connect"
            )
        conn = await result
        try:
            if self._adapter is None:
                self._set_adapter(detect_async(conn))
            else:
                check_fits(self._adapter, conn)
            if self._configure is not None:
                await self._configure(conn)
                self._check_configured(self._adapter.state(conn))
        except AdapterMismatch:
            await complete(self._close_raw, conn)
            raise
        except BaseException:
            await complete(self._close_quietly, conn)
            raise
        return conn

    @staticmethod
    async def _close_raw(conn: Any) -> None:
        # The adapter does not fit the connection: close it by its own method.
        with suppress(Exception):
            result = conn.close()
            if inspect.isawaitable(result):
                await result

    def _dispose_soon(self, records: list[Record]) -> None:
        if records and self._tg is not None:
            self._tg.start_soon(self._dispose, records)

    async def _dispose(self, records: list[Record]) -> None:
        # Shielded: the task group may be cancelled while its closing tasks run.
        with anyio.CancelScope(shield=True):
            for rec in records:
                await self._close_quietly(rec.conn)

    async def _close_quietly(self, conn: Any) -> None:
        try:
            if self._adapter is not None:
                await self._adapter.close(conn)
            else:  # pragma: no cover - no adapter means no connection yet
                self._close_sync_quietly(conn)
        except Exception as exc:
            logger.debug("pool %r: error closing a connection: %s", self.name, type(exc).__name__)

    @staticmethod
    def _close_sync_quietly(conn: Any) -> None:
        close = getattr(conn, "close", None)
        if callable(close):
            with suppress(Exception):
                close()

    async def _housekeeper(self) -> None:
        core = self._core
        tick = core.cfg.tick
        with anyio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                while True:
                    assert self._stop is not None
                    with anyio.move_on_after(tick):
                        await self._stop.wait()
                    if self._stop.is_set():
                        return
                    try:
                        await self._housekeep()
                    except Exception:  # pragma: no cover - a bug
                        logger.exception("pool %r: housekeeping failed", self.name)
            finally:
                self._scopes.discard(scope)

    async def _housekeep(self) -> None:
        core = self._core
        now = monotonic()
        probe, leaked = core.housekeeping(now)
        for rec in leaked:
            self._log_leak(rec, now)
        self._dispose_soon(core.take_doomed())
        self._spawn(core.spawn_needed())
        if not probe:
            return  # before the first connection there is no adapter yet
        check = self._check_fn or self._adapter.check
        for rec in probe:
            try:
                await check(rec.conn)
                ok = True
            except Exception:
                ok = False
            waiter = core.check_done(rec, monotonic(), ok)
            if waiter is not None:
                waiter.signal.set()
            self._dispose_soon(core.take_doomed())
            self._spawn(core.spawn_needed())

    def _after_fork(self) -> None:
        # Forget the parent's connections without closing them (that would end the
        # parent's sessions); new ones are opened in this process.
        self._orphans.extend(self._core.forget_all())
        self._fork_gen = _fork.generation
        self._spawn(self._core.spawn_needed())
