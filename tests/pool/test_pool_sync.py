"""ConnectionPool (threads) against the fake driver: one test per hazard of the
pool-anchors reference §4."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from typing import Any

import pytest

from pool import ConnectionPool, ConnState, PoolClosed, PoolTimeout

pytestmark = pytest.mark.unit


def wait_until(predicate: Any, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.002)


@pytest.fixture
def make_pool(server: Any, adapter: Any, fast: dict[str, Any]) -> Any:
    pools: list[ConnectionPool] = []

    def make(**kw: Any) -> ConnectionPool:
        options = {"adapter": adapter, "check": False, **fast, **kw}
        p = ConnectionPool(server.connect, **options)
        pools.append(p)
        return p

    yield make
    for p in pools:
        p.close(timeout=1.0)


# -- reset on return -------------------------------------------------------------------


@pytest.mark.parametrize("sql", ["BEGIN", "ERROR"])
def test_returned_in_transaction_is_rolled_back_and_kept(make_pool: Any, sql: str) -> None:
    p = make_pool(min_size=1, max_size=1)
    conn = p.getconn()
    conn.execute(sql)
    p.putconn(conn)
    again = p.getconn()
    assert again is conn and conn.status is ConnState.IDLE


@pytest.mark.parametrize("how", ["active", "closed", "rollback_fails", "discard"])
def test_broken_or_busy_return_is_closed_and_replaced(
    make_pool: Any, server: Any, how: str
) -> None:
    p = make_pool(min_size=1, max_size=1)
    conn = p.getconn()
    if how == "active":
        conn.execute("START")
    elif how == "closed":
        conn.close()
    elif how == "rollback_fails":
        conn.execute("BEGIN")
        conn.fail_rollback = True
    p.putconn(conn, discard=how == "discard")
    assert conn.closed
    assert p.get_stats()["returns_bad"] == 1
    replacement = p.getconn()
    assert replacement is not conn and not replacement.closed


def test_reset_hook_runs_and_a_bad_reset_drops_the_connection(make_pool: Any) -> None:
    calls: list[Any] = []

    def reset(conn: Any) -> None:
        calls.append(conn)
        if len(calls) == 2:
            conn.execute("START")  # leaves it busy: must be dropped

    p = make_pool(min_size=1, max_size=1, reset=reset)
    conn = p.getconn()
    p.putconn(conn)
    assert p.getconn() is conn
    p.putconn(conn)
    assert conn.closed and len(calls) == 2


def test_connection_block_discards_on_fatal_error(make_pool: Any, server: Any) -> None:
    p = make_pool(min_size=1, max_size=1)
    with pytest.raises(RuntimeError), p.connection() as conn:
        conn.execute("BEGIN")
        raise RuntimeError("app error")
    assert not conn.closed and conn.status is ConnState.IDLE  # rolled back, kept
    with pytest.raises(RuntimeError), p.connection() as conn2:
        server.restart()  # the session dies under the borrower
        raise RuntimeError("query failed")
    assert conn2 is conn and conn.closed


def test_wrong_pool_and_double_return(make_pool: Any, server: Any) -> None:
    p1, p2 = make_pool(min_size=1), make_pool(min_size=1)
    conn = p1.getconn()
    with pytest.raises(ValueError, match="not borrowed from pool"):
        p2.putconn(conn)
    p1.putconn(conn)
    p1.putconn(conn)  # second return: ignored, accounting intact
    stats = p1.get_stats()
    assert stats["pool_size"] == 1 and stats["pool_available"] == 1


# -- timeouts and fairness ---------------------------------------------------------------


def test_timeout_is_honoured_and_timed_out_waiters_lose_nothing(make_pool: Any) -> None:
    p = make_pool(min_size=2, max_size=2)
    a, b = p.getconn(), p.getconn()
    t0 = time.monotonic()
    with pytest.raises(PoolTimeout, match=r"within 0\.1 s"):
        p.getconn(timeout=0.1)
    assert time.monotonic() - t0 >= 0.095  # not before its deadline (clock granularity aside)
    p.putconn(a)
    p.putconn(b)
    stats = p.get_stats()
    assert stats["pool_available"] == 2 and stats["requests_errors"] == 1


def test_waiters_are_served_in_arrival_order(make_pool: Any) -> None:
    p = make_pool(min_size=1, max_size=1)
    held = p.getconn()
    served: list[int] = []

    def worker(i: int) -> None:
        conn = p.getconn()
        served.append(i)
        p.putconn(conn)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for i, t in enumerate(threads):
        t.start()
        wait_until(lambda i=i: p.get_stats()["requests_waiting"] == i + 1)
    p.putconn(held)
    for t in threads:
        t.join()
    assert served == list(range(8))


# -- growth ------------------------------------------------------------------------------


def test_spike_grows_one_at_a_time_without_needless_growth(make_pool: Any, server: Any) -> None:
    p = make_pool(min_size=2, max_size=10)
    p.wait(2.0)
    server.connect_delay = 0.15
    served = []

    def worker() -> None:
        conn = p.getconn()
        time.sleep(0.002)
        p.putconn(conn)
        served.append(1)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(served) == 20
    # Two connections absorb 20 x 2 ms long before a 150 ms connect ends: at most the
    # single in-flight attempt is added.
    wait_until(lambda: p.get_stats()["pool_size"] <= 3 and server.attempts <= 3)
    assert server.attempts <= 3


def test_connect_is_called_for_every_new_connection(make_pool: Any, server: Any) -> None:
    p = make_pool(min_size=3, max_size=3)
    p.wait(2.0)
    assert server.attempts == 3 and len({c.serial for c in server.conns}) == 3


# -- server down, reconnect --------------------------------------------------------------


def test_server_down_waiters_fail_at_their_deadline_then_pool_recovers(
    make_pool: Any, server: Any
) -> None:
    server.up = False
    p = make_pool(min_size=1, max_size=2)
    t0 = time.monotonic()
    with pytest.raises(PoolTimeout, match="FakeError") as info:
        p.getconn(timeout=0.3)
    assert time.monotonic() - t0 >= 0.295
    assert type(info.value.__cause__).__name__ == "FakeError"
    wait_until(lambda: server.attempts >= 5)  # kept retrying, with backoff
    gaps = [b - a for a, b in zip(server.attempt_times, server.attempt_times[1:], strict=False)]
    assert min(gaps) >= 0.004  # never hammering back to back
    server.up = True
    conn = p.getconn(timeout=1.0)
    assert not conn.closed


def test_never_gives_up_after_a_long_outage(make_pool: Any, server: Any) -> None:
    server.up = False
    p = make_pool(min_size=1, max_size=1, reconnect_max_delay=0.02)
    wait_until(lambda: server.attempts >= 40, timeout=5.0)
    server.up = True
    assert p.getconn(timeout=1.0) is not None


# -- checks ------------------------------------------------------------------------------


def test_checkout_check_skips_recent_and_invalidates_older_after_a_failure(
    make_pool: Any, server: Any, adapter: Any
) -> None:
    p = make_pool(min_size=3, max_size=3, check=None, check_bypass=0.05)
    p.wait(2.0)
    conns = [p.getconn() for _ in range(3)]
    for c in conns:
        p.putconn(c)
    again = p.getconn()  # used just now: no check
    assert again.checks == 0
    p.putconn(again)
    time.sleep(0.06)
    server.restart()  # every existing session is dead
    fresh = p.getconn(timeout=1.0)
    # One failed check retired every idle connection; the borrower got a new one
    # without walking the stale ones.
    assert fresh.serial > 3
    assert sum(c.checks for c in conns) == 1
    assert p.get_stats()["connections_lost"] == 1


def test_deadline_covers_checks(make_pool: Any, server: Any) -> None:
    p = make_pool(min_size=1, max_size=1, check=None, check_bypass=0.0)
    p.wait(2.0)
    server.restart()
    server.up = False
    with pytest.raises(PoolTimeout):
        p.getconn(timeout=0.2)


def test_keepalive_finds_dead_idle_connections(make_pool: Any, server: Any) -> None:
    p = make_pool(min_size=2, max_size=2, keepalive=0.05)
    p.wait(2.0)
    server.restart()
    wait_until(lambda: p.get_stats()["connections_lost"] == 2)
    wait_until(lambda: len([c for c in server.open_conns if not c.killed]) == 2)


def test_max_lifetime_retires_and_replaces(make_pool: Any, server: Any) -> None:
    p = make_pool(min_size=1, max_size=1, max_lifetime=0.05)
    first = p.getconn()
    time.sleep(0.06)
    p.putconn(first)  # expired: closed on return
    assert first.closed
    assert p.getconn(timeout=1.0) is not first


def test_max_idle_shrinks_back_to_min(make_pool: Any, server: Any) -> None:
    p = make_pool(min_size=1, max_size=4, max_idle=0.05)
    conns = [p.getconn() for _ in range(4)]
    for c in conns:
        p.putconn(c)
    wait_until(lambda: p.get_stats()["pool_size"] == 1)


def test_leak_detection_logs_the_borrower_once(
    make_pool: Any, caplog: pytest.LogCaptureFixture
) -> None:
    p = make_pool(min_size=1, max_size=1, leak_timeout=0.05)

    def borrow_and_forget() -> Any:
        return p.getconn()

    with caplog.at_level(logging.WARNING, logger="pool"):
        conn = borrow_and_forget()
        wait_until(lambda: p.get_stats()["leaks"] == 1)
        time.sleep(0.1)
    leak_logs = [r for r in caplog.records if "not returned" in r.getMessage()]
    assert len(leak_logs) == 1 and "borrow_and_forget" in leak_logs[0].getMessage()
    p.putconn(conn)
    assert p.get_stats()["leaks"] == 1


# -- lifecycle ---------------------------------------------------------------------------


def test_close_fails_waiters_and_closes_connections(make_pool: Any, server: Any) -> None:
    p = make_pool(min_size=2, max_size=2)
    held = [p.getconn(), p.getconn()]
    errors: list[BaseException] = []

    def waiter() -> None:
        try:
            p.getconn(timeout=5.0)
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=waiter)
    t.start()
    wait_until(lambda: p.get_stats()["requests_waiting"] == 1)
    t0 = time.monotonic()
    p.close()
    t.join()
    # Woken by close(), long before its own 5 s timeout.
    assert time.monotonic() - t0 < 4.0
    assert len(errors) == 1 and isinstance(errors[0], PoolClosed)
    with pytest.raises(PoolClosed):
        p.getconn()
    for c in held:
        p.putconn(c)
    assert server.open_conns == []


def test_not_open_pool_refuses(server: Any, adapter: Any) -> None:
    p = ConnectionPool(server.connect, adapter=adapter, open=False)
    with pytest.raises(PoolClosed, match="not open"):
        p.getconn()
    p.close()


def test_drain_replaces_every_connection(make_pool: Any, server: Any) -> None:
    p = make_pool(min_size=2, max_size=2)
    p.wait(2.0)
    borrowed = p.getconn()
    p.drain()
    p.putconn(borrowed)
    assert borrowed.closed
    wait_until(lambda: p.get_stats()["pool_available"] == 2)
    assert all(c.serial > 2 for c in server.open_conns)


def test_resize(make_pool: Any, server: Any) -> None:
    p = make_pool(min_size=1, max_size=1)
    p.resize(3, 5)
    wait_until(lambda: p.get_stats()["pool_size"] == 3)
    p.resize(1, 1)
    wait_until(lambda: len(server.open_conns) == 1)
    assert p.min_size == 1 and p.max_size == 1


def test_bad_arguments_are_named(server: Any) -> None:
    with pytest.raises(TypeError, match="connect must be a callable"):
        ConnectionPool("postgresql://", open=False)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_size"):
        ConnectionPool(server.connect, min_size=5, max_size=2, open=False)


# -- threads and fork --------------------------------------------------------------------


def test_threads_hammering_keep_the_accounting_exact(make_pool: Any, server: Any) -> None:
    p = make_pool(min_size=2, max_size=4, timeout=5.0)
    in_use: set[int] = set()
    lock = threading.Lock()
    errors: list[str] = []

    def worker(seed: int) -> None:
        rnd = random.Random(seed)
        for _ in range(200):
            conn = p.getconn()
            with lock:
                if id(conn) in in_use:
                    errors.append("handed out twice")
                in_use.add(id(conn))
            if rnd.random() < 0.1:
                conn.execute("BEGIN")
            if rnd.random() < 0.3:
                time.sleep(0.0002)
            with lock:
                in_use.discard(id(conn))
            p.putconn(conn)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stats = p.get_stats()
    assert stats["requests_num"] == 3200 and stats["requests_waiting"] == 0
    assert stats["pool_available"] == stats["pool_size"] <= 4


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")
def test_forked_child_never_reuses_parent_connections(make_pool: Any, server: Any) -> None:
    p = make_pool(min_size=1, max_size=1)
    parent_conn = p.getconn()
    p.putconn(parent_conn)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            conn = p.getconn(timeout=2.0)
            fresh = conn is not parent_conn and conn.pid == os.getpid()
            code = 0 if fresh and not parent_conn.closed else 2
        finally:
            os.write(write, bytes([code]))
            os._exit(0)
    os.close(write)
    result = os.read(read, 1)
    os.waitpid(pid, 0)
    assert result == bytes([0])
    assert p.getconn() is parent_conn and not parent_conn.closed


def test_hand_off_wakes_once_and_tolerates_a_second_set() -> None:
    from pool.pool import _HandOff

    signal = _HandOff()
    assert signal.wait(0.01) is False  # not set: times out
    woke: list[bool] = []
    waiter = threading.Thread(target=lambda: woke.append(signal.wait(10)))
    waiter.start()
    signal.set()
    signal.set()  # a second set (grant racing close) is harmless
    waiter.join(10)
    assert woke == [True]
