"""Malformed protocol messages (hypothesis, bounded): each one gets an ErrorResponse or the
connection closes; other sessions keep working; the emulator never falls over."""

from __future__ import annotations

import socket
import struct

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redshift_async_backend.emulator import Emulator
from redshift_async_backend.emulator import protocol as pq

pytestmark = pytest.mark.integration

WAIT = 15.0
# Frontend message types that are valid with any body and answer nothing: CopyData,
# CopyDone and CopyFail outside COPY are ignored by PostgreSQL, per the protocol.
_SILENT = {b"c", b"d", b"f"}
_KNOWN = [b"Q", b"P", b"B", b"E", b"D", b"C", b"H", b"S", b"F", b"p"]


def read_until_error_or_close(sock: socket.socket) -> str:
    """ "error" once an ErrorResponse arrives, "closed" if the connection ends first."""
    buf = pq.MessageBuffer()
    sock.settimeout(WAIT)
    while True:
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return "closed"
        if not data:
            return "closed"
        try:
            frames = buf.frames_from(data)
        except pq.ProtocolError:
            pytest.fail("the emulator sent bytes that are not protocol messages")
        if any(kind == b"E" for kind, _ in frames):
            return "error"


def logged_in(emu: Emulator) -> socket.socket:
    sock = socket.create_connection((emu.host, emu.port), timeout=WAIT)
    sock.sendall(pq.startup_message({"user": emu.admin_user, "database": emu.database}))
    buf = pq.MessageBuffer()
    while True:
        data = sock.recv(65536)
        assert data, "the emulator closed a good login"
        if any(kind == b"Z" for kind, _ in buf.frames_from(data)):
            return sock


def malformed_body(kind: bytes, body: bytes) -> bytes:
    """A body ``kind`` cannot take: strings without their terminator, counts past the end,
    bytes after a message that has none."""
    if kind in (b"H", b"S"):
        return body or b"\x01"
    if kind in (b"Q", b"p"):
        return body.replace(b"\x00", b"") or b"x"
    if kind == b"P":
        return b"stmt\x00" + body.replace(b"\x00", b"")
    if kind == b"B":
        return b"\x00\x00" + struct.pack("!h", 30_000) + body[:8]
    if kind == b"E":
        return body.replace(b"\x00", b"")[:3]
    if kind in (b"D", b"C"):
        return b"Z" + body
    return body[:2]  # FunctionCall: shorter than its fixed part


@st.composite
def bad_messages(draw: st.DrawFn) -> bytes:
    body = draw(st.binary(max_size=64))
    choice = draw(st.sampled_from(["unknown type", "bad body", "bad length"]))
    if choice == "unknown type":
        valid = {k[0] for k in _KNOWN} | {k[0] for k in _SILENT} | {ord("X")}
        kind = bytes([draw(st.integers(0, 255).filter(lambda b: b not in valid))])
        return kind + struct.pack("!i", len(body) + 4) + body
    kind = draw(st.sampled_from(_KNOWN))
    if choice == "bad body":
        payload = malformed_body(kind, body)
        return kind + struct.pack("!i", len(payload) + 4) + payload
    length = draw(st.sampled_from([0, 1, 3, -1, pq.MAX_MESSAGE_LENGTH + 1, 2**31 - 1]))
    return kind + struct.pack("!i", length) + body


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(message=bad_messages())
def test_malformed_messages_after_login(emu: Emulator, message: bytes) -> None:
    with psycopg.connect(emu.url, autocommit=True, connect_timeout=10) as bystander:
        sock = logged_in(emu)
        try:
            sock.sendall(message)
            assert read_until_error_or_close(sock) in ("error", "closed")
        finally:
            sock.close()
        assert bystander.execute("SELECT 1").fetchone() == (1,)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    packet=st.one_of(
        st.binary(min_size=1, max_size=40),
        st.builds(
            lambda n, b: struct.pack("!ii", n, 196608) + b,
            st.integers(-5, 100),
            st.binary(max_size=30),
        ),
        st.builds(
            lambda v, b: struct.pack("!ii", 8 + len(b), v) + b,
            st.integers(0, 2**31 - 1),
            st.binary(max_size=30),
        ),
    )
)
def test_malformed_startup_packets(emu: Emulator, packet: bytes) -> None:
    sock = socket.create_connection((emu.host, emu.port), timeout=WAIT)
    try:
        sock.sendall(packet)
        sock.shutdown(socket.SHUT_WR)  # nothing more comes: a partial packet is final
        result = read_until_error_or_close(sock)
    finally:
        sock.close()
    assert result in ("error", "closed")
    with psycopg.connect(emu.url, connect_timeout=10) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
