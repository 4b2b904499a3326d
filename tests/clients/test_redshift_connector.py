"""redshift_connector's metadata API and its pandas helpers on the emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pytest
import redshift_connector

from redshift_async_backend.emulator import Emulator

from .conftest import login

SCHEMA = "rc_meta"
# The driver's legacy get_columns query writes a number directly before a keyword
# ("...4WHEN"), which Redshift's lexer splits and PostgreSQL 15+'s refuses ("trailing junk
# after numeric literal"): the number-runs-into-a-word rule.
# The emulator announces show_discovery 4 at login, so the metadata API asks with SHOW
# SCHEMAS / TABLES / COLUMNS / CONSTRAINTS / FUNCTIONS / PROCEDURES (DG:r_SHOW_TABLES and its
# siblings); the *_legacy_hardcoded_query methods are the driver's catalog queries for
# clusters without them.


@pytest.fixture(scope="module")
def cursor(emulator: Emulator, sql: Callable[..., Any]) -> Iterator[Any]:
    sql(f"CREATE SCHEMA {SCHEMA}")
    sql(f"CREATE TABLE {SCHEMA}.parent (id INTEGER PRIMARY KEY, name VARCHAR(20))")
    sql(
        f"CREATE TABLE {SCHEMA}.child (id INTEGER PRIMARY KEY, "
        f"parent_id INTEGER REFERENCES {SCHEMA}.parent (id), amount DECIMAL(10, 2))"
    )
    sql(f"CREATE PROCEDURE {SCHEMA}.touch(n INTEGER) AS $$ BEGIN NULL; END $$ LANGUAGE plpgsql")
    sql(
        f"CREATE FUNCTION {SCHEMA}.twice(INTEGER) RETURNS INTEGER STABLE AS $$ SELECT $1 * 2 $$ "
        "LANGUAGE sql"
    )
    conn = redshift_connector.connect(**login(emulator), database=emulator.database, ssl=False)
    conn.autocommit = True
    yield conn.cursor()
    conn.close()
    sql(f"DROP SCHEMA {SCHEMA} CASCADE")


def test_get_schemas(cursor: Any) -> None:
    assert [tuple(r) for r in cursor.get_schemas(schema_pattern=SCHEMA)] == [
        (SCHEMA, cursor.cur_catalog())
    ]


def test_get_primary_keys(cursor: Any) -> None:
    rows = cursor.get_primary_keys(schema=SCHEMA, table="child")
    assert [tuple(r)[1:5] for r in rows] == [(SCHEMA, "child", "id", 1)]


def test_get_procedures(cursor: Any) -> None:
    # With show_discovery 4 the driver asks SHOW PROCEDURES (DG:r_SHOW_PROCEDURES): stored
    # procedures only; PROCEDURE_TYPE 1 (no result).
    rows = {r[2]: r[7] for r in cursor.get_procedures(schema_pattern=SCHEMA)}
    assert rows == {"touch": 1}


def test_get_procedures_legacy_query_reads_pg_proc_info(cursor: Any) -> None:
    # The driver's query for clusters without SHOW: PG_PROC_INFO.prokind 'p' for a stored
    # procedure, 'f' for a function (DG:r_PG_PROC_INFO); PROCEDURE_TYPE 1 and 2 for them.
    rows = {r[2]: r[7] for r in cursor.get_procedures_legacy_hardcoded_query(schema_pattern=SCHEMA)}
    assert rows == {"touch": 1, "twice": 2}


def test_write_and_fetch_dataframe(cursor: Any) -> None:
    frame = pd.DataFrame({"id": [1, 2, 3], "name": ["ada", "grace", "linus"]})
    # write_dataframe checks the table in PG_CATALOG.SVV_ALL_TABLES, then inserts.
    cursor.write_dataframe(frame, f"{SCHEMA}.parent")
    cursor.execute(f"SELECT id, name FROM {SCHEMA}.parent ORDER BY id")
    got = cursor.fetch_dataframe()
    assert list(got.columns) == ["id", "name"]
    assert got.to_dict("records") == frame.to_dict("records")


def test_get_tables(cursor: Any) -> None:
    rows = cursor.get_tables(schema_pattern=SCHEMA)
    assert sorted((r[1], r[2], r[3]) for r in rows) == [
        (SCHEMA, "child", "TABLE"),
        (SCHEMA, "parent", "TABLE"),
    ]


def test_get_tables_legacy_query(cursor: Any) -> None:
    # Its catalog query filters on a select-list alias in WHERE (the lateral-column-alias
    # rule). Only tables: PostgreSQL's indexes behind the primary keys are in pg_class here,
    # where Redshift has none.
    rows = cursor.get_tables_legacy_hardcoded_query(schema_pattern=SCHEMA, types=["TABLE"])
    assert sorted((r[1], r[2], r[3]) for r in rows) == [
        (SCHEMA, "child", "TABLE"),
        (SCHEMA, "parent", "TABLE"),
    ]


def test_get_columns(cursor: Any) -> None:
    rows = cursor.get_columns(schema_pattern=SCHEMA, tablename_pattern="child")
    assert [(r[3], r[5]) for r in rows] == [
        ("id", "int4"),
        ("parent_id", "int4"),
        ("amount", "numeric"),
    ]


def test_get_columns_legacy_query(cursor: Any) -> None:
    rows = cursor.get_columns_legacy_hardcoded_query(
        schema_pattern=SCHEMA, tablename_pattern="child"
    )
    assert [(r[3], r[5]) for r in rows] == [
        ("id", "int4"),
        ("parent_id", "int4"),
        ("amount", "numeric"),
    ]


def test_get_imported_keys(cursor: Any) -> None:
    (fk,) = cursor.get_imported_keys(schema=SCHEMA, table="child")
    assert (fk[2], fk[3], fk[6], fk[7]) == ("parent", "id", "child", "parent_id")


def test_get_functions(cursor: Any) -> None:
    names = [r[2] for r in cursor.get_functions(schema_pattern=SCHEMA)]
    assert names == ["twice"]
