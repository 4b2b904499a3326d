"""The psycopg driver's client-side binding: its fast path for long ``%s`` queries gives
psycopg's own result, and everything else goes through psycopg's path unchanged."""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterator
from typing import Any

import psycopg
import psycopg._queries
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redshift_async_backend.drivers import psycopg as driver
from redshift_async_backend.drivers.psycopg import adapters_for

pytestmark = pytest.mark.integration

ROWS = 400  # well past psycopg's 4096-byte cache limit
# The driver's cursor class (django-stubs type Django's Cursor without its psycopg base).
Cursor: Any = driver.Cursor


@pytest.fixture
def conn(emulator: Any) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(
        emulator.url, autocommit=True, context=adapters_for(True, datetime.UTC)
    ) as connection:
        yield connection


def values(n: int) -> list[Any]:
    out: list[Any] = []
    for i in range(n):
        out += [i, f"it's row {i} \\ 100%", decimal.Decimal(i) / 100, None]
    return out


def both(conn: psycopg.Connection[Any], sql: str, params: Any) -> tuple[str, str]:
    ours = Cursor(conn).mogrify(sql, params)
    theirs = psycopg.ClientCursor(conn).mogrify(sql, params)
    return ours, theirs


def test_long_positional_query_is_bound_as_psycopg_binds_it(
    conn: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = ", ".join(["(%s, %s, %s, %s)"] * ROWS)
    sql = f"INSERT INTO t (a, b, c, d) VALUES {rows} -- 100%% done, literal %%s"
    theirs = psycopg.ClientCursor(conn).mogrify(sql, values(ROWS))

    def no_scan(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("psycopg's placeholder scan ran")

    monkeypatch.setattr(psycopg._queries, "_split_query", no_scan)
    ours = Cursor(conn).mogrify(sql, values(ROWS))
    assert ours == theirs
    assert "CHR(92)" in ours and "100%" in ours and "literal %s" in ours


@pytest.mark.parametrize(
    "sql, params",
    [
        # Named placeholders, %b, and a short query: psycopg's own path.
        ("SELECT %(a)s, %(b)s" + " " * 5000, {"a": 1, "b": "x"}),
        ("SELECT %b" + " " * 5000, [b"x"]),
        ("SELECT %s, %s", [1, "two"]),
    ],
)
def test_other_queries_take_psycopgs_path(
    conn: psycopg.Connection[Any], sql: str, params: Any
) -> None:
    ours, theirs = both(conn, sql, params)
    assert ours == theirs


def test_a_wrong_parameter_count_is_psycopgs_error(conn: psycopg.Connection[Any]) -> None:
    sql = "SELECT " + ", ".join(["%s"] * 2000)
    with pytest.raises(psycopg.ProgrammingError, match="2000 placeholders but 1999 parameters"):
        Cursor(conn).mogrify(sql, list(range(1999)))


def test_bulk_insert_through_the_emulator_round_trips_values(conn: psycopg.Connection[Any]) -> None:
    cur = Cursor(conn)
    cur.execute("CREATE TEMP TABLE bind_t (a int, b varchar(60), c numeric(12, 2), d int)")
    rows = ", ".join(["(%s, %s, %s, %s)"] * ROWS)
    cur.execute(f"INSERT INTO bind_t VALUES {rows}", values(ROWS))
    cur.execute("SELECT a, b, c, d FROM bind_t ORDER BY a")
    got = cur.fetchall()
    flat = values(ROWS)
    assert got == [tuple(flat[i : i + 4]) for i in range(0, len(flat), 4)]


@settings(max_examples=400, deadline=None)
@given(
    value=st.one_of(
        # No NUL: a statement's text cannot hold one (the driver refuses it, DataError).
        st.text().filter(lambda s: "\x00" not in s),
        st.text(alphabet="\\'x%\u00e9"),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.decimals(allow_nan=True, allow_infinity=True),
        st.datetimes(timezones=st.timezones()),
        st.datetimes(),
        st.floats(),
        st.booleans(),
        st.none(),
        st.dates(),
        st.uuids(),
    )
)
def test_literal_renderer_writes_what_client_side_binding_writes(value: object) -> None:
    # Bulk inserts render their values with literal_renderer (compiler._literal_statements)
    # instead of handing them to the ClientCursor: the text must be the same.
    from psycopg.adapt import Transformer

    from redshift_async_backend.drivers.psycopg import _Context, literal_renderer

    ours = literal_renderer(True, datetime.UTC)(value)
    theirs = Transformer(_Context(adapters_for(True, datetime.UTC))).as_literal(value)
    assert ours.encode() == theirs
