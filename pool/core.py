"""The pool's bookkeeping as pure code (sans-I/O).

``PoolCore`` decides everything a pool decides -- who gets which connection, when to
open one more, which connections to retire -- and does no I/O: it never connects, closes,
sleeps, locks or reads a clock. The sync and async pools (``pool.pool`` and
``pool.pool_async``) own the I/O: they pass ``now`` in, hold their lock (the sync pool) or
run on one event loop (the async pool) around each call, then act on what the core says:
signal the waiters it granted, close the records it put in ``doomed``, start as many
connection attempts as ``spawn_needed()`` returns. Tests drive it without sockets.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .errors import PoolClosed

# Waiter states: a waiter changes state once, from WAITING to one of the others, and
# only inside a core call, so a hand-off and a timeout/cancellation can never both win.
WAITING = 0
GRANTED = 1
FAILED = 2
ABANDONED = 3

LATENCY_WINDOW = 4096  # acquire latencies kept for the percentiles in the stats


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """Validated sizing and timing options shared by both pools (seconds)."""

    min_size: int = 1
    max_size: int = 10
    timeout: float = 30.0
    max_lifetime: float | None = 3600.0
    max_idle: float | None = 600.0
    lifetime_jitter: float = 0.05
    check_bypass: float | None = None
    keepalive: float | None = None
    leak_timeout: float | None = None
    reconnect_delay: float = 0.1
    reconnect_max_delay: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.min_size, int) or self.min_size < 0:
            raise ValueError(f"min_size must be an int >= 0, got {self.min_size!r}")
        if not isinstance(self.max_size, int) or self.max_size < max(1, self.min_size):
            raise ValueError(
                f"max_size must be an int >= max(1, min_size={self.min_size}), "
                f"got {self.max_size!r}"
            )
        _positive("timeout", self.timeout)
        for name in ("max_lifetime", "max_idle", "keepalive", "leak_timeout"):
            value = getattr(self, name)
            if value is not None:
                _positive(name, value)
        if not 0.0 <= self.lifetime_jitter < 1.0:
            raise ValueError(f"lifetime_jitter must be in [0, 1), got {self.lifetime_jitter!r}")
        if self.check_bypass is not None and not (
            isinstance(self.check_bypass, int | float)
            and not isinstance(self.check_bypass, bool)
            and 0 <= self.check_bypass < math.inf
        ):
            raise ValueError(
                f"check_bypass must be None or a finite number >= 0, got {self.check_bypass!r}"
            )
        _positive("reconnect_delay", self.reconnect_delay)
        _positive("reconnect_max_delay", self.reconnect_max_delay)
        if self.reconnect_max_delay < self.reconnect_delay:
            raise ValueError(
                f"reconnect_max_delay must be >= reconnect_delay ({self.reconnect_delay}), "
                f"got {self.reconnect_max_delay!r}"
            )

    @property
    def tick(self) -> float:
        """How often housekeeping runs: a quarter of the shortest period it enforces."""
        periods = [
            p
            for p in (self.max_idle, self.max_lifetime, self.keepalive, self.leak_timeout)
            if p is not None
        ]
        if not periods:
            return 5.0
        return min(5.0, max(0.005, min(periods) / 4))


def _positive(name: str, value: object) -> None:
    # Finite: an infinite wait overflows the lock's timeout (None means "never" instead).
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


class Record:
    """One physical connection and what the pool knows about it."""

    __slots__ = (
        "borrowed_at",
        "conn",
        "created_at",
        "expire_at",
        "last_used",
        "leak_reported",
        "serial",
        "stack",
    )

    def __init__(self, conn: Any, serial: int, now: float, expire_at: float) -> None:
        self.conn = conn
        self.serial = serial
        self.created_at = now
        self.expire_at = expire_at
        self.last_used = now
        self.borrowed_at = 0.0
        self.stack: str | None = None
        self.leak_reported = False

    def __repr__(self) -> str:
        return f"<Record #{self.serial}>"


class Waiter:
    """A queued acquire: the hand-off object one connection is given to."""

    __slots__ = ("error", "queued_at", "record", "signal", "state")

    def __init__(self, now: float, signal: Any) -> None:
        self.state = WAITING
        self.record: Record | None = None
        self.error: BaseException | None = None
        self.queued_at = now
        self.signal = signal  # a lock hand-off (threads) / anyio.Event; the shells set it


def backoff(previous: float | None, cfg: PoolConfig, rng: random.Random) -> float:
    """Next delay between connection attempts: doubling, capped, jittered down to half.

    Jitter spreads the retries of many processes; the cap bounds how long after the
    server comes back the first attempt can happen. There is no give-up: the caller keeps
    retrying for as long as the pool wants the connection.
    """
    base = cfg.reconnect_delay if previous is None else min(previous * 2, cfg.reconnect_max_delay)
    return base * (0.5 + 0.5 * rng.random())


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    k = max(0, min(len(sorted_values) - 1, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[k]


class PoolCore:
    """Pure pool state machine. Not thread-safe: the caller serialises calls."""

    def __init__(
        self,
        cfg: PoolConfig,
        signal_factory: Callable[[], Any] = lambda: None,
        rng: random.Random | None = None,
        name: str = "pool",
    ) -> None:
        self.cfg = cfg
        self.name = name
        self.signal_factory = signal_factory
        self.rng = rng or random.Random()
        self.idle: deque[Record] = deque()
        self.busy: dict[int, Record] = {}
        self.waiters: deque[Waiter] = deque()
        self.doomed: list[Record] = []
        self.size = 0  # open connections: idle + busy
        self.connecting = 0  # connection attempts in progress (including their backoff)
        self.closed = False
        self.serial = 0
        self.drain_serial = 0  # records with a smaller serial are retired
        self.last_error: BaseException | None = None
        self.last_error_was_check = False
        # Backoff after failed checkout checks, as after failed connects: no connection
        # attempt starts before ``connect_after``.
        self.connect_after = 0.0
        self.check_delay: float | None = None
        self.check_failed_at = -math.inf
        self.latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._reset_counters()

    def _reset_counters(self) -> None:
        self.requests_num = 0
        self.requests_queued = 0
        self.requests_wait_ms = 0.0
        self.requests_errors = 0
        self.usage_ms = 0.0
        self.returns_bad = 0
        self.connections_num = 0
        self.connections_ms = 0.0
        self.connections_errors = 0
        self.connections_lost = 0
        self.leaks = 0

    # -- acquire ----------------------------------------------------------------------

    def acquire(self, now: float) -> Record | Waiter:
        """Hand out an idle connection, or queue a waiter (FIFO, no barging)."""
        if self.closed:
            raise PoolClosed(f"pool {self.name!r} is closed")
        self.requests_num += 1
        idle = self.idle
        # Idle connections exist only while nobody waits: every return goes to the first
        # waiter, so a newcomer can never overtake a queued acquire.
        while idle:
            rec = idle.popleft()
            if rec.expire_at <= now:
                self._doom(rec)
                continue
            self.busy[id(rec.conn)] = rec
            rec.borrowed_at = now
            return rec
        waiter = Waiter(now, self.signal_factory())
        self.waiters.append(waiter)
        self.requests_queued += 1
        return waiter

    def settle(self, waiter: Waiter, now: float) -> Record | None:
        """Called by the waiting side when it stops waiting, for whatever reason.

        Returns the record if the waiter was granted one (the caller owns it now: it
        either uses it or gives it back with ``give_back``), raises the error it was
        failed with, or withdraws it from the queue (its deadline passed: a request
        error) and returns None.
        """
        if waiter.state == FAILED:
            assert waiter.error is not None
            raise waiter.error
        return self.withdraw(waiter, now, interrupted=False)

    def withdraw(self, waiter: Waiter, now: float, interrupted: bool = True) -> Record | None:
        """Like ``settle`` but never raises: for a waiter that was interrupted (the
        interruption must propagate, not be replaced by PoolClosed). Either way the
        request failed: it is counted in ``requests_errors``, its wait in
        ``requests_wait_ms``. A granted record is returned for ``give_back``."""
        if waiter.state == GRANTED:
            if interrupted:
                self.requests_errors += 1
            return waiter.record
        if waiter.state == WAITING:
            self.waiters.remove(waiter)
            waiter.state = ABANDONED
            self.requests_wait_ms += (now - waiter.queued_at) * 1000.0
            self.requests_errors += 1
        return None

    def request_failed(self) -> None:
        """An acquire that held a connection (for its check) ended without one."""
        self.requests_errors += 1

    def record_latency(self, seconds: float) -> None:
        self.latencies.append(seconds * 1000.0)

    def mark_leak_check(self, rec: Record, stack: str) -> None:
        rec.stack = stack
        rec.leak_reported = False

    # -- return -----------------------------------------------------------------------

    def owns(self, conn: Any) -> bool:
        return id(conn) in self.busy

    def release(self, conn: Any, now: float, ok: bool = True) -> Waiter | None:
        """A borrowed connection comes back (``ok``: it is clean and reusable)."""
        rec = self.busy.pop(id(conn), None)
        if rec is None:
            raise ValueError(
                f"connection {type(conn).__name__} is not borrowed from pool {self.name!r}"
            )
        self.usage_ms += (now - rec.borrowed_at) * 1000.0
        rec.last_used = now
        rec.stack = None
        if not ok:
            self.returns_bad += 1
            self._doom(rec)
            return None
        return self._reuse(rec, now)

    def give_back(self, rec: Record, now: float) -> Waiter | None:
        """Return a connection that a cancelled or failed acquire never used."""
        del self.busy[id(rec.conn)]
        return self._reuse(rec, now)

    def check_done(self, rec: Record, now: float, ok: bool) -> Waiter | None:
        """Result of a keepalive check of a connection taken by ``housekeeping``."""
        rec = self.busy.pop(id(rec.conn))
        if not ok:
            self.connections_lost += 1
            self._doom(rec)
            return None
        rec.last_used = now
        return self._reuse(rec, now)

    def check_failed(self, rec: Record, now: float, exc: BaseException | None = None) -> None:
        """A checkout health check failed: drop it and every connection idle since before.

        One dead connection usually means a server restart or a network cut that killed
        its siblings too; retiring them all at once costs one failed check instead of one
        per stale connection (each with its own backoff). The replacement waits like a
        reconnection after a failed attempt: a check that fails on every connection
        must not make the pool open connections as fast as the server accepts them.
        """
        del self.busy[id(rec.conn)]
        self.connections_lost += 1
        self._doom(rec)
        while self.idle:
            self._doom(self.idle.popleft())
        if now - self.check_failed_at > 2 * self.cfg.reconnect_max_delay:
            self.check_delay = None  # an old streak: start the backoff over
        self.check_delay = backoff(self.check_delay, self.cfg, self.rng)
        self.check_failed_at = now
        self.connect_after = now + self.check_delay
        if exc is not None:
            self.last_error, self.last_error_was_check = exc, True

    def check_passed(self) -> None:
        self.check_delay = None

    def _reuse(self, rec: Record, now: float) -> Waiter | None:
        if (
            self.closed
            or rec.expire_at <= now
            or rec.serial < self.drain_serial
            or self.size > self.cfg.max_size
        ):
            self._doom(rec)
            return None
        return self._hand_out(rec, now)

    def _hand_out(self, rec: Record, now: float) -> Waiter | None:
        if self.waiters:
            waiter = self.waiters.popleft()
            waiter.state = GRANTED
            waiter.record = rec
            self.busy[id(rec.conn)] = rec
            rec.borrowed_at = now
            self.requests_wait_ms += (now - waiter.queued_at) * 1000.0
            return waiter
        self.idle.append(rec)
        return None

    def _doom(self, rec: Record) -> None:
        self.size -= 1
        self.doomed.append(rec)

    def take_doomed(self) -> list[Record]:
        doomed, self.doomed = self.doomed, []
        return doomed

    # -- growth and reconnection --------------------------------------------------------

    def spawn_needed(self) -> int:
        """How many connection attempts to start now (they are counted as started).

        Below min_size the pool fills in parallel; above it, it grows by one connection at
        a time and only while someone waits, so a burst that the existing connections
        absorb causes no needless growth.
        """
        if self.closed:
            return 0
        total = self.size + self.connecting
        if total < self.cfg.min_size:
            n = self.cfg.min_size - total
        elif self.waiters and self.connecting == 0 and total < self.cfg.max_size:
            n = 1
        else:
            return 0
        self.connecting += n
        return n

    def connected(self, conn: Any, now: float, connect_seconds: float) -> Waiter | None:
        """An attempt succeeded: the new connection goes to the first waiter or idles."""
        self.connecting -= 1
        if not self.last_error_was_check:
            self.last_error = None
        self.connections_num += 1
        self.connections_ms += connect_seconds * 1000.0
        self.serial += 1
        rec = Record(conn, self.serial, now, self._expiry(now))
        self.size += 1
        if self.closed:
            self._doom(rec)
            return None
        return self._hand_out(rec, now)

    def connect_failed(self, exc: BaseException) -> None:
        self.connections_num += 1
        self.connections_errors += 1
        self.last_error, self.last_error_was_check = exc, False

    def keep_trying(self) -> bool:
        """After a failed attempt's backoff: is the connection still wanted?

        If not, the attempt ends (and stops being counted); the next acquire that finds
        no connection starts a new one, so the pool never gives up for good.
        """
        total = self.size + self.connecting
        if not self.closed and (
            total <= self.cfg.min_size or (self.waiters and total <= self.cfg.max_size)
        ):
            return True
        self.connecting -= 1
        return False

    def connect_abandoned(self) -> None:
        self.connecting -= 1

    def _expiry(self, now: float) -> float:
        lifetime = self.cfg.max_lifetime
        if lifetime is None:
            return math.inf
        # Jitter (up to lifetime_jitter shorter) so connections opened together are not
        # all retired, and reopened, at the same instant.
        return now + lifetime * (1.0 - self.cfg.lifetime_jitter * self.rng.random())

    # -- housekeeping -----------------------------------------------------------------

    def housekeeping(self, now: float) -> tuple[list[Record], list[Record]]:
        """Retire expired and long-idle connections; pick connections to keep alive.

        Returns (records to check now -- they are taken out of the idle set until
        ``check_done``, records newly found leaked). Retired ones go to ``doomed``.
        """
        cfg = self.cfg
        excess = self.size - cfg.min_size
        keep: deque[Record] = deque()
        probe: list[Record] = []
        for rec in self.idle:
            if rec.expire_at <= now or rec.serial < self.drain_serial:
                self._doom(rec)
            elif cfg.max_idle is not None and now - rec.last_used >= cfg.max_idle and excess > 0:
                excess -= 1
                self._doom(rec)
            elif cfg.keepalive is not None and now - rec.last_used >= cfg.keepalive:
                rec.borrowed_at = now
                self.busy[id(rec.conn)] = rec
                probe.append(rec)
            else:
                keep.append(rec)
        self.idle = keep
        leaked: list[Record] = []
        if cfg.leak_timeout is not None:
            for rec in self.busy.values():
                if (
                    rec.stack is not None
                    and not rec.leak_reported
                    and now - rec.borrowed_at >= cfg.leak_timeout
                ):
                    rec.leak_reported = True
                    self.leaks += 1
                    leaked.append(rec)
        return probe, leaked

    # -- lifecycle ----------------------------------------------------------------------

    def close(self, now: float | None = None) -> list[Waiter]:
        """Stop handing out; fail every waiter (a request error each); retire idle
        connections now and borrowed ones when they come back."""
        self.closed = True
        failed = list(self.waiters)
        self.waiters.clear()
        for waiter in failed:
            waiter.state = FAILED
            waiter.error = PoolClosed(f"pool {self.name!r} was closed while waiting")
            self.requests_errors += 1
            if now is not None:
                self.requests_wait_ms += (now - waiter.queued_at) * 1000.0
        while self.idle:
            self._doom(self.idle.popleft())
        return failed

    def drain(self) -> None:
        """Replace every connection: idle ones now, borrowed ones when they come back."""
        self.drain_serial = self.serial + 1
        while self.idle:
            self._doom(self.idle.popleft())

    def resize(self, min_size: int, max_size: int) -> None:
        self.cfg = replace(self.cfg, min_size=min_size, max_size=max_size)
        while self.size > max_size and self.idle:
            self._doom(self.idle.popleft())

    def forget_all(self) -> list[Record]:
        """After a fork: drop every record without closing it (the sockets are the
        parent's; closing them from the child would end the parent's sessions)."""
        orphans = list(self.idle) + list(self.busy.values())
        self.idle.clear()
        self.busy.clear()
        self.waiters.clear()
        self.doomed.clear()
        self.size = 0
        self.connecting = 0
        return orphans

    # -- stats --------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        size = self.size + self.connecting
        available = len(self.idle)
        waiting = len(self.waiters)
        return {
            # psycopg_pool's keys
            "pool_min": self.cfg.min_size,
            "pool_max": self.cfg.max_size,
            "pool_size": size,
            "pool_available": available,
            "requests_waiting": waiting,
            "usage_ms": round(self.usage_ms),
            "requests_num": self.requests_num,
            "requests_queued": self.requests_queued,
            "requests_wait_ms": round(self.requests_wait_ms),
            "requests_errors": self.requests_errors,
            "returns_bad": self.returns_bad,
            "connections_num": self.connections_num,
            "connections_ms": round(self.connections_ms),
            "connections_errors": self.connections_errors,
            "connections_lost": self.connections_lost,
            # short names (DESIGN.md §5) and our additions
            "size": size,
            "available": available,
            "waiting": waiting,
            "requests": self.requests_num,
            "wait_ms": round(self.requests_wait_ms),
            "errors": self.requests_errors,
            "leaks": self.leaks,
            "acquire_ms_p50": percentile(lat, 0.50),
            "acquire_ms_p99": percentile(lat, 0.99),
            "acquire_ms_p999": percentile(lat, 0.999),
        }

    def pop_stats(self) -> dict[str, Any]:
        stats = self.stats()
        self._reset_counters()
        self.latencies.clear()
        return stats
