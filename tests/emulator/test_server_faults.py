"""Fault injection: latency, pause/resume, kill_all, fail_next, fail_next_matching."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
import redshift_connector
from psycopg.pq import TransactionStatus

from redshift_async_backend.emulator import Emulator

pytestmark = pytest.mark.chaos

Connect = Callable[..., psycopg.Connection[Any]]


@pytest.fixture
def table(connect: Connect) -> str:
    conn = connect()
    conn.execute("DROP TABLE IF EXISTS fault_orders")
    conn.execute("CREATE TABLE fault_orders (id int, note text)")
    return "fault_orders"


def test_latency_delays_each_round_trip(connect: Connect, emu: Emulator) -> None:
    conn = connect()
    emu.latency_ms = 150
    started = time.monotonic()
    conn.execute("SELECT 1")
    conn.execute("SELECT %s::int", (1,))
    elapsed = time.monotonic() - started
    emu.latency_ms = 0
    assert elapsed >= 0.3  # two round trips, 150 ms each at least
    with pytest.raises(ValueError, match="latency_ms must be >= 0"):
        emu.latency_ms = -1


def test_pause_holds_new_connections_until_resume(connect: Connect, emu: Emulator) -> None:
    existing = connect()
    emu.pause()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(emu.url, connect_timeout=1)
    assert existing.execute("SELECT 1").fetchone() == (1,)  # open sessions keep working

    result: list[Any] = []
    waiter = threading.Thread(target=lambda: result.append(connect(connect_timeout=20)))
    waiter.start()
    time.sleep(0.3)
    assert waiter.is_alive()
    emu.resume()
    waiter.join(20)
    assert result and result[0].execute("SELECT 2").fetchone() == (2,)


def test_pause_refusing(emu: Emulator) -> None:
    emu.pause(refuse=True)
    with pytest.raises(psycopg.OperationalError, match="not accepting connections"):
        psycopg.connect(emu.url, connect_timeout=5)
    emu.resume()
    with psycopg.connect(emu.url, connect_timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_kill_all_closes_client_connections(connect: Connect, emu: Emulator) -> None:
    first, second = connect(), connect()
    assert emu.kill_all() >= 2
    for conn in (first, second):
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
    assert connect().execute("SELECT 1").fetchone() == (1,)


def test_fail_next_serialization_simple_query(connect: Connect, emu: Emulator, table: str) -> None:
    conn = connect()
    emu.fail_next(table)
    with pytest.raises(psycopg.Error) as info:
        conn.execute(f"INSERT INTO {table} VALUES (1, 'a')")
    diag = info.value.diag
    # Redshift: DG:c_serial_isolation; SQLSTATE XX000, message "1023".
    assert (diag.sqlstate, diag.message_primary) == ("XX000", "1023")
    assert diag.message_detail is not None
    assert diag.message_detail.startswith("Serializable isolation violation on table - ")
    # The statement did not run, and the fault is used up.
    assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)


def test_fail_next_only_counts_statements_naming_the_table(
    connect: Connect, emu: Emulator, table: str
) -> None:
    conn = connect()
    emu.fail_next(table, n=2)
    assert conn.execute("SELECT 1 AS fault_orders_x").fetchone() == (1,)  # another name
    for _ in range(2):
        with pytest.raises(psycopg.Error, match="1023"):
            conn.execute(f'SELECT * FROM "{table}" WHERE id = %s', (1,))
    assert conn.execute(f"SELECT count(*) FROM public.{table}").fetchone() == (0,)


def test_fail_next_aborts_the_open_transaction(connect: Connect, emu: Emulator, table: str) -> None:
    conn = connect(autocommit=False)
    conn.execute(f"INSERT INTO {table} VALUES (1, 'kept?')")
    emu.fail_next(table, kind="snapshot")
    with pytest.raises(psycopg.Error, match="conflict with concurrent transaction"):
        conn.execute(f"UPDATE {table} SET note = 'x'")
    assert conn.info.transaction_status == TransactionStatus.INERROR
    conn.rollback()
    assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)


def test_fail_next_with_redshift_connector(emu: Emulator, table: str) -> None:
    conn = redshift_connector.connect(
        host=emu.host, port=emu.port, database=emu.database, user=emu.admin_user, password="x",
        ssl=False,
    )  # fmt: skip
    try:
        cursor = conn.cursor()
        cursor.execute(f"SELECT count(*) FROM {table}")
        emu.fail_next(table)
        with pytest.raises(redshift_connector.ProgrammingError) as info:
            cursor.execute(f"SELECT count(*) FROM {table}")  # its cached prepared statement
        error = info.value.args[0]
        assert (error["C"], error["M"]) == ("XX000", "1023")
        conn.rollback()
        cursor.execute(f"SELECT count(*) FROM {table}")
        assert cursor.fetchall() == ([0],)
    finally:
        conn.close()


def test_fail_next_matching_fails_a_chosen_ddl_step(
    connect: Connect, emu: Emulator, table: str
) -> None:
    conn = connect()
    emu.fail_next_matching(
        re.compile(r"ALTER TABLE \S+ ADD COLUMN"), message="disk full", sqlstate="53100"
    )
    with pytest.raises(psycopg.errors.DiskFull, match="disk full"):
        conn.execute(f"ALTER TABLE {table} ADD COLUMN extra int")
    conn.execute(f"ALTER TABLE {table} ADD COLUMN extra int")  # the fault was used up
    emu.fail_next_matching("drop table", message="no")
    with pytest.raises(psycopg.Error, match="no"):
        conn.execute(f"DROP TABLE {table}")


def test_fault_arguments_are_checked(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="kind must be"):
        emu.fail_next("t", kind="deadlock")
    with pytest.raises(ValueError, match="n must be >= 1"):
        emu.fail_next("t", n=0)
    with pytest.raises(ValueError, match="sqlstate must have 5 characters"):
        emu.fail_next_matching("x", sqlstate="123")
