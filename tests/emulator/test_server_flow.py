"""How the server applies the rules contract on the wire, and its counters.

The SQL rules themselves are tested in test_rules.py / test_sql_*.py. Here a small rule
set with marker comments stands in for them, so that each protocol path (refusal,
prelude, tag, error translation) is exercised on purpose, against real PostgreSQL.
"""

from __future__ import annotations

import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
import redshift_connector
from psycopg.pq import TransactionStatus

from redshift_async_backend.emulator import Emulator, pipeline, rules

pytestmark = pytest.mark.integration

Connect = Callable[..., psycopg.Connection[Any]]


class MarkerRules:
    """rules.rewrite/translate_error with markers: /*refuse*/, /*prelude*/, /*bad-prelude*/."""

    SessionState = rules.SessionState
    Rewrite = rules.Rewrite
    RedshiftError = rules.RedshiftError

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    def rewrite(self, sql: str, state: rules.SessionState) -> rules.Rewrite:
        self.seen.append((sql, state.in_transaction))
        if "/*refuse*/" in sql:
            raise rules.RedshiftError("not on Redshift", "0A000", hint="try another way")
        if "/*prelude*/" in sql:
            return rules.Rewrite(
                sql.replace("/*prelude*/", ""),
                prelude=("INSERT INTO flow_log VALUES ('prelude')", "SELECT 1"),
                tag="REDSHIFT TAG",
            )
        if "/*bad-prelude*/" in sql:
            return rules.Rewrite(sql, prelude=("INSERT INTO no_such_table VALUES (1)",))
        return rules.rewrite(sql, state)

    def translate_error(self, fields: dict[str, str]) -> dict[str, str]:
        if fields.get("C") == "22012":
            return {**fields, "M": "Divide by zero (translated)"}
        return rules.translate_error(fields)


@pytest.fixture
def marker_rules(monkeypatch: pytest.MonkeyPatch) -> Iterator[MarkerRules]:
    fake = MarkerRules()
    monkeypatch.setattr(pipeline, "rules", types.SimpleNamespace(**{
        name: getattr(fake, name)
        for name in ("SessionState", "Rewrite", "RedshiftError", "rewrite", "translate_error")
    }))  # fmt: skip
    yield fake


@pytest.fixture
def flow(connect: Connect, marker_rules: MarkerRules) -> psycopg.Connection[Any]:
    conn = connect()
    conn.execute("DROP TABLE IF EXISTS flow_log")
    conn.execute("CREATE TABLE flow_log (what text)")
    return conn


def log_rows(conn: psycopg.Connection[Any]) -> list[str]:
    return [row[0] for row in conn.execute("SELECT what FROM flow_log ORDER BY what")]


def test_refusal_simple_protocol(flow: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.errors.FeatureNotSupported) as info:
        flow.execute("SELECT 1 /*refuse*/")
    assert info.value.diag.message_primary == "not on Redshift"
    assert info.value.diag.message_hint == "try another way"
    assert flow.info.transaction_status == TransactionStatus.IDLE
    assert flow.execute("SELECT 2").fetchone() == (2,)


def test_refusal_inside_a_transaction_aborts_it(
    connect: Connect, flow: psycopg.Connection[Any]
) -> None:
    conn = connect(autocommit=False)
    conn.execute("INSERT INTO flow_log VALUES ('in txn')")
    with pytest.raises(psycopg.errors.FeatureNotSupported):
        conn.execute("SELECT %s /*refuse*/", (1,))
    assert conn.info.transaction_status == TransactionStatus.INERROR
    conn.rollback()
    assert log_rows(flow) == []


def test_refusal_in_a_pipeline_discards_until_sync(flow: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.errors.FeatureNotSupported), flow.pipeline():
        flow.execute("INSERT INTO flow_log VALUES (%s)", ("before",))
        flow.execute("SELECT %s /*refuse*/", (1,))
        flow.execute("INSERT INTO flow_log VALUES (%s)", ("after",))
    # PostgreSQL's own rule: the implicit transaction of the pipeline is rolled back.
    assert log_rows(flow) == []
    assert flow.info.transaction_status == TransactionStatus.IDLE
    assert flow.execute("SELECT %s::int", (3,)).fetchone() == (3,)


def test_prelude_and_tag_simple_protocol(flow: psycopg.Connection[Any]) -> None:
    cursor = flow.execute("INSERT INTO flow_log VALUES ('main') /*prelude*/")
    assert cursor.statusmessage == "REDSHIFT TAG"
    assert log_rows(flow) == ["main", "prelude"]


def test_prelude_and_tag_extended_protocol(flow: psycopg.Connection[Any]) -> None:
    cursor = flow.execute("INSERT INTO flow_log VALUES (%s) /*prelude*/", ("main",))
    assert cursor.statusmessage == "REDSHIFT TAG"
    cursor = flow.execute("SELECT what FROM flow_log WHERE what = %s /*prelude*/", ("main",))
    assert cursor.fetchall() == [("main",)]  # the prelude's own SELECT 1 row is not shown
    assert log_rows(flow) == ["main", "prelude", "prelude"]


def test_prelude_runs_at_each_execution_of_a_prepared_statement(
    emu: Emulator, flow: psycopg.Connection[Any]
) -> None:
    conn = redshift_connector.connect(
        host=emu.host, port=emu.port, database=emu.database, user=emu.admin_user, password="x",
        ssl=False,
    )  # fmt: skip
    conn.autocommit = True
    try:
        cursor = conn.cursor()
        for value in ("one", "two"):
            cursor.execute("INSERT INTO flow_log VALUES (%s) /*prelude*/", (value,))
    finally:
        conn.close()
    assert log_rows(flow) == ["one", "prelude", "prelude", "two"]


def test_failing_prelude_is_the_statements_error(flow: psycopg.Connection[Any]) -> None:
    for params in (None, ("x",)):
        sql = "INSERT INTO flow_log VALUES ('main') /*bad-prelude*/"
        if params:
            sql = "INSERT INTO flow_log VALUES (%s) /*bad-prelude*/"
        with pytest.raises(psycopg.errors.UndefinedTable, match="no_such_table"):
            flow.execute(sql, params)
        assert flow.info.transaction_status == TransactionStatus.IDLE
    assert log_rows(flow) == []


def test_upstream_errors_are_translated(flow: psycopg.Connection[Any]) -> None:
    for params in (None, (0,)):
        with pytest.raises(psycopg.errors.DivisionByZero, match=r"translated"):
            flow.execute("SELECT 1 / %s" if params else "SELECT 1 / 0", params)


def test_rules_see_the_transaction_state(
    connect: Connect, flow: psycopg.Connection[Any], marker_rules: MarkerRules
) -> None:
    conn = connect(autocommit=False)
    conn.execute("SELECT 'inside'")
    conn.commit()
    conn.autocommit = True
    conn.execute("SELECT 'outside'")
    states = {sql: in_txn for sql, in_txn in marker_rules.seen}
    assert states["SELECT 'inside'"] is True
    assert states["SELECT 'outside'"] is False


def test_round_trips_and_statements(connect: Connect, emu: Emulator) -> None:
    conn = connect()
    emu.reset_stats()
    conn.execute("SELECT 1")  # simple Query
    conn.execute("SELECT %s::int", (1,))  # Parse/Bind/Describe/Execute/Sync
    stats = emu.stats()
    (mine,) = [c for c in stats["connections"].values() if c["statements"]]
    assert (mine["statements"], mine["round_trips"]) == (2, 2)
    with conn.pipeline():
        conn.execute("SELECT %s::int", (1,))
        conn.execute("SELECT %s::int", (2,))
    after = emu.stats()
    assert after["statements"] == 4
    assert after["round_trips"] == 3  # one Sync for the whole pipeline
    emu.reset_stats()
    assert (emu.stats()["statements"], emu.stats()["round_trips"]) == (0, 0)


def test_simple_query_is_one_round_trip(connect: Connect, emu: Emulator) -> None:
    conn = connect()
    emu.reset_stats()
    conn.execute("SELECT 1")
    assert emu.stats()["round_trips"] == 1


def test_transaction_costs_begin_and_commit_round_trips(connect: Connect, emu: Emulator) -> None:
    conn = connect(autocommit=False)
    emu.reset_stats()
    conn.execute("SELECT 1")
    conn.commit()
    assert (emu.stats()["statements"], emu.stats()["round_trips"]) == (3, 3)  # BEGIN, COMMIT


def test_closed_connections_stay_in_totals(emu: Emulator) -> None:
    with psycopg.connect(emu.url, autocommit=True) as conn:
        conn.execute("SELECT 1")
        conn.execute("SELECT 2")
    deadline = time.monotonic() + 10
    while emu.stats()["open_connections"] and time.monotonic() < deadline:
        time.sleep(0.01)
    stats = emu.stats()
    assert stats["open_connections"] == 0
    assert (stats["statements"], stats["round_trips"]) == (2, 2)
