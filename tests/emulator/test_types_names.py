"""Data types and their limits (DG:r_Character_types, DG:r_Numeric_types201,
DG:c_Supported_data_types) and names (DG:r_names, DG:r_pg_keywords), through the emulator
with both drivers, and the rewrites without a server."""

from __future__ import annotations

import decimal

import pytest

from redshift_async_backend.emulator.catalog import SCHEMA
from redshift_async_backend.emulator.rules import RedshiftError, SessionState, rewrite

from .test_sql_rules import Db, db, t, table_def  # noqa: F401  (fixtures)

REFUSALS = [
    # DG:r_Character_types: VARCHAR up to 65535 bytes, CHAR up to 4096.
    ("varchar_too_wide", "CREATE TABLE {t}_c (a VARCHAR(65536))", "22023", "cannot exceed 65535"),
    ("char_too_wide", "CREATE TABLE {t}_c (a CHAR(4097))", "22023", "cannot exceed 4096"),
    ("cast_too_wide", "SELECT 'x'::varchar(70000)", "22023", "cannot exceed 65535"),
    # DG:r_Numeric_types201: precision up to 38.
    ("decimal_too_precise", "CREATE TABLE {t}_c (a DECIMAL(39, 2))", "22023", "between 1 and 38"),
    # DG:c_unsupported-postgresql-datatypes: no arrays, no row types.
    ("array_constructor", "SELECT ARRAY[1, 2]", "42601", "["),
    ("row_constructor", "SELECT ROW(1, 'a')", "0A000", "ROW"),
    # DG:r_pg_keywords: reserved words are names only in double quotes.
    ("reserved_column", "CREATE TABLE {t}_c (open INT)", "42601", '"open"'),
    ("reserved_table", "CREATE TABLE tag (a INT)", "42601", '"tag"'),
    ("reserved_added", "ALTER TABLE {t} ADD COLUMN timestamp INT", "42601", '"timestamp"'),
]


@pytest.mark.integration
@pytest.mark.parametrize(("sql", "sqlstate", "text"), [r[1:] for r in REFUSALS],
                         ids=[r[0] for r in REFUSALS])  # fmt: skip
def test_refused_like_redshift(db: Db, t: str, sql: str, sqlstate: str, text: str) -> None:  # noqa: F811
    db.rows(f"CREATE TABLE {t} (a INT)")
    code, message = db.error(sql.format(t=t))
    assert (code, text in message) == (sqlstate, True), message


@pytest.mark.integration
def test_bare_decimal_is_18_0(db: Db, t: str) -> None:  # noqa: F811
    db.rows(f"CREATE TABLE {t} (a DECIMAL, b NUMERIC(10, 2), c DEC)")
    db.rows(f"INSERT INTO {t} VALUES (1.6, 1.555, 2.4)")
    assert db.rows(f"SELECT a, b, c FROM {t}") == [
        (decimal.Decimal(2), decimal.Decimal("1.56"), decimal.Decimal(2))
    ]
    types = {col: row[0] for col, row in table_def(db, t).items()}
    assert types == {"a": "numeric(18,0)", "b": "numeric(10,2)", "c": "numeric(18,0)"}
    assert db.one("SELECT CAST(2.5 AS DECIMAL) + 0.25::numeric(4,2)") == decimal.Decimal("3.25")


@pytest.mark.integration
def test_geometry_geography_hllsketch_columns(db: Db, t: str) -> None:  # noqa: F811
    db.rows(f"CREATE TABLE {t} (g GEOMETRY, geo GEOGRAPHY, h HLLSKETCH)")
    db.rows(f"INSERT INTO {t} (h) VALUES (NULL)")
    assert db.one(f"SELECT count(*) FROM {t}") == 1
    types = {col: row[0] for col, row in table_def(db, t).items()}
    assert types == {"g": "geometry", "geo": "geography", "h": "hllsketch"}


@pytest.mark.integration
def test_reserved_words_in_double_quotes_are_names(db: Db, t: str) -> None:  # noqa: F811
    db.rows(f'CREATE TABLE {t} ("open" INT, "tag" VARCHAR(4), "timestamp" TIMESTAMP)')
    db.rows(f"INSERT INTO {t} VALUES (1, 'x', '2024-01-01')")
    assert db.rows(f'SELECT "open", "tag" FROM {t}') == [(1, "x")]


@pytest.mark.integration
def test_lengths_are_bytes(db: Db, t: str) -> None:  # noqa: F811
    # DG:r_Character_types: "a VARCHAR(12) column can contain ... 4 three-byte characters".
    db.rows(f"CREATE TABLE {t} (v VARCHAR(12), c CHAR(3), two VARCHAR(2))")
    db.rows(f"INSERT INTO {t} (v, c) VALUES ('€€€€', 'abc')")
    db.rows(f"INSERT INTO {t} (two) VALUES ('é')")  # two bytes
    code, message = db.error(f"INSERT INTO {t} (two) VALUES ('€')")
    assert (code, message) == ("22001", "value too long for type character varying(2)")
    assert db.error(f"INSERT INTO {t} (v) VALUES ('€€€€a')")[0] == "22001"
    code, message = db.error(f"INSERT INTO {t} (c) VALUES ('é')")
    assert code == "22001"
    assert message.startswith("Multibyte character not supported for CHAR")
    assert message.endswith("Invalid char: c3 a9")
    assert db.error(f"UPDATE {t} SET two = '€'")[0] == "22001"
    assert db.rows(f"SELECT v, c, two FROM {t} ORDER BY 1") == [
        ("€€€€", "abc", None),
        (None, None, "é"),
    ]


@pytest.mark.integration
def test_byte_lengths_follow_alter_table(db: Db, t: str) -> None:  # noqa: F811
    db.rows(f"CREATE TABLE {t} (a VARCHAR(2), b VARCHAR(2), keep INT)")
    db.rows(f"ALTER TABLE {t} ALTER COLUMN a TYPE VARCHAR(3)")  # widening: allowed
    db.rows(f"INSERT INTO {t} (a) VALUES ('€')")
    db.rows(f"ALTER TABLE {t} RENAME COLUMN b TO renamed")
    assert db.error(f"INSERT INTO {t} (renamed) VALUES ('€')")[0] == "22001"
    db.rows(f"ALTER TABLE {t} DROP COLUMN renamed")  # the check is no obstacle
    db.rows(f"ALTER TABLE {t} ADD COLUMN added VARCHAR(1)")
    assert db.error(f"INSERT INTO {t} (added) VALUES ('é')")[0] == "22001"
    db.rows(f"ALTER TABLE {t} DROP COLUMN added")
    db.rows(f"ALTER TABLE {t} DROP COLUMN a")  # no CHAR or VARCHAR left: no check
    db.rows(f"INSERT INTO {t} (keep) VALUES (1)")
    assert db.one(f"SELECT count(*) FROM {t}") == 2


@pytest.mark.integration
def test_a_referenced_table_with_a_length_check_truncates(db: Db, t: str) -> None:  # noqa: F811
    # The check is a trigger; PostgreSQL then looks at even a NOT ENFORCED foreign key
    # before a TRUNCATE. Redshift's keys are informational (DG:t_Defining_constraints).
    db.rows(f"CREATE TABLE {t} (code CHAR(36) PRIMARY KEY)")
    db.rows(f"CREATE TABLE {t}_child (code CHAR(36) REFERENCES {t} (code))")
    try:
        db.rows(f"INSERT INTO {t} VALUES ('a')")
        db.rows(f"INSERT INTO {t}_child VALUES ('a')")
        db.rows(f"TRUNCATE {t}")
        assert db.one(f"SELECT count(*) FROM {t}") == 0
    finally:
        db.rows(f"DROP TABLE {t}_child")


# --- without a server ---------------------------------------------------------------


@pytest.mark.unit
def test_type_limits_and_defaults() -> None:
    state = SessionState()
    sql = rewrite("CREATE TABLE t (a DECIMAL, b NUMERIC(38, 2), c CHAR(4096), d GEOMETRY)", state)
    assert "a DECIMAL(18,0)" in sql.sql and "NUMERIC(38, 2)" in sql.sql
    assert f"d {SCHEMA}.geometry" in sql.sql
    assert rewrite("SELECT x::decimal FROM t", state).sql == "SELECT x::decimal(18,0) FROM t"
    assert rewrite("SELECT (1, 2) IN (SELECT 1, 2)", state).sql == "SELECT (1, 2) IN (SELECT 1, 2)"
    too_wide = (
        "SELECT 1::numeric(39)",
        "CREATE TABLE t (a NVARCHAR(65536))",
        "CREATE TABLE t (a CHARACTER VARYING(65536))",
        "CREATE TABLE t (a NCHAR(5000))",
    )
    for sql in too_wide:
        with pytest.raises(RedshiftError) as info:
            rewrite(sql, state)
        assert info.value.sqlstate == "22023"


@pytest.mark.unit
def test_quoted_names_fold_to_lower_case() -> None:
    state = SessionState()
    assert (
        rewrite('SELECT "T"."Col" AS "X" FROM "T"', state).sql == 'SELECT "t"."col" AS "x" FROM "t"'
    )
    # A quoted user name keeps its case (DG:r_enable_case_sensitive_identifier).
    assert rewrite('GRANT SELECT ON "Tab" TO "Bob"', state).sql == 'GRANT SELECT ON "tab" TO "Bob"'
    assert (
        rewrite("CREATE USER \"Bob\" PASSWORD 'x'", state).sql == "CREATE USER \"Bob\" PASSWORD 'x'"
    )
    # Literals are not names; non-ASCII letters keep their case.
    assert rewrite("SELECT '\"Abc\"'", state).sql == "SELECT '\"Abc\"'"
    assert rewrite('SELECT "Éa"', state).sql == 'SELECT "Éa"'
    sensitive = SessionState(settings=(("enable_case_sensitive_identifier", "on"),))
    assert rewrite('SELECT "Col" FROM t', sensitive).sql == 'SELECT "Col" FROM t'
