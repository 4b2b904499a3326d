"""The emulator as a server: :class:`EmulatorServer` on an event loop, :class:`Emulator`
(the Python API) running one in a background thread.

A client connection (:mod:`.session`) logs in (:mod:`.login`: its password is checked,
:mod:`.roles` says which upstream role its session runs as) and is then relayed
(:mod:`.relay`), each statement rewritten by :mod:`.pipeline`. The emulator's own
superuser connection is :mod:`.admin`; fault injection and counters are :mod:`.faults`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import os
import re
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

from . import protocol as pq
from .admin import Admin
from .faults import Counters, Faults, serialization_error, snapshot_conflict_error, table_pattern
from .pipeline import Pipeline
from .roles import DEFAULT_ADMIN, LoginPolicy, PasswordCheck
from .session import ClientConnection
from .upstream import Upstream

logger = logging.getLogger("redshift_async_backend.emulator")

__all__ = ["Emulator", "EmulatorServer", "PortInUse", "Upstream", "client_url"]

# PostgreSQL's authentication_timeout default.
AUTHENTICATION_TIMEOUT = 60.0


class PortInUse(OSError):
    """The port to listen on is taken (the message names it)."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine's loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def check_exposure(host: str, policy: LoginPolicy, insecure_trust: bool) -> None:
    """Refuse to serve other machines without passwords, unless told to insist."""
    if policy.trust and not insecure_trust and not is_loopback(host):
        raise ValueError(
            f"refusing to listen on {host or 'every address'} without passwords: anyone who "
            f'can reach the port would log in as the admin user "{policy.admin}", a Redshift '
            "superuser, with no password. Set the admin password (admin_password, or "
            "REDSHIFT_EMULATOR_ADMIN_PASSWORD / --admin-password-file), or insist with "
            "insecure_trust=True (--insecure-trust)"
        )


class EmulatorServer:
    """The asyncio server; lives on one event loop. See :class:`Emulator` for the API."""

    def __init__(
        self,
        upstream: Upstream,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0,
        policy: LoginPolicy | None = None,
        ssl_context: ssl.SSLContext | None = None,
        listen: bool = True,
        authentication_timeout: float = AUTHENTICATION_TIMEOUT,
    ) -> None:
        self.upstream = upstream
        self.host = host
        self.port = port
        self.latency = latency_ms / 1000.0
        self.policy = policy or LoginPolicy()
        self.ssl_context = ssl_context
        self.listen = listen
        self.authentication_timeout = authentication_timeout
        self.admin = Admin(upstream, self.policy.admin)
        self.pipeline = Pipeline()
        self.faults = Faults()
        self.counters = Counters()
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[ClientConnection] = set()
        self._resumed = asyncio.Event()
        self._resumed.set()
        self.refuse_when_paused = False

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await self.admin.start(list(self.policy.passwords))
        if not self.listen:
            return
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                lambda: ClientConnection(self).client,
                self.host,
                self.port,
                reuse_address=True,
                backlog=512,
            )
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(
                    errno.EADDRINUSE, f"port {self.port} on {self.host} is already in use"
                ) from None
            raise
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]

    async def adopt(self, sock: socket.socket) -> None:
        """Serve a client connection accepted elsewhere (a worker's, see workers.py)."""
        try:
            sock.setblocking(False)
            loop = asyncio.get_running_loop()
            await loop.connect_accepted_socket(lambda: ClientConnection(self).client, sock)
        except Exception:
            logger.exception("emulator: a handed-over connection could not be served")
            sock.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self.kill_all()
        self._resumed.set()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        # Let connection tasks see their closed sockets and finish.
        for _ in range(20):
            if not self._connections:
                break
            await asyncio.sleep(0.01)
        await self.admin.close()
        self.pipeline.close()

    # ------------------------------------------------------------------ control

    def pause(self, refuse: bool = False) -> None:
        self.refuse_when_paused = refuse
        self._resumed.clear()

    def resume(self) -> None:
        self._resumed.set()

    def kill_all(self) -> int:
        conns = list(self._connections)
        for conn in conns:
            conn.abort()
        return len(conns)

    # ------------------------------------------------------------------ connections

    async def serve(self, conn: ClientConnection) -> None:
        self._connections.add(conn)
        try:
            if not self._resumed.is_set():
                if self.refuse_when_paused:
                    await conn.refuse_paused()
                    return
                await self._resumed.wait()
            await conn.run()
        except (ConnectionError, pq.ProtocolError, ssl.SSLError, asyncio.CancelledError):
            pass
        except Exception:
            logger.exception("emulator connection failed")
        finally:
            self._connections.discard(conn)
            conn.abort()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop when it is installed (it halves the relay's CPU cost), else asyncio's.

    ``REDSHIFT_EMULATOR_LOOP=asyncio`` forces the standard loop.
    """
    if os.environ.get("REDSHIFT_EMULATOR_LOOP", "").lower() != "asyncio":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def client_url(host: str, port: int, upstream: Upstream, user: str = DEFAULT_ADMIN) -> str:
    """The URL clients use for an emulator on ``host:port``: the admin user and the
    upstream's database, never a password."""
    host = f"[{host}]" if ":" in host else host
    return f"postgresql://{user}@{host}:{port}/{upstream.database}"


def login_policy(
    admin_user: str,
    admin_password: str | None,
    users: dict[str, str] | None,
    password_check: PasswordCheck | None,
) -> LoginPolicy:
    passwords = dict(users or {})
    if admin_password is not None:
        passwords[admin_user] = admin_password
    trust = admin_password is None and users is None and password_check is None
    return LoginPolicy(admin_user, passwords, trust, password_check)


class Emulator:
    """A Redshift emulator running its asyncio server in a background thread.

    >>> with Emulator(upstream="postgresql://postgres@127.0.0.1:5432/postgres") as emu:
    ...     psycopg.connect(emu.url)

    Without ``upstream`` it starts an :class:`~.upstream.EmbeddedPostgres`, in a temporary
    directory removed on exit, or in ``data_dir``, which keeps its data across restarts.
    ``port=0`` picks a free port.

    Logins (docs/emulator.md, "Security"): each Redshift user is a role upstream and its
    session runs as that role, never as a PostgreSQL superuser. The admin user
    (``admin_user``, a Redshift superuser) logs in with ``admin_password``; without one, and
    without ``users`` and ``password_check``, users without a password log in without one
    (which is refused off loopback unless ``insecure_trust``). ``users``: user -> password
    for ordinary users, created upstream if missing. ``password_check(user, password,
    database) -> bool``: the stand-in for IAM credentials, asked in clear text (over TLS
    when ``ssl_context`` is set); a user it lets in is created on first login.
    ``listen=False`` opens no port: connections accepted elsewhere are handed over with
    :meth:`adopt` (the worker processes of the command line's ``--workers``).

    Counters (:meth:`stats`): a *statement* is a simple Query message, a FunctionCall or
    an extended-protocol Execute; a *round trip* is a client message after which the
    client waits for ReadyForQuery: each simple Query, each Sync and each FunctionCall.
    Statements the emulator runs on its own (preludes, catalog setup) are not counted.
    """

    def __init__(
        self,
        upstream: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0,
        users: dict[str, str] | None = None,
        password_check: PasswordCheck | None = None,
        ssl_context: ssl.SSLContext | None = None,
        listen: bool = True,
        *,
        admin_user: str = DEFAULT_ADMIN,
        admin_password: str | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        authentication_timeout: float = AUTHENTICATION_TIMEOUT,
        insecure_trust: bool = False,
    ) -> None:
        if latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {latency_ms!r}")
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {port!r}")
        if password_check is not None and not callable(password_check):
            raise TypeError("password_check must be a callable (user, password, database)")
        if not authentication_timeout > 0:
            raise ValueError(
                f"authentication_timeout must be > 0 seconds, got {authentication_timeout!r}"
            )
        if not admin_user or admin_user != admin_user.strip():
            raise ValueError(f"admin_user must be a user name, got {admin_user!r}")
        if upstream is not None and data_dir is not None:
            raise ValueError("data_dir is for the embedded PostgreSQL: give it or upstream")
        # Parsed now: a bad URL is a ValueError here, not when the emulator starts.
        self._upstream = Upstream.from_url(upstream) if upstream is not None else None
        self._policy = login_policy(admin_user, admin_password, users, password_check)
        check_exposure(host, self._policy, insecure_trust)
        self._host = host
        self._port = port
        self._latency_ms = latency_ms
        self._ssl_context = ssl_context
        self._listen = listen
        self._data_dir = data_dir
        self._authentication_timeout = authentication_timeout
        self._embedded: Any = None
        self._server: EmulatorServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        state = f"{self._host}:{self.port}" if self._server else "stopped"
        return f"<Emulator {state}>"

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout: float = 60.0) -> Emulator:
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        upstream = self._upstream
        try:
            if upstream is None:
                from .upstream import EmbeddedPostgres

                self._embedded = EmbeddedPostgres(data_dir=self._data_dir, tcp=False).start()
                upstream = Upstream.from_url(self._embedded.socket_url)
            server = EmulatorServer(
                upstream,
                host=self._host,
                port=self._port,
                latency_ms=self._latency_ms,
                policy=self._policy,
                ssl_context=self._ssl_context,
                listen=self._listen,
                authentication_timeout=self._authentication_timeout,
            )
            loop = new_event_loop()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.run_forever()

            thread = threading.Thread(target=run, name="redshift-emulator", daemon=True)
            thread.start()
            self._loop, self._thread = loop, thread
            asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout)
            self._server = server
        except BaseException:
            self._shutdown_loop()
            self._stop_embedded()
            raise
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None and self._loop is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(server.close(), self._loop).result(15)
        self._shutdown_loop()
        self._stop_embedded()

    def _shutdown_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(15)
        if not loop.is_running():
            loop.close()

    def _stop_embedded(self) -> None:
        embedded, self._embedded = self._embedded, None
        if embedded is not None:
            embedded.stop()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ addresses

    @property
    def running(self) -> bool:
        return self._server is not None

    def _running_server(self) -> EmulatorServer:
        if self._server is None:
            raise RuntimeError("the emulator is not running (use start() or a with block)")
        return self._server

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._running_server().port

    @property
    def upstream_url(self) -> str:
        """The upstream's own URL: its superuser, for tests that look behind the emulator."""
        return self._running_server().upstream.url

    @property
    def embedded_directory(self) -> str | None:
        """Where the embedded PostgreSQL keeps its data (None with an explicit upstream)."""
        if self._embedded is None:
            return None
        if self._embedded.data_dir is not None:
            return str(self._embedded.data_dir)
        return str(self._embedded._dir)

    @property
    def database(self) -> str:
        return self._running_server().upstream.database

    @property
    def admin_user(self) -> str:
        return self._policy.admin

    @property
    def url(self) -> str:
        """A libpq URL for clients, as the admin user (no password in it)."""
        server = self._running_server()
        return client_url(self._host, server.port, server.upstream, self._policy.admin)

    def adopt(self, sock: socket.socket) -> None:
        """Serve a client connection accepted elsewhere (see ``listen=False``); returns
        at once."""
        server = self._running_server()
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(server.adopt(sock), self._loop)

    # ------------------------------------------------------------------ faults

    def _call(self, func: Callable[[], Any]) -> Any:
        """Run ``func`` on the emulator's loop and wait for its result."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the emulator is not running")

        async def call() -> Any:
            return func()

        return asyncio.run_coroutine_threadsafe(call(), loop).result(15)

    @property
    def latency_ms(self) -> float:
        return self._latency_ms

    @latency_ms.setter
    def latency_ms(self, value: float) -> None:
        if value < 0:
            raise ValueError(f"latency_ms must be >= 0, got {value!r}")
        self._latency_ms = value
        if self._server is not None:
            self._server.latency = value / 1000.0

    def pause(self, refuse: bool = False) -> None:
        """Stop accepting new connections until :meth:`resume`.

        By default new connections are *held*: the TCP connection is accepted but the
        startup is not answered until resume (clients see a connect timeout, as during a
        cluster pause or failover). With ``refuse=True`` they get FATAL 57P03 at once.
        Open connections are not affected.
        """
        server = self._running_server()
        self._call(lambda: server.pause(refuse))

    def resume(self) -> None:
        server = self._running_server()
        self._call(server.resume)

    def kill_all(self) -> int:
        """Close every client connection (and its upstream session); returns how many."""
        server = self._running_server()
        return int(self._call(server.kill_all))

    def fail_next(self, table: str, n: int = 1, kind: str = "serialization") -> None:
        """Answer the next ``n`` statements that mention ``table`` with a Redshift error.

        ``kind="serialization"``: ERROR 1023, SQLSTATE XX000, "Serializable isolation
        violation on table - <id>, ..." (DG:c_serial_isolation). ``kind="snapshot"``:
        "could not complete because of conflict with concurrent transaction". The
        statement does not run; an open transaction is left aborted, as on Redshift.
        """
        if kind == "serialization":
            fields = serialization_error(table)
        elif kind == "snapshot":
            fields = snapshot_conflict_error(table)
        else:
            raise ValueError(f"kind must be 'serialization' or 'snapshot', got {kind!r}")
        self._running_server().faults.add(table_pattern(table), n, fields)

    def fail_next_matching(
        self,
        pattern: str | re.Pattern[str],
        n: int = 1,
        message: str = "injected failure",
        sqlstate: str = "XX000",
    ) -> None:
        """Answer the next ``n`` statements matching ``pattern`` with an error.

        A str matches as a case-insensitive substring; a compiled pattern with ``search``.
        """
        if isinstance(pattern, str):
            compiled = re.compile(re.escape(pattern), re.IGNORECASE)
        elif isinstance(pattern, re.Pattern):
            compiled = pattern
        else:
            raise TypeError("pattern must be a str or a compiled regular expression")
        if len(sqlstate) != 5:
            raise ValueError(f"sqlstate must have 5 characters, got {sqlstate!r}")
        self._running_server().faults.add(compiled, n, pq.error_fields(message, sqlstate))

    def clear_faults(self) -> None:
        self._running_server().faults.clear()

    # ------------------------------------------------------------------ counters

    def stats(self) -> dict[str, Any]:
        """``{"statements", "round_trips", "open_connections", "connections": {id: {...}}}``.

        Totals include connections already closed since the last :meth:`reset_stats`.
        """
        return self._running_server().counters.snapshot()

    def reset_stats(self) -> None:
        self._running_server().counters.reset()
