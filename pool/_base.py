"""What the sync and async pools share that involves no I/O: options, messages, stats."""

from __future__ import annotations

import itertools
import logging
import random
from typing import Any

from . import _fork
from .adapters import ConnState
from .core import PoolConfig, PoolCore, Record
from .errors import ConnectionStateError, PoolClosed, PoolError, PoolTimeout

logger = logging.getLogger("pool")

_ids = itertools.count(1)


class BasePool:
    def __init__(
        self,
        connect: Any,
        *,
        min_size: int,
        max_size: int,
        timeout: float,
        max_lifetime: float | None,
        max_idle: float | None,
        check: Any,
        reset: Any,
        configure: Any,
        adapter: Any,
        name: str | None,
        keepalive: float | None,
        leak_timeout: float | None,
        check_bypass: float | None,
        lifetime_jitter: float,
        reconnect_delay: float,
        reconnect_max_delay: float,
    ) -> None:
        if not callable(connect):
            raise TypeError(
                "connect must be a callable returning a new connection, "
                f"got {type(connect).__name__}"
            )
        if check is not None and check is not False and not callable(check):
            raise TypeError("check must be None (the adapter's check), False (off) or a callable")
        for option, value in (("reset", reset), ("configure", configure)):
            if value is not None and not callable(value):
                raise TypeError(f"{option} must be a callable or None, got {type(value).__name__}")
        self.name = name or f"pool-{next(_ids)}"
        cfg = PoolConfig(
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            max_lifetime=max_lifetime,
            max_idle=max_idle,
            lifetime_jitter=lifetime_jitter,
            check_bypass=check_bypass,
            keepalive=keepalive,
            leak_timeout=leak_timeout,
            reconnect_delay=reconnect_delay,
            reconnect_max_delay=reconnect_max_delay,
        )
        self._connect = connect
        self._check_option = check
        self._reset = reset
        self._configure = configure
        self._adapter: Any = None
        self._check_fn: Any = None
        # The adapter's liveness check is skipped for a connection used (or opened) in
        # the last half second; a check of the user's own runs at every checkout.
        if check_bypass is None:
            check_bypass = 0.5 if check is None else 0.0
        self._check_bypass = check_bypass
        self._rng = random.Random()
        self._core = PoolCore(cfg, self._signal_factory(), rng=self._rng, name=self.name)
        self._fork_gen = _fork.generation
        self._orphans: list[Record] = []
        self._opened = False
        if adapter is not None:
            self._set_adapter(adapter)

    def _signal_factory(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _set_adapter(self, adapter: Any) -> None:
        self._adapter = adapter
        if self._check_option is None:
            self._check_fn = adapter.check
        elif self._check_option is False:
            self._check_fn = None
        else:
            self._check_fn = self._check_option

    def __repr__(self) -> str:
        core = self._core
        state = "closed" if core.closed else "open" if self._opened else "not open"
        return (
            f"<{type(self).__name__} {self.name!r} {state} size={core.size} "
            f"available={len(core.idle)} waiting={len(core.waiters)}>"
        )

    @property
    def min_size(self) -> int:
        return self._core.cfg.min_size

    @property
    def max_size(self) -> int:
        return self._core.cfg.max_size

    @property
    def timeout(self) -> float:
        return self._core.cfg.timeout

    @property
    def closed(self) -> bool:
        return self._core.closed

    def _not_open(self) -> PoolClosed:
        if self._core.closed:
            return PoolClosed(f"pool {self.name!r} is closed")
        return PoolClosed(
            f"pool {self.name!r} is not open yet: call open() or use it as a context manager"
        )

    def _timeout_error(self, timeout: float) -> PoolTimeout:
        last = self._core.last_error
        extra = ""
        if last is not None:
            what = "health check" if self._core.last_error_was_check else "connection attempt"
            extra = f"; the last {what} failed with {_describe(last)}"
        err = PoolTimeout(
            f"couldn't get a connection from pool {self.name!r} within {timeout:g} s{extra}"
        )
        err.__cause__ = last
        return err

    def _reset_left_ok(self, state: ConnState) -> bool:
        """After ``reset``: only a connection it left idle may be handed out again. One
        left in a transaction is not rolled back: the rollback would undo the reset
        itself (psycopg outside autocommit opens a transaction for ``RESET ALL``)."""
        if state is ConnState.IDLE:
            return True
        logger.warning(
            "pool %r: reset left the connection %s; discarding it", self.name, _STATES[state]
        )
        return False

    def _check_configured(self, state: ConnState) -> None:
        """After ``configure``: a connection it left in a transaction fails the attempt
        (logged, counted, retried with backoff); rolling back would drop the settings."""
        if state is not ConnState.IDLE:
            raise ConnectionStateError(
                f"configure left the connection {_STATES[state]}: commit, or set autocommit"
            )

    def _orphan(self, conn: Any) -> bool:
        return any(rec.conn is conn for rec in self._orphans)

    def _returned_twice(self, conn: Any) -> bool:
        return any(rec.conn is conn for rec in self._core.idle)

    def _log_leak(self, rec: Record, now: float) -> None:
        logger.warning(
            "pool %r: a connection has been borrowed for %.1f s and not returned; "
            "it was borrowed at:\n%s",
            self.name,
            now - rec.borrowed_at,
            rec.stack,
        )

    def _log_connect_failure(self, exc: BaseException, delay: float) -> None:
        logger.warning(
            "pool %r: connection attempt failed (%s); retrying in %.2f s",
            self.name,
            _describe(exc),
            delay,
        )

    def _log_reset_failure(self, exc: BaseException) -> None:
        logger.warning(
            "pool %r: reset failed (%s); discarding the connection", self.name, _describe(exc)
        )


_STATES = {
    ConnState.INTRANS: "in a transaction",
    ConnState.INERROR: "in a failed transaction",
    ConnState.ACTIVE: "running a command",
    ConnState.BROKEN: "broken",
}


def _describe(exc: BaseException) -> str:
    # A driver's message can quote its connection string (with a password): only its
    # type is named. The pool's own messages are safe, and say what to fix.
    if isinstance(exc, PoolError):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__
