"""Issue #14.7 and #14.8: DDL rules the guide states, multi-row VALUES and COPY, through the
running emulator with both drivers. Each test names the AWS page
(https://docs.aws.amazon.com/redshift/latest/dg/<page>.html) that states the rule.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest

from redshift_async_backend.emulator import Emulator
from redshift_async_backend.emulator.rules.ddl_columns import ENCODINGS

from . import test_sql_rules
from .test_sql_rules import Db, table_def

# The same fixtures as test_sql_rules.py: each test runs with psycopg and redshift_connector.
db = test_sql_rules.db
t = test_sql_rules.t

pytestmark = pytest.mark.integration

# (id, statement after CREATE TABLE {t} (a INT, v VARCHAR(10)), SQLSTATE, text in the message)
REFUSALS = [
    # DG:c_Compression_encodings: the types each encoding takes.
    ("encode_az64_boolean", "CREATE TABLE {t}_c (b BOOLEAN ENCODE az64)", "0A000", "AZ64"),
    ("encode_text255_char", "CREATE TABLE {t}_c (c CHAR(3) ENCODE text255)", "0A000", "TEXT255"),
    ("encode_unknown", "CREATE TABLE {t}_c (a INT ENCODE gzip)", "42704", "gzip"),
    (
        "add_column_bad_encode",
        "ALTER TABLE {t} ADD COLUMN d DATE ENCODE text32k",
        "0A000",
        "TEXT32K",
    ),
    (
        "alter_column_bad_encode",
        "ALTER TABLE {t} ALTER COLUMN a ENCODE text255",
        "0A000",
        "TEXT255",
    ),
    # DG:r_ALTER_TABLE: no DISTKEY or SORTKEY on ADD COLUMN.
    ("add_column_sortkey", "ALTER TABLE {t} ADD COLUMN b INT SORTKEY", "0A000", "SORTKEY"),
    ("add_column_distkey", "ALTER TABLE {t} ADD COLUMN b INT DISTKEY", "0A000", "DISTKEY"),
    # DG:limitations-super: SUPER is no key.
    ("super_distkey", "CREATE TABLE {t}_c (s SUPER, a INT) DISTKEY (s)", "0A000", "SUPER"),
    ("super_sortkey", "CREATE TABLE {t}_c (a INT, s SUPER) SORTKEY (a, s)", "0A000", "SUPER"),
    ("super_inline_sortkey", "CREATE TABLE {t}_c (s SUPER SORTKEY)", "0A000", "SUPER"),
    # DG:r_CREATE_VIEW: a late-binding view qualifies its tables.
    (
        "late_binding_unqualified",
        "CREATE VIEW {t}_v AS SELECT a FROM {t} WITH NO SCHEMA BINDING",
        "42P01",
        "qualified",
    ),
    # DG:materialized-view-create-sql-command.
    (
        "mv_order_by",
        "CREATE MATERIALIZED VIEW {t}_m AS SELECT a FROM {t} ORDER BY a",
        "0A000",
        "ORDER BY",
    ),
    ("mv_limit", "CREATE MATERIALIZED VIEW {t}_m AS SELECT a FROM {t} LIMIT 1", "0A000", "LIMIT"),
    (
        "mv_distkey_twice",
        "CREATE MATERIALIZED VIEW {t}_m DISTSTYLE EVEN DISTKEY (a) AS SELECT a FROM {t}",
        "42601",
        "DISTKEY",
    ),
    # DG:r_CREATE_VIEW: a view is not written.
    ("insert_into_view", "INSERT INTO sqlrule_view_{t} VALUES (1)", "0A000", "is a view"),
    ("update_view", "UPDATE sqlrule_view_{t} SET a = 2", "0A000", "is a view"),
    ("delete_view", "DELETE FROM sqlrule_view_{t}", "0A000", "is a view"),
    # DG:r_INSERT_30, DG:c_Examples_of_INSERT_30.
    (
        "multi_row_subquery",
        "INSERT INTO {t} (a) VALUES (1), ((SELECT max(a) FROM {t}))",
        "0A000",
        "can't use subqueries in multi-row VALUES",
    ),
    # DG:r_COPY: S3, EMR, DynamoDB or SSH; never the server's files.
    ("copy_local_file", "COPY {t} FROM '/etc/hostname'", "0A000", "LOAD source is not supported"),
    ("copy_stdin", "COPY {t} FROM STDIN", "0A000", "LOAD source is not supported"),
    ("copy_program", "COPY {t} FROM PROGRAM 'true'", "0A000", "LOAD source is not supported"),
    ("copy_to", "COPY {t} TO '/tmp/x'", "42601", '"TO"'),
    (
        "copy_s3",
        "COPY {t} FROM 's3://bucket/key' IAM_ROLE 'arn:aws:iam::0:role/r'",
        "0A000",
        "Amazon S3",
    ),
]


@pytest.mark.parametrize(("sql", "sqlstate", "text"), [r[1:] for r in REFUSALS],
                         ids=[r[0] for r in REFUSALS])  # fmt: skip
def test_refused_like_redshift(db: Db, t: str, sql: str, sqlstate: str, text: str) -> None:
    db.rows(f"CREATE TABLE {t} (a INT, v VARCHAR(10))")
    if "sqlrule_view_" in sql:
        db.rows(f"INSERT INTO {t} VALUES (1, 'x')")
        db.rows(f"CREATE VIEW sqlrule_view_{t} AS SELECT a FROM {t}")
    try:
        code, message = db.error(sql.format(t=t))
    finally:
        db.rows(f"DROP VIEW IF EXISTS sqlrule_view_{t}")
        db.rows(f"DROP TABLE IF EXISTS {t}_c")
    assert (code, text in message) == (sqlstate, True), message


# --- ENCODE (DG:c_Compression_encodings) ----------------------------------------------

_SAMPLE = {
    "smallint": "SMALLINT", "integer": "INTEGER", "bigint": "BIGINT",
    "decimal": "DECIMAL(10,2)", "real": "REAL", "double": "DOUBLE PRECISION",
    "boolean": "BOOLEAN", "char": "CHAR(4)", "varchar": "VARCHAR(20)", "date": "DATE",
    "timestamp": "TIMESTAMP", "timestamptz": "TIMESTAMPTZ", "super": "SUPER",
}  # fmt: skip


def test_every_listed_encoding_is_accepted(db: Db, t: str) -> None:
    """Every (encoding, type) pair of the guide's table is accepted and recorded."""
    columns = [
        f"c_{encoding}_{family} {_SAMPLE[family]} ENCODE {encoding}"
        for encoding, families in ENCODINGS.items()
        for family in sorted(families)
    ]
    db.rows(f"CREATE TABLE {t} ({', '.join(columns)}, r BOOLEAN ENCODE raw)")
    encodings = {c: row[1] for c, row in table_def(db, t).items()}
    assert encodings["c_text255_varchar"] == "text255"
    assert encodings["c_az64_timestamptz"] == "az64"
    assert encodings["r"] == "none"
    assert len(encodings) == len(columns) + 1


# --- ALTER TABLE (DG:r_ALTER_TABLE) ---------------------------------------------------


@pytest.mark.parametrize("encoding", ["bytedict", "runlength", "text255", "text32k"])
def test_type_change_refused_on_some_encodings(db: Db, t: str, encoding: str) -> None:
    db.rows(f"CREATE TABLE {t} (a INT, v VARCHAR(10) ENCODE {encoding})")
    code, message = db.error(f"ALTER TABLE {t} ALTER COLUMN v TYPE VARCHAR(20)")
    assert (code, encoding.upper() in message) == ("0A000", True), message
    db.rows(f"CREATE TABLE {t}_c (v VARCHAR(10) ENCODE lzo)")
    try:
        db.rows(f"ALTER TABLE {t}_c ALTER COLUMN v TYPE VARCHAR(20)")
    finally:
        db.rows(f"DROP TABLE {t}_c")


@pytest.mark.parametrize(
    "change",
    ["ALTER DISTKEY a", "ALTER DISTSTYLE KEY DISTKEY a", "ALTER DISTSTYLE ALL",
     "ALTER DISTSTYLE EVEN", "ALTER COLUMN v ENCODE zstd"],
)  # fmt: skip
def test_interleaved_tables_refuse_some_alters(db: Db, t: str, change: str) -> None:
    db.rows(f"CREATE TABLE {t} (a INT, v VARCHAR(10)) INTERLEAVED SORTKEY (a, v)")
    code, message = db.error(f"ALTER TABLE {t} {change}")
    assert (code, "interleaved" in message) == ("0A000", True), message
    db.rows(f"ALTER TABLE {t} ALTER COMPOUND SORTKEY (a)")  # then it may
    db.rows(f"ALTER TABLE {t} {change}")


@pytest.mark.parametrize("style", ["ALL", "EVEN"])
def test_temporary_tables_refuse_alter_diststyle_all_even(db: Db, t: str, style: str) -> None:
    db.rows(f"CREATE TEMP TABLE {t} (a INT)")
    code, message = db.error(f"ALTER TABLE {t} ALTER DISTSTYLE {style}")
    assert (code, "temporary" in message) == ("0A000", True), message
    db.rows(f"ALTER TABLE {t} ALTER DISTKEY a")


def test_the_last_column_cannot_be_dropped(db: Db, t: str) -> None:
    db.rows(f"CREATE TABLE {t} (a INT, b INT)")
    db.rows(f"INSERT INTO {t} VALUES (1, 2)")
    db.rows(f"ALTER TABLE {t} DROP COLUMN b")
    code, message = db.error(f"ALTER TABLE {t} DROP COLUMN a")
    assert (code, "last column" in message) == ("0A000", True), message
    assert db.rows(f"SELECT a FROM {t}") == [(1,)]


def test_primary_key_columns_are_not_null(db: Db, t: str) -> None:
    """DG:r_CREATE_TABLE_NEW: a primary key holds non-null values (and is not enforced
    otherwise): a NULL in a PRIMARY KEY column is refused, a duplicate is not."""
    db.rows(f"CREATE TABLE {t} (a INT PRIMARY KEY, b INT)")
    db.rows(f"INSERT INTO {t} VALUES (1, 1), (1, 2)")
    code, _ = db.error(f"INSERT INTO {t} VALUES (NULL, 3)")
    assert code == "23502"
    assert table_def(db, t)["a"][4] is True


# --- Views, materialized views, temporary tables, LOCK --------------------------------


def test_late_binding_view_is_listed(db: Db, t: str) -> None:
    db.rows(f"CREATE TABLE {t} (a INT, v VARCHAR(10))")
    db.rows(f"CREATE VIEW {t}_v AS SELECT a, v FROM public.{t} WITH NO SCHEMA BINDING")
    db.rows(f"CREATE VIEW {t}_b AS SELECT a FROM {t}")
    try:
        cols = db.rows(
            "SELECT view_name, col_name, col_num FROM pg_get_late_binding_view_cols() "
            "cols(view_schema name, view_name name, col_name name, col_type varchar, "
            f"col_num int) WHERE view_name LIKE '{t}%' ORDER BY col_num"
        )
        assert cols == [(f"{t}_v", "a", 1), (f"{t}_v", "v", 2)]
        assert db.rows(f"SELECT count(*) FROM {t}_v") == [(0,)]
    finally:
        db.rows(f"DROP VIEW {t}_v")
        db.rows(f"DROP VIEW {t}_b")


def test_late_binding_view_may_read_a_cte(db: Db, t: str) -> None:
    db.rows(f"CREATE TABLE {t} (a INT)")
    db.rows(
        f"CREATE VIEW {t}_v AS WITH w AS (SELECT a FROM public.{t}) SELECT a FROM w "
        "WITH NO SCHEMA BINDING"
    )
    db.rows(f"DROP VIEW {t}_v")


def test_materialized_view_attributes_are_recorded(db: Db, t: str) -> None:
    db.rows(f"CREATE TABLE {t} (a INT, v VARCHAR(10))")
    db.rows(f"INSERT INTO {t} VALUES (1, 'x'), (2, 'y')")
    db.rows(
        f"CREATE MATERIALIZED VIEW {t}_m BACKUP NO DISTSTYLE KEY DISTKEY (a) SORTKEY (v) "
        f"AUTO REFRESH YES AS SELECT a, v FROM {t}"
    )
    db.rows(f"CREATE MATERIALIZED VIEW {t}_n AS SELECT a FROM {t}")
    try:
        assert db.rows(f"SELECT count(*) FROM {t}_m") == [(2,)]
        info = db.rows(
            f"SELECT trim(name), autorefresh FROM svv_mv_info WHERE trim(name) LIKE '{t}%' "
            "ORDER BY 1"
        )
        assert info == [(f"{t}_m", "t"), (f"{t}_n", "f")]
        table = db.rows(f"SELECT diststyle, sortkey1 FROM svv_table_info WHERE \"table\" = '{t}_m'")
        assert table == [("KEY(a)", "v")]
        # DG:r_ALTER_MATERIALIZED_VIEW
        db.rows(f"ALTER MATERIALIZED VIEW {t}_m AUTO REFRESH NO")
        db.rows(f"ALTER MATERIALIZED VIEW {t}_n AUTO REFRESH YES")
        assert db.rows(
            f"SELECT trim(name), autorefresh FROM svv_mv_info WHERE trim(name) LIKE '{t}%' "
            "ORDER BY 1"
        ) == [(f"{t}_m", "f"), (f"{t}_n", "t")]
    finally:
        db.rows(f"DROP MATERIALIZED VIEW {t}_m")
        db.rows(f"DROP MATERIALIZED VIEW {t}_n")


def test_hash_names_are_temporary_tables(db: Db) -> None:
    db.rows("CREATE TABLE #sqlrule_hash (a INT ENCODE zstd, b INT)")
    try:
        db.rows("INSERT INTO #sqlrule_hash VALUES (6, 3)")
        assert db.rows("SELECT a # b, #sqlrule_hash.a FROM #sqlrule_hash") == [(5, 6)]
        assert db.rows("SELECT relpersistence FROM pg_class WHERE relname = '#sqlrule_hash'") == [
            ("t",)
        ]
    finally:
        db.rows("DROP TABLE #sqlrule_hash")


def test_lock_of_tables_in_a_transaction(db: Db, t: str) -> None:
    db.rows(f"CREATE TABLE {t} (a INT)")
    db.rows(f"CREATE TABLE {t}_c (a INT)")
    try:
        db.rows("BEGIN")
        db.rows(f"LOCK {t}, {t}_c")
        db.rows(f"INSERT INTO {t} VALUES (1)")
        db.rows("COMMIT")
    finally:
        db.rows(f"DROP TABLE {t}_c")
    assert db.rows(f"SELECT a FROM {t}") == [(1,)]


def test_an_ordinary_user_cannot_lock_a_view(emulator: Emulator, pg_url: str) -> None:
    """DG:r_LOCK: "You can't lock views"; a table of the same user's is locked."""
    name = f"sqlrule_u{uuid.uuid4().hex[:8]}"
    with psycopg.connect(emulator.url, autocommit=True) as admin:
        admin.execute(f"CREATE USER {name} PASSWORD 'Ezpass12'")
        admin.execute(f"CREATE SCHEMA {name} AUTHORIZATION {name}")
    try:
        login = {"host": emulator.host, "port": emulator.port, "dbname": emulator.database}
        with psycopg.connect(**login, user=name, password="Ezpass12") as conn:
            conn.execute(f"CREATE TABLE {name}.t (a INT)")
            conn.execute(f"CREATE VIEW {name}.v AS SELECT a FROM {name}.t")
            conn.commit()
            conn.execute(f"LOCK {name}.t")
            conn.rollback()
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="view"):
                conn.execute(f"LOCK {name}.v")
    finally:
        with psycopg.connect(emulator.url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {name} CASCADE")
            admin.execute(f"DROP USER {name}")


def test_single_row_values_take_a_subquery(db: Db, t: str) -> None:
    db.rows(f"CREATE TABLE {t} (a INT)")
    db.rows(f"INSERT INTO {t} VALUES (1), (2)")
    db.rows(f"INSERT INTO {t} VALUES ((SELECT max(a) + 1 FROM {t}))")
    assert db.rows(f"SELECT max(a) FROM {t}") == [(3,)]
