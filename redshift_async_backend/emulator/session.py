"""One client connection: login (:mod:`.login`), then the relay (:mod:`.relay`).

The connection owns both sockets (the client's and its upstream session's), the flow
control between them, and the way it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from . import login
from . import protocol as pq
from .faults import ConnectionStats
from .relay import Peer, Relay, translate

if TYPE_CHECKING:
    from .server import EmulatorServer

logger = logging.getLogger("redshift_async_backend.emulator")


class ClientConnection:
    """One client and its upstream PostgreSQL session."""

    def __init__(self, server: EmulatorServer) -> None:
        from . import pipeline

        self.server = server
        self.client = Peer(self)
        self.upstream: Peer | None = None
        self.relay: Relay | None = None
        self.state = pipeline.rules.SessionState(server_version_num=server.admin.server_version_num)
        self.database = ""
        self._flow_paused = False  # the upstream cannot take more: client reading paused
        self._aborted = False
        self._done: asyncio.Future[None] | None = None
        self._task: asyncio.Future[None] | None = None
        self._started = False  # the startup packet has arrived

    # ------------------------------------------------------------------ transport events

    def peer_made(self, peer: Peer) -> None:
        if peer is self.client:
            self._done = asyncio.get_running_loop().create_future()
            self._task = asyncio.ensure_future(self.server.serve(self))

    def peer_lost(self, peer: Peer) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_result(None)
        other = self.upstream if peer is self.client else self.client
        if other is not None and other.transport is not None and self.relay is not None:
            # The session is over: let the other side's buffered bytes go, then close.
            other.transport.close()

    def flow(self, peer: Peer, paused: bool) -> None:
        """Backpressure: a side that cannot take more bytes pauses reading the other."""
        if peer is self.client:
            if self.upstream is not None and self.upstream.transport is not None:
                if paused:
                    self.upstream.transport.pause_reading()
                else:
                    self.upstream.transport.resume_reading()
        else:
            self._flow_paused = paused
            self.update_client_reading()

    def update_client_reading(self) -> None:
        transport = self.client.transport
        if transport is None or transport.is_closing():
            return
        blocked = self.relay is not None and self.relay.blocked
        if blocked or self._flow_paused:
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

    def fatal(self, message: str, sqlstate: str) -> None:
        transport = self.client.transport
        if transport is None or transport.is_closing():
            return  # the client is gone: nobody to tell
        self.client.write(pq.error_response(pq.error_fields(message, sqlstate, severity="FATAL")))

    def fatal_and_close(self, message: str, sqlstate: str) -> None:
        """As PostgreSQL answers a malformed message: FATAL, then the connection ends."""
        with contextlib.suppress(Exception):
            self.fatal(message, sqlstate)
        for peer in (self.client, self.upstream):
            if peer is not None and peer.transport is not None:
                peer.transport.close()

    def translate(self, frame: bytes) -> dict[str, str]:
        return translate(frame)

    # ------------------------------------------------------------------ upstream

    def open_upstream_peer(self) -> Peer:
        self.upstream = Peer(self)
        return self.upstream

    async def open_upstream(self, peer: Peer) -> None:
        up = self.server.upstream
        loop = asyncio.get_running_loop()
        if up.unix_path is not None:
            await loop.create_unix_connection(lambda: peer, up.unix_path)
        else:
            await loop.create_connection(lambda: peer, up.host, up.port)

    async def forward_cancel(self, process_id: int, secret_key: bytes) -> None:
        peer = Peer(self)
        await self.open_upstream(peer)
        peer.write(pq.cancel_request(process_id, secret_key))
        # PostgreSQL closes a cancel connection once it has signalled the backend, and libpq
        # waits for that close before it reports the cancel sent. The client's cancel socket
        # closes after this returns: closed any earlier, a client could send its next
        # statement before the cancel lands, and the cancel would stop that statement.
        with contextlib.suppress(ConnectionError, TimeoutError):
            async with asyncio.timeout(5):
                while True:
                    await peer.wait_data()
        assert peer.transport is not None
        peer.transport.close()

    # ------------------------------------------------------------------ the session

    async def refuse_paused(self) -> None:
        # PostgreSQL's text when it cannot take connections (57P03 cannot_connect_now).
        with contextlib.suppress(Exception):
            await asyncio.wait_for(login.read_startup(self), 10)
            self.fatal("the database system is not accepting connections", "57P03")

    async def _login(self) -> tuple[str, dict[str, str]] | None:
        """Startup and password: the role the session runs as, and the client's startup
        parameters; None once the client got a FATAL."""
        version, params = await login.read_startup(self)
        self._started = True
        user = params.get("user", "")
        if not user:
            self.fatal("no PostgreSQL user name specified in startup packet", "28000")
            return None
        self.database = params.get("database") or self.server.upstream.database
        unsupported = [name for name in params if name.startswith("_pq_.")]
        if version & 0xFFFF or unsupported:
            self.client.write(pq.negotiate_protocol_version(0, unsupported))
        return await login.authenticate(self, user, params), params

    async def run(self) -> None:
        server = self.server
        try:
            # As PostgreSQL's authentication_timeout: a client that does not finish
            # logging in is let go.
            found = await asyncio.wait_for(self._login(), server.authentication_timeout)
        except TimeoutError:
            # As PostgreSQL: silence for a client that never sent its startup packet.
            if self._started:
                self.fatal("canceling authentication due to timeout", "08006")
            return
        except login.LoginRefused as exc:
            self.fatal(exc.message, exc.sqlstate)
            return
        if found is None:
            return
        role, params = found
        try:
            startup_out = await login.connect_upstream(self, role, params)
        except login.LoginRefused as exc:
            self.fatal(exc.message, exc.sqlstate)
            return
        except OSError as exc:
            self.fatal(f"could not connect to the upstream PostgreSQL: {exc}", "08006")
            return
        if startup_out is None:
            return
        try:
            if not await self._catalog_current():
                await server.admin.ensure_setup(self.database)
        except Exception as exc:
            logger.exception("emulator catalog setup failed on %s", self.database)
            self.fatal(f"emulator catalog setup failed: {exc}", "XX000")
            return
        stats = ConnectionStats(user=params["user"], database=self.database)
        conn_id = server.counters.register(stats)
        try:
            self.client.write(b"".join(startup_out))
            self.relay = Relay(self, stats)
            self.relay.start()
            if self.client.closed or self.upstream is None or self.upstream.closed:
                self.peer_lost(self.client)
            assert self._done is not None
            await self._done
        finally:
            if self.relay is not None and self.relay.slow is not None:
                self.relay.slow.cancel()
            server.counters.unregister(conn_id)

    async def _catalog_current(self) -> bool:
        """Whether the session's database holds this version's catalog SQL (one round
        trip on the new upstream session, before the client's first statement)."""
        from . import catalog

        assert self.upstream is not None
        self.upstream.write(pq.query(catalog.SETUP_CHECK_SQL))
        marker = None
        while True:
            kind, frame = await self.upstream.frame()
            if kind == b"D":
                marker = pq.parse_data_row(frame)[0]
            elif kind == b"Z":
                return marker == catalog.setup_marker().encode()
