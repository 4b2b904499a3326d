"""The emulator's own tables stay out of a user's search path and listings; the catalog
views that read them keep working (issue #17, item 8)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from redshift_async_backend.emulator import Emulator

from .clients import backend

pytestmark = pytest.mark.integration

Connect = Callable[..., psycopg.Connection[Any]]
OURS = (
    "redshift_emulator_table_meta",
    "redshift_emulator_column_meta",
    "table_meta",
    "column_meta",
)


@pytest.fixture
def table(connect: Connect) -> Any:
    conn = connect()
    conn.execute("DROP TABLE IF EXISTS bookkeeping_t")
    conn.execute(
        "CREATE TABLE bookkeeping_t (id int ENCODE az64, n varchar(8)) DISTKEY (id) SORTKEY (n)"
    )
    yield "bookkeeping_t"
    conn.execute("DROP TABLE bookkeeping_t")


def names(conn: psycopg.Connection[Any], sql: str) -> set[str]:
    return {row[0] for row in conn.execute(sql)}


def test_listings_show_user_tables_only(connect: Connect, table: str) -> None:
    conn = connect()
    usual = "NOT IN ('pg_catalog', 'information_schema')"
    for sql in (
        f"SELECT table_name FROM information_schema.tables WHERE table_schema {usual}",
        f"SELECT tablename FROM pg_tables WHERE schemaname {usual}",
        "SELECT c.relname FROM pg_class c WHERE pg_table_is_visible(c.oid) AND c.relkind = 'r'"
        " AND c.relnamespace <> 'pg_catalog'::regnamespace",
    ):
        found = names(conn, sql)
        assert table in found, sql
        assert not found & set(OURS), sql
    # Not on the search path under the names they had (redshift_emulator.table_meta).
    for name in ("table_meta", "redshift_emulator.table_meta"):
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute(f"SELECT * FROM {name}")


def test_backend_introspection_lists_user_tables_only(emu: Emulator, table: str) -> None:
    db = backend(emu, "bookkeeping")
    try:
        with db.cursor() as cursor:
            listed = {info.name for info in db.introspection.get_table_list(cursor)}
    finally:
        db.close()
    assert table in listed
    assert not listed & set(OURS)


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")
def test_psql_dt(emu: Emulator, table: str) -> None:
    result = subprocess.run(
        ["psql", "-h", emu.host, "-p", str(emu.port), "-U", emu.admin_user, "-d", emu.database,
         "-At", "-c", r"\dt"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    listed = {line.split("|")[1] for line in result.stdout.splitlines()}
    assert table in listed and not listed & set(OURS)


def test_catalog_views_still_read_them(connect: Connect, table: str) -> None:
    conn = connect()
    assert conn.execute(
        'SELECT "column", encoding, distkey, sortkey FROM pg_table_def '
        f"WHERE tablename = '{table}' ORDER BY 1"
    ).fetchall() == [("id", "az64".ljust(32), True, 0), ("n", "none".ljust(32), False, 1)]
    conn.execute(f"INSERT INTO {table} VALUES (1, 'a')")
    assert conn.execute(
        f"SELECT diststyle, sortkey1 FROM svv_table_info WHERE \"table\" = '{table}'"
    ).fetchone() == ("KEY(id)", "n")


def test_a_database_of_an_older_version_is_moved_over(emu: Emulator, pg_url: str) -> None:
    # Before, the tables were redshift_emulator.table_meta / column_meta, and a sql_drop
    # trigger deleted from them: moving them must not trip over that trigger.
    from psycopg.conninfo import make_conninfo

    name = f"bookkeeping_old_version_{os.getpid()}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    try:
        with psycopg.connect(make_conninfo(pg_url, dbname=name), autocommit=True) as old:
            old.execute("CREATE SCHEMA redshift_emulator")
            old.execute(
                "CREATE TABLE redshift_emulator.table_meta (relid oid PRIMARY KEY,"
                " diststyle text NOT NULL DEFAULT 'AUTO', distkey smallint,"
                " sortkind text NOT NULL DEFAULT 'AUTO', sortkey smallint[] NOT NULL"
                " DEFAULT '{}', backup boolean NOT NULL DEFAULT true,"
                " encode_auto boolean NOT NULL DEFAULT true)"
            )
            old.execute(
                "CREATE TABLE redshift_emulator.column_meta (relid oid, attnum smallint,"
                " encoding text, case_insensitive boolean NOT NULL DEFAULT false,"
                " declared_type text, PRIMARY KEY (relid, attnum))"
            )
            old.execute("CREATE TABLE kept (id int)")
            old.execute(
                "INSERT INTO redshift_emulator.table_meta (relid, diststyle)"
                " VALUES ('kept'::regclass, 'ALL')"
            )
            old.execute(
                "CREATE FUNCTION redshift_emulator.on_sql_drop() RETURNS event_trigger"
                " LANGUAGE plpgsql AS $$ BEGIN DELETE FROM redshift_emulator.table_meta"
                " WHERE relid = 0; END $$"
            )
            old.execute(
                "CREATE EVENT TRIGGER redshift_emulator_sql_drop ON sql_drop"
                " EXECUTE FUNCTION redshift_emulator.on_sql_drop()"
            )
            old.execute("COMMENT ON SCHEMA redshift_emulator IS 'setup 0ld'")
        base = emu.url.rsplit("/", 1)[0]
        with psycopg.connect(f"{base}/{name}", autocommit=True, connect_timeout=10) as conn:
            assert (
                conn.execute(
                    "SELECT diststyle FROM svv_table_info WHERE \"table\" = 'kept'"
                ).fetchall()
                == []
            )  # empty tables are not listed (DG:r_SVV_TABLE_INFO)
            conn.execute("INSERT INTO kept VALUES (1)")
            assert conn.execute(
                "SELECT diststyle FROM svv_table_info WHERE \"table\" = 'kept'"
            ).fetchall() == [("ALL",)]
            with pytest.raises(psycopg.errors.UndefinedTable):
                conn.execute("SELECT * FROM redshift_emulator.table_meta")
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
