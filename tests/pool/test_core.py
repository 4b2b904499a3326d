"""PoolCore, the pure bookkeeping, driven without threads, sockets or clocks."""

from __future__ import annotations

import itertools
import random

import pytest

from pool import PoolClosed
from pool.core import (
    ABANDONED,
    FAILED,
    GRANTED,
    PoolConfig,
    PoolCore,
    Record,
    Waiter,
    backoff,
)

pytestmark = pytest.mark.unit


def make(**kw: object) -> PoolCore:
    return PoolCore(PoolConfig(**kw), rng=random.Random(1))  # type: ignore[arg-type]


def fill(core: PoolCore, n: int, now: float = 0.0) -> list[object]:
    """Open n connections through the core, as a shell would."""
    conns = []
    for _ in range(n):
        core.connecting += 1
        conn = object()
        assert core.connected(conn, now, 0.001) is None
        conns.append(conn)
    return conns


def test_fifo_hand_off_without_barging() -> None:
    core = make(min_size=0, max_size=1)
    (conn,) = fill(core, 1)
    first = core.acquire(1.0)
    assert isinstance(first, Record)
    w1, w2 = core.acquire(1.1), core.acquire(1.2)
    assert isinstance(w1, Waiter) and isinstance(w2, Waiter)
    # The return goes to the first waiter, not to the idle set a newcomer could take.
    assert core.release(conn, 2.0) is w1
    assert w1.state == GRANTED and w1.record is not None and w1.record.conn is conn
    late = core.acquire(2.0)
    assert isinstance(late, Waiter)
    assert core.release(conn, 3.0) is w2
    assert core.release(conn, 4.0) is late


def test_timed_out_waiter_is_withdrawn_and_loses_nothing() -> None:
    core = make(min_size=0, max_size=1)
    (conn,) = fill(core, 1)
    core.acquire(0.0)
    w = core.acquire(0.0)
    assert isinstance(w, Waiter)
    assert core.settle(w, 1.0) is None
    assert w.state == ABANDONED and not core.waiters
    assert core.release(conn, 2.0) is None
    assert len(core.idle) == 1


def test_grant_wins_over_a_simultaneous_timeout() -> None:
    core = make(min_size=0, max_size=1)
    (conn,) = fill(core, 1)
    core.acquire(0.0)
    w = core.acquire(0.0)
    assert isinstance(w, Waiter)
    core.release(conn, 1.0)
    rec = core.settle(w, 1.0)  # the waiter's timeout fired just after the grant
    assert rec is not None and rec.conn is conn


def test_interrupted_granted_waiter_gives_the_connection_to_the_next() -> None:
    core = make(min_size=0, max_size=1)
    (conn,) = fill(core, 1)
    core.acquire(0.0)
    w1, w2 = core.acquire(0.0), core.acquire(0.0)
    assert isinstance(w1, Waiter) and isinstance(w2, Waiter)
    core.release(conn, 1.0)
    rec = core.withdraw(w1, 1.0)
    assert rec is not None
    assert core.give_back(rec, 1.0) is w2


def test_growth_is_one_connection_at_a_time_above_min() -> None:
    core = make(min_size=2, max_size=5)
    assert core.spawn_needed() == 2  # fill to min in parallel
    assert core.spawn_needed() == 0
    fill_conns = [object(), object()]
    for c in fill_conns:
        core.connected(c, 0.0, 0.0)
    for _ in fill_conns:
        assert isinstance(core.acquire(0.0), Record)
    for _ in range(3):
        core.acquire(0.0)
    assert core.spawn_needed() == 1
    assert core.spawn_needed() == 0  # still connecting: no second attempt
    w = core.connected(object(), 0.1, 0.1)
    assert w is not None
    assert core.spawn_needed() == 1  # two waiters still queued


def test_no_growth_when_returns_absorb_the_burst() -> None:
    core = make(min_size=1, max_size=4)
    (conn,) = fill(core, 1)
    core.acquire(0.0)
    w = core.acquire(0.0)
    assert core.spawn_needed() == 1
    core.release(conn, 0.001)  # served by the return before the new one is ready
    assert isinstance(w, Waiter) and w.state == GRANTED
    assert core.keep_trying() is False  # if that attempt had failed, it would stop


def test_keep_trying_below_min_never_gives_up() -> None:
    core = make(min_size=1, max_size=2)
    assert core.spawn_needed() == 1
    for _ in range(1000):
        core.connect_failed(OSError("down"))
        assert core.keep_trying()
    assert core.connections_errors == 1000


def test_backoff_doubles_is_capped_and_jittered() -> None:
    cfg = PoolConfig(reconnect_delay=0.1, reconnect_max_delay=1.0)
    rng = random.Random(3)
    delays = []
    d = None
    for _ in range(10):
        d = backoff(d, cfg, rng)
        delays.append(d)
    assert 0.05 <= delays[0] <= 0.1
    assert all(0.0 < x <= 1.0 for x in delays)
    assert max(delays[-4:]) > 0.5  # reached the cap region
    assert len({round(x, 6) for x in delays}) > 5  # jittered


def test_expiry_checked_at_checkout_and_return() -> None:
    core = make(min_size=0, max_size=2, max_lifetime=10.0, lifetime_jitter=0.0)
    a, b = fill(core, 2, now=0.0)
    rec = core.acquire(5.0)
    assert isinstance(rec, Record) and rec.conn is a
    # b expired while idle: checkout skips it instead of handing it out
    w = core.acquire(11.0)
    assert isinstance(w, Waiter)
    assert [r.conn for r in core.take_doomed()] == [b]
    # a comes back expired: retired, not reused
    assert core.release(a, 12.0) is None
    assert [r.conn for r in core.take_doomed()] == [a]
    assert core.size == 0


def test_lifetime_jitter_spreads_expiry() -> None:
    core = make(min_size=0, max_size=50, max_lifetime=100.0, lifetime_jitter=0.05)
    fill(core, 50)
    expiries = [r.expire_at for r in core.idle]
    assert all(95.0 <= e <= 100.0 for e in expiries)
    assert len(set(expiries)) == 50


def test_failed_check_invalidates_every_idle_connection() -> None:
    core = make(min_size=0, max_size=4)
    fill(core, 4)
    rec = core.acquire(1.0)
    assert isinstance(rec, Record)
    other = core.acquire(1.0)
    assert isinstance(other, Record)
    core.check_failed(rec, 1.0)
    assert len(core.take_doomed()) == 3  # the failed one and the two idle ones
    assert not core.idle and core.size == 1 and core.connections_lost == 1
    assert core.owns(other.conn)  # the borrowed one is left alone


def test_failed_checks_delay_the_next_connection_with_backoff() -> None:
    core = make(min_size=0, max_size=4, reconnect_delay=0.1, reconnect_max_delay=1.0)
    delays = []
    for now in (1.0, 1.5, 2.0, 2.5, 3.0, 3.5):
        fill(core, 1, now=now)
        rec = core.acquire(now)
        assert isinstance(rec, Record)
        core.check_failed(rec, now, RuntimeError("refused"))
        delays.append(core.connect_after - now)
    # The reconnection backoff: from 0.1 s, each the previous doubled (capped at 1 s),
    # jittered down to at most half.
    assert 0.05 <= delays[0] <= 0.1
    for previous, delay in itertools.pairwise(delays):
        assert min(previous, 0.5) <= delay <= min(2 * previous, 1.0)
    assert delays[-1] > 2 * delays[0]
    assert core.last_error_was_check and isinstance(core.last_error, RuntimeError)
    core.check_passed()
    fill(core, 1, now=4.0)
    rec = core.acquire(4.0)
    assert isinstance(rec, Record)
    core.check_failed(rec, 4.0)
    assert core.connect_after - 4.0 <= 0.1  # a passed check ended the streak


def test_request_counters_have_psycopg_pools_meanings() -> None:
    core = make(min_size=0, max_size=1)
    fill(core, 1)
    core.acquire(0.0)
    timed_out, cancelled, closed = core.acquire(0.0), core.acquire(0.0), core.acquire(0.0)
    assert isinstance(timed_out, Waiter) and isinstance(cancelled, Waiter)
    assert core.settle(timed_out, 0.25) is None  # its deadline passed
    assert core.withdraw(cancelled, 0.5) is None  # cancelled while queued
    assert core.close(1.0) == [closed]  # fails the last one
    stats = core.stats()
    assert stats["requests_num"] == 4 and stats["requests_queued"] == 3
    assert stats["requests_errors"] == 3
    assert stats["requests_wait_ms"] == 250 + 500 + 1000
    core.connect_failed(OSError("refused"))
    assert core.stats()["connections_num"] == 2  # attempts: one success, one failure
    assert core.stats()["connections_errors"] == 1


def test_max_idle_shrinks_to_min_only() -> None:
    core = make(min_size=2, max_size=5, max_idle=10.0)
    fill(core, 5, now=0.0)
    core.housekeeping(20.0)
    assert len(core.take_doomed()) == 3
    assert core.size == 2


def test_keepalive_takes_idle_connections_out_for_a_check() -> None:
    core = make(min_size=0, max_size=3, keepalive=5.0)
    conns = fill(core, 3, now=0.0)
    rec = core.acquire(4.0)
    assert isinstance(rec, Record)
    core.release(rec.conn, 4.0)  # used recently: not probed
    probe, leaked = core.housekeeping(6.0)
    assert sorted(id(r.conn) for r in probe) == sorted(id(c) for c in conns[1:])
    assert not leaked and len(core.idle) == 1
    core.check_done(probe[0], 6.1, ok=True)
    core.check_done(probe[1], 6.1, ok=False)
    assert len(core.idle) == 2 and core.size == 2 and core.connections_lost == 1


def test_leak_reported_once() -> None:
    core = make(min_size=0, max_size=1, leak_timeout=2.0)
    fill(core, 1)
    rec = core.acquire(0.0)
    assert isinstance(rec, Record)
    core.mark_leak_check(rec, "stack")
    assert core.housekeeping(1.0)[1] == []
    assert core.housekeeping(3.0)[1] == [rec]
    assert core.housekeeping(9.0)[1] == []
    assert core.stats()["leaks"] == 1


def test_close_fails_waiters_and_refuses_new_acquires() -> None:
    core = make(min_size=0, max_size=1)
    (conn,) = fill(core, 1)
    core.acquire(0.0)
    w = core.acquire(0.0)
    assert isinstance(w, Waiter)
    assert core.close() == [w]
    assert w.state == FAILED
    with pytest.raises(PoolClosed):
        core.settle(w, 1.0)
    with pytest.raises(PoolClosed):
        core.acquire(1.0)
    assert core.release(conn, 1.0) is None
    assert core.size == 0 and core.spawn_needed() == 0


def test_drain_replaces_idle_now_and_borrowed_on_return() -> None:
    core = make(min_size=2, max_size=2)
    a, _b = fill(core, 2)
    core.acquire(0.0)
    core.drain()
    assert len(core.take_doomed()) == 1
    assert core.spawn_needed() == 1
    core.connected(object(), 1.0, 0.0)
    assert core.release(a, 1.0) is None
    assert [r.conn for r in core.take_doomed()] == [a]
    assert core.spawn_needed() == 1


def test_resize_down_retires_extra_idle() -> None:
    core = make(min_size=4, max_size=4)
    fill(core, 4)
    core.resize(1, 2)
    assert len(core.take_doomed()) == 2 and core.size == 2
    with pytest.raises(ValueError, match="max_size"):
        core.resize(3, 2)


def test_release_of_unknown_connection_is_refused() -> None:
    core = make()
    with pytest.raises(ValueError, match="not borrowed"):
        core.release(object(), 0.0)


def test_forget_all_drops_records_without_closing() -> None:
    core = make(min_size=0, max_size=2)
    fill(core, 2)
    core.acquire(0.0)
    orphans = core.forget_all()
    assert len(orphans) == 2 and core.size == 0 and not core.take_doomed()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("min_size", -1),
        ("max_size", 0),
        ("timeout", 0),
        ("max_lifetime", -5),
        ("lifetime_jitter", 1.5),
        ("reconnect_delay", 0),
    ],
)
def test_bad_options_name_the_option(option: str, value: object) -> None:
    with pytest.raises(ValueError, match=option):
        PoolConfig(**{option: value})  # type: ignore[arg-type]


def test_stats_have_psycopg_keys_and_ours() -> None:
    core = make(min_size=0, max_size=1)
    (conn,) = fill(core, 1)
    core.acquire(0.0)
    core.record_latency(0.002)
    core.release(conn, 0.5)
    stats = core.stats()
    keys = (
        "pool_min pool_max pool_size pool_available requests_waiting usage_ms requests_num "
        "requests_queued requests_wait_ms requests_errors returns_bad connections_num "
        "connections_ms connections_errors connections_lost size available waiting requests "
        "wait_ms errors leaks acquire_ms_p50 acquire_ms_p99 acquire_ms_p999"
    )
    for key in keys.split(" "):
        assert key in stats
    assert stats["usage_ms"] == 500 and stats["acquire_ms_p50"] == pytest.approx(2.0)
    assert core.pop_stats()["requests_num"] == 1
    assert core.stats()["requests_num"] == 0
