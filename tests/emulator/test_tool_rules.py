"""The rules for what Redshift's own tools send (rules/tools.py, rules/show.py, the catalog
rules of rules/catalog.py), through the emulator with both drivers. Each test names the AWS
page, or the tool whose statement the rule accepts."""

from __future__ import annotations

import json

import pytest

from .test_sql_rules import Db, db, t  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration


def _schema(db: Db, t: str) -> str:  # noqa: F811
    name = f"{t}_s"
    db.rows(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    db.rows(f"CREATE SCHEMA {name}")
    return name


# --- Redshift-only catalog columns ------------------------------------------------------


def test_redshift_columns_of_pg_class_and_pg_attribute(db: Db, t: str) -> None:  # noqa: F811
    # DG:r_PG_CLASS_INFO (reldiststyle), DG:r_PG_TABLE_DEF (what pg_attribute's encoding,
    # distkey and sortkey columns mean).
    db.rows(f"CREATE TABLE {t} (a INTEGER ENCODE az64 DISTKEY, b VARCHAR(10)) SORTKEY (b)")
    assert db.rows(f"SELECT c.reldiststyle FROM pg_catalog.pg_class c WHERE c.relname = '{t}'") == [
        (1,)
    ]
    assert db.rows(
        "SELECT attname, attisdistkey, attsortkeyord, format_encoding(attencodingtype) "
        f"FROM pg_attribute WHERE attrelid = (SELECT oid FROM pg_class WHERE relname = '{t}') "
        "AND attnum > 0 ORDER BY attnum"
    ) == [("a", True, 0, "az64"), ("b", False, 1, "none")]
    assert db.rows(f"SELECT relname FROM pg_class WHERE relname = '{t}'") == [(t,)]
    # Columns named with the catalog's full name, as SQLAlchemy writes them.
    assert db.rows(
        "SELECT pg_catalog.pg_class.relname FROM pg_catalog.pg_class "
        f"WHERE pg_catalog.pg_class.relname = '{t}'"
    ) == [(t,)]


def test_materialized_and_late_binding_views_in_the_catalog(db: Db, t: str) -> None:  # noqa: F811
    # What dbt-redshift's catalog query relies on: a materialized view is relkind 'v' in
    # pg_class, a late-binding view has no pg_attribute rows (its columns come from
    # PG_GET_LATE_BINDING_VIEW_COLS, DG:PG_GET_LATE_BINDING_VIEW_COLS).
    db.rows(f"CREATE TABLE {t} (a INTEGER)")
    db.rows(f"CREATE MATERIALIZED VIEW {t}_mv AS SELECT a FROM {t}")
    late = "/*redshift_emulator.relation:" + json.dumps({"name": f"{t}_lb", "late_binding": True})
    late += "*/"  # the marker the late-binding rule writes (test_sysviews.py's marked())
    db.rows(f"CREATE VIEW {t}_lb AS SELECT a FROM public.{t} {late}")
    try:
        kinds = db.rows(
            f"SELECT relname, relkind FROM pg_catalog.pg_class WHERE relname LIKE '{t}%' ORDER BY 1"
        )
        assert kinds == [(t, "r"), (f"{t}_lb", "v"), (f"{t}_mv", "v")]
        counted = db.rows(
            "SELECT c.relname, count(a.attname) FROM pg_class c "
            "LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
            f"WHERE c.relname LIKE '{t}%' GROUP BY 1 ORDER BY 1"
        )
        assert counted == [(t, 1), (f"{t}_lb", 0), (f"{t}_mv", 1)]
    finally:
        db.rows(f"DROP VIEW {t}_lb")
        db.rows(f"DROP MATERIALIZED VIEW {t}_mv")


def test_pg_views_lists_materialized_views(db: Db, t: str) -> None:  # noqa: F811
    # DG:materialized-view-create-sql-command: Redshift's PG_VIEWS lists them.
    db.rows(f"CREATE TABLE {t} (a INTEGER)")
    db.rows(f"CREATE MATERIALIZED VIEW {t}_mv AS SELECT a FROM {t}")
    try:
        (definition,) = db.rows(f"SELECT definition FROM pg_views WHERE viewname = '{t}_mv'")
        assert definition[0].lower().startswith(f"create materialized view {t}_mv as")
        (definition,) = db.rows(
            f"SELECT view_definition FROM information_schema.views WHERE table_name = '{t}_mv'"
        )
        assert definition[0].lower().startswith(f"create materialized view {t}_mv as")
    finally:
        db.rows(f"DROP MATERIALIZED VIEW {t}_mv")


def test_svv_relation_privileges(db: Db, t: str) -> None:  # noqa: F811
    # DG:r_SVV_RELATION_PRIVILEGES
    db.rows(f"CREATE TABLE {t} (a INTEGER)")
    db.rows(f"GRANT SELECT ON {t} TO PUBLIC")
    got = db.rows(
        "SELECT privilege_type, identity_name FROM svv_relation_privileges "
        f"WHERE relation_name = '{t}'"
    )
    assert ("SELECT", "public") in got


# --- SHOW ---------------------------------------------------------------------------------


def test_show_commands(db: Db, t: str) -> None:  # noqa: F811
    # DG:r_SHOW_DATABASES, r_SHOW_SCHEMAS, r_SHOW_TABLES, r_SHOW_COLUMNS, r_SHOW_CONSTRAINTS,
    # r_SHOW_FUNCTIONS
    s = _schema(db, t)
    try:
        dbname = db.one("SELECT current_database()")
        db.rows(f"CREATE TABLE {s}.parent (id INTEGER PRIMARY KEY, name VARCHAR(10))")
        db.rows(f"CREATE TABLE {s}.child (id INTEGER, pid INTEGER REFERENCES {s}.parent (id))")
        assert db.rows(f"SHOW DATABASES LIKE '{dbname}'")[0][0] == dbname
        assert [r[1] for r in db.rows(f"SHOW SCHEMAS FROM DATABASE {dbname} LIKE '{s}'")] == [s]
        tables = db.rows(f"SHOW TABLES FROM SCHEMA {dbname}.{s};")
        assert [(r[2], r[3]) for r in tables] == [("child", "TABLE"), ("parent", "TABLE")]
        assert [r[2] for r in db.rows(f"show tables from schema {dbname}.{s} limit 1")] == ["child"]
        cols = db.rows(f"/* a tool */ SHOW COLUMNS FROM TABLE {dbname}.{s}.parent LIKE 'n%'")
        assert [(r[3], r[7], r[8]) for r in cols] == [("name", "character varying", 10)]
        pk = db.rows(f"SHOW CONSTRAINTS PRIMARY KEYS FROM TABLE {dbname}.{s}.parent")
        assert [(r[2], r[4]) for r in pk] == [("parent", "id")]
        fk = db.rows(f"SHOW CONSTRAINTS FOREIGN KEYS FROM TABLE {dbname}.{s}.child")
        assert [(r[2], r[3], r[6], r[7]) for r in fk] == [("parent", "id", "child", "pid")]
        exported = db.rows(f"SHOW CONSTRAINTS FOREIGN KEYS EXPORTED FROM TABLE {dbname}.{s}.parent")
        assert [r[6] for r in exported] == ["child"]
        assert db.rows(f"SHOW FUNCTIONS FROM SCHEMA {dbname}.{s}") == []
        # PostgreSQL's SHOW of a parameter is untouched.
        assert db.rows("SHOW search_path")
    finally:
        db.rows(f"DROP SCHEMA {s} CASCADE")


def test_show_with_bind_parameters(db: Db, t: str) -> None:  # noqa: F811
    # redshift_connector sends SHOW SCHEMAS FROM DATABASE %s with its names bound.
    s = _schema(db, t)
    try:
        db.rows(f"CREATE TABLE {s}.only_one (a INTEGER)")
        dbname = db.one("SELECT current_database()")
        cur = db.conn.cursor()
        cur.execute("SHOW TABLES FROM SCHEMA %s.%s LIKE %s", (dbname, s, "only%"))
        assert [r[2] for r in cur.fetchall()] == ["only_one"]
    finally:
        db.rows(f"DROP SCHEMA {s} CASCADE")


def test_show_table(db: Db, t: str) -> None:  # noqa: F811
    # DG:r_SHOW_TABLE: the CREATE TABLE statement, in the page's form.
    db.rows(
        f"CREATE TABLE {t} (a INTEGER PRIMARY KEY, b VARCHAR(10) ENCODE zstd, "
        "c DECIMAL(8, 2)) DISTKEY (b) COMPOUND SORTKEY (a, c)"
    )
    (ddl,) = db.rows(f"SHOW TABLE {t}")
    assert ddl[0] == (
        f"CREATE TABLE public.{t} ( a integer NOT NULL, b character varying(10) ENCODE zstd "
        "distkey, c numeric(8,2), PRIMARY KEY (a) ) DISTSTYLE KEY SORTKEY ( a, c );"
    )
    assert db.rows(f"show table public.{t};") == [ddl]


def test_malformed_show_is_a_syntax_error(db: Db) -> None:  # noqa: F811
    # DG:r_SHOW_TABLES: FROM SCHEMA database_name.schema_name
    state, message = db.error("SHOW TABLES FROM SCHEMA public")
    assert state == "42601" and "syntax error" in message
    state, _ = db.error("SHOW CONSTRAINTS FROM TABLE a.b.c")
    assert state == "42601"


def test_show_discovery_is_announced(db: Db) -> None:  # noqa: F811
    # redshift_connector's metadata API asks SHOW when the server announces version 4.
    if db.driver == "psycopg":
        assert db.conn.info.parameter_status("show_discovery") == "4"
    else:
        assert db.conn.cursor().get_show_discovery_version() == 4


# --- What the tools send ------------------------------------------------------------------


def test_where_integer(db: Db, t: str) -> None:  # noqa: F811
    # sqlalchemy-redshift's reflection: "where 1 AND schema = ..." (DG:r_WHERE_clause).
    assert db.one("SELECT count(*) FROM pg_class WHERE 1 AND relname = 'pg_namespace'") == 1
    assert db.one("SELECT count(*) FROM pg_class WHERE 0 OR relname = 'pg_namespace'") == 1
    assert db.one("SELECT count(*) FROM pg_class WHERE 0 AND relname = 'pg_namespace'") == 0
    db.rows(f"CREATE TABLE {t} (a INTEGER)")
    db.rows(f"INSERT INTO {t} VALUES (1)")
    assert db.rows(f"SELECT a FROM {t} WHERE 1") == [(1,)]
    assert db.rows(f"SELECT a FROM {t} WHERE 1 = a") == [(1,)]


def test_alias_later_in_the_select_list(db: Db) -> None:  # noqa: F811
    # DG:r_SELECT_list: an alias is known right after it is defined in the select list.
    assert db.rows(
        "SELECT relname AS n, upper(n) AS u, u || '!' FROM pg_class WHERE relname = 'pg_namespace'"
    ) == [("pg_namespace", "PG_NAMESPACE", "PG_NAMESPACE!")]


def test_alias_in_where(db: Db) -> None:  # noqa: F811
    # redshift_connector's get_tables filters on "TABLE_SCHEM LIKE ..."; sqlalchemy-redshift
    # on "schema = ...".
    assert db.rows(
        "SELECT n.nspname AS TABLE_SCHEM FROM pg_catalog.pg_namespace n "
        "WHERE TABLE_SCHEM LIKE 'pg\\_catalo%' AND (SELECT 1) = 1"
    ) == [("pg_catalog",)]
    # An input column of the alias's name takes precedence (DG:r_SELECT_list).
    assert (
        db.rows(
            "SELECT relnatts + 100 AS relnatts FROM pg_class "
            "WHERE relname = 'pg_namespace' AND relnatts < 100"
        )[0][0]
        > 100
    )


def test_subquery_without_alias(db: Db) -> None:  # noqa: F811
    # redshift_connector's get_columns: SELECT * FROM (SELECT ... FROM pg_catalog...) WHERE ...
    assert (
        db.one(
            "SELECT count(*) FROM (SELECT relname FROM pg_catalog.pg_class "
            "WHERE relname = 'pg_namespace') WHERE relname = 'pg_namespace'"
        )
        == 1
    )


def test_number_runs_into_a_word(db: Db) -> None:  # noqa: F811
    # redshift_connector's legacy get_columns: "... THEN 4WHEN ..." in a catalog query.
    assert (
        db.one(
            "SELECT CASE WHEN relname = 'pg_namespace' THEN 4WHEN relname = 'x' THEN 5ELSE 6END "
            "FROM (SELECT relname FROM pg_catalog.pg_class WHERE relname = 'pg_namespace')"
        )
        == 4
    )


def test_aliases_stay_out_of_other_queries(db: Db, t: str) -> None:  # noqa: F811
    # Outside catalog queries PostgreSQL's rules stand (the gaps the declarations name).
    db.rows(f"CREATE TABLE {t} (a INTEGER)")
    state, message = db.error(f"SELECT a + 1 AS b FROM {t} WHERE b > 0")
    assert state == "42703" and "b" in message
    state, _ = db.error(f"SELECT * FROM (SELECT a FROM {t})")
    assert state == "42601"


def test_escape_string_in_a_catalog_only_query(db: Db, t: str) -> None:  # noqa: F811
    # psql's \l sends array_to_string(d.datacl, E'\n'): a leader-node query (DG:r_Literals
    # refuses E'' elsewhere).
    dbname = db.one("SELECT current_database()")
    assert (
        db.one(
            "SELECT d.datname || E'!' FROM pg_catalog.pg_database d "
            "WHERE d.datname = current_database()"
        )
        == dbname + "!"
    )
    db.rows(f"CREATE TABLE {t} (a INTEGER)")
    state, _ = db.error(f"SELECT E'x' FROM {t}")
    assert state == "42601"
    state, _ = db.error(f"SELECT E'x' FROM pg_class JOIN {t} ON true")
    assert state == "42601"
