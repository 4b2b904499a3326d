"""A PgBouncer (transaction pooling) in front of an emulator, for the multi-process tests
(``tests/backend/test_pool_pgbouncer.py``; the fixture needs tests/backend's fixtures).

``pgbouncer`` (function scope) writes its own config in a temporary directory, starts
``/usr/sbin/pgbouncer`` (or whichever ``pgbouncer`` is on PATH) on a free loopback port in
front of a dedicated emulator (on the session's PostgreSQL), waits until it accepts
connections, and stops it afterwards. PgBouncer refuses to run as root, so as root it is
started with ``-u`` as the ``postgres`` user (or ``nobody``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from redshift_async_backend.emulator import Emulator

PGBOUNCER = shutil.which("pgbouncer") or (
    "/usr/sbin/pgbouncer" if os.access("/usr/sbin/pgbouncer", os.X_OK) else None
)
#: Server connections PgBouncer may open per (database, user) pair.
SERVER_POOL_SIZE = 2
# Startup parameters PgBouncer does not know and must drop instead of refusing the client:
# libpq's (extra_float_digits, options) and redshift_connector's.
IGNORED_STARTUP_PARAMETERS = (
    "extra_float_digits",
    "options",
    "client_protocol_version",
    "driver_version",
    "os_version",
    "driver_discovery_version",
    "plugin_name",
)


@dataclass
class PgBouncer:
    host: str
    port: int
    emulator: Emulator
    directory: Path
    pool_size: int

    def admin(self, command: str) -> list[dict[str, Any]]:
        """Run a console command (SHOW POOLS, SHOW STATS...) on the admin database."""
        # The admin console speaks only the simple query protocol: a client-side cursor.
        with psycopg.connect(
            host=self.host,
            port=self.port,
            dbname="pgbouncer",
            user="postgres",
            autocommit=True,
            cursor_factory=psycopg.ClientCursor,
        ) as conn:
            cur = conn.execute(command)
            names = [d.name for d in cur.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def log(self) -> str:
        path = self.directory / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_as() -> list[str]:
    if os.getuid() != 0:
        return []
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return ["-u", user]
    pytest.fail("running as root and neither a 'postgres' nor a 'nobody' user exists")


@pytest.fixture
def pgbouncer(
    request: pytest.FixtureRequest,
    emulator: Any,
    django_db_setup: str,
) -> Iterator[PgBouncer]:
    """PgBouncer in transaction pooling mode with SERVER_POOL_SIZE server connections;
    parametrize it indirectly with ``(pool_mode, pool_size)`` for another set-up."""
    if PGBOUNCER is None:
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    pool_mode, pool_size = getattr(request, "param", ("transaction", SERVER_POOL_SIZE))
    with Emulator(upstream=emulator.upstream_url) as emu, tempfile.TemporaryDirectory() as tmp:
        yield from _run_pgbouncer(emu, Path(tmp), pool_mode, pool_size)


def _run_pgbouncer(
    emu: Emulator, directory: Path, pool_mode: str, pool_size: int
) -> Iterator[PgBouncer]:
    directory.chmod(0o777)  # PgBouncer may run as another user: it writes its log here
    port = _free_port()
    (directory / "userlist.txt").write_text('"postgres" ""\n')
    config = directory / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = host={emu.host} port={emu.port}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {directory / 'userlist.txt'}\n"
        "admin_users = postgres\n"
        f"pool_mode = {pool_mode}\n"
        f"default_pool_size = {pool_size}\n"
        "max_client_conn = 200\n"
        f"ignore_startup_parameters = {','.join(IGNORED_STARTUP_PARAMETERS)}\n"
        f"logfile = {directory / 'pgbouncer.log'}\n"
        f"pidfile = {directory / 'pgbouncer.pid'}\n"
    )
    for path in directory.iterdir():
        path.chmod(0o666)
    proc = subprocess.Popen(
        [PGBOUNCER, *_run_as(), str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    bouncer = PgBouncer("127.0.0.1", port, emu, directory, pool_size)
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                pytest.fail(f"pgbouncer exited with {proc.returncode}:\n{out}{bouncer.log()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"pgbouncer did not listen on {port}:\n{bouncer.log()}")
                time.sleep(0.05)
        yield bouncer
    finally:
        proc.send_signal(signal.SIGINT)  # immediate shutdown
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
