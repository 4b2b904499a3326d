"""PostgreSQL frontend/backend protocol v3 framing, without I/O.

The server feeds bytes in and gets whole messages out; it builds replies with the
functions below. Nothing here touches a socket, so tests drive it with plain bytes
(in the manner of h11). Message layouts follow the PostgreSQL manual, chapter
"Frontend/Backend Protocol", section "Message Formats".

A *frame* is one whole message as it travels on the wire: the type byte, the Int32
length (which counts itself but not the type byte) and the body.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

PROTOCOL_V3 = 196608  # 3.0
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102

# Startup packets are small; a bigger length means garbage, not a client.
MAX_STARTUP_LENGTH = 10_000
# PostgreSQL's own limit for a message body is 1 GB.
MAX_MESSAGE_LENGTH = 1 << 30

_I16 = struct.Struct("!h")
_I32 = struct.Struct("!i")
_HEADER = struct.Struct("!ci")
_II = struct.Struct("!ii")

# Error and notice field codes (protocol "Error and Notice Message Fields").
FIELD_ORDER = "SVCMDHPpqWstcdnFLR"


class ProtocolError(Exception):
    """The peer sent bytes that are not a valid protocol message."""


# --------------------------------------------------------------------------- parsing


_KINDS = [bytes([i]) for i in range(256)]


class MessageBuffer:
    """Accumulates bytes and cuts them into typed frames.

    >>> buf = MessageBuffer()
    >>> buf.feed(b"Z\\x00\\x00\\x00\\x05I")
    >>> buf.frames()
    [(b'Z', b'Z\\x00\\x00\\x00\\x05I')]

    Chunks are kept as received and joined only once a whole frame is there, so a large
    message arriving in many chunks costs one copy, not one per chunk.
    """

    __slots__ = ("_need", "_parts", "_size")

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0
        self._need = 1  # bytes needed before a frame can be complete

    def feed(self, data: bytes) -> None:
        if data:
            self._parts.append(data if type(data) is bytes else bytes(data))
            self._size += len(data)

    def __len__(self) -> int:
        return self._size

    def _joined(self) -> bytes:
        parts = self._parts
        if len(parts) == 1:
            return parts[0]
        data = b"".join(parts)
        self._parts = [data]
        return data

    def _keep(self, data: bytes, pos: int) -> None:
        rest = data[pos:] if pos else data
        self._parts = [rest] if rest else []
        self._size = len(rest)

    def frames(self) -> list[tuple[bytes, bytes]]:
        """Every complete frame received so far, as ``(type byte, whole frame)``."""
        if self._size < self._need or not self._parts:
            return []
        return self._split(self._joined())

    def frames_from(self, data: bytes) -> list[tuple[bytes, bytes]]:
        """``feed(data)`` then ``frames()``, without copying when nothing is buffered."""
        if self._size or type(data) is not bytes:
            self.feed(data)
            return self.frames()
        return self._split(data)

    def _split(self, data: bytes) -> list[tuple[bytes, bytes]]:
        """Cut ``data`` (everything buffered) into frames; keep the incomplete tail.

        A frame that is all of ``data`` is ``data`` itself: slicing bytes whole makes no copy.
        """
        end = len(data)
        pos = 0
        out: list[tuple[bytes, bytes]] = []
        unpack = _I32.unpack_from
        kinds = _KINDS
        need = 5
        while end - pos >= 5:
            length = unpack(data, pos + 1)[0]
            if length < 4 or length > MAX_MESSAGE_LENGTH:
                raise ProtocolError(f"invalid message length {length}")
            stop = pos + 1 + length
            if stop > end:
                need = 1 + length
                break
            out.append((kinds[data[pos]], data[pos:stop]))
            pos = stop
        self._keep(data, pos)
        self._need = need
        return out

    def startup_frame(self) -> bytes | None:
        """The first untyped frame (startup, SSLRequest, CancelRequest), body only."""
        if self._size < 4:
            return None
        data = self._joined()
        length = _I32.unpack_from(data, 0)[0]
        if length < 8 or length > MAX_STARTUP_LENGTH:
            raise ProtocolError(f"invalid startup packet length {length}")
        if len(data) < length:
            return None
        self._keep(data, length)
        self._need = 1
        return data[4:length]

    def take_rest(self) -> bytes:
        data = self._joined() if self._parts else b""
        self._keep(b"", 0)
        self._need = 1
        return data


@dataclass
class Startup:
    """A parsed untyped frame from a client."""

    kind: str  # "startup", "ssl", "gssenc" or "cancel"
    params: dict[str, str] = field(default_factory=dict)
    process_id: int = 0
    secret_key: bytes = b""
    version: int = PROTOCOL_V3


def parse_startup(body: bytes) -> Startup:
    code = _I32.unpack_from(body, 0)[0]
    if code == SSL_REQUEST:
        return Startup("ssl", version=code)
    if code == GSSENC_REQUEST:
        return Startup("gssenc", version=code)
    if code == CANCEL_REQUEST:
        if len(body) < 12:
            raise ProtocolError("short CancelRequest")
        pid = _I32.unpack_from(body, 4)[0]
        return Startup("cancel", process_id=pid, secret_key=bytes(body[8:]), version=code)
    if code >> 16 != 3:
        raise ProtocolError(f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}")
    parts = bytes(body[4:]).split(b"\x00")
    # The list ends with a name of b"" (terminator) and the split's trailing b"".
    params: dict[str, str] = {}
    for i in range(0, len(parts) - 1, 2):
        name = parts[i]
        if not name:
            break
        if i + 1 >= len(parts):
            raise ProtocolError("startup parameter without a value")
        params[name.decode("utf-8", "replace")] = parts[i + 1].decode("utf-8", "replace")
    return Startup("startup", params=params, version=code)


def body(frame: bytes) -> bytes:
    return frame[5:]


def _cstring(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(b"\x00", pos)
    return data[pos:end].decode("utf-8", "surrogateescape"), end + 1


def parse_query(frame: bytes) -> str:
    """The SQL of a Query ('Q') frame."""
    return frame[5:-1].decode("utf-8", "surrogateescape")


@dataclass
class Parse:
    name: str
    sql: str
    param_types: bytes  # the Int16 count and the Int32 OIDs, kept as sent


def parse_parse(frame: bytes) -> Parse:
    name, pos = _cstring(frame, 5)
    sql, pos = _cstring(frame, pos)
    return Parse(name, sql, frame[pos:])


def parse_parse_head(frame: bytes, chars: int = 64) -> tuple[str, str]:
    """``(statement name, the first characters of its SQL)`` of a Parse ('P') frame,
    without decoding the rest (a long statement's)."""
    name, pos = _cstring(frame, 5)
    return name, frame[pos : pos + chars].split(b"\x00", 1)[0].decode("utf-8", "ignore")


def parse_bind_names(frame: bytes) -> tuple[str, str]:
    """``(portal, statement)`` of a Bind ('B') frame; the rest is relayed untouched."""
    portal, pos = _cstring(frame, 5)
    statement, _ = _cstring(frame, pos)
    return portal, statement


def parse_execute(frame: bytes) -> tuple[str, int]:
    portal, pos = _cstring(frame, 5)
    return portal, _I32.unpack_from(frame, pos)[0]


def parse_fields(frame: bytes) -> dict[str, str]:
    """Fields of an ErrorResponse ('E') or NoticeResponse ('N') frame."""
    fields: dict[str, str] = {}
    pos = 5
    end = len(frame)
    while pos < end and frame[pos] != 0:
        code = chr(frame[pos])
        value, pos = _cstring(frame, pos + 1)
        fields[code] = value
    return fields


def parse_data_row(frame: bytes) -> list[bytes | None]:
    """The column values of a DataRow ('D') frame, as sent (None for NULL)."""
    values: list[bytes | None] = []
    pos = 7
    for _ in range(_I16.unpack_from(frame, 5)[0]):
        size = _I32.unpack_from(frame, pos)[0]
        pos += 4
        if size < 0:
            values.append(None)
        else:
            values.append(frame[pos : pos + size])
            pos += size
    return values


_UPPER = bytes.maketrans(b"abcdefghijklmnopqrstuvwxyz", b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def upper_field_names(frame: bytes) -> bytes:
    """A RowDescription with its column names' ASCII letters in upper case (lengths and
    every other byte unchanged)."""
    out = bytearray(frame)
    (count,) = struct.unpack_from("!h", frame, 5)
    pos = 7
    for _ in range(count):
        end = frame.index(b"\x00", pos)
        out[pos:end] = frame[pos:end].translate(_UPPER)
        pos = end + 1 + 18  # table oid, attnum, type oid, typlen, typmod, format
    return bytes(out)


def parse_parameter_status(frame: bytes) -> tuple[str, str]:
    name, pos = _cstring(frame, 5)
    value, _ = _cstring(frame, pos)
    return name, value


def parse_command_complete(frame: bytes) -> str:
    return frame[5:-1].decode("ascii", "replace")


def parse_ready_for_query(frame: bytes) -> str:
    return chr(frame[5])


def parse_authentication(frame: bytes) -> tuple[int, bytes]:
    """``(code, extra data)`` of an Authentication ('R') frame."""
    return _I32.unpack_from(frame, 5)[0], frame[9:]


def parse_password(frame: bytes) -> str:
    return frame[5:-1].decode("utf-8", "surrogateescape")


def parse_backend_key_data(frame: bytes) -> tuple[int, bytes]:
    return _I32.unpack_from(frame, 5)[0], frame[9:]


# --------------------------------------------------------------------------- building


def message(kind: bytes, payload: bytes = b"") -> bytes:
    return _HEADER.pack(kind, len(payload) + 4) + payload


def _cstr(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape") + b"\x00"


def startup_message(params: dict[str, str]) -> bytes:
    payload = _I32.pack(PROTOCOL_V3) + b"".join(_cstr(k) + _cstr(v) for k, v in params.items())
    payload += b"\x00"
    return _I32.pack(len(payload) + 4) + payload


def ssl_request() -> bytes:
    return _II.pack(8, SSL_REQUEST)


def cancel_request(process_id: int, secret_key: bytes) -> bytes:
    return _II.pack(12 + len(secret_key), CANCEL_REQUEST) + _I32.pack(process_id) + secret_key


def query(sql: str) -> bytes:
    return message(b"Q", _cstr(sql))


def parse(name: str, sql: str, param_types: bytes = b"\x00\x00") -> bytes:
    return message(b"P", _cstr(name) + _cstr(sql) + param_types)


def bind(portal: str = "", statement: str = "") -> bytes:
    """A Bind with no parameters and text results."""
    return message(b"B", _cstr(portal) + _cstr(statement) + b"\x00\x00\x00\x00\x00\x00")


def execute(portal: str = "", max_rows: int = 0) -> bytes:
    return message(b"E", _cstr(portal) + _I32.pack(max_rows))


SYNC = message(b"S")
FLUSH = message(b"H")
TERMINATE = message(b"X")
PARSE_COMPLETE = message(b"1")
BIND_COMPLETE = message(b"2")
AUTHENTICATION_OK = message(b"R", _I32.pack(0))
AUTHENTICATION_CLEARTEXT = message(b"R", _I32.pack(3))


def password_message(password: str) -> bytes:
    return message(b"p", _cstr(password))


def md5_password(user: str, password: str, salt: bytes) -> str:
    inner = hashlib.md5((password + user).encode()).hexdigest()  # the protocol's MD5 scheme
    return "md5" + hashlib.md5(inner.encode() + salt).hexdigest()


def ready_for_query(status: str) -> bytes:
    return message(b"Z", status.encode("ascii"))


def parameter_status(name: str, value: str) -> bytes:
    return message(b"S", _cstr(name) + _cstr(value))


def command_complete(tag: str) -> bytes:
    return message(b"C", _cstr(tag))


def error_response(fields: dict[str, str]) -> bytes:
    """An ErrorResponse; the fields are written in the order PostgreSQL uses."""
    known = [code for code in FIELD_ORDER if code in fields]
    rest = [code for code in fields if code not in FIELD_ORDER]
    payload = b"".join(code.encode("ascii") + _cstr(fields[code]) for code in known + rest)
    return message(b"E", payload + b"\x00")


def error_fields(
    message_text: str,
    sqlstate: str = "XX000",
    *,
    severity: str = "ERROR",
    detail: str | None = None,
    hint: str | None = None,
) -> dict[str, str]:
    fields = {"S": severity, "V": severity, "C": sqlstate, "M": message_text}
    if detail:
        fields["D"] = detail
    if hint:
        fields["H"] = hint
    return fields


def negotiate_protocol_version(newest_minor: int, unsupported: list[str]) -> bytes:
    """NegotiateProtocolVersion ('v'): the client asked for a newer minor version or options."""
    payload = _I32.pack(newest_minor) + _I32.pack(len(unsupported))
    return message(b"v", payload + b"".join(_cstr(name) for name in unsupported))


def backend_key_data(process_id: int, secret_key: bytes) -> bytes:
    return message(b"K", _I32.pack(process_id) + secret_key)
