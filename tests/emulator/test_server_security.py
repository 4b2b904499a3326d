"""Nothing a client sends reaches the emulator's machine, whoever it logs in as.

Sessions are never PostgreSQL superusers (docs/emulator.md, "Security"), so PostgreSQL
refuses server file access, COPY ... PROGRAM / file, server-side large objects, untrusted
extensions and languages, for an ordinary user and for the admin (a Redshift superuser)
alike; the emulator words the refusal as Redshift, which has none of them
(DG:c_unsupported-postgresql-functions, DG:r_COPY).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import redshift_connector
from psycopg.conninfo import make_conninfo

from redshift_async_backend.emulator import Emulator

from .clients import DRIVERS, login

pytestmark = pytest.mark.integration

PASSWORD = "Ezpass12"

REACHING_THE_MACHINE = [
    ("SELECT pg_read_file('/etc/hostname')", "42883", "function pg_read_file does not exist"),
    ("COPY (SELECT 1) TO PROGRAM 'true'", "42601", '"TO"'),
    ("COPY pg_catalog.pg_class FROM '/etc/hostname'", "0A000", "LOAD source is not supported"),
    ("COPY pg_catalog.pg_class FROM PROGRAM 'true'", "0A000", "LOAD source is not supported"),
    ("SELECT lo_import('/etc/hostname')", "42883", "function lo_import does not exist"),
    ("CREATE EXTENSION dblink", "0A000", "CREATE EXTENSION"),
    ("CREATE LANGUAGE plpython3u", None, None),
    ("SELECT pg_ls_dir('.')", "42883", "pg_ls_dir"),
    ("COPY pg_catalog.pg_class TO '/tmp/emulator-security-test'", "42601", '"TO"'),
    ("CREATE FUNCTION emulator_c() RETURNS int LANGUAGE c AS 'libc', 'getpid'", None, None),
    ("ALTER SYSTEM SET archive_command = 'true'", None, None),
    ("SET session_authorization = 'postgres'", None, None),
    ("SET ROLE postgres", None, None),
    ("CREATE ROLE emulator_escalation SUPERUSER", None, None),
    ("CREATE TABLESPACE emulator_ts LOCATION '/tmp'", None, None),
]


@pytest.fixture(scope="module")
def ordinary(emulator: Emulator, pg_url: str) -> Iterator[str]:
    name = f"t_plain_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(emulator.url, autocommit=True) as admin:
        admin.execute(f"CREATE USER {name} PASSWORD '{PASSWORD}'")
    yield name
    with psycopg.connect(make_conninfo(pg_url, dbname=emulator.database), autocommit=True) as up:
        up.execute(f'DROP OWNED BY "{name}"')
        up.execute(f'DROP ROLE "{name}"')


def error_of(conn: Any, sql: str) -> dict[str, str]:
    """The error fields a statement gets (the test fails if it runs)."""
    cur = conn.cursor()
    try:
        cur.execute(sql)
    except psycopg.Error as exc:
        return {"C": exc.sqlstate or "", "M": exc.diag.message_primary or ""}
    except redshift_connector.Error as exc:
        fields = exc.args[0]
        return {"C": fields.get("C", ""), "M": fields.get("M", "")}
    pytest.fail(f"{sql!r} ran")


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("who", ["ordinary user", "admin"])
def test_nothing_reaches_the_machine(
    emulator: Emulator, ordinary: str, who: str, driver: str
) -> None:
    user, password = (ordinary, PASSWORD) if who == "ordinary user" else (emulator.admin_user, None)
    conn = login(emulator, user, password, driver)
    try:
        for sql, sqlstate, message in REACHING_THE_MACHINE:
            fields = error_of(conn, sql)
            if sqlstate is not None:
                assert (fields["C"], message in fields["M"]) == (sqlstate, True), (sql, fields)
            else:  # PostgreSQL's own refusal, relayed
                assert fields["C"] in ("42501", "0A000", "58P01", "42704"), (sql, fields)
            # The session is still usable after each refusal.
            cur = conn.cursor()
            cur.execute("SELECT 1")
            assert cur.fetchone()[0] == 1
    finally:
        conn.close()


def test_the_emulators_own_functions_and_tables_are_not_a_way_in(
    emulator: Emulator, ordinary: str
) -> None:
    with login(emulator, ordinary, PASSWORD, "psycopg") as conn:
        conn.execute("CREATE TABLE security_victim (id int PRIMARY KEY)")
    with login(emulator, emulator.admin_user, None, "psycopg") as admin:
        # Helpers that only the event triggers call: no client may.
        for sql in (
            "SELECT redshift_emulator.apply_meta('security_victim'::regclass, '{}', true)",
            "SELECT redshift_emulator.set_keys_immediate('security_victim'::regclass, true)",
            "SELECT redshift_emulator.disable_fk_triggers('security_victim'::regclass)",
        ):
            assert error_of(admin, sql)["C"] == "42501", sql
        # A key reopened for a foreign key (which anyone who may reference the table may
        # ask for) is informational again once the transaction ends, however it ends.
        admin.execute("SELECT redshift_emulator.keys_for_reference('security_victim'::regclass)")
        admin.execute("INSERT INTO security_victim VALUES (1), (1)")
        # The bookkeeping tables: read by anyone (as PostgreSQL's catalogs), changed by
        # no client, not even a superuser who may write every table.
        meta = "pg_catalog.redshift_emulator_table_meta"
        before = admin.execute(f"SELECT count(*) FROM {meta}").fetchone()
        assert before is not None and before[0] > 0
        assert admin.execute(f"DELETE FROM {meta}").rowcount == 0
        assert admin.execute(f"UPDATE {meta} SET diststyle = 'ALL'").rowcount == 0
        assert error_of(admin, f"INSERT INTO {meta} (relid) VALUES (1)")["C"] == "42501"
        assert admin.execute(f"SELECT count(*) FROM {meta}").fetchone() == before
    with login(emulator, ordinary, PASSWORD, "psycopg") as conn:
        # The user procedures check who calls them.
        fields = error_of(conn, "CALL redshift_emulator.manage_user('create_user', 'x', '{}')")
        assert fields["C"] == "42501"
        # ALTER TABLE's metadata procedure is for the table's owner.
        with login(emulator, emulator.admin_user, None, "psycopg") as admin:
            admin.execute("CREATE TABLE security_admins (id int)")
            try:
                sql = (
                    "CALL redshift_emulator.alter_meta('security_admins'::regclass,"
                    ' \'{"diststyle": "ALL"}\')'
                )
                assert error_of(conn, sql)["C"] == "42501"
            finally:
                admin.execute("DROP TABLE security_admins")
                admin.execute("DROP TABLE security_victim")
