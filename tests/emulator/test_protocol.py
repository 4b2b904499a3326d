"""The sans-I/O protocol layer, driven with bytes (no sockets)."""

from __future__ import annotations

import hashlib
import struct

import pytest

from redshift_async_backend.emulator import protocol as pq

pytestmark = pytest.mark.unit


def test_frames_cut_a_stream_fed_byte_by_byte() -> None:
    stream = pq.parameter_status("a", "1") + pq.ready_for_query("I") + pq.command_complete("X")
    buf = pq.MessageBuffer()
    seen: list[tuple[bytes, bytes]] = []
    for i in range(len(stream)):
        buf.feed(stream[i : i + 1])
        seen.extend(buf.frames())
    assert [kind for kind, _ in seen] == [b"S", b"Z", b"C"]
    assert b"".join(frame for _, frame in seen) == stream
    assert len(buf) == 0


def test_frames_keep_an_incomplete_tail() -> None:
    buf = pq.MessageBuffer()
    whole = pq.query("SELECT 1")
    buf.feed(whole + whole[:7])
    assert buf.frames() == [(b"Q", whole)]
    assert len(buf) == 7
    buf.feed(whole[7:])
    assert buf.frames() == [(b"Q", whole)]


@pytest.mark.parametrize("length", [0, 3, -1])
def test_frames_refuse_an_impossible_length(length: int) -> None:
    buf = pq.MessageBuffer()
    buf.feed(b"Q" + struct.pack("!i", length))
    with pytest.raises(pq.ProtocolError, match="invalid message length"):
        buf.frames()


def test_startup_message_round_trip() -> None:
    params = {"user": "alice", "database": "dev", "client_protocol_version": "2"}
    buf = pq.MessageBuffer()
    buf.feed(pq.startup_message(params) + b"Q")
    body = buf.startup_frame()
    assert body is not None
    startup = pq.parse_startup(body)
    assert startup.kind == "startup"
    assert startup.version == pq.PROTOCOL_V3
    assert startup.params == params
    assert buf.take_rest() == b"Q"


def test_startup_frame_waits_for_all_bytes() -> None:
    data = pq.startup_message({"user": "u"})
    buf = pq.MessageBuffer()
    buf.feed(data[:-1])
    assert buf.startup_frame() is None
    buf.feed(data[-1:])
    assert buf.startup_frame() is not None


def test_ssl_and_cancel_requests() -> None:
    assert pq.parse_startup(pq.ssl_request()[4:]).kind == "ssl"
    cancel = pq.cancel_request(4242, b"\x00\x00\x00\x07")
    assert struct.unpack("!i", cancel[:4])[0] == len(cancel) == 16
    parsed = pq.parse_startup(cancel[4:])
    assert (parsed.kind, parsed.process_id, parsed.secret_key) == ("cancel", 4242, b"\0\0\0\x07")
    gss = struct.pack("!i", pq.GSSENC_REQUEST)
    assert pq.parse_startup(gss).kind == "gssenc"


def test_startup_refuses_protocol_2_and_oversized_packets() -> None:
    with pytest.raises(pq.ProtocolError, match=r"unsupported frontend protocol 2\.0"):
        pq.parse_startup(struct.pack("!i", 2 << 16))
    buf = pq.MessageBuffer()
    buf.feed(struct.pack("!i", 1_000_000))
    with pytest.raises(pq.ProtocolError, match="startup packet length"):
        buf.startup_frame()


def test_error_response_round_trip_in_postgres_field_order() -> None:
    fields = {"M": "1023", "C": "XX000", "S": "ERROR", "D": "Serializable isolation violation"}
    frame = pq.error_response(fields)
    assert frame[:1] == b"E"
    assert pq.parse_fields(frame) == fields
    assert list(pq.parse_fields(frame)) == ["S", "C", "M", "D"]


def test_error_fields_leave_out_empty_detail_and_hint() -> None:
    assert pq.error_fields("no", "0A000") == {"S": "ERROR", "V": "ERROR", "C": "0A000", "M": "no"}
    with_hint = pq.error_fields("no", detail="d", hint="h", severity="FATAL")
    assert (with_hint["S"], with_hint["D"], with_hint["H"]) == ("FATAL", "d", "h")


def test_parse_and_bind_and_execute() -> None:
    oids = struct.pack("!hi", 1, 23)
    parsed = pq.parse_parse(pq.parse("s1", "SELECT $1", oids))
    assert (parsed.name, parsed.sql, parsed.param_types) == ("s1", "SELECT $1", oids)
    assert pq.parse_bind_names(pq.bind("p1", "s1")) == ("p1", "s1")
    assert pq.parse_execute(pq.execute("p1", 10)) == ("p1", 10)


def test_simple_messages() -> None:
    assert pq.parse_query(pq.query("SELECT 'é'")) == "SELECT 'é'"
    assert pq.parse_parameter_status(pq.parameter_status("server_version", "8.0.2")) == (
        "server_version",
        "8.0.2",
    )
    assert pq.parse_command_complete(pq.command_complete("INSERT 0 1")) == "INSERT 0 1"
    assert pq.parse_ready_for_query(pq.ready_for_query("T")) == "T"
    assert pq.parse_password(pq.password_message("pw")) == "pw"
    assert pq.parse_authentication(pq.AUTHENTICATION_CLEARTEXT) == (3, b"")
    assert pq.parse_backend_key_data(pq.backend_key_data(7, b"abcd")) == (7, b"abcd")
    assert pq.SYNC == b"S\x00\x00\x00\x04"


def test_negotiate_protocol_version_lists_options() -> None:
    frame = pq.negotiate_protocol_version(0, ["_pq_.x"])
    assert frame[:1] == b"v"
    assert frame[5:] == struct.pack("!ii", 0, 1) + b"_pq_.x\x00"


def test_md5_password_matches_libpq() -> None:
    # libpq's PQencryptPassword("secret", "postgres", "md5") gives the stored hash
    # md553f48b7c4b76a86ce72276c5755f217d; the wire answer salts its hex digits.
    stored_hex = b"53f48b7c4b76a86ce72276c5755f217d"
    salt = b"\x01\x02\x03\x04"
    expected = "md5" + hashlib.md5(stored_hex + salt).hexdigest()
    assert pq.md5_password("postgres", "secret", salt) == expected
    assert expected == "md5bb41a296aab6baccb36ff243a562abff"


def test_a_large_message_in_many_chunks_comes_out_whole() -> None:
    row = pq.message(b"D", b"x" * 200_000)
    buf = pq.MessageBuffer()
    out: list[tuple[bytes, bytes]] = []
    for start in range(0, len(row), 4096):
        buf.feed(row[start : start + 4096])
        out.extend(buf.frames())
    assert out == [(b"D", row)]
    assert len(buf) == 0


def test_frames_from_cuts_like_feed_and_frames() -> None:
    # The relay's fast path: a chunk of whole frames comes back as itself, split ones wait.
    stream = pq.command_complete("SELECT 1") + pq.ready_for_query("I")
    buf = pq.MessageBuffer()
    whole = pq.ready_for_query("T")
    assert buf.frames_from(whole) == [(b"Z", whole)]
    assert buf.frames_from(whole)[0][1] is whole
    assert buf.frames_from(stream[:7]) == []
    assert len(buf) == 7
    assert buf.frames_from(stream[7:]) == [(b"C", stream[:-6]), (b"Z", stream[-6:])]
    assert len(buf) == 0
    with pytest.raises(pq.ProtocolError):
        pq.MessageBuffer().frames_from(b"Z\x00\x00\x00\x01")


def test_data_row_values_and_null() -> None:
    frame = pq.message(
        b"D", b"\x00\x03" + b"\x00\x00\x00\x02ab" + b"\xff\xff\xff\xff" + b"\x00\x00\x00\x00"
    )
    assert pq.parse_data_row(frame) == [b"ab", None, b""]
