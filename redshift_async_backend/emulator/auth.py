"""Passwords as Redshift stores and checks them, without I/O.

Stored forms (the text kept in ``pg_authid.rolpassword`` upstream, which only a PostgreSQL
superuser can read):

* ``md5<32 hex>``: MD5 of the password followed by the user name. Redshift keeps a clear
  text password this way and a client may hand one over already hashed (DG:r_CREATE_USER).
* ``sha256|<64 hex>|<salt>``: SHA-256 of the password followed by the salt; Redshift's
  ``'sha256|…'`` forms (DG:r_CREATE_USER).
* ``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>``: PostgreSQL's own verifier,
  for a role whose password was set on PostgreSQL directly.

Exchanges with the client, one object per login (the server feeds it the client's frames):
MD5 (``AuthenticationMD5Password``, what Redshift asks), SCRAM-SHA-256 (RFC 5802/7677, as
PostgreSQL does it, without channel binding), Redshift's SHA-256 digest
(``AUTH_REQ_DIGEST``, code 13, which redshift_connector answers) and clear text (needed
when a ``password_check`` must see the password itself).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

from . import protocol as pq

_I32 = struct.Struct("!i")
_MD5 = re.compile(r"md5[0-9a-f]{32}")
_SHA256 = re.compile(r"sha256\|([0-9a-fA-F]{64})\|(.+)", re.S)
_SCRAM = re.compile(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)")
SCRAM_ITERATIONS = 4096
DIGEST_SHA256 = 0  # the algorithm number redshift_connector's ExtensibleDigest knows


class PasswordError(ValueError):
    """A password Redshift would not accept (the message says why)."""


# --------------------------------------------------------------------------- stored forms


def md5_verifier(user: str, password: str) -> str:
    inner = password.encode("utf-8") + user.encode("utf-8")
    return "md5" + hashlib.md5(inner).hexdigest()  # the protocol's MD5 scheme


def sha256_verifier(password: str, salt: str) -> str:
    digest = hashlib.sha256(password.encode("utf-8") + salt.encode("utf-8")).hexdigest()
    return f"sha256|{digest}|{salt}"


def _scram_keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    return hashlib.sha256(client_key).digest(), server_key


def scram_verifier(password: str, salt: bytes | None = None, iterations: int = 4096) -> str:
    salt = salt if salt is not None else os.urandom(16)
    stored_key, server_key = _scram_keys(password, salt, iterations)
    b64 = base64.b64encode
    return (
        f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}$"
        f"{b64(stored_key).decode()}:{b64(server_key).decode()}"
    )


def check_clear_text_rules(password: str) -> None:
    """Redshift's rules for a clear text password (DG:r_CREATE_USER)."""
    if not 8 <= len(password) <= 64:
        raise PasswordError("password must be 8 to 64 characters long")
    if not re.search(r"[A-Z]", password):
        raise PasswordError("password must contain an uppercase letter")
    if not re.search(r"[a-z]", password):
        raise PasswordError("password must contain a lowercase letter")
    if not re.search(r"[0-9]", password):
        raise PasswordError("password must contain a number")
    for char in password:
        if not 33 <= ord(char) <= 126 or char in "'\"\\/@":
            raise PasswordError(
                "password may use ASCII characters 33 to 126 except ' \" \\ / and @"
            )


def stored_form(password: str, user: str) -> str:
    """What to keep for ``PASSWORD '<password>'`` of ``user`` (DG:r_CREATE_USER).

    ``md5<32 hex>`` is kept as given (the client hashed ``password + user``); ``sha256|<64
    hex>|<salt>`` likewise; ``sha256|<clear text>`` gets a random salt; anything else is
    clear text, checked against Redshift's rules and kept as its MD5 form.
    """
    if re.fullmatch(r"md5[0-9a-fA-F]{32}", password):
        return password.lower()
    if password.startswith("sha256|"):
        match = _SHA256.fullmatch(password)
        if match:
            return f"sha256|{match.group(1).lower()}|{match.group(2)}"
        clear = password[len("sha256|") :]
        check_clear_text_rules(clear)
        return sha256_verifier(clear, os.urandom(16).hex())
    check_clear_text_rules(password)
    return md5_verifier(user, password)


@dataclass(frozen=True)
class Verifier:
    """A parsed stored form: ``kind`` is "md5", "sha256" or "scram"."""

    kind: str
    text: str

    @classmethod
    def parse(cls, text: str | None) -> Verifier | None:
        if not text:
            return None
        if _MD5.fullmatch(text):
            return cls("md5", text)
        if _SHA256.fullmatch(text):
            return cls("sha256", text)
        if _SCRAM.fullmatch(text):
            return cls("scram", text)
        return None  # a form the emulator cannot check: no password login

    def matches(self, user: str, password: str) -> bool:
        """Whether a clear text ``password`` is this verifier's."""
        if self.kind == "md5":
            expected = md5_verifier(user, password)
        elif self.kind == "sha256":
            expected = sha256_verifier(password, self._sha256()[1])
        else:
            iterations, salt, stored, server = self._scram()
            keys = _scram_keys(password, salt, iterations)
            return hmac.compare_digest(keys[0], stored) and hmac.compare_digest(keys[1], server)
        return hmac.compare_digest(expected.encode(), self.text.encode())

    def _sha256(self) -> tuple[bytes, str]:
        match = _SHA256.fullmatch(self.text)
        assert match is not None
        return bytes.fromhex(match.group(1)), match.group(2)

    def _scram(self) -> tuple[int, bytes, bytes, bytes]:
        match = _SCRAM.fullmatch(self.text)
        assert match is not None
        b64 = base64.b64decode
        return int(match.group(1)), b64(match.group(2)), b64(match.group(3)), b64(match.group(4))


# --------------------------------------------------------------------------- exchanges


class Exchange:
    """One login's conversation with the client.

    ``start()`` gives the first Authentication message; each client frame goes to
    ``receive()``, which answers the next message to send (``b""`` when there is none).
    Once ``done`` is true, ``ok`` says whether the password was right.
    """

    done = False
    ok = False
    password: str | None = None  # the clear text, when the client sent it

    def start(self) -> bytes:
        raise NotImplementedError

    def receive(self, kind: bytes, frame: bytes) -> bytes:
        raise NotImplementedError

    def _finish(self, ok: bool) -> bytes:
        self.done, self.ok = True, ok
        return b""


class ClearText(Exchange):
    """AuthenticationCleartextPassword; ``check(password)`` decides."""

    def __init__(self, check: Callable[[str], bool] | None = None) -> None:
        self._check = check

    def start(self) -> bytes:
        return pq.AUTHENTICATION_CLEARTEXT

    def receive(self, kind: bytes, frame: bytes) -> bytes:
        if kind != b"p":
            return self._finish(False)
        self.password = pq.parse_password(frame)
        return self._finish(self._check is not None and self._check(self.password))


class Md5(Exchange):
    """AuthenticationMD5Password: the client proves it knows ``md5(password + user)``."""

    def __init__(self, verifier: Verifier | None, salt: bytes | None = None) -> None:
        # Without a verifier the exchange still runs and fails, so that a client cannot
        # tell a user without a password from a wrong password.
        self._stored = verifier.text if verifier is not None and verifier.kind == "md5" else None
        self._salt = salt if salt is not None else os.urandom(4)

    def start(self) -> bytes:
        return pq.message(b"R", _I32.pack(5) + self._salt)

    def receive(self, kind: bytes, frame: bytes) -> bytes:
        if kind != b"p" or self._stored is None:
            return self._finish(False)
        answer = pq.parse_password(frame)
        expected = "md5" + hashlib.md5(self._stored[3:].encode() + self._salt).hexdigest()
        return self._finish(hmac.compare_digest(answer.encode(), expected.encode()))


class Scram(Exchange):
    """SCRAM-SHA-256 against a PostgreSQL verifier (no channel binding is offered)."""

    def __init__(self, verifier: Verifier, nonce: bytes | None = None) -> None:
        self._iterations, self._salt, self._stored, self._server_key = verifier._scram()
        self._nonce = base64.b64encode(nonce if nonce is not None else os.urandom(18)).decode()
        self._client_first_bare = ""
        self._server_first = ""

    def start(self) -> bytes:
        return pq.message(b"R", _I32.pack(10) + b"SCRAM-SHA-256\x00\x00")

    def receive(self, kind: bytes, frame: bytes) -> bytes:
        if kind != b"p":
            return self._finish(False)
        try:
            if not self._server_first:
                return self._first(frame)
            return self._final(frame)
        except (ValueError, IndexError, struct.error):
            return self._finish(False)

    def _first(self, frame: bytes) -> bytes:
        end = frame.index(b"\x00", 5)
        if frame[5:end] != b"SCRAM-SHA-256":
            return self._finish(False)
        size = _I32.unpack_from(frame, end + 1)[0]
        message = frame[end + 5 : end + 5 + size].decode("utf-8")
        gs2, _, bare = message.partition(",")
        authzid, _, bare = bare.partition(",")
        if gs2 not in ("n", "y") or authzid:
            return self._finish(False)  # channel binding ("p=") and authzid: not offered
        attributes = dict(part.split("=", 1) for part in bare.split(","))
        client_nonce = attributes["r"]
        self._client_first_bare = bare
        self._gs2 = f"{gs2},,"
        self._server_first = (
            f"r={client_nonce}{self._nonce},s={base64.b64encode(self._salt).decode()},"
            f"i={self._iterations}"
        )
        return pq.message(b"R", _I32.pack(11) + self._server_first.encode())

    def _final(self, frame: bytes) -> bytes:
        message = frame[5:].decode("utf-8")
        without_proof, _, proof = message.rpartition(",p=")
        attributes = dict(part.split("=", 1) for part in without_proof.split(","))
        binding = base64.b64decode(attributes["c"]).decode()
        nonce_ok = attributes["r"].endswith(self._nonce) and attributes["r"] in self._server_first
        if binding != self._gs2 or not nonce_ok:
            return self._finish(False)
        auth_message = f"{self._client_first_bare},{self._server_first},{without_proof}".encode()
        signature = hmac.new(self._stored, auth_message, "sha256").digest()
        client_key = bytes(a ^ b for a, b in zip(base64.b64decode(proof), signature, strict=True))
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(), self._stored):
            return self._finish(False)
        server_signature = hmac.new(self._server_key, auth_message, "sha256").digest()
        self._finish(True)
        return pq.message(b"R", _I32.pack(12) + b"v=" + base64.b64encode(server_signature))


class Digest(Exchange):
    """Redshift's AUTH_REQ_DIGEST with SHA-256: the client sends
    ``sha256(sha256(password + salt) + server_nonce + client_nonce)`` and its nonce."""

    def __init__(self, verifier: Verifier, nonce: bytes | None = None) -> None:
        self._digest, salt = verifier._sha256()
        self._salt = salt.encode("utf-8")
        self._nonce = nonce if nonce is not None else os.urandom(16).hex().encode()

    def start(self) -> bytes:
        payload = (
            _I32.pack(13)
            + _I32.pack(DIGEST_SHA256)
            + _I32.pack(len(self._salt))
            + self._salt
            + _I32.pack(len(self._nonce))
            + self._nonce
        )
        return pq.message(b"R", payload)

    def receive(self, kind: bytes, frame: bytes) -> bytes:
        if kind != b"d":
            return self._finish(False)
        try:
            size = _I32.unpack_from(frame, 5)[0]
            answer = frame[9 : 9 + size]
            nonce_size = _I32.unpack_from(frame, 9 + size)[0]
            client_nonce = frame[13 + size : 13 + size + nonce_size]
        except struct.error:
            return self._finish(False)
        expected = hashlib.sha256(self._digest + self._nonce + client_nonce).digest()
        return self._finish(hmac.compare_digest(answer, expected))
