"""The emulator's network shell: an asyncio proxy between Redshift clients and PostgreSQL.

Each client connection gets its own upstream PostgreSQL session. Two tasks move bytes:

* the *client loop* reads client messages, rewrites SQL through ``rules.rewrite``, refuses
  what Redshift refuses, injects faults and preludes, counts statements and round trips,
  and writes to upstream;
* the *upstream loop* relays responses, dropping the ones that answer injected preludes,
  swapping command tags and error texts.

The two agree through a queue of :class:`_Unit` objects: one per client message that
PostgreSQL answers, appended in the order they are written upstream, so the upstream loop
always knows which request a response belongs to.

A refused statement (or an injected fault) is replaced upstream by a statement that fails
to parse, and the resulting error is replaced by the Redshift error. So PostgreSQL itself
does what it does on any error: discards extended-protocol messages until Sync, aborts an
explicit transaction, rolls back an implicit one, and reports the right transaction status
in ReadyForQuery.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hmac
import itertools
import logging
import os
import re
import socket
import ssl
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from . import catalog, rules
from . import protocol as pq

logger = logging.getLogger("redshift_async_backend.emulator")

PasswordCheck = Callable[[str, str, str], bool]

# Redshift reports itself as PostgreSQL 8.0.2 (DG:c_redshift-and-postgres-sql).
SERVER_VERSION = "8.0.2"
# redshift_connector asks for protocol 2 (BINARY); 1 and 2 add Redshift-only fields to
# RowDescription. Answering 0 (BASE_SERVER) keeps it on PostgreSQL's plain formats
# (RC:core.py handle_PARAMETER_STATUS, handle_ROW_DESCRIPTION).
SERVER_PROTOCOL_VERSION = "0"
# Startup parameters that are not GUCs but that PostgreSQL takes.
_STARTUP_KEYWORDS = frozenset({"user", "database", "options"})
# A statement that fails in PostgreSQL's raw parser: it stands in for a refused one.
_FAIL_SQL = "REDSHIFT_EMULATOR_REFUSED"
_PRELUDE_STATEMENT = "_redshift_emulator_prelude"
_SETUP_LOCK_KEY = 0x52534545  # pg_advisory_lock key while installing catalog SQL
_TXN_WORDS = {
    "begin": True,
    "start": True,
    "commit": False,
    "end": False,
    "rollback": False,
    "abort": False,
}


class _Unit:
    """One request PostgreSQL will answer, in the order it was sent upstream.

    kind: 'Q' (simple Query or FunctionCall, answered up to ReadyForQuery), 'S' (Sync),
    'P' Parse, 'B' Bind, 'E' Execute, 'D' Describe, 'C' Close.
    """

    __slots__ = ("error", "future", "got_error", "kind", "swallow", "tag")

    def __init__(
        self,
        kind: str,
        *,
        swallow: bool = False,
        tag: str | None = None,
        error: dict[str, str] | None = None,
        future: asyncio.Future[tuple[dict[str, str] | None, str]] | None = None,
    ) -> None:
        self.kind = kind
        self.swallow = swallow
        self.tag = tag
        self.error = error
        self.future = future
        self.got_error: dict[str, str] | None = None


_PLAIN = {kind: _Unit(kind) for kind in "QSPBEDC"}


@dataclass
class _Fault:
    pattern: re.Pattern[str]
    remaining: int
    fields: dict[str, str]


@dataclass
class ConnectionStats:
    user: str
    database: str
    statements: int = 0
    round_trips: int = 0


@dataclass
class Upstream:
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

    async def open(self, protocol: asyncio.Protocol) -> None:
        loop = asyncio.get_running_loop()
        if self.unix_path is not None:
            await loop.create_unix_connection(lambda: protocol, self.unix_path)
        else:
            await loop.create_connection(lambda: protocol, self.host, self.port)

    def __repr__(self) -> str:  # the URL may hold a password: never shown
        return f"<Upstream {self.user}@{self.host}:{self.port}/{self.database}>"

    def conninfo(self, database: str) -> str:
        from psycopg.conninfo import make_conninfo

        return make_conninfo(self.url, dbname=database)


def serialization_error(table: str) -> dict[str, str]:
    # Redshift: DG:c_serial_isolation; the client sees M='1023', SQLSTATE XX000
    # (redshift-sql.md §4.2).
    oid = 100_000 + zlib.crc32(table.encode()) % 900_000
    detail = (
        f"Serializable isolation violation on table - {oid}, "
        "transactions forming the cycle are: 1310, 1312 (pid:1073)"
    )
    return pq.error_fields("1023", "XX000", detail=detail)


def snapshot_conflict_error(table: str) -> dict[str, str]:
    # Redshift under SNAPSHOT isolation (aws/amazon-redshift-jdbc-driver#147).
    return pq.error_fields(
        "could not complete because of conflict with concurrent transaction", "XX000"
    )


def _table_pattern(table: str) -> re.Pattern[str]:
    name = re.escape(table.strip('"'))
    return re.compile(rf'(?<![\w$])"?{name}"?(?![\w$])', re.IGNORECASE)


class EmulatorServer:
    """The asyncio server; lives on one event loop. See :class:`Emulator` for the API."""

    def __init__(
        self,
        upstream: Upstream,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0,
        users: dict[str, str] | None = None,
        password_check: PasswordCheck | None = None,
        ssl_context: ssl.SSLContext | None = None,
        listen: bool = True,
    ) -> None:
        self.upstream = upstream
        self.host = host
        self.port = port
        self.latency = latency_ms / 1000.0
        self._users = dict(users) if users is not None else None
        self._password_check = password_check
        self.ssl_context = ssl_context
        self.listen = listen
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[ClientConnection] = set()
        self._resumed = asyncio.Event()
        self._resumed.set()
        self.refuse_when_paused = False
        self.faults: list[_Fault] = []
        self.faults_lock = threading.Lock()
        self._ids = itertools.count(1)
        self.stats_lock = threading.Lock()
        self.conn_stats: dict[int, ConnectionStats] = {}
        self.closed_statements = 0
        self.closed_round_trips = 0
        self._setup_locks: dict[str, asyncio.Lock] = {}
        self._known_settings: frozenset[str] | None = None
        # The upstream's version and rights, read at start: some rules depend on them.
        self.server_version_num = 180000
        self.superuser = True

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._known_settings = await self._fetch_settings()
        if not self.listen:
            return
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: ClientConnection(self).client,
            self.host,
            self.port,
            reuse_address=True,
            backlog=512,
        )
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

    # ------------------------------------------------------------------ faults/control

    @property
    def paused(self) -> bool:
        return not self._resumed.is_set()

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

    def match_fault(self, sql: str) -> dict[str, str] | None:
        with self.faults_lock:
            for fault in self.faults:
                if fault.pattern.search(sql):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self.faults.remove(fault)
                    return fault.fields
        return None

    # ------------------------------------------------------------------ auth

    @property
    def needs_password(self) -> bool:
        return self._users is not None or self._password_check is not None

    async def check_password(self, user: str, password: str, database: str) -> bool:
        if self._users is not None:
            expected = self._users.get(user)
            if expected is None or not hmac.compare_digest(
                expected.encode("utf-8"), password.encode("utf-8", "surrogateescape")
            ):
                return False
        if self._password_check is not None:
            check = self._password_check
            return bool(await asyncio.to_thread(check, user, password, database))
        return True

    # ------------------------------------------------------------------ upstream setup

    async def _fetch_settings(self) -> frozenset[str]:
        import psycopg

        aconn = await psycopg.AsyncConnection.connect(
            self.upstream.conninfo(self.upstream.database), autocommit=True
        )
        async with aconn:
            self.server_version_num = aconn.info.server_version
            cur = await aconn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            row = await cur.fetchone()
            self.superuser = bool(row and row[0])
            cur = await aconn.execute("SELECT name FROM pg_settings")
            return frozenset(row[0].lower() for row in await cur.fetchall())

    def allowed_parameter(self, name: str) -> bool:
        lowered = name.lower()
        if lowered in _STARTUP_KEYWORDS:
            return True
        if "." in lowered:  # extension settings, which PostgreSQL accepts as placeholders
            return not lowered.startswith("_pq_.")
        return self._known_settings is not None and lowered in self._known_settings

    async def ensure_setup(self, database: str) -> None:
        """Run catalog.setup_statements() on a database that lacks this version's SQL."""
        lock = self._setup_locks.setdefault(database, asyncio.Lock())
        async with lock:
            import psycopg

            aconn = await psycopg.AsyncConnection.connect(
                self.upstream.conninfo(database), autocommit=True
            )
            async with aconn:
                # Other emulators (worker processes, pytest-xdist) may share the upstream:
                # one installs, the others find the marker once they hold the lock.
                # CREATE OR REPLACE VIEW waits for sessions that use the views: a client
                # idle in a transaction must not hold every new connection up for good.
                await aconn.execute("SET lock_timeout = '30s'")
                await aconn.execute("SELECT pg_advisory_lock(%s)", (_SETUP_LOCK_KEY,))
                try:
                    cur = await aconn.execute(catalog.SETUP_CHECK_SQL)
                    row = await cur.fetchone()
                    if row is None or row[0] != catalog.setup_marker():
                        for statement in catalog.setup_statements():
                            await aconn.execute(statement.encode())
                finally:
                    await aconn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_KEY,))

    # ------------------------------------------------------------------ stats

    def register(self, stats: ConnectionStats) -> int:
        conn_id = next(self._ids)
        with self.stats_lock:
            self.conn_stats[conn_id] = stats
        return conn_id

    def unregister(self, conn_id: int) -> None:
        with self.stats_lock:
            stats = self.conn_stats.pop(conn_id, None)
            if stats is not None:
                self.closed_statements += stats.statements
                self.closed_round_trips += stats.round_trips

    def stats(self) -> dict[str, Any]:
        with self.stats_lock:
            conns: dict[int, dict[str, Any]] = {
                conn_id: {
                    "user": s.user,
                    "database": s.database,
                    "statements": s.statements,
                    "round_trips": s.round_trips,
                }
                for conn_id, s in self.conn_stats.items()
            }
            open_stats = list(self.conn_stats.values())
            statements = self.closed_statements + sum(s.statements for s in open_stats)
            trips = self.closed_round_trips + sum(s.round_trips for s in open_stats)
        return {
            "connections": conns,
            "open_connections": len(conns),
            "statements": statements,
            "round_trips": trips,
        }

    def reset_stats(self) -> None:
        with self.stats_lock:
            for s in self.conn_stats.values():
                s.statements = 0
                s.round_trips = 0
            self.closed_statements = 0
            self.closed_round_trips = 0

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


class _Peer(asyncio.Protocol):
    """One socket of a connection (the client's or the upstream's).

    During startup, bytes collect in ``buffer`` for the connection's coroutine; once the
    session is set up, ``relay`` handles them as they arrive, with no task switch.
    """

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.transport: asyncio.Transport | None = None
        self.buffer = pq.MessageBuffer()
        self.pending: collections.deque[tuple[bytes, bytes]] = collections.deque()
        self.relay: Callable[[bytes], None] | None = None
        self.closed = False
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.conn.peer_made(self)

    def data_received(self, data: bytes) -> None:
        if self.relay is not None:
            self.relay(data)
            return
        self.buffer.feed(data)
        self._wake()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._wake()
        self.conn.peer_lost(self)

    def pause_writing(self) -> None:
        self.conn.flow(self, paused=True)

    def resume_writing(self) -> None:
        self.conn.flow(self, paused=False)

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait_data(self) -> None:
        if self.closed:
            raise ConnectionError("connection closed")
        self._waiter = asyncio.get_running_loop().create_future()
        await self._waiter
        if self.closed and not len(self.buffer):
            raise ConnectionError("connection closed")

    async def startup_frame(self) -> bytes:
        while True:
            frame = self.buffer.startup_frame()
            if frame is not None:
                return frame
            await self.wait_data()

    async def frame(self) -> tuple[bytes, bytes]:
        while not self.pending:
            self.pending.extend(self.buffer.frames())
            if not self.pending:
                await self.wait_data()
        return self.pending.popleft()

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class ClientConnection:
    """One client and its upstream PostgreSQL session."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.client = _Peer(self)
        self.upstream: _Peer | None = None
        self.units: collections.deque[_Unit] = collections.deque()
        self.state = rules.SessionState(server_version_num=server.server_version_num)
        self.stats: ConnectionStats | None = None
        self.conn_id = 0
        self.database = ""
        self.in_transaction = False
        # Extended protocol bookkeeping, only for statements with preludes/tags or faults.
        self.statement_extra: dict[str, tuple[tuple[str, ...], str | None]] = {}
        self.portal_extra: dict[str, tuple[tuple[str, ...], str | None]] = {}
        self.statement_sql: dict[str, str] = {}
        self.portal_statement: dict[str, str] = {}
        self._client_frames: collections.deque[tuple[bytes, bytes]] = collections.deque()
        self._blocked = False  # the client loop waits (latency, a prelude): reading paused
        self._flow_paused = False  # the upstream cannot take more: client reading paused
        self._aborted = False
        self._done: asyncio.Future[None] | None = None
        self._task: asyncio.Future[None] | None = None
        self._slow: asyncio.Future[None] | None = None

    # ------------------------------------------------------------------ transport events

    def peer_made(self, peer: _Peer) -> None:
        if peer is self.client:
            self._done = asyncio.get_running_loop().create_future()
            self._task = asyncio.ensure_future(self.server.serve(self))

    def peer_lost(self, peer: _Peer) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_result(None)
        other = self.upstream if peer is self.client else self.client
        if other is not None and other.transport is not None and self.stats is not None:
            # The session is over: let the other side's buffered bytes go, then close.
            other.transport.close()

    def flow(self, peer: _Peer, paused: bool) -> None:
        """Backpressure: a side that cannot take more bytes pauses reading the other."""
        if peer is self.client:
            if self.upstream is not None and self.upstream.transport is not None:
                if paused:
                    self.upstream.transport.pause_reading()
                else:
                    self.upstream.transport.resume_reading()
        else:
            self._flow_paused = paused
            self._update_client_reading()

    def _update_client_reading(self) -> None:
        transport = self.client.transport
        if transport is None or transport.is_closing():
            return
        if self._blocked or self._flow_paused:
            transport.pause_reading()
        else:
            transport.resume_reading()

    def abort(self) -> None:
        if self._aborted:
            return
        self._aborted = True
        for peer in (self.client, self.upstream):
            if peer is not None and peer.transport is not None:
                peer.transport.abort()

    # ------------------------------------------------------------------ startup

    async def refuse_paused(self) -> None:
        # PostgreSQL's text when it cannot take connections (57P03 cannot_connect_now).
        fields = pq.error_fields(
            "the database system is not accepting connections", "57P03", severity="FATAL"
        )
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._read_startup_params(), 10)
            self.client.write(pq.error_response(fields))

    async def _read_startup_params(self) -> tuple[int, dict[str, str]]:
        client = self.client
        while True:
            startup = pq.parse_startup(await client.startup_frame())
            if startup.kind == "ssl":
                context = self.server.ssl_context
                client.write(b"S" if context is not None else b"N")
                if context is not None:
                    assert client.transport is not None
                    loop = asyncio.get_running_loop()
                    tls = await loop.start_tls(client.transport, client, context, server_side=True)
                    if tls is None:
                        raise ConnectionError("TLS handshake failed")
                    client.transport = tls
                continue
            if startup.kind == "gssenc":
                client.write(b"N")
                continue
            if startup.kind == "cancel":
                await self._forward_cancel(startup.process_id, startup.secret_key)
                raise ConnectionError("cancel request handled")
            return startup.version, startup.params

    async def _forward_cancel(self, process_id: int, secret_key: bytes) -> None:
        peer = _Peer(self)
        await self.server.upstream.open(peer)
        peer.write(pq.cancel_request(process_id, secret_key))
        assert peer.transport is not None
        peer.transport.close()

    def _fatal(self, message: str, sqlstate: str) -> None:
        self.client.write(pq.error_response(pq.error_fields(message, sqlstate, severity="FATAL")))

    async def run(self) -> None:
        version, params = await self._read_startup_params()
        user = params.get("user", "")
        if not user:
            self._fatal("no PostgreSQL user name specified in startup packet", "28000")
            return
        database = params.get("database") or self.server.upstream.database
        self.database = database

        unsupported = [name for name in params if name.startswith("_pq_.")]
        if version & 0xFFFF or unsupported:
            self.client.write(pq.negotiate_protocol_version(0, unsupported))

        if self.server.needs_password:
            self.client.write(pq.AUTHENTICATION_CLEARTEXT)
            kind, frame = await self.client.frame()
            password = pq.parse_password(frame) if kind == b"p" else None
            if password is None or not await self.server.check_password(user, password, database):
                self._fatal(f'password authentication failed for user "{user}"', "28P01")
                return

        upstream_params = {
            name: value for name, value in params.items() if self.server.allowed_parameter(name)
        }
        upstream_params["user"] = self.server.upstream.user
        upstream_params["database"] = database
        extra = catalog.upstream_options(
            self.server.server_version_num, superuser=self.server.superuser
        )
        client_options = upstream_params.get("options")
        upstream_params["options"] = f"{extra} {client_options}" if client_options else extra

        try:
            startup_out = await self._connect_upstream(
                upstream_params, asked_encoding=_asks_for_encoding(params)
            )
        except OSError as exc:
            self._fatal(f"could not connect to the upstream PostgreSQL: {exc}", "08006")
            return
        if startup_out is None:
            return
        try:
            if not await self._catalog_current():
                await self.server.ensure_setup(database)
        except Exception as exc:
            logger.exception("emulator catalog setup failed on %s", database)
            self._fatal(f"emulator catalog setup failed: {exc}", "XX000")
            return

        self.stats = ConnectionStats(user=user, database=database)
        self.conn_id = self.server.register(self.stats)
        try:
            self.client.write(b"".join(startup_out))
            self._start_relay()
            assert self._done is not None
            await self._done
        finally:
            if self._slow is not None:
                self._slow.cancel()
            self.server.unregister(self.conn_id)

    async def _catalog_current(self) -> bool:
        """Whether the session's database holds this version's catalog SQL (one round
        trip on the new upstream session, before the client's first statement)."""
        assert self.upstream is not None
        self.upstream.write(pq.query(catalog.SETUP_CHECK_SQL))
        marker = None
        while True:
            kind, frame = await self.upstream.frame()
            if kind == b"D":
                marker = pq.parse_data_row(frame)[0]
            elif kind == b"Z":
                return marker == catalog.setup_marker().encode()

    async def _connect_upstream(
        self, params: dict[str, str], *, asked_encoding: bool = True
    ) -> list[bytes] | None:
        """Open and authenticate the upstream session.

        Returns what the client gets once it is authenticated: AuthenticationOk, the
        ParameterStatus messages (Redshift's server_version), BackendKeyData and
        ReadyForQuery; or None after relaying an upstream FATAL to the client.
        """
        up = self.server.upstream
        peer = _Peer(self)
        self.upstream = peer
        await up.open(peer)
        peer.write(pq.startup_message(params))
        out = [pq.AUTHENTICATION_OK]
        while True:
            try:
                kind, frame = await peer.frame()
            except ConnectionError:
                self._fatal("the upstream PostgreSQL closed the connection", "08006")
                return None
            if kind == b"R":
                code, extra = pq.parse_authentication(frame)
                if code == 0:
                    continue
                if code == 3 and up.password is not None:
                    peer.write(pq.password_message(up.password))
                elif code == 5 and up.password is not None:
                    peer.write(
                        pq.password_message(pq.md5_password(up.user, up.password, extra[:4]))
                    )
                else:
                    self._fatal(
                        "the upstream PostgreSQL asks for an authentication method the "
                        "emulator does not support (use trust, password or md5)",
                        "28000",
                    )
                    return None
            elif kind == b"S":
                name, _ = pq.parse_parameter_status(frame)
                if name == "client_encoding" and not asked_encoding:
                    # Redshift reports its client encoding as UNICODE (redshift-sql.md §6.4);
                    # the bytes are UTF-8 either way.
                    out.append(pq.parameter_status(name, "UNICODE"))
                elif name != "server_version":
                    out.append(frame)
            elif kind == b"E":
                self.client.write(pq.error_response(self._translate(frame)))
                return None
            elif kind == b"Z":
                out.append(pq.parameter_status("server_version", SERVER_VERSION))
                out.append(pq.parameter_status("server_protocol_version", SERVER_PROTOCOL_VERSION))
                out.append(frame)
                return out
            elif kind in (b"K", b"N"):
                out.append(frame)
            # 'v' (NegotiateProtocolVersion) is for the emulator only: never relayed.

    def _start_relay(self) -> None:
        assert self.upstream is not None
        client, upstream = self.client, self.upstream
        client.relay = self._on_client_data
        upstream.relay = self._on_upstream_data
        # Bytes that came with the startup exchange.
        if upstream.pending or len(upstream.buffer):
            leftover = list(upstream.pending)
            upstream.pending.clear()
            self._on_upstream_frames(leftover + upstream.buffer.frames())
        self._client_frames.extend(client.pending)
        client.pending.clear()
        self._client_frames.extend(client.buffer.frames())
        if self._client_frames:
            self._pump()
        if client.closed or upstream.closed:
            self.peer_lost(client)

    # ------------------------------------------------------------------ client -> upstream

    def _rewrite(self, sql: str) -> Any:
        """rules.rewrite; raises rules.RedshiftError to refuse."""
        self.state.in_transaction = self.in_transaction
        return rules.rewrite(sql, self.state)

    def _note_sql(self, sql: str) -> None:
        """Cheap look at transaction control in a statement."""
        head = sql[:24].lstrip().split(None, 1)
        if head:
            word = head[0].lower().rstrip(";")
            txn = _TXN_WORDS.get(word)
            if txn is not None:
                self.in_transaction = txn

    def _refusal_fields(self, exc: Exception) -> dict[str, str]:
        return pq.error_fields(
            getattr(exc, "message", str(exc)),
            getattr(exc, "sqlstate", "XX000"),
            detail=getattr(exc, "detail", None),
            hint=getattr(exc, "hint", None),
        )

    def _on_client_data(self, data: bytes) -> None:
        buf = self.client.buffer
        try:
            self._client_frames.extend(buf.frames_from(data))
        except pq.ProtocolError:
            self.abort()
            return
        if not self._blocked:
            self._pump()

    def _pump(self) -> None:
        """Translate queued client frames and send them; go async only when needed."""
        out, trips, slow = self._translate_client(self._client_frames)
        assert self.stats is not None and self.upstream is not None
        self.stats.round_trips += trips
        delay = self.server.latency * trips
        if slow is None and not delay:
            if out:
                self.upstream.write(b"".join(out) if len(out) > 1 else out[0])
            return
        self._blocked = True
        self._update_client_reading()
        self._slow = asyncio.ensure_future(self._continue(out, delay, slow))

    async def _continue(self, out: list[bytes], delay: float, slow: tuple[str, Any] | None) -> None:
        assert self.upstream is not None
        try:
            if delay:
                # Redshift: every round trip pays the leader node's overhead.
                await asyncio.sleep(delay)
            if out:
                self.upstream.write(b"".join(out))
            if slow is not None:
                await self._simple_with_prelude(*slow)
        except (ConnectionError, asyncio.CancelledError):
            self.abort()
            return
        self._blocked = False
        if self._client_frames:
            self._pump()
        self._update_client_reading()

    def _translate_client(
        self, frames: collections.deque[tuple[bytes, bytes]]
    ) -> tuple[list[bytes], int, tuple[str, Any] | None]:
        server = self.server
        stats = self.stats
        assert stats is not None
        units = self.units
        redshift_error = rules.RedshiftError
        out: list[bytes] = []
        trips = 0
        while frames:
            kind, frame = frames.popleft()
            if kind == b"Q":
                trips += 1
                stats.statements += 1
                sql = pq.parse_query(frame)
                self._note_sql(sql)
                fault = server.match_fault(sql) if server.faults else None
                if fault is not None:
                    units.append(_Unit("Q", error=fault))
                    out.append(pq.query(_FAIL_SQL))
                    continue
                try:
                    rw = self._rewrite(sql)
                except redshift_error as exc:
                    units.append(_Unit("Q", error=self._refusal_fields(exc)))
                    out.append(pq.query(_FAIL_SQL))
                    continue
                if rw is None or (not rw.prelude and rw.tag is None and rw.sql == sql):
                    units.append(_PLAIN["Q"])
                    out.append(frame)
                elif rw.prelude:
                    return out, trips, (sql, rw)
                else:
                    units.append(_Unit("Q", tag=rw.tag) if rw.tag else _PLAIN["Q"])
                    out.append(frame if rw.sql == sql else pq.query(rw.sql))
            elif kind == b"P":
                self._client_parse(frame, out, redshift_error)
            elif kind == b"B":
                if self.statement_extra or self.portal_extra or server.faults:
                    self._client_bind(frame, out)
                else:
                    units.append(_PLAIN["B"])
                    out.append(frame)
            elif kind == b"E":
                stats.statements += 1
                self._client_execute(frame, out)
            elif kind == b"S":
                trips += 1
                units.append(_PLAIN["S"])
                out.append(frame)
            elif kind == b"D":
                units.append(_PLAIN["D"])
                out.append(frame)
            elif kind == b"C":
                units.append(_PLAIN["C"])
                out.append(frame)
            elif kind == b"F":  # FunctionCall: answered up to ReadyForQuery
                trips += 1
                stats.statements += 1
                units.append(_PLAIN["Q"])
                out.append(frame)
            elif kind == b"X":
                out.append(frame)
                frames.clear()
            else:  # Flush, CopyData/CopyDone/CopyFail: no answer of their own
                out.append(frame)
        return out, trips, None

    async def _simple_with_prelude(self, sql: str, rw: Any) -> None:
        """A simple Query with a prelude: each prelude statement runs and is waited for,
        since the statement must not run if one fails."""
        assert self.upstream is not None
        error = None
        for statement in rw.prelude:
            error = await self._run_simple_prelude(statement)
            if error is not None:
                break
        if error is not None:
            self.units.append(_Unit("Q", error=error))
            self.upstream.write(pq.query(_FAIL_SQL))
        else:
            self.units.append(_Unit("Q", tag=rw.tag) if rw.tag else _PLAIN["Q"])
            self.upstream.write(pq.query(rw.sql))

    def _client_parse(self, frame: bytes, out: list[bytes], redshift_error: Any) -> None:
        msg = pq.parse_parse(frame)
        sql = msg.sql
        self._note_sql(sql)
        self.statement_sql[msg.name] = sql
        try:
            rw = self._rewrite(sql)
        except redshift_error as exc:
            self.statement_extra.pop(msg.name, None)
            self.units.append(_Unit("P", error=self._refusal_fields(exc)))
            out.append(pq.parse(msg.name, _FAIL_SQL))
            return
        if rw is None or (not rw.prelude and rw.tag is None):
            self.statement_extra.pop(msg.name, None)
        else:
            self.statement_extra[msg.name] = (rw.prelude, rw.tag)
        self.units.append(_PLAIN["P"])
        if rw is None or rw.sql == sql:
            out.append(frame)
        else:
            out.append(pq.parse(msg.name, rw.sql, msg.param_types))

    def _client_bind(self, frame: bytes, out: list[bytes]) -> None:
        portal, statement = pq.parse_bind_names(frame)
        self.portal_statement[portal] = statement
        extra = self.statement_extra.get(statement)
        if extra is None:
            self.portal_extra.pop(portal, None)
        else:
            prelude, tag = extra
            if tag is None:
                self.portal_extra.pop(portal, None)
            else:
                self.portal_extra[portal] = extra
            # Before the client's Bind: a COMMIT in the prelude would drop its portal. The
            # prelude uses its own statement and portal names so the client's survive.
            name = _PRELUDE_STATEMENT.encode() + b"\x00"
            for sql in prelude:
                out.append(pq.parse(_PRELUDE_STATEMENT, sql))
                out.append(pq.bind(_PRELUDE_STATEMENT, _PRELUDE_STATEMENT))
                out.append(pq.execute(_PRELUDE_STATEMENT))
                out.append(pq.message(b"C", b"P" + name))
                out.append(pq.message(b"C", b"S" + name))
                for kind in "PBECC":
                    self.units.append(_Unit(kind, swallow=True))
        self.units.append(_PLAIN["B"])
        out.append(frame)

    def _client_execute(self, frame: bytes, out: list[bytes]) -> None:
        units = self.units
        portal = ""
        if self.portal_extra or self.server.faults:
            portal, _ = pq.parse_execute(frame)
        if self.server.faults:
            sql = self.statement_sql.get(self.portal_statement.get(portal, ""), "")
            fault = self.server.match_fault(sql) if sql else None
            if fault is not None:
                # A Parse that fails stands in for the Execute (see the module docstring).
                units.append(_Unit("E", error=fault))
                out.append(pq.parse(_PRELUDE_STATEMENT, _FAIL_SQL))
                return
        extra = self.portal_extra.get(portal) if self.portal_extra else None
        if extra is None:
            units.append(_PLAIN["E"])
        else:
            units.append(_Unit("E", tag=extra[1]))
        out.append(frame)

    async def _run_simple_prelude(self, statement: str) -> dict[str, str] | None:
        """Run one prelude statement and wait: the main statement must not run if it fails."""
        assert self.upstream is not None
        future: asyncio.Future[tuple[dict[str, str] | None, str]] = (
            asyncio.get_running_loop().create_future()
        )
        self.units.append(_Unit("Q", swallow=True, future=future))
        self.upstream.write(pq.query(statement))
        error, _status = await future
        return error

    # ------------------------------------------------------------------ upstream -> client

    def _translate(self, frame: bytes) -> dict[str, str]:
        return rules.translate_error(pq.parse_fields(frame))

    def _on_upstream_data(self, data: bytes) -> None:
        buf = self.upstream.buffer  # type: ignore[union-attr]
        whole = not len(buf)
        try:
            frames = buf.frames_from(data)
        except pq.ProtocolError:
            self.abort()
            return
        # When every frame of a chunk goes to the client unchanged, the chunk itself is sent.
        self._on_upstream_frames(frames, data if whole and not len(buf) else None)

    def _on_upstream_frames(
        self, frames: list[tuple[bytes, bytes]], raw: bytes | None = None
    ) -> None:
        units = self.units
        empty = _PLAIN["Q"]
        out: list[bytes] = []
        same = True  # every frame so far goes to the client unchanged
        for kind, frame in frames:
            unit = units[0] if units else empty
            if kind == b"D":
                if unit.swallow:
                    same = False
                else:
                    out.append(frame)
            elif kind == b"C" or kind == b"I" or kind == b"s":
                if unit.kind == "E":
                    units.popleft()
                if unit.swallow:
                    same = False
                    continue
                if unit.tag is not None and kind == b"C":
                    frame = pq.command_complete(unit.tag)
                    same = False
                out.append(frame)
            elif kind == b"Z":
                while units:
                    popped = units.popleft()
                    if popped.kind in "QS":
                        unit = popped
                        break
                if unit.future is not None:
                    if not unit.future.done():
                        unit.future.set_result((unit.got_error, chr(frame[5])))
                    same = False
                    continue
                self.in_transaction = frame[5] != 73  # b"I": idle
                out.append(frame)
            elif kind in (b"1", b"2", b"3"):
                if units:
                    units.popleft()
                if unit.swallow:
                    same = False
                else:
                    out.append(frame)
            elif kind == b"T" or kind == b"n":
                if unit.kind == "D":
                    units.popleft()
                if unit.swallow:
                    same = False
                else:
                    out.append(frame)
            elif kind == b"E":
                same = False
                fields = unit.error if unit.error is not None else self._translate(frame)
                if unit.kind == "Q":
                    if unit.swallow:
                        unit.got_error = fields
                        continue
                elif unit.kind != "S" and units:
                    units.popleft()  # the rest, up to Sync, PostgreSQL skips
                out.append(pq.error_response(fields))
            elif unit.swallow and kind in (b"t", b"N"):
                same = False
            else:
                out.append(frame)
        if raw is not None and same:
            self.client.write(raw)
        elif out:
            self.client.write(b"".join(out) if len(out) > 1 else out[0])


def _asks_for_encoding(params: dict[str, str]) -> bool:
    """Whether a startup packet sets client_encoding (as a parameter or in ``options``)."""
    if any(name.lower() == "client_encoding" for name in params):
        return True
    return "client_encoding" in params.get("options", "").lower()


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


def client_url(host: str, port: int, upstream: Upstream) -> str:
    """The URL clients use for an emulator on ``host:port``: the upstream's user and
    database, never its password."""
    host = f"[{host}]" if ":" in host else host
    return f"postgresql://{upstream.user}@{host}:{port}/{upstream.database}"


class Emulator:
    """A Redshift emulator running its asyncio server in a background thread.

    >>> with Emulator(upstream="postgresql://postgres@127.0.0.1:5432/postgres") as emu:
    ...     psycopg.connect(emu.url)

    Without ``upstream`` it starts an :class:`~.upstream.EmbeddedPostgres` and removes it
    on exit. ``port=0`` picks a free port. Authentication is trust unless ``users`` (a
    user -> password map) or ``password_check(user, password, database) -> bool`` is
    given; then the client is asked for a cleartext password (over TLS when
    ``ssl_context`` is set) and both checks that are configured must pass.
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
    ) -> None:
        if latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {latency_ms!r}")
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {port!r}")
        if password_check is not None and not callable(password_check):
            raise TypeError("password_check must be a callable (user, password, database)")
        # Parsed now: a bad URL is a ValueError here, not when the emulator starts.
        self._upstream = Upstream.from_url(upstream) if upstream is not None else None
        self._host = host
        self._port = port
        self._latency_ms = latency_ms
        self._users = users
        self._password_check = password_check
        self._ssl_context = ssl_context
        self._listen = listen
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
        if upstream is None:
            from .upstream import EmbeddedPostgres

            self._embedded = EmbeddedPostgres().start()
        try:
            if upstream is None:
                upstream = Upstream.from_url(self._embedded.socket_url)
            server = EmulatorServer(
                upstream,
                host=self._host,
                port=self._port,
                latency_ms=self._latency_ms,
                users=self._users,
                password_check=self._password_check,
                ssl_context=self._ssl_context,
                listen=self._listen,
            )
            loop = new_event_loop()
            started: asyncio.Future[None] | Any = None

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.run_forever()

            thread = threading.Thread(target=run, name="redshift-emulator", daemon=True)
            thread.start()
            self._loop, self._thread = loop, thread
            started = asyncio.run_coroutine_threadsafe(server.start(), loop)
            started.result(timeout)
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
        return self._running_server().upstream.url

    @property
    def embedded_directory(self) -> str | None:
        """Where the embedded PostgreSQL lives (None with an explicit upstream)."""
        return str(self._embedded._dir) if self._embedded is not None else None

    @property
    def database(self) -> str:
        return self._running_server().upstream.database

    @property
    def url(self) -> str:
        """A libpq URL for clients; the user is the upstream's (no password in it)."""
        server = self._running_server()
        return client_url(self._host, server.port, server.upstream)

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
        self._add_fault(_table_pattern(table), n, fields)

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
        self._add_fault(compiled, n, pq.error_fields(message, sqlstate))

    def _add_fault(self, pattern: re.Pattern[str], n: int, fields: dict[str, str]) -> None:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n!r}")
        server = self._running_server()
        with server.faults_lock:
            server.faults.append(_Fault(pattern, n, fields))

    def clear_faults(self) -> None:
        server = self._running_server()
        with server.faults_lock:
            server.faults.clear()

    # ------------------------------------------------------------------ counters

    def stats(self) -> dict[str, Any]:
        """``{"statements", "round_trips", "open_connections", "connections": {id: {...}}}``.

        Totals include connections already closed since the last :meth:`reset_stats`.
        """
        return self._running_server().stats()

    def reset_stats(self) -> None:
        self._running_server().reset_stats()
