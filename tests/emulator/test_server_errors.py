"""A failure of the emulator's own code on one statement is an error for that statement:
the session goes on, and the log gets one line with the statement's size, never its text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from redshift_async_backend.drivers.psycopg import quote_str
from redshift_async_backend.emulator import Emulator, pipeline, rules

pytestmark = pytest.mark.integration

Connect = Callable[..., psycopg.Connection[Any]]
SECRET = "Secret-Value-8231"


def break_rules() -> None:
    """Make rules.rewrite raise on a statement that holds the marker, as a bug would (in
    this process, or as the initializer of the rewrite pool's processes)."""
    real = rules.rewrite

    def rewrite(sql: str, state: Any) -> Any:
        if "/*boom*/" in sql:
            raise ValueError(f"cannot handle {SECRET}")
        return real(sql, state)

    rules.rewrite = rewrite  # type: ignore[assignment]


@pytest.fixture
def broken_rules(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(pipeline.rules, "rewrite", rules.rewrite)  # restored afterwards
    break_rules()
    server = emu._running_server()
    default = server.pipeline
    server.pipeline = pipeline.Pipeline("process", initializer=break_rules)
    yield
    server.pipeline.close()
    server.pipeline = default


def assert_usable(conn: psycopg.Connection[Any]) -> None:
    assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize("size", [100, 200_000], ids=["inline", "off-loop"])
def test_an_exception_in_the_rewriter_is_an_error_for_that_statement(
    connect: Connect, broken_rules: None, caplog: pytest.LogCaptureFixture, size: int
) -> None:
    caplog.set_level(logging.ERROR, logger="redshift_async_backend.emulator")
    conn = connect()
    sql = f"SELECT '{SECRET}' /*boom*/ " + " " * size
    with pytest.raises(psycopg.errors.InternalError_) as info:
        conn.execute(sql)
    assert "the Redshift emulator failed on this statement (ValueError)" in str(info.value)
    assert_usable(conn)
    # The extended protocol: the Parse fails, the rest up to Sync is skipped as usual.
    with pytest.raises(psycopg.errors.InternalError_):
        conn.execute(sql + " WHERE %s = 1", (1,))
    assert_usable(conn)
    # Inside a transaction: aborted, as by any error.
    conn.execute("BEGIN")
    with pytest.raises(psycopg.errors.InternalError_):
        conn.execute(sql)
    with pytest.raises(psycopg.errors.InFailedSqlTransaction):
        conn.execute("SELECT 1")
    conn.execute("ROLLBACK")
    assert_usable(conn)

    lines = [r.getMessage() for r in caplog.records if "while rewriting" in r.getMessage()]
    size_bytes = len(sql.encode())
    assert lines and all("ValueError" in line for line in lines)
    assert f"a statement of {size_bytes} bytes" in lines[0]
    assert SECRET not in caplog.text


def test_the_issues_statements_never_drop_the_connection(connect: Connect) -> None:
    # An 80-escaped-quotes JSON value and 100+ backslashes in a multi-row INSERT, as the
    # backend writes them (CHR(92) for each backslash), made pglast's printer recurse too
    # deep: each now runs, or gets an error, and the session goes on.
    conn = connect()
    conn.execute("DROP TABLE IF EXISTS errors_j")
    conn.execute("CREATE TABLE errors_j (id int, j super, t varchar(max))")
    quotes = quote_str(json.dumps({"q": '"' * 80}))
    backslashes = ", ".join(
        f"({i}, JSON_PARSE({quote_str(json.dumps(chr(92) * 120))}), {quote_str(chr(92) * 110)})"
        for i in range(3)
    )
    for sql in (
        f"INSERT INTO errors_j (id, j) VALUES (1, JSON_PARSE({quotes}))",
        f"INSERT INTO errors_j (id, j, t) VALUES {backslashes}",
    ):
        try:
            conn.execute(sql)
        except psycopg.errors.InternalError_ as exc:
            assert "the Redshift emulator failed on this statement" in str(exc)
        assert_usable(conn)
    conn.execute("DROP TABLE errors_j")


def test_invalid_utf8_is_postgresqls_error(connect: Connect) -> None:
    conn = connect()
    raw = conn.pgconn
    for sql in (b"SELECT '\xff\xfe'", b"CREATE TABLE \xff (x int)", b"SELECT json_parse('\xc3')"):
        result = raw.exec_(sql)
        assert result.error_field(psycopg.pq.DiagnosticField.SQLSTATE) == b"22021", sql
    # The extended protocol (PQprepare: Parse and Sync; libpq's blocking calls that give
    # the GIL back, as the emulator runs in this process).
    result = raw.prepare(b"", b"SELECT '\xff' || $1")
    assert result.error_field(psycopg.pq.DiagnosticField.SQLSTATE) == b"22021"
    assert_usable(conn)


def test_a_failing_error_translation_sends_the_error_untranslated(
    connect: Connect, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def translate_error(fields: dict[str, str]) -> dict[str, str]:
        raise KeyError("nope")

    monkeypatch.setattr(pipeline.rules, "translate_error", translate_error)
    conn = connect()
    with pytest.raises(psycopg.errors.DivisionByZero):
        conn.execute("SELECT 1 / 0")
    assert_usable(conn)
    assert "KeyError while translating an upstream error" in caplog.text


def test_other_sessions_are_unaffected(emu: Emulator, connect: Connect, broken_rules: None) -> None:
    bystander = connect()
    victim = connect()
    with pytest.raises(psycopg.errors.InternalError_):
        victim.execute("SELECT 1 /*boom*/")
    assert_usable(bystander)
    assert emu.stats()["open_connections"] >= 2
