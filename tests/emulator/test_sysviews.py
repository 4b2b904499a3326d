"""Redshift's system views and catalog functions (emulator/sysviews.py), each with its AWS
page: the columns the page lists, in its order, and what they mean."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

pytestmark = pytest.mark.integration

Connect = Callable[..., psycopg.Connection[Any]]
_names = itertools.count()


@pytest.fixture
def conn(connect: Connect) -> psycopg.Connection[Any]:
    return connect()


@pytest.fixture
def t(conn: psycopg.Connection[Any]) -> Iterator[str]:
    name = f"sysview_{next(_names)}"
    yield name
    conn.execute(f"DROP TABLE IF EXISTS {name} CASCADE")
    conn.execute(f"DROP VIEW IF EXISTS {name}_v CASCADE")


def columns(conn: psycopg.Connection[Any], relation: str) -> list[str]:
    cur = conn.execute(f"SELECT * FROM {relation} LIMIT 0")
    assert cur.description is not None
    return [c.name for c in cur.description]


def rows(conn: psycopg.Connection[Any], sql: str) -> list[tuple[Any, ...]]:
    return conn.execute(sql).fetchall()


def marked(name: str, **options: object) -> str:
    """The comment the rules append to CREATE VIEW / MATERIALIZED VIEW with Redshift's
    options, which sysviews.py's event trigger records."""
    return f"/*redshift_emulator.relation:{json.dumps({'name': name, **options})}*/"


# Each view's documented columns, in the order of its page.
DOCUMENTED = {
    # DG:r_SVV_TABLE_INFO
    "svv_table_info": [
        "database", "schema", "table_id", "table", "encoded", "diststyle", "sortkey1",
        "max_varchar", "sortkey1_enc", "sortkey_num", "size", "pct_used", "empty", "unsorted",
        "stats_off", "tbl_rows", "skew_sortkey1", "skew_rows", "estimated_visible_rows",
        "risk_event", "vacuum_sort_benefit", "create_time",
    ],
    # DG:r_SVV_TABLES
    "svv_tables": ["table_catalog", "table_schema", "table_name", "table_type", "remarks"],
    # DG:r_SVV_ALL_TABLES
    "svv_all_tables": [
        "database_name", "schema_name", "table_name", "table_type", "table_acl", "remarks",
    ],
    # DG:r_SVV_ALL_SCHEMAS
    "svv_all_schemas": [
        "database_name", "schema_name", "schema_owner", "schema_type", "schema_acl",
        "source_database", "schema_option",
    ],
    # DG:r_SVV_ALL_COLUMNS
    "svv_all_columns": [
        "database_name", "schema_name", "table_name", "column_name", "ordinal_position",
        "column_default", "is_nullable", "data_type", "character_maximum_length",
        "numeric_precision", "numeric_scale", "remarks",
    ],
    # DG:r_SVV_EXTERNAL_SCHEMAS
    "svv_external_schemas": [
        "esoid", "eskind", "schemaname", "esowner", "databasename", "esoptions",
    ],
    # DG:r_SVV_EXTERNAL_TABLES
    "svv_external_tables": [
        "redshift_database_name", "schemaname", "tablename", "tabletype", "location",
        "input_format", "output_format", "serialization_lib", "serde_parameters", "compressed",
        "parameters",
    ],
    # DG:r_SVV_EXTERNAL_COLUMNS
    "svv_external_columns": [
        "redshift_database_name", "schemaname", "tablename", "columnname", "external_type",
        "columnnum", "part_key", "is_nullable",
    ],
    # DG:r_SVV_TRANSACTIONS
    "svv_transactions": [
        "txn_owner", "txn_db", "xid", "pid", "txn_start", "lock_mode", "lockable_object_type",
        "relation", "granted",
    ],
    # DG:r_STV_LOCKS
    "stv_locks": [
        "table_id", "last_commit", "last_update", "lock_owner", "lock_owner_pid",
        "lock_owner_start_ts", "lock_owner_end_ts", "lock_status",
    ],
    # DG:r_STV_SESSIONS
    "stv_sessions": ["starttime", "process", "user_name", "db_name", "timeout_sec"],
    # DG:r_STL_QUERY
    "stl_query": [
        "userid", "query", "label", "xid", "pid", "database", "querytxt", "starttime",
        "endtime", "aborted", "insert_pristine", "concurrency_scaling_status",
    ],
    # DG:r_STL_LOAD_ERRORS
    "stl_load_errors": [
        "userid", "slice", "tbl", "starttime", "session", "query", "filename", "line_number",
        "colname", "type", "col_length", "position", "raw_line", "raw_field_value", "err_code",
        "err_reason", "is_partial", "start_offset",
    ],
    # DG:r_SVL_QLOG
    "svl_qlog": [
        "userid", "query", "xid", "pid", "starttime", "endtime", "elapsed", "aborted", "label",
        "substring", "source_query", "concurrency_scaling_status_txt", "from_sp_call",
    ],
    # DG:r_SVV_MV_INFO
    "svv_mv_info": [
        "database_name", "schema_name", "user_name", "name", "is_stale", "state",
        "autorefresh", "autorewrite",
    ],
}  # fmt: skip


@pytest.mark.parametrize("view", sorted(DOCUMENTED))
def test_view_has_the_documented_columns(conn: psycopg.Connection[Any], view: str) -> None:
    assert columns(conn, view) == DOCUMENTED[view]


@pytest.mark.parametrize("view", ["svv_all_tables", "svv_table_info", "stv_sessions"])
def test_views_answer_pg_catalog_qualified_names_as_on_redshift(
    conn: psycopg.Connection[Any], view: str
) -> None:
    # Redshift's system views are in pg_catalog; AWS's driver writes PG_CATALOG.SVV_ALL_TABLES.
    assert columns(conn, f"pg_catalog.{view}") == DOCUMENTED[view]


def test_svv_table_info_describes_dist_sort_encoding_rows(
    conn: psycopg.Connection[Any], t: str
) -> None:
    # DG:r_SVV_TABLE_INFO
    conn.execute(
        f"CREATE TABLE {t} (id INTEGER ENCODE az64, day DATE ENCODE raw, note VARCHAR(40)) "
        "DISTKEY (id) COMPOUND SORTKEY (day, id)"
    )
    assert rows(conn, f"SELECT 1 FROM svv_table_info WHERE \"table\" = '{t}'") == []  # empty
    conn.execute(f"INSERT INTO {t} VALUES (1, '2026-01-01', 'a'), (2, '2026-01-02', 'b')")
    (info,) = rows(
        conn,
        "SELECT diststyle, sortkey1, trim(sortkey1_enc), sortkey_num, max_varchar, tbl_rows, "
        "encoded, size >= 3, create_time IS NOT NULL, skew_rows, unsorted, stats_off "
        f"FROM svv_table_info WHERE \"table\" = '{t}'",
    )
    assert info[:9] == ("KEY(id)", "day", "none", 2, 40, 2, "Y", True, True)
    assert [float(x) for x in info[9:]] == [1.0, 0.0, 0.0]


def test_pg_class_info_diststyles_and_creation_time(conn: psycopg.Connection[Any], t: str) -> None:
    # DG:r_PG_CLASS_INFO: 0 EVEN, 1 KEY, 8 ALL; AUTO shows its effective style, 10 AUTO(ALL).
    for style, suffix in [("EVEN", "e"), ("ALL", "a"), ("KEY DISTKEY (x)", "k"), ("AUTO", "u")]:
        conn.execute(f"CREATE TABLE {t}{suffix} (x INTEGER) DISTSTYLE {style}")
    try:
        got = rows(
            conn,
            "SELECT relname, reldiststyle, releffectivediststyle, relcreationtime IS NOT NULL "
            f"FROM pg_class_info WHERE relname LIKE '{t}_' ORDER BY relname",
        )
        assert got == [
            (f"{t}a", 8, 8, True),
            (f"{t}e", 0, 0, True),
            (f"{t}k", 1, 1, True),
            (f"{t}u", 10, 10, True),
        ]
        assert "reloid" in columns(conn, "pg_class_info")
        assert "oid" not in columns(conn, "pg_class_info")
    finally:
        for suffix in "eaku":
            conn.execute(f"DROP TABLE {t}{suffix}")


def test_shadow_catalogs_carry_redshift_columns(conn: psycopg.Connection[Any], t: str) -> None:
    # pg_class.reldiststyle, pg_attribute.attencodingtype / attisdistkey / attsortkeyord and
    # FORMAT_ENCODING, as sqlalchemy-redshift reads them; pg_attrdef.adsrc.
    conn.execute(
        f"CREATE TABLE {t} (a INTEGER ENCODE zstd DEFAULT 7, b VARCHAR(9), c DATE) "
        "DISTKEY (a) INTERLEAVED SORTKEY (c, b)"
    )
    got = rows(
        conn,
        "SELECT a.attname, format_encoding(a.attencodingtype::integer), a.attisdistkey, "
        "a.attsortkeyord, c.reldiststyle FROM redshift_emulator.pg_class c "
        "JOIN redshift_emulator.pg_attribute a ON a.attrelid = c.oid "
        f"WHERE c.relname = '{t}' AND a.attnum > 0 ORDER BY a.attnum",
    )
    assert got == [
        ("a", "zstd", True, 0, 1),
        ("b", "none", False, -2, 1),
        ("c", "none", False, -1, 1),
    ]
    assert rows(
        conn,
        f"SELECT adsrc FROM redshift_emulator.pg_attrdef WHERE adrelid = '{t}'::regclass",
    ) == [("7",)]


def test_pg_get_late_binding_view_cols_lists_only_late_binding_views(
    conn: psycopg.Connection[Any], t: str
) -> None:
    # DG:PG_GET_LATE_BINDING_VIEW_COLS: called with a column definition list. An ordinary
    # view is not listed; the late-binding marker the rules add is recorded on CREATE VIEW.
    conn.execute(f"CREATE TABLE {t} (a INTEGER, b VARCHAR(5))")
    conn.execute(f"CREATE VIEW {t}_v AS SELECT a FROM {t}")
    sql = (
        "SELECT * FROM pg_get_late_binding_view_cols() cols(view_schema name, view_name name, "
        f"col_name name, col_type varchar, col_num int) WHERE view_name = '{t}_v'"
    )
    assert rows(conn, sql) == []
    conn.execute(
        f"CREATE OR REPLACE VIEW {t}_v AS SELECT a, b FROM {t} "
        + marked(f"{t}_v", late_binding=True)
    )
    assert rows(conn, sql) == [
        ("public", f"{t}_v", "a", "integer", 1),
        ("public", f"{t}_v", "b", "character varying(5)", 2),
    ]


def test_external_views_are_empty_without_external_schemas(conn: psycopg.Connection[Any]) -> None:
    # DG:r_SVV_EXTERNAL_SCHEMAS, _TABLES, _COLUMNS: the emulator has no Spectrum schemas.
    for view in ("svv_external_schemas", "svv_external_tables", "svv_external_columns"):
        assert rows(conn, f"SELECT * FROM {view}") == []
    assert rows(conn, "SELECT * FROM stl_load_errors") == []  # DG:r_STL_LOAD_ERRORS


def test_svv_all_tables_columns_and_schemas(conn: psycopg.Connection[Any], t: str) -> None:
    # DG:r_SVV_ALL_TABLES, DG:r_SVV_ALL_COLUMNS, DG:r_SVV_ALL_SCHEMAS, DG:r_SVV_TABLES.
    conn.execute(f"CREATE TABLE {t} (id INTEGER NOT NULL, price DECIMAL(8, 2))")
    conn.execute(f"COMMENT ON TABLE {t} IS 'prices'")
    conn.execute(f"CREATE VIEW {t}_v AS SELECT id FROM {t}")
    db = rows(conn, "SELECT current_database()")[0][0]
    assert rows(
        conn,
        "SELECT database_name, schema_name, table_name, table_type, remarks FROM svv_all_tables "
        f"WHERE table_name LIKE '{t}%' ORDER BY table_name",
    ) == [(db, "public", t, "TABLE", "prices"), (db, "public", f"{t}_v", "VIEW", None)]
    assert rows(
        conn,
        f"SELECT table_type FROM svv_tables WHERE table_name LIKE '{t}%' ORDER BY table_name",
    ) == [("BASE TABLE",), ("VIEW",)]
    assert rows(
        conn,
        "SELECT column_name, ordinal_position, is_nullable, data_type, numeric_precision, "
        f"numeric_scale FROM svv_all_columns WHERE table_name = '{t}' ORDER BY 2",
    ) == [("id", 1, "NO", "integer", 32, 0), ("price", 2, "YES", "numeric", 8, 2)]
    schemas = dict(rows(conn, "SELECT schema_name, schema_type FROM svv_all_schemas"))
    assert schemas["public"] == "local"


def test_pg_proc_info_prokind(conn: psycopg.Connection[Any]) -> None:
    # DG:r_PG_PROC_INFO: prooid, and prokind 'p' for a stored procedure, 'f' a function.
    conn.execute(
        "CREATE OR REPLACE PROCEDURE sysview_proc() AS $$ BEGIN NULL; END $$ LANGUAGE plpgsql"
    )
    conn.execute(
        "CREATE OR REPLACE FUNCTION sysview_fn(integer) RETURNS integer IMMUTABLE "
        "AS $$ SELECT $1 $$ LANGUAGE sql"
    )
    try:
        got = rows(
            conn,
            "SELECT proname, prokind, prooid = (proname::regproc)::oid FROM pg_proc_info "
            "WHERE proname LIKE 'sysview_%' ORDER BY 1",
        )
        assert got == [("sysview_fn", "f", True), ("sysview_proc", "p", True)]
    finally:
        conn.execute("DROP PROCEDURE sysview_proc()")
        conn.execute("DROP FUNCTION sysview_fn(integer)")


def test_transactions_locks_sessions_and_queries(connect: Connect, t: str) -> None:
    # DG:r_SVV_TRANSACTIONS, DG:r_STV_LOCKS, DG:r_STV_SESSIONS, DG:r_STL_QUERY, DG:r_SVL_QLOG:
    # another session's open transaction, its table lock, its session and its query.
    watcher = connect()
    watcher.execute(f"CREATE TABLE {t} (a INTEGER)")
    other = connect(autocommit=False)
    other.execute(f"LOCK {t}")
    pid = other.info.backend_pid
    oid = rows(watcher, f"SELECT '{t}'::regclass::oid")[0][0]
    try:
        modes = rows(
            watcher,
            "SELECT lockable_object_type, relation, lock_mode, granted FROM svv_transactions "
            f"WHERE pid = {pid} ORDER BY 1, 3",
        )
        assert ("relation", oid, "AccessExclusiveLock", True) in modes
        assert any(m[0] == "transactionid" and m[2] == "ExclusiveLock" for m in modes)
        assert rows(
            watcher, f"SELECT lock_owner_pid, lock_status FROM stv_locks WHERE table_id = {oid}"
        ) == [(pid, "Holding write lock")]
        assert rows(watcher, f"SELECT count(*) FROM stv_sessions WHERE process = {pid}") == [(1,)]
        assert rows(
            watcher,
            f"SELECT trim(querytxt), trim(label) FROM stl_query WHERE pid = {pid}",
        ) == [(f"LOCK {t}", "default")]
        assert rows(watcher, f"SELECT trim(substring) FROM svl_qlog WHERE pid = {pid}") == [
            (f"LOCK {t}",)
        ]
    finally:
        other.rollback()


def test_svv_mv_info_lists_materialized_views(conn: psycopg.Connection[Any], t: str) -> None:
    # DG:r_SVV_MV_INFO: one row per materialized view; state 0 (recomputed on refresh).
    conn.execute(f"CREATE TABLE {t} (a INTEGER)")
    conn.execute(f"CREATE MATERIALIZED VIEW {t}_mv AS SELECT count(*) AS n FROM {t}")
    try:
        assert rows(
            conn,
            "SELECT trim(name), is_stale, state, autorefresh, autorewrite FROM svv_mv_info "
            f"WHERE trim(name) = '{t}_mv'",
        ) == [(f"{t}_mv", "f", 0, "f", "f")]
        assert rows(conn, f"SELECT count(*) FROM stv_mv_info WHERE trim(name) = '{t}_mv'") == [(1,)]
    finally:
        conn.execute(f"DROP MATERIALIZED VIEW {t}_mv")


def test_setup_replaces_a_system_view_an_older_emulator_left(pg_url: str, connect: Connect) -> None:
    # A --data-dir database set up by another version: a system view with other columns is
    # dropped and created again (CREATE OR REPLACE cannot change a view's columns).
    connect()  # the database is set up
    with psycopg.connect(pg_url, autocommit=True) as admin:
        target = admin.execute("SELECT redshift_emulator.system_schema()").fetchone()
        assert target is not None
        admin.execute("SET allow_system_table_mods = on")
        admin.execute(f"DROP VIEW {target[0]}.svv_external_schemas")
        admin.execute(f"CREATE VIEW {target[0]}.svv_external_schemas AS SELECT 1 AS old")
        admin.execute("COMMENT ON SCHEMA redshift_emulator IS 'setup of another version'")
    conn = connect()  # a new session: the emulator sets the database up again
    assert columns(conn, "svv_external_schemas") == DOCUMENTED["svv_external_schemas"]


def test_materialized_view_options_from_the_rules_marker(
    conn: psycopg.Connection[Any], t: str
) -> None:
    # DG:materialized-view-create-sql-command: BACKUP, DISTSTYLE/DISTKEY/SORTKEY and AUTO
    # REFRESH, as the rules pass them on in a marker comment: recorded, and shown where
    # dbt-redshift reads them (SVV_TABLE_INFO, SVV_MV_INFO, pg_views).
    conn.execute(f"CREATE TABLE {t} (k INTEGER, v INTEGER)")
    conn.execute(f"INSERT INTO {t} VALUES (1, 2), (1, 3), (2, 4)")
    conn.execute(
        f"CREATE MATERIALIZED VIEW {t}_mv BACKUP NO DISTSTYLE KEY DISTKEY (k) SORTKEY (k) "
        f"AUTO REFRESH YES AS SELECT k, sum(v) AS total FROM {t} GROUP BY k"
    )
    try:
        assert rows(
            conn, f"SELECT diststyle, sortkey1 FROM svv_table_info WHERE \"table\" = '{t}_mv'"
        ) == [("KEY(k)", "k")]
        assert rows(conn, f"SELECT autorefresh FROM svv_mv_info WHERE trim(name) = '{t}_mv'") == [
            ("t",)
        ]
        (definition,) = rows(
            conn,
            f"SELECT definition FROM redshift_emulator.pg_views WHERE viewname = '{t}_mv'",
        )[0]
        assert definition.startswith(f"create materialized view {t}_mv as ")
    finally:
        conn.execute(f"DROP MATERIALIZED VIEW {t}_mv")
