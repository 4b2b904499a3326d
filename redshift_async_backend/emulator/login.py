"""A client's way in: the startup packet, the password exchange, the upstream session.

The decisions (which exchange, whether a password is right, which role) are pure code in
:mod:`.roles` and :mod:`.auth`; this module does their I/O.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING

from . import auth, catalog, roles
from . import protocol as pq

if TYPE_CHECKING:
    from .session import ClientConnection

# Redshift reports itself as PostgreSQL 8.0.2 (DG:c_redshift-and-postgres-sql).
SERVER_VERSION = "8.0.2"
# redshift_connector asks for protocol 2 (BINARY); 1 and 2 add Redshift-only fields to
# RowDescription. Answering 0 (BASE_SERVER) keeps it on PostgreSQL's plain formats
# (RC:core.py handle_PARAMETER_STATUS, handle_ROW_DESCRIPTION).
SERVER_PROTOCOL_VERSION = "0"
# Redshift announces which SHOW metadata commands it has (DG:r_SHOW_TABLES and its siblings);
# redshift_connector's metadata API uses them from version 4 on (RC:cursor.py
# get_show_discovery_version). 4: SHOW DATABASES / SCHEMAS / TABLES / COLUMNS / CONSTRAINTS /
# FUNCTIONS / PROCEDURES per schema or table (5 adds FROM DATABASE batches, not emulated).
SHOW_DISCOVERY = "4"
# Startup parameters that are not GUCs but that PostgreSQL takes.
_STARTUP_KEYWORDS = frozenset({"user", "database", "options"})


class LoginRefused(Exception):
    """Sent to the client as a FATAL ErrorResponse."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate


def allowed_parameter(name: str, known_settings: frozenset[str]) -> bool:
    """Whether a client's startup parameter goes upstream (a GUC PostgreSQL knows)."""
    lowered = name.lower()
    if lowered in _STARTUP_KEYWORDS:
        return True
    if "." in lowered:  # extension settings, which PostgreSQL accepts as placeholders
        return not lowered.startswith("_pq_.")
    return lowered in known_settings


def asks_for_encoding(params: Mapping[str, str]) -> bool:
    """Whether a startup packet sets client_encoding (as a parameter or in ``options``)."""
    if any(name.lower() == "client_encoding" for name in params):
        return True
    return "client_encoding" in params.get("options", "").lower()


async def read_startup(conn: ClientConnection) -> tuple[int, dict[str, str]]:
    """The startup packet, after answering SSLRequest / GSSENCRequest; a CancelRequest is
    forwarded upstream and ends the connection."""
    client = conn.client
    while True:
        startup = pq.parse_startup(await client.startup_frame())
        if startup.kind == "ssl":
            context = conn.server.ssl_context
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
            await conn.forward_cancel(startup.process_id, startup.secret_key)
            raise ConnectionError("cancel request handled")
        return startup.version, startup.params


def _exchange(decision: roles.Decision, check: auth.Exchange | None = None) -> auth.Exchange:
    if decision.exchange == "md5":
        return auth.Md5(decision.verifier)
    if decision.exchange == "scram":
        assert decision.verifier is not None
        return auth.Scram(decision.verifier)
    if decision.exchange == "digest":
        assert decision.verifier is not None
        return auth.Digest(decision.verifier)
    assert check is not None
    return check


async def authenticate(conn: ClientConnection, login: str, params: dict[str, str]) -> str:
    """Check the client's password; the role its session runs as upstream."""
    server = conn.server
    policy = server.policy
    role = roles.login_role(login)
    account = await server.admin.account(role)
    decision = roles.decide(login, account, policy, params)
    if decision.refuse is not None:
        raise LoginRefused(*decision.refuse)
    if decision.exchange == "trust":
        return role
    database = params.get("database") or server.upstream.database
    clear = auth.ClearText()
    exchange = _exchange(decision, clear)
    message = exchange.start()
    while not exchange.done:
        conn.client.write(message)
        kind, frame = await conn.client.frame()
        message = exchange.receive(kind, frame)
    ok = exchange.ok
    if exchange is clear:
        # The check may block (an IAM service): off the event loop.
        ok = await asyncio.to_thread(
            roles.password_accepted, decision, login, clear.password, policy, database
        )
    if not ok or decision.expired:
        raise LoginRefused(f'password authentication failed for user "{login}"', "28P01")
    if message:
        conn.client.write(message)  # SCRAM's server signature
    if decision.create:
        await server.admin.create_login(role)
    return role


async def connect_upstream(
    conn: ClientConnection, role: str, params: dict[str, str]
) -> list[bytes] | None:
    """Open the upstream session as ``role``.

    Returns what the client gets once it is authenticated: AuthenticationOk, the
    ParameterStatus messages (Redshift's server_version), BackendKeyData and
    ReadyForQuery; or None after relaying an upstream FATAL to the client.
    """
    server = conn.server
    upstream_params = {
        name: value
        for name, value in params.items()
        if allowed_parameter(name, server.admin.settings)
    }
    upstream_params["user"] = role
    upstream_params["database"] = conn.database
    extra = catalog.upstream_options()
    client_options = upstream_params.get("options")
    upstream_params["options"] = f"{extra} {client_options}" if client_options else extra
    asked_encoding = asks_for_encoding(params)

    peer = conn.open_upstream_peer()
    await conn.open_upstream(peer)
    peer.write(pq.startup_message(upstream_params))
    out = [pq.AUTHENTICATION_OK]
    while True:
        try:
            kind, frame = await peer.frame()
        except ConnectionError:
            raise LoginRefused("the upstream PostgreSQL closed the connection", "08006") from None
        if kind == b"R":
            code, _ = pq.parse_authentication(frame)
            if code == 0:
                continue
            raise LoginRefused(
                f'the upstream PostgreSQL asks for a password for role "{role}": the emulator '
                "logs in as each user's own role and needs the upstream to trust its "
                "connections (see docs/emulator.md, Security)",
                "28000",
            )
        if kind == b"S":
            name, _ = pq.parse_parameter_status(frame)
            if name == "client_encoding" and not asked_encoding:
                # Redshift reports its client encoding as UNICODE (redshift-sql.md §6.4);
                # the bytes are UTF-8 either way.
                out.append(pq.parameter_status(name, "UNICODE"))
            elif name != "server_version":
                out.append(frame)
        elif kind == b"E":
            conn.client.write(pq.error_response(conn.translate(frame)))
            return None
        elif kind == b"Z":
            out.append(pq.parameter_status("server_version", SERVER_VERSION))
            out.append(pq.parameter_status("server_protocol_version", SERVER_PROTOCOL_VERSION))
            out.append(pq.parameter_status("show_discovery", SHOW_DISCOVERY))
            out.append(frame)
            return out
        elif kind in (b"K", b"N"):
            out.append(frame)
        # 'v' (NegotiateProtocolVersion) is for the emulator only: never relayed.
