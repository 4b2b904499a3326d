"""Redshift's SQL functions through the running emulator, with both drivers: semantics that
differ from PostgreSQL's, functions Redshift adds, functions it lacks, leader-node-only
functions and window frames (AWS's *Database Developer Guide*, SQL functions reference).
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pytest

from redshift_async_backend.emulator.catalog import SCHEMA
from redshift_async_backend.emulator.rules import RedshiftError, SessionState, rewrite

from . import test_sql_rules
from .test_sql_rules import Db

# The fixtures of test_sql_rules.py: a connection per driver, a fresh table name.
db = test_sql_rules.db
t = test_sql_rules.t

pytestmark = pytest.mark.integration


def _fill(db: Db, t: str) -> None:
    db.rows(f"CREATE TABLE {t} (g INT, a INT, s VARCHAR(10), ts TIMESTAMP)")
    db.rows(
        f"INSERT INTO {t} VALUES (1, 3, 'x', '2024-01-31 10:00'), (1, 1, 'y', NULL), "
        "(2, 2, 'x', NULL), (2, 2, NULL, NULL)"
    )


# --- semantics (each row: DG page in the rule's declaration) ---------------------------

SEMANTICS: list[tuple[str, str, Any]] = [
    # DG:r_CONCAT
    ("concat", "SELECT CONCAT('ab', 'cd')", "abcd"),
    ("concat_null", "SELECT CONCAT('ab', NULL) IS NULL", True),
    # DG:r_Dateparts_for_datetime_functions: the part alone
    ("extract_second", "SELECT EXTRACT(sec FROM TIMESTAMP '2009-09-21 11:10:03.189717')", 3),
    ("extract_ms", "SELECT EXTRACT(ms FROM TIMESTAMP '2009-09-09 12:08:43.101')", 101),
    ("extract_us", "SELECT EXTRACT(microsecond FROM TIMESTAMP '2009-09-21 11:10:03.189717')", 717),
    ("extract_abbrev", "SELECT EXTRACT(qtr FROM DATE '2024-05-01')", 2),
    ("extract_decade", "SELECT EXTRACT(decade FROM TIMESTAMP '2000-02-16 20:38:40')", 201),
    ("extract_decade_1999", "SELECT EXTRACT(dec FROM DATE '1999-02-16')", 200),
    ("extract_century", "SELECT EXTRACT(century FROM TIMESTAMP '2000-12-16 12:21:13')", 20),
    ("extract_mil", "SELECT EXTRACT(mil FROM TIMESTAMP '2001-12-16 12:21:13')", 3),
    ("extract_tz_double", "SELECT EXTRACT(year FROM TIMESTAMPTZ '1997-12-01 07:37:16+00')", 1997.0),
    (
        "date_part_seconds",
        "SELECT DATE_PART(sec, TIMESTAMP '2009-09-21 11:10:03.189717')",
        3.189717,
    ),
    # DG:r_ADD_MONTHS
    ("add_months", "SELECT ADD_MONTHS(DATE '2008-01-15', 1)::varchar", "2008-02-15 00:00:00"),
    (
        "add_months_last_day",
        "SELECT ADD_MONTHS(DATE '2008-02-29', 1)::varchar",
        "2008-03-31 00:00:00",
    ),
    (
        "add_months_short_month",
        "SELECT ADD_MONTHS(TIMESTAMP '2008-03-30 12:00', 1)::varchar",
        "2008-04-30 12:00:00",
    ),
    ("add_months_literal", "SELECT ADD_MONTHS('2008-03-31', 1)::varchar", "2008-04-30 00:00:00"),
    # DG:r_TRUNC_date
    ("trunc_timestamp", "SELECT TRUNC(TIMESTAMP '2011-07-21 10:32:38')", dt.date(2011, 7, 21)),
    ("trunc_number", "SELECT TRUNC(111.86)", decimal.Decimal("111")),
    # DG:r_DECODE_expression
    ("decode", "SELECT DECODE(2, 1, 'one', 2, 'two')", "two"),
    ("decode_default", "SELECT DECODE(3, 1, 'one', 2, 'two', 'other')", "other"),
    ("decode_null", "SELECT DECODE(NULL, 1, 'one', NULL, 'none')", "none"),
    ("decode_no_default", "SELECT DECODE(3, 1, 'one') IS NULL", True),
    # DG:r_REPLICATE, DG:r_TO_HEX, DG:JSON_TYPEOF
    ("replicate", "SELECT REPLICATE('ab', 3)", "ababab"),
    ("to_hex_int", "SELECT TO_HEX(2147676847)", "8002f2af"),
    ("to_hex_varbyte", "SELECT TO_HEX(TO_VARBYTE('abc', 'utf8'))", "616263"),
    ("json_typeof_object", """SELECT JSON_TYPEOF(JSON_PARSE('{"a": 1}'))""", "object"),
    ("json_typeof_array", "SELECT JSON_TYPEOF(JSON_PARSE('[1, 2]'))", "array"),
    ("json_typeof_number", "SELECT JSON_TYPEOF(JSON_PARSE('1.5'))", "number"),
    # DG:SHA2: 0 bits is 256; others give an empty string
    ("sha2_invalid_bits", "SELECT SHA2('Amazon Redshift', 100)", ""),
    ("sha2_zero_bits", "SELECT SHA2('abc', 0) = SHA2('abc', 256)", True),
    # DG:r_TOP_clause, DG:r_UNION
    (
        "top",
        "SELECT TOP 2 n FROM (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3) q "
        "ORDER BY n DESC",
        3,
    ),
    ("minus", "SELECT count(*) FROM (SELECT 1 AS n UNION SELECT 2 MINUS SELECT 2) q", 1),
    # DG:pattern-matching-conditions-posix, DG:REGEXP_COUNT: '\\d' is the class \d
    ("regexp_digit_class", "SELECT REGEXP_COUNT('a1b22c333', '\\\\d+')", 3),
    (
        "regexp_escaped_dot",
        "SELECT REGEXP_SUBSTR('mail@example.org', '@[^.]*\\\\.(org|edu)')",
        "@example.org",
    ),
    ("regexp_replace_class", "SELECT REGEXP_REPLACE('a b  c', '\\\\s+', '-')", "a-b-c"),
    ("regex_operator_class", "SELECT 'a1' ~ 'a\\\\d'", True),
]


@pytest.mark.parametrize(
    ("sql", "expected"), [s[1:] for s in SEMANTICS], ids=[s[0] for s in SEMANTICS]
)
def test_redshift_semantics(db: Db, sql: str, expected: Any) -> None:
    assert db.one(sql) == expected


def test_extract_types(db: Db) -> None:
    # DG:r_EXTRACT_function: INTEGER for TIMESTAMP, TIME, INTERVAL; DOUBLE for TIMESTAMPTZ.
    row = db.rows(
        "SELECT pg_typeof(EXTRACT(hour FROM TIMESTAMP '2024-01-01 10:00'))::text, "
        "pg_typeof(EXTRACT(hour FROM TIMESTAMPTZ '2024-01-01 10:00+00'))::text, "
        "EXTRACT(minute FROM TIME '10:42:00'), EXTRACT(hour FROM INTERVAL '5 hours'), "
        "EXTRACT(dow FROM DATE '2024-01-07'), EXTRACT(epoch FROM TIMESTAMP '1970-01-02')"
    )[0]
    assert row == ("integer", "double precision", 42, 5, 0, 86400)


def test_current_user_id(db: Db) -> None:
    # DG:r_CURRENT_USER_ID: the user's USESYSID, no parentheses.
    expected = db.one("SELECT usesysid FROM pg_user WHERE usename = current_user")
    assert db.one("SELECT CURRENT_USER_ID") == expected


def test_median_and_approximate_count(db: Db, t: str) -> None:
    # DG:r_MEDIAN (interpolated for an even count), DG:r_COUNT (APPROXIMATE COUNT).
    _fill(db, t)
    assert db.one(f"SELECT MEDIAN(a) FROM {t}") == 2
    assert db.rows(f"SELECT g, MEDIAN(a) FROM {t} GROUP BY g ORDER BY g") == [(1, 2), (2, 2)]
    assert db.one(f"SELECT APPROXIMATE COUNT(DISTINCT s) FROM {t}") == 2


def test_listagg_distinct(db: Db, t: str) -> None:
    # DG:r_LISTAGG: LISTAGG(DISTINCT ...) ordered by the value itself.
    _fill(db, t)
    assert db.one(f"SELECT LISTAGG(DISTINCT a, ',') WITHIN GROUP (ORDER BY a) FROM {t}") == (
        "1,2,3"
    )
    assert db.one(f"SELECT LISTAGG(DISTINCT s, '|') FROM {t}") in ("x|y", "y|x")


def test_select_top(db: Db, t: str) -> None:
    # DG:r_TOP_clause: TOP n, with DISTINCT, and in a subquery.
    _fill(db, t)
    assert db.rows(f"SELECT TOP 1 a FROM {t} ORDER BY a") == [(1,)]
    assert db.rows(f"SELECT DISTINCT TOP 2 g FROM {t} ORDER BY g") == [(1,), (2,)]
    assert db.one(f"SELECT count(*) FROM (SELECT TOP 3 a FROM {t}) q") == 3


# --- refusals -----------------------------------------------------------------------

REFUSED = [
    # DG:r_CONCAT
    ("concat_three", "SELECT CONCAT('a', 'b', 'c')", "42883", "concat"),
    ("concat_one", "SELECT CONCAT('a')", "42883", "concat"),
    # DG:r_Dateparts_for_datetime_functions
    (
        "extract_unknown_part",
        "SELECT EXTRACT(fortnight FROM DATE '2024-01-01')",
        "0A000",
        "fortnight",
    ),
    # DG:r_DECODE_expression (PostgreSQL's decode(text, format) is not Redshift's)
    ("decode_two", "SELECT DECODE('aGk=', 'base64')", "42883", "decode"),
]


@pytest.mark.parametrize(
    ("sql", "sqlstate", "text"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED]
)
def test_refused(db: Db, sql: str, sqlstate: str, text: str) -> None:
    code, message = db.error(sql)
    assert (code, text in message) == (sqlstate, True)


def test_unsupported_postgresql_functions(db: Db, t: str) -> None:
    # DG:c_unsupported-postgresql-functions: one of each group the guide names.
    _fill(db, t)
    for call in (
        "every(a > 0)",
        "corr(a, g)",
        "array_upper(NULL, 1)",
        "clock_timestamp()",
        "div(a, 2)",
        "width_bucket(a, 0, 10, 5)",
        "bit_length(s)",
        "format('%s', s)",
        "regexp_matches(s, 'x')",
        "pg_advisory_lock(1)",
        "pg_relation_size('x')",
    ):
        code, message = db.error(f"SELECT {call} FROM {t}")
        assert (code, call.split("(")[0] in message) == ("42883", True), call


# --- leader-node-only functions (DG:c_SQL_functions_leader_node_only) ------------------

LEADER_ONLY = [
    "NOW()",
    "CURRENT_TIMESTAMP",
    "CURRENT_TIME",
    "LOCALTIME",
    "CURRENT_SCHEMA()",
    "CURRENT_SCHEMA",
    "CURRENT_SCHEMAS(false)",
    "VERSION()",
    "HAS_TABLE_PRIVILEGE('pg_class', 'select')",
    "HAS_SCHEMA_PRIVILEGE('public', 'usage')",
    "HAS_DATABASE_PRIVILEGE(current_database(), 'connect')",
    "SUBSTR('abc', 2)",
    "FACTORIAL(3)",
    "AGE(TIMESTAMP '2001-01-01')",
    "ISFINITE(DATE '2001-01-01')",
    "GENERATE_SERIES(1, 2)",
    "FORMAT_TYPE(23, NULL)",
    "PG_GET_USERBYID(10)",
]


@pytest.mark.parametrize("call", LEADER_ONLY)
def test_leader_node_only_refused_with_a_user_table(db: Db, t: str, call: str) -> None:
    _fill(db, t)
    assert db.error(f"SELECT {call}, a FROM {t}") == (
        "0A000",
        "Specified types or functions (one per INFO message) not supported on Redshift tables.",
    )


def test_leader_node_only_runs_without_user_tables(db: Db, t: str) -> None:
    _fill(db, t)
    for call in LEADER_ONLY:
        # No table, a catalog table, or a CTE: the leader node runs it.
        db.rows(f"SELECT {call}")
        db.rows(f"SELECT {call}, relname FROM pg_class LIMIT 1")
        db.rows(f"WITH c AS (SELECT 1 AS n) SELECT {call}, n FROM c")
    # The compute-node equivalents work on user tables.
    assert db.one(f"SELECT count(GETDATE()) FROM {t}") == 4
    assert db.one(f"SELECT max(SUBSTRING(s, 1, 1)) FROM {t}") == "y"


# --- window functions (DG:r_Window_function_synopsis) ------------------------------------

WINDOW_REFUSED = [
    (
        "named_window",
        "SELECT sum(a) OVER w FROM {t} WINDOW w AS (PARTITION BY g)",
        "42601",
        "WINDOW",
    ),
    (
        "frame_required",
        "SELECT sum(a) OVER (ORDER BY a) FROM {t}",
        "0A000",
        "Aggregate window functions with an ORDER BY clause require a frame clause",
    ),
    (
        "frame_required_avg",
        "SELECT avg(a) OVER (PARTITION BY g ORDER BY a) FROM {t}",
        "0A000",
        "Aggregate window functions with an ORDER BY clause require a frame clause",
    ),
    (
        "range",
        "SELECT sum(a) OVER (ORDER BY a RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT "
        "ROW) FROM {t}",
        "0A000",
        "RANGE clause of window functions not yet implemented",
    ),
    (
        "groups",
        "SELECT sum(a) OVER (ORDER BY a GROUPS UNBOUNDED PRECEDING) FROM {t}",
        "42601",
        "GROUPS",
    ),
    (
        "constant_partition",
        "SELECT rank() OVER (PARTITION BY 1 ORDER BY a) FROM {t}",
        "0A000",
        "constant expressions are not supported in partition by clauses",
    ),
    (
        "constant_partition_call",
        "SELECT lag(a) OVER (PARTITION BY abs(12) ORDER BY a) FROM {t}",
        "0A000",
        "constant expressions are not supported in partition by clauses",
    ),
]


@pytest.mark.parametrize(
    ("sql", "sqlstate", "text"), [w[1:] for w in WINDOW_REFUSED], ids=[w[0] for w in WINDOW_REFUSED]
)
def test_window_refused(db: Db, t: str, sql: str, sqlstate: str, text: str) -> None:
    _fill(db, t)
    code, message = db.error(sql.format(t=t))
    assert (code, text in message) == (sqlstate, True)


def test_window_accepted(db: Db, t: str) -> None:
    _fill(db, t)
    rows = db.rows(
        f"SELECT a, sum(a) OVER (ORDER BY a ROWS UNBOUNDED PRECEDING), "
        "row_number() OVER (ORDER BY a), sum(a) OVER (PARTITION BY g), "
        f"sum(a) OVER () FROM {t}"
    )
    assert sorted(r[1] for r in rows) == [1, 3, 5, 8]
    assert sorted(r[2] for r in rows) == [1, 2, 3, 4]
    assert sorted(r[3] for r in rows) == [4, 4, 4, 4]
    assert [r[4] for r in rows] == [8, 8, 8, 8]


# --- rewrites, without a server ----------------------------------------------------------


def test_rewrites_keep_the_rest_of_the_statement() -> None:
    state = SessionState()
    assert rewrite("SELECT TOP 5 a FROM t", state).sql == "SELECT  a FROM t LIMIT 5"
    assert rewrite("SELECT CONCAT(a, CONCAT(b, c)) FROM t", state).sql == (
        "SELECT ((a) || ( ((b) || ( c)))) FROM t"
    )
    assert rewrite("SELECT t.minus FROM t", state).sql == "SELECT t.minus FROM t"
    assert rewrite("SELECT EXTRACT('hour' FROM ts) FROM t", state).sql == (
        f"SELECT {SCHEMA}.extract('hour', ( ts)) FROM t"
    )
    with pytest.raises(RedshiftError):
        rewrite("SELECT now() FROM t", state)


# --- SUPER navigation (DG:query-super) ---------------------------------------------------


def test_super_navigation(db: Db, t: str) -> None:
    db.rows(f"CREATE TABLE {t} (id INT, doc SUPER)")
    doc = '{"a": {"b": [10, {"c": "x"}]}, "s": "y"}'
    db.rows(f"INSERT INTO {t} VALUES (1, JSON_PARSE('{doc}'))")
    assert db.rows(f"SELECT doc.a.b[0], doc.s, doc.a.b[1].c FROM {t}") == [("10", '"y"', '"x"')]
    assert db.one(f"SELECT w.doc.a.b[0] FROM {t} w") == "10"
    assert db.one(f"SELECT {t}.doc.a.b[1] FROM {t}") == '{"c":"x"}'
    # A missing key, an index of an object, a key of a scalar: NULL.
    assert db.rows(f"SELECT doc.nope, doc[0], doc.s.t, doc.a.b[5] FROM {t}") == [
        (None, None, None, None)
    ]
    assert db.one(f"SELECT count(*) FROM {t} WHERE doc.a.b[0] = JSON_PARSE('10')") == 1


def test_super_navigation_keeps_table_columns(db: Db, t: str) -> None:
    db.rows(f"CREATE TABLE {t} (id INT, doc SUPER)")
    db.rows(f"INSERT INTO {t} VALUES (1, JSON_PARSE('[1]'))")
    assert db.rows(f"SELECT {t}.id, x.id FROM {t} JOIN {t} x ON x.id = {t}.id") == [(1, 1)]
    assert db.one(f"WITH c AS (SELECT id FROM {t}) SELECT c.id FROM c") == 1
    assert db.one(f"SELECT q.id FROM (SELECT id FROM {t}) q") == 1
