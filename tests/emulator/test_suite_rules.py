"""Redshift rules that Django's own test suite exercises (issue #5), through the emulator:
the COLLATE() function, case-insensitive columns in SVV_COLUMNS, JSON_EXTRACT_PATH_TEXT
path elements, and long names in catalog queries."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

pytestmark = pytest.mark.integration

# Names of this process's own: tables are left behind, and runs on one upstream server
# do not meet each other's.
_names = (f"{os.getpid()}_{n}" for n in itertools.count())
Connect = Callable[..., psycopg.Connection[Any]]


def _table(conn: psycopg.Connection[Any], columns: str) -> str:
    name = f"suite_rules_{next(_names)}"
    conn.execute(f"CREATE TABLE {name} ({columns})")
    return name


def test_collate_function_ci_compares_case_insensitively(connect: Connect) -> None:
    # Redshift: COLLATE(string, 'case_sensitive' | 'cs' | 'case_insensitive' | 'ci')
    # (DG:r_COLLATE).
    conn = connect()
    t = _table(conn, "a varchar(10)")
    conn.execute(f"INSERT INTO {t} VALUES ('a'), ('A'), ('b')")
    rows = conn.execute(
        f"SELECT a FROM {t} WHERE a = COLLATE('a', 'case_insensitive') ORDER BY a"
    ).fetchall()
    assert rows == [("A",), ("a",)]
    rows = conn.execute(f"SELECT a FROM {t} WHERE COLLATE(a, 'ci') IN ('B') ").fetchall()
    assert rows == [("b",)]


def test_collate_function_keeps_the_value_and_cs_orders_by_bytes(connect: Connect) -> None:
    conn = connect()
    t = _table(conn, "a varchar(10)")
    conn.execute(f"INSERT INTO {t} VALUES ('a'), ('A'), ('b')")
    assert conn.execute(f"SELECT COLLATE(a, 'ci') FROM {t} WHERE a = 'A'").fetchall() == [("A",)]
    rows = conn.execute(f"SELECT a FROM {t} ORDER BY COLLATE(a, 'case_sensitive')").fetchall()
    assert rows == [("A",), ("a",), ("b",)]


def test_collate_function_refuses_other_names(connect: Connect) -> None:
    conn = connect()
    with pytest.raises(psycopg.Error, match="case_sensitive"):
        conn.execute("SELECT COLLATE('a', 'en_US')")


def test_svv_columns_shows_case_insensitive_columns_as_declared(connect: Connect) -> None:
    # Redshift: a column's collation is CASE_SENSITIVE or CASE_INSENSITIVE
    # (DG:r_CREATE_TABLE_NEW), shown in SVV_COLUMNS (DG:r_SVV_COLUMNS).
    conn = connect()
    t = _table(
        conn,
        "a varchar(30) COLLATE case_insensitive, b varchar(max) COLLATE ci, c varchar(5)",
    )
    rows = conn.execute(
        "SELECT column_name, data_type, character_maximum_length, collation_name "
        f"FROM svv_columns WHERE table_name = '{t}' ORDER BY ordinal_position"
    ).fetchall()
    assert rows == [
        ("a", "character varying", 30, "case_insensitive"),
        ("b", "character varying", 65535, "case_insensitive"),
        ("c", "character varying", 5, None),
    ]


def test_json_extract_path_text_elements_are_object_keys(connect: Connect) -> None:
    # Redshift: path elements name keys of JSON objects (DG:JSON_EXTRACT_PATH_TEXT); "000"
    # is no array index.
    conn = connect()
    row = conn.execute(
        "SELECT JSON_EXTRACT_PATH_TEXT('[1, [2]]', '000'), "
        """JSON_EXTRACT_PATH_TEXT('{"a": {"0": 5}}', 'a', '0'), """
        """JSON_EXTRACT_PATH_TEXT('{"a": [1, 2]}', 'a', '0')"""
    ).fetchone()
    assert row == (None, "5", None)


def test_catalog_query_finds_a_table_by_its_long_name(connect: Connect) -> None:
    # Redshift: names up to 127 bytes (DG:r_names); a catalog lookup by the full name
    # finds the table.
    conn = connect()
    long_name = f"suite_rules_{next(_names)}_" + "x" * 80
    conn.execute(f"CREATE TABLE {long_name} (a int)")
    found = conn.execute(
        "SELECT count(*) FROM pg_catalog.pg_class c "
        f"WHERE c.relname = '{long_name}' AND pg_catalog.pg_table_is_visible(c.oid)"
    ).fetchone()
    assert found == (1,)
    columns = conn.execute(
        f"SELECT column_name FROM svv_columns WHERE table_name = '{long_name}'"
    ).fetchall()
    assert columns == [("a",)]
