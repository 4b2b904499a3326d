"""The answers to Redshift's SHOW commands (emulator/show.py), each with its AWS page: the
page's columns, in order, and their meaning. (The SHOW statements themselves reach these
functions through a rule; here they are called directly.)"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

pytestmark = pytest.mark.integration

Connect = Callable[..., psycopg.Connection[Any]]
SCHEMA = "show_cmds"


@pytest.fixture(scope="module")
def conn(emulator: Any) -> Iterator[psycopg.Connection[Any]]:
    c = psycopg.connect(emulator.url, autocommit=True)
    # What an interrupted run left behind.
    c.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    c.execute(f"CREATE SCHEMA {SCHEMA}")
    c.execute(
        f"CREATE TABLE {SCHEMA}.parent (id INTEGER NOT NULL, code CHAR(2) NOT NULL, "
        "name VARCHAR(30), PRIMARY KEY (id, code)) DISTSTYLE ALL"
    )
    c.execute(
        f"CREATE TABLE {SCHEMA}.child (id INTEGER PRIMARY KEY, pid INTEGER, pcode CHAR(2), "
        f"amount DECIMAL(9, 2) ENCODE az64, FOREIGN KEY (pid, pcode) REFERENCES "
        f"{SCHEMA}.parent (id, code)) DISTKEY (pid) COMPOUND SORTKEY (amount)"
    )
    c.execute(f"COMMENT ON TABLE {SCHEMA}.child IS 'children'")
    c.execute(f"CREATE VIEW {SCHEMA}.kids AS SELECT id FROM {SCHEMA}.child")
    c.execute(
        f"CREATE FUNCTION {SCHEMA}.twice(x INTEGER) RETURNS INTEGER IMMUTABLE "
        "AS $$ SELECT x * 2 $$ LANGUAGE sql"
    )
    c.execute(
        f"CREATE PROCEDURE {SCHEMA}.touch(n INTEGER, label VARCHAR) AS $$ BEGIN NULL; END $$ "
        "LANGUAGE plpgsql"
    )
    yield c
    c.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
    c.close()


def rows(conn: psycopg.Connection[Any], sql: str) -> list[tuple[Any, ...]]:
    return conn.execute(sql).fetchall()


def names(conn: psycopg.Connection[Any], sql: str) -> list[str]:
    cur = conn.execute(sql)
    assert cur.description is not None
    return [c.name for c in cur.description]


def db(conn: psycopg.Connection[Any]) -> str:
    return str(rows(conn, "SELECT current_database()")[0][0])


def test_show_databases(conn: psycopg.Connection[Any]) -> None:
    # DG:r_SHOW_DATABASES
    sql = "SELECT * FROM redshift_emulator.show_databases()"
    assert names(conn, sql) == [
        "database_name", "database_owner", "database_type", "database_acl", "parameters",
        "database_isolation_level",
    ]  # fmt: skip
    got = {r[0]: r for r in rows(conn, sql)}
    assert got[db(conn)][2] == "local" and got[db(conn)][5] == "Snapshot Isolation"
    assert rows(conn, "SELECT * FROM redshift_emulator.show_databases('no_such_%')") == []


def test_show_schemas(conn: psycopg.Connection[Any]) -> None:
    # DG:r_SHOW_SCHEMAS
    sql = f"SELECT * FROM redshift_emulator.show_schemas('{db(conn)}', 'show\\_%')"
    assert names(conn, sql) == [
        "database_name", "schema_name", "schema_owner", "schema_type", "schema_acl",
        "source_database", "schema_option",
    ]  # fmt: skip
    assert [(r[1], r[3]) for r in rows(conn, sql)] == [(SCHEMA, "local")]
    assert rows(conn, "SELECT * FROM redshift_emulator.show_schemas('other_db')") == []


def test_show_tables(conn: psycopg.Connection[Any]) -> None:
    # DG:r_SHOW_TABLES
    sql = f"SELECT * FROM redshift_emulator.show_tables('{db(conn)}', '{SCHEMA}')"
    assert names(conn, sql) == [
        "database_name", "schema_name", "table_name", "table_type", "table_acl", "remarks",
        "owner", "last_altered_time", "last_modified_time", "dist_style", "table_subtype",
    ]  # fmt: skip
    got = [(r[2], r[3], r[5], r[9], r[10]) for r in rows(conn, sql)]
    assert got == [
        ("child", "TABLE", "children", "KEY", "REGULAR TABLE"),
        ("kids", "VIEW", None, None, "REGULAR VIEW"),
        ("parent", "TABLE", None, "ALL", "REGULAR TABLE"),
    ]
    # LIKE is case-sensitive.
    like = f"SELECT table_name FROM redshift_emulator.show_tables('{db(conn)}', '{SCHEMA}', "
    assert rows(conn, like + "'p%')") == [("parent",)]
    assert rows(conn, like + "'P%')") == []


def test_show_columns(conn: psycopg.Connection[Any]) -> None:
    # DG:r_SHOW_COLUMNS
    sql = f"SELECT * FROM redshift_emulator.show_columns('{db(conn)}', '{SCHEMA}', 'child')"
    assert names(conn, sql)[:12] == [
        "database_name", "schema_name", "table_name", "column_name", "ordinal_position",
        "column_default", "is_nullable", "data_type", "character_maximum_length",
        "numeric_precision", "numeric_scale", "remarks",
    ]  # fmt: skip
    got = [
        (r[3], r[4], r[6], r[7], r[8], r[9], r[10], r[12], r[13], r[14], r[15])
        for r in rows(conn, sql)
    ]
    # data_type is the type's name; length, precision and scale have their own columns.
    assert got == [
        ("id", 1, "NO", "integer", None, 32, 0, None, 0, 0, "az64"),
        ("pid", 2, "YES", "integer", None, 32, 0, None, 0, 1, "az64"),
        ("pcode", 3, "YES", "character", 2, None, None, None, 0, 0, "lzo"),
        ("amount", 4, "YES", "numeric", None, 9, 2, "COMPOUND", 1, 0, "az64"),
    ]


def test_show_constraints(conn: psycopg.Connection[Any]) -> None:
    # DG:r_SHOW_CONSTRAINTS
    pk = f"SELECT * FROM redshift_emulator.show_primary_keys('{db(conn)}', '{SCHEMA}', 'parent')"
    assert names(conn, pk) == [
        "database_name",
        "schema_name",
        "table_name",
        "pk_name",
        "column_name",
        "key_seq",
    ]
    assert [(r[4], r[5]) for r in rows(conn, pk)] == [("id", 1), ("code", 2)]
    fk = f"SELECT * FROM redshift_emulator.show_foreign_keys('{db(conn)}', '{SCHEMA}', 'child')"
    assert names(conn, fk) == [
        "pk_database_name", "pk_schema_name", "pk_table_name", "pk_column_name",
        "fk_database_name", "fk_schema_name", "fk_table_name", "fk_column_name", "key_seq",
        "fk_name", "pk_name", "update_rule", "delete_rule", "deferrability",
    ]  # fmt: skip
    got = [(r[2], r[3], r[6], r[7], r[8], r[10]) for r in rows(conn, fk)]
    assert got == [
        ("parent", "id", "child", "pid", 1, "parent_pkey"),
        ("parent", "code", "child", "pcode", 2, "parent_pkey"),
    ]
    exported = (
        f"SELECT fk_table_name, fk_column_name FROM redshift_emulator.show_foreign_keys("
        f"'{db(conn)}', '{SCHEMA}', 'parent', true)"
    )
    assert rows(conn, exported) == [("child", "pid"), ("child", "pcode")]


def test_show_functions_and_procedures(conn: psycopg.Connection[Any]) -> None:
    # DG:r_SHOW_FUNCTIONS, DG:r_SHOW_PROCEDURES
    fn = f"SELECT * FROM redshift_emulator.show_functions('{db(conn)}', '{SCHEMA}')"
    assert names(conn, fn) == [
        "database_name", "schema_name", "function_name", "number_of_arguments",
        "argument_list", "return_type", "remarks",
    ]  # fmt: skip
    assert [(r[2], r[3], r[4], r[5]) for r in rows(conn, fn)] == [
        ("twice", 1, "x integer", "integer")
    ]
    proc = f"SELECT * FROM redshift_emulator.show_procedures('{db(conn)}', '{SCHEMA}', 't%')"
    assert names(conn, proc)[2] == "procedure_name"
    assert [(r[2], r[3], r[4]) for r in rows(conn, proc)] == [
        ("touch", 2, "n integer, label character varying")
    ]
