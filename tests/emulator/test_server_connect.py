"""Clients connect through the emulator and see a Redshift server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Callable
from typing import Any

import psycopg
import psycopg2
import pytest
import redshift_connector
from psycopg.conninfo import make_conninfo

from redshift_async_backend.emulator import Emulator
from redshift_async_backend.emulator import protocol as pq

pytestmark = pytest.mark.integration

Connect = Callable[..., psycopg.Connection[Any]]


def raw_startup(emu: Emulator, params: dict[str, str]) -> tuple[socket.socket, list[tuple]]:
    """Send a startup packet by hand; return the socket and the frames up to ReadyForQuery."""
    sock = socket.create_connection((emu.host, emu.port), timeout=10)
    sock.sendall(pq.startup_message(params))
    return sock, read_until(sock, b"Z")


def read_until(sock: socket.socket, last: bytes) -> list[tuple[bytes, bytes]]:
    buf = pq.MessageBuffer()
    frames: list[tuple[bytes, bytes]] = []
    while not frames or frames[-1][0] not in (last, b"E"):
        data = sock.recv(65536)
        assert data, "the emulator closed the connection"
        buf.feed(data)
        frames.extend(buf.frames())
    return frames


def test_psycopg_connects_and_queries(connect: Connect) -> None:
    conn = connect()
    assert conn.execute("SELECT 1 + 1").fetchone() == (2,)
    assert conn.execute("SELECT %s::int * 3", (5,)).fetchone() == (15,)


def test_reports_redshift_server_version(connect: Connect) -> None:
    conn = connect()
    # Redshift: the server is PostgreSQL 8.0.2 to clients (DG:c_redshift-and-postgres-sql).
    assert conn.info.parameter_status("server_version") == "8.0.2"
    assert conn.info.server_version == 80002
    assert conn.info.parameter_status("server_protocol_version") == "0"


def test_client_encoding_is_reported_as_unicode_unless_asked(connect: Connect) -> None:
    # Redshift reports client_encoding as UNICODE (redshift-sql.md §6.4). psycopg before 3.3
    # failed on it (psycopg/psycopg#122); 3.3 maps the alias to UTF-8 and decodes.
    plain = connect()
    assert plain.info.parameter_status("client_encoding") == "UNICODE"
    assert plain.execute("SELECT 'é'").fetchone() == ("é",)
    # What the client asks for is reported back: the backend sends client_encoding=UTF8.
    for kwargs in ({"client_encoding": "UTF8"}, {"options": "-c client_encoding=UTF8"}):
        conn = connect(**kwargs)
        assert conn.info.parameter_status("client_encoding") == "UTF8"
        assert conn.execute("SELECT 'é'").fetchone() == ("é",)


def test_redshift_connector_connects_with_plain_postgres_formats(emu: Emulator) -> None:
    conn = redshift_connector.connect(
        host=emu.host,
        port=emu.port,
        database=emu.database,
        user=emu.admin_user,
        password="unused",
        ssl=False,
    )
    try:
        # It asked for protocol 2 (BINARY) and follows the server's answer, 0.
        assert conn._client_protocol_version == 0
        cursor = conn.cursor()
        cursor.execute("SELECT %s + 1, %s", (41, "text"))
        assert cursor.fetchall() == ([42, "text"],)
        cursor.execute("SELECT %s + 1, %s", (1, "again"))  # its cached prepared statement
        assert cursor.fetchall() == ([2, "again"],)
        conn.rollback()
    finally:
        conn.close()


def test_psycopg2_connects(emu: Emulator) -> None:
    conn = psycopg2.connect(emu.url)
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT %s || 'b'", ("a",))
        assert cursor.fetchone() == ("ab",)
        assert conn.server_version == 80002
    finally:
        conn.close()


def psql_args(emu: Emulator, user: str) -> list[str]:
    return ["psql", "-h", emu.host, "-p", str(emu.port), "-U", user, "-d", emu.database]


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")
def test_psql_smoke(pg_url: str) -> None:
    with Emulator(upstream=pg_url, users={"analyst": "s3cret"}) as emu:
        env = {**os.environ, "PGPASSWORD": "s3cret"}
        result = subprocess.run(
            [*psql_args(emu, "analyst"), "-At", "-c", "SELECT 40 + 2"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "42"


def test_redshift_startup_parameters_are_consumed(emu: Emulator) -> None:
    params = {
        "user": emu.admin_user,
        "database": emu.database,
        "application_name": "rs-test-app",
        "client_protocol_version": "2",
        "driver_version": "Redshift Python Driver 2.2",
        "os_version": "Linux",
        "driver_discovery_version": "1",
        "plugin_name": "redshift_connector.plugin.BrowserAzureOAuth2CredentialsProvider",
        "idp_type": "AzureAD",
        "provider_name": "x",
        "token_type": "ACCESS_TOKEN",
    }
    sock, frames = raw_startup(emu, params)
    with sock:
        kinds = [kind for kind, _ in frames]
        assert b"E" not in kinds
        status = dict(pq.parse_parameter_status(f) for k, f in frames if k == b"S")
        assert status["server_version"] == "8.0.2"
        assert status["application_name"] == "rs-test-app"  # a PostgreSQL setting: passed on
        sock.sendall(pq.query("SHOW application_name"))
        rows = [f for k, f in read_until(sock, b"Z") if k == b"D"]
        assert len(rows) == 1 and rows[0].endswith(b"rs-test-app")


def test_unknown_database_is_reported_by_postgres(emu: Emulator) -> None:
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(emu.url.rsplit("/", 1)[0] + "/no_such_db_here", connect_timeout=10)


def test_ssl_request_is_declined_without_a_context(emu: Emulator) -> None:
    with pytest.raises(psycopg.OperationalError, match="does not support SSL"):
        psycopg.connect(emu.url, sslmode="require", connect_timeout=10)
    # sslmode=prefer falls back to plain text after the 'N'.
    with psycopg.connect(emu.url, sslmode="prefer", connect_timeout=10) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_catalog_setup_runs_in_new_and_recreated_databases(connect: Connect, emu: Emulator) -> None:
    from redshift_async_backend.emulator import catalog

    admin = connect()
    name = "emulator_setup_check"
    admin.execute(f"DROP DATABASE IF EXISTS {name}")
    base = emu.url.rsplit("/", 1)[0]
    try:
        for _ in range(2):  # the second time the database is dropped and created again
            admin.execute(f"CREATE DATABASE {name}")
            with psycopg.connect(f"{base}/{name}", connect_timeout=10) as conn:
                found = conn.execute(
                    "SELECT count(*) FROM pg_namespace WHERE nspname = %s", (catalog.SCHEMA,)
                ).fetchone()
                assert found == (1,)
            admin.execute(f"DROP DATABASE {name}")
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")


def test_catalog_setup_found_by_marker_not_by_memory(
    connect: Connect, emu: Emulator, pg_url: str
) -> None:
    # A database dropped and created behind the emulator's back (directly on PostgreSQL, or
    # by another emulator process), and one whose catalog SQL is an older version's: each
    # is set up again on its next connection.
    from redshift_async_backend.emulator import catalog

    name = "emulator_setup_marker"
    base = emu.url.rsplit("/", 1)[0]
    with psycopg.connect(pg_url, autocommit=True) as direct:
        direct.execute(f"DROP DATABASE IF EXISTS {name}")
        try:
            direct.execute(f"CREATE DATABASE {name}")
            with psycopg.connect(f"{base}/{name}", connect_timeout=10) as conn:
                assert conn.execute("SELECT nvl(NULL, 1)").fetchone() == (1,)
            direct.execute(f"DROP DATABASE {name}")
            direct.execute(f"CREATE DATABASE {name}")
            with psycopg.connect(f"{base}/{name}", autocommit=True, connect_timeout=10) as conn:
                assert conn.execute("SELECT nvl(NULL, 2)").fetchone() == (2,)
                marker = conn.execute(catalog.SETUP_CHECK_SQL).fetchone()
                assert marker == (catalog.setup_marker(),)
            # Only the upstream's superuser may change the emulator's schema.
            with psycopg.connect(make_conninfo(pg_url, dbname=name), autocommit=True) as up:
                up.execute(f"COMMENT ON SCHEMA {catalog.SCHEMA} IS 'setup 0ld'")
            with psycopg.connect(f"{base}/{name}", autocommit=True, connect_timeout=10) as conn:
                assert conn.execute(catalog.SETUP_CHECK_SQL).fetchone() == marker
        finally:
            direct.execute(f"DROP DATABASE IF EXISTS {name}")


def test_cancel_request_reaches_postgres(connect: Connect) -> None:
    conn = connect()
    import threading

    timer = threading.Timer(0.5, conn.cancel_safe)
    timer.start()
    try:
        with pytest.raises(psycopg.errors.QueryCanceled):
            # Redshift has no PG_SLEEP (DG:c_unsupported-postgresql-functions): a long query
            # on the leader node instead.
            conn.execute("SELECT count(*) FROM generate_series(1, 2000000000)")
    finally:
        timer.cancel()
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_large_values_cross_in_both_directions(connect: Connect) -> None:
    conn = connect()
    big = "r" * 3_000_000
    assert conn.execute("SELECT length(%s::text)", (big,)).fetchone() == (3_000_000,)
    (value,) = conn.execute("SELECT repeat('s', 3000000)").fetchone()  # type: ignore[misc]
    assert value == "s" * 3_000_000
