"""The emulator's own tables stay out of a user's search path and listings; the catalog
views that read them keep working (issue #17, item 8)."""

from __future__ import annotations

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
