"""The sync (threads) face: ``ConnectionPool``.

A thin shell around ``PoolCore``: it takes the lock around every core call, and does the
I/O the core asks for outside it -- connecting (in short-lived background threads, so
callers only ever block on the pool itself), checking, rolling back, closing.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
import traceback
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from time import monotonic
from typing import Any

from . import _fork
from ._base import BasePool, logger
from .adapters import Adapter, ConnState, check_fits, detect
from .core import Record, Waiter, backoff
from .errors import PoolClosed

_IDLE = ConnState.IDLE
_ROLLBACK = (ConnState.INTRANS, ConnState.INERROR)


class ConnectionPool(BasePool):
    """A pool of DB-API connections for threaded code. See docs/pool.md."""

    def __init__(
        self,
        connect: Callable[[], Any],
        *,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 30.0,
        max_lifetime: float | None = 3600.0,
        max_idle: float | None = 600.0,
        check: Callable[[Any], Any] | bool | None = None,
        reset: Callable[[Any], Any] | None = None,
        configure: Callable[[Any], Any] | None = None,
        adapter: Adapter | None = None,
        name: str | None = None,
        keepalive: float | None = None,
        leak_timeout: float | None = None,
        check_bypass: float | None = None,
        lifetime_jitter: float = 0.05,
        reconnect_delay: float = 0.1,
        reconnect_max_delay: float = 1.0,
        open: bool = True,
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
            adapter=adapter,
            name=name,
            keepalive=keepalive,
            leak_timeout=leak_timeout,
            check_bypass=check_bypass,
            lifetime_jitter=lifetime_jitter,
            reconnect_delay=reconnect_delay,
            reconnect_max_delay=reconnect_max_delay,
        )
        self._init_threading()
        if open:
            self.open()

    def _signal_factory(self) -> Any:
        return _HandOff

    def _init_threading(self) -> None:
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._threads: set[threading.Thread] = set()

    # -- lifecycle ----------------------------------------------------------------------

    def open(self, wait: bool = False, timeout: float = 30.0) -> None:
        """Start the background work (fill to min_size, housekeeping). Idempotent."""
        with self._lock:
            if self._core.closed:
                raise PoolClosed(f"pool {self.name!r} is closed and cannot be reopened")
            if self._opened:
                n = 0
            else:
                self._opened = True
                n = self._core.spawn_needed()
                self._start_housekeeper()
        self._spawn(n)
        if wait:
            self.wait(timeout)

    def wait(self, timeout: float = 30.0) -> None:
        """Block until min_size connections are open; PoolTimeout if that takes longer."""
        core = self._core
        with self._cond:
            ready = self._cond.wait_for(
                lambda: core.closed or core.size >= core.cfg.min_size, timeout
            )
        if core.closed:
            raise PoolClosed(f"pool {self.name!r} is closed")
        if not ready:
            raise self._timeout_error(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Fail waiters with PoolClosed, close idle connections now and borrowed ones when
        they are returned; wait up to ``timeout`` seconds for background threads."""
        with self._lock:
            if self._core.closed:
                return
            failed = self._core.close(monotonic())
            doomed = self._core.take_doomed()
            self._cond.notify_all()
        self._stop.set()
        for waiter in failed:
            waiter.signal.set()
        self._dispose(doomed)
        deadline = monotonic() + timeout
        for thread in list(self._threads):
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - monotonic()))

    def __enter__(self) -> ConnectionPool:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()

    # -- borrowing ----------------------------------------------------------------------

    def getconn(self, timeout: float | None = None) -> Any:
        """Borrow a connection; PoolTimeout if none within ``timeout`` (default: the
        pool's), which covers waiting in the queue, health checks and reconnections."""
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
            with self._lock:
                rec = core.acquire(now)
                if core.doomed or type(rec) is Waiter:
                    doomed = core.take_doomed()
                    n = core.spawn_needed()
                else:
                    doomed, n = [], 0
            if doomed or n:
                self._dispose(doomed)
                self._spawn(n)
            if type(rec) is Waiter:
                rec = self._wait(rec, deadline, timeout)
                now = monotonic()
            assert isinstance(rec, Record)
            check = self._check_fn
            if check is not None and now - rec.last_used >= self._check_bypass:
                try:
                    check(rec.conn)
                except Exception as exc:
                    # The next connection comes after a backoff (see core.check_failed),
                    # waited for in the queue: no busy loop of checks and reconnections.
                    self._check_failed(rec, exc)
                    now = monotonic()
                    if now >= deadline:
                        with self._lock:
                            core.request_failed()
                        raise self._timeout_error(timeout) from None
                    continue
                except BaseException:
                    # Interrupted mid-check: the connection's state is unknown.
                    with self._lock:
                        core.request_failed()
                    self.putconn(rec.conn, discard=True)
                    raise
                if core.check_delay is not None:
                    with self._lock:
                        core.check_passed()
            if core.cfg.leak_timeout is not None:
                core.mark_leak_check(rec, "".join(traceback.format_stack()[:-1]))
            core.record_latency(monotonic() - t0)
            return rec.conn

    def _wait(self, waiter: Waiter, deadline: float, timeout: float) -> Record:
        core = self._core
        try:
            waiter.signal.wait(max(0.0, deadline - monotonic()))
        except BaseException:
            # Interrupted (e.g. KeyboardInterrupt): a connection handed over meanwhile
            # goes back to the next waiter instead of being lost.
            with self._lock:
                now = monotonic()
                rec = core.withdraw(waiter, now)
                nxt = core.give_back(rec, now) if rec is not None else None
            if nxt is not None:
                nxt.signal.set()
            raise
        with self._lock:
            rec = core.settle(waiter, monotonic())
        if rec is None:
            raise self._timeout_error(timeout)
        return rec

    def _check_failed(self, rec: Record, exc: BaseException) -> None:
        logger.info("pool %r: health check failed; retiring idle connections", self.name)
        with self._lock:
            self._core.check_failed(rec, monotonic(), exc)
            doomed = self._core.take_doomed()
            n = self._core.spawn_needed()
        self._dispose(doomed)
        self._spawn(n)

    def putconn(self, conn: Any, *, discard: bool = False) -> None:
        """Give a connection back. It is rolled back if in a transaction, and closed (and
        replaced as needed) if broken, busy, expired, or if ``discard`` is true."""
        core = self._core
        if not core.owns(conn):
            if self._orphan(conn) or self._returned_twice(conn):
                return
            raise ValueError(
                f"connection {type(conn).__name__} is not borrowed from pool {self.name!r}"
            )
        ok = not discard and self._reset_connection(conn)
        with self._lock:
            waiter = core.release(conn, monotonic(), ok)
            if core.doomed:
                doomed = core.take_doomed()
                n = core.spawn_needed()
            else:
                doomed, n = [], 0
        if waiter is not None:
            waiter.signal.set()
        if doomed or n:
            self._dispose(doomed)
            self._spawn(n)

    def _reset_connection(self, conn: Any) -> bool:
        adapter = self._adapter
        state = adapter.state(conn)
        if state is not _IDLE:
            if state not in _ROLLBACK:
                return False
            try:
                adapter.rollback(conn)
            except Exception:
                return False
        if self._reset is not None:
            try:
                self._reset(conn)
            except Exception as exc:
                self._log_reset_failure(exc)
                return False
            return self._reset_left_ok(adapter.state(conn))
        return True

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[Any]:
        """Borrow a connection for a ``with`` block. Uncommitted work is rolled back on
        return; an error that broke the connection gets it discarded."""
        conn = self.getconn(timeout)
        try:
            yield conn
        except Exception as exc:
            self.putconn(conn, discard=self._adapter.is_fatal(conn, exc))
            raise
        except BaseException:
            self.putconn(conn, discard=True)
            raise
        self.putconn(conn)

    # -- maintenance --------------------------------------------------------------------

    def resize(self, min_size: int, max_size: int | None = None) -> None:
        """Change the sizes at run time; extra idle connections are closed now, extra
        borrowed ones when returned."""
        if max_size is None:
            max_size = max(min_size, self._core.cfg.max_size)
        with self._lock:
            self._core.resize(min_size, max_size)
            doomed = self._core.take_doomed()
            n = self._core.spawn_needed() if self._opened else 0
        self._dispose(doomed)
        self._spawn(n)

    def drain(self) -> None:
        """Replace every connection: idle ones now, borrowed ones when returned."""
        with self._lock:
            self._core.drain()
            doomed = self._core.take_doomed()
            n = self._core.spawn_needed() if self._opened else 0
        self._dispose(doomed)
        self._spawn(n)

    def get_stats(self) -> dict[str, Any]:
        with self._lock:
            return self._core.stats()

    def pop_stats(self) -> dict[str, Any]:
        """Like get_stats, then reset the counters."""
        with self._lock:
            return self._core.pop_stats()

    # -- background work ----------------------------------------------------------------

    def _spawn(self, n: int) -> None:
        for _ in range(n):
            thread = threading.Thread(
                target=self._connect_loop, name=f"{self.name}-connect", daemon=True
            )
            self._threads.add(thread)
            thread.start()

    def _connect_loop(self) -> None:
        core = self._core
        delay: float | None = None
        try:
            while True:
                # After failed checks the next connection waits its backoff.
                if self._stop.wait(max(0.0, core.connect_after - monotonic())):
                    with self._lock:
                        core.connect_abandoned()
                    return
                t0 = monotonic()
                try:
                    conn = self._new_connection()
                except Exception as exc:
                    with self._lock:
                        core.connect_failed(exc)
                    delay = backoff(delay, core.cfg, self._rng)
                    self._log_connect_failure(exc, delay)
                    if self._stop.wait(delay):
                        with self._lock:
                            core.connect_abandoned()
                        return
                    with self._lock:
                        if not core.keep_trying():
                            return
                    continue
                now = monotonic()
                with self._lock:
                    waiter = core.connected(conn, now, now - t0)
                    doomed = core.take_doomed()
                    n = core.spawn_needed()
                    self._cond.notify_all()
                if waiter is not None:
                    waiter.signal.set()
                self._dispose(doomed)
                self._spawn(n)
                return
        except BaseException:  # pragma: no cover - a bug, not a connection failure
            logger.exception("pool %r: connection worker crashed", self.name)
            with self._lock:
                core.connect_abandoned()
        finally:
            self._threads.discard(threading.current_thread())

    def _new_connection(self) -> Any:
        conn = self._connect()
        try:
            if self._adapter is None:
                self._set_adapter(detect(conn))
            else:
                check_fits(self._adapter, conn)
            if self._configure is not None:
                self._configure(conn)
                self._check_configured(self._adapter.state(conn))
        except BaseException:
            self._close_quietly(conn)
            raise
        return conn

    def _dispose(self, records: list[Record]) -> None:
        for rec in records:
            self._close_quietly(rec.conn)

    def _close_quietly(self, conn: Any) -> None:
        try:
            adapter = self._adapter
            result = adapter.close(conn) if adapter is not None else conn.close()
            if inspect.isawaitable(result):
                # An async connection given to this sync pool (refused by check_fits):
                # its close is a coroutine, run to its end here.
                _finish(result)
        except Exception as exc:
            logger.debug("pool %r: error closing a connection: %s", self.name, type(exc).__name__)

    def _start_housekeeper(self) -> None:
        thread = threading.Thread(
            target=_housekeeper,
            args=(weakref.ref(self), self._stop, self._core.cfg.tick),
            name=f"{self.name}-housekeeper",
            daemon=True,
        )
        self._threads.add(thread)
        thread.start()

    def _housekeep(self) -> None:
        core = self._core
        now = monotonic()
        with self._lock:
            probe, leaked = core.housekeeping(now)
            doomed = core.take_doomed()
            n = core.spawn_needed()
        for rec in leaked:
            self._log_leak(rec, now)
        self._dispose(doomed)
        self._spawn(n)
        if not probe:
            return  # before the first connection there is no adapter yet
        check = self._check_fn or self._adapter.check
        for rec in probe:
            try:
                check(rec.conn)
                ok = True
            except Exception:
                ok = False
            with self._lock:
                waiter = core.check_done(rec, monotonic(), ok)
                doomed = core.take_doomed()
                n = core.spawn_needed()
            if waiter is not None:
                waiter.signal.set()
            self._dispose(doomed)
            self._spawn(n)

    def _after_fork(self) -> None:
        # In a forked child: forget the parent's connections without closing them (that
        # would end the parent's sessions) and restart the threads, which did not survive.
        self._init_threading()
        self._orphans.extend(self._core.forget_all())
        self._fork_gen = _fork.generation
        if self._opened and not self._core.closed:
            with self._lock:
                n = self._core.spawn_needed()
            self._start_housekeeper()
            self._spawn(n)


class _HandOff:
    """A waiter's wake-up: a lock taken at birth that the waiter blocks on and whoever
    grants or fails it releases. One futex wake-up, where threading.Event goes through a
    condition variable and a second lock."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()

    def set(self) -> None:
        with contextlib.suppress(RuntimeError):  # already set
            self._lock.release()

    def wait(self, timeout: float) -> bool:
        return self._lock.acquire(True, timeout)


def _housekeeper(ref: weakref.ref[ConnectionPool], stop: threading.Event, tick: float) -> None:
    # Holds the pool only weakly between ticks, so an unclosed pool can still be collected.
    while not stop.wait(tick):
        pool = ref()
        if pool is None:
            return
        try:
            pool._housekeep()
        except Exception:  # pragma: no cover - a bug
            logger.exception("pool %r: housekeeping failed", pool.name)
        finally:
            del pool


def _finish(awaitable: Any) -> None:
    """Run a coroutine to its end from sync code; in a thread that runs an event loop
    (where that cannot be done) it is dropped, and the connection left to its owner."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(_awaited(awaitable))
        return
    if inspect.iscoroutine(awaitable):
        awaitable.close()
    logger.warning("pool: a sync pool cannot close an async connection inside a running loop")


async def _awaited(awaitable: Any) -> Any:
    return await awaitable
