"""Start and stop a PgBouncer process with a config of its own (no pytest here: the
fixture in :mod:`.harness` and ``benchmarks/emulator_bench.py`` both use it).

PgBouncer refuses to run as root, so as root it is started with ``-u`` as the
``postgres`` user (or ``nobody``).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from redshift_async_backend.emulator.roles import DEFAULT_ADMIN

PGBOUNCER = shutil.which("pgbouncer") or (
    "/usr/sbin/pgbouncer" if os.access("/usr/sbin/pgbouncer", os.X_OK) else None
)
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


class PgBouncerError(RuntimeError):
    pass


def free_port() -> int:
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
    raise PgBouncerError("running as root and neither a 'postgres' nor a 'nobody' user exists")


def read_log(directory: Path) -> str:
    path = directory / "pgbouncer.log"
    return path.read_text(errors="replace") if path.exists() else ""


@contextlib.contextmanager
def run_pgbouncer(
    target_host: str,
    target_port: int,
    directory: Path,
    *,
    pool_mode: str = "transaction",
    pool_size: int = 2,
) -> Iterator[tuple[int, int]]:
    """PgBouncer on a free loopback port in front of ``target_host:target_port`` (trust
    auth, users postgres and the emulator's admin), writing its config and log in
    ``directory``. Yields ``(port, pid)`` once it accepts connections; PgBouncerError if it
    does not start."""
    if PGBOUNCER is None:
        raise PgBouncerError("pgbouncer is not installed (apt-get install pgbouncer)")
    directory.chmod(0o777)  # PgBouncer may run as another user: it writes its log here
    port = free_port()
    # PostgreSQL's superuser, and the emulator's admin user (a client never logs in upstream
    # as a superuser through the emulator).
    (directory / "userlist.txt").write_text(f'"postgres" ""\n"{DEFAULT_ADMIN}" ""\n')
    config = directory / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = host={target_host} port={target_port}\n"
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
    # Its console output goes to a file: PgBouncer logs every login there too, and a pipe
    # nobody reads would fill up and stop it.
    console = directory / "console.log"
    with console.open("wb") as out:
        proc = subprocess.Popen([PGBOUNCER, *_run_as(), str(config)], stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                out = console.read_text(errors="replace")
                raise PgBouncerError(
                    f"pgbouncer exited with {proc.returncode}:\n{out}{read_log(directory)}"
                )
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise PgBouncerError(
                        f"pgbouncer did not listen on {port}:\n{read_log(directory)}"
                    ) from None
                time.sleep(0.05)
        yield port, proc.pid
    finally:
        proc.send_signal(signal.SIGINT)  # immediate shutdown
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
