"""Passwords and login decisions, without sockets: auth.py and roles.py.

The client side of each exchange is a real client's code: libpq's MD5 formula, scramp's
SCRAM client (redshift_connector's), redshift_connector's ExtensibleDigest.
"""

from __future__ import annotations

import hashlib
import struct

import pytest
from redshift_connector.utils.extensible_digest import ExtensibleDigest
from scramp import ScramClient

from redshift_async_backend.emulator import auth, roles
from redshift_async_backend.emulator import protocol as pq

pytestmark = pytest.mark.unit

_I32 = struct.Struct("!i")


def password_frame(text: str) -> bytes:
    return pq.password_message(text)


# --------------------------------------------------------------------------- stored forms


def test_clear_text_is_kept_as_md5_of_password_and_user() -> None:
    # DG:r_CREATE_USER: an MD5 password is md5(password + user name).
    stored = auth.stored_form("Ezpass12", "alice")
    assert stored == "md5" + hashlib.md5(b"Ezpass12alice").hexdigest()


def test_md5_and_sha256_forms_are_kept_as_given() -> None:
    md5 = "md5" + hashlib.md5(b"Ezpass12alice").hexdigest()
    assert auth.stored_form(md5.upper().replace("MD5", "md5"), "alice") == md5
    digest = hashlib.sha256(b"Ezpass12" + b"salt").hexdigest()
    assert auth.stored_form(f"sha256|{digest}|salt", "alice") == f"sha256|{digest}|salt"


def test_sha256_clear_text_gets_a_random_salt() -> None:
    one = auth.Verifier.parse(auth.stored_form("sha256|Ezpass12", "alice"))
    two = auth.Verifier.parse(auth.stored_form("sha256|Ezpass12", "alice"))
    assert one is not None and two is not None and one.kind == "sha256"
    assert one.text != two.text
    assert one.matches("alice", "Ezpass12") and two.matches("alice", "Ezpass12")
    assert not one.matches("alice", "Ezpass13")


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("Ab1", "8 to 64"),
        ("A" * 40 + "b1" + "c" * 30, "8 to 64"),
        ("ezpass12", "uppercase"),
        ("EZPASS12", "lowercase"),
        ("Ezpasswd", "number"),
        ("Ezpass 12", "ASCII"),
        ("Ezpass12@", "ASCII"),
        ("Ezpass12/", "ASCII"),
        ("Ezpäss12", "ASCII"),
    ],
)
def test_clear_text_must_meet_redshift_rules(password: str, why: str) -> None:
    # DG:r_CREATE_USER: 8 to 64 characters, an uppercase letter, a lowercase letter, a
    # digit; ASCII 33-126 except ' " \ / @.
    with pytest.raises(auth.PasswordError, match=why):
        auth.stored_form(password, "alice")


def test_verifier_parse_knows_each_form_and_nothing_else() -> None:
    assert auth.Verifier.parse(None) is None
    assert auth.Verifier.parse("") is None
    assert auth.Verifier.parse("plain text") is None
    assert auth.Verifier.parse(auth.md5_verifier("u", "p")).kind == "md5"  # type: ignore[union-attr]
    assert auth.Verifier.parse(auth.scram_verifier("p")).kind == "scram"  # type: ignore[union-attr]
    assert auth.Verifier.parse(auth.sha256_verifier("p", "s")).kind == "sha256"  # type: ignore[union-attr]


# --------------------------------------------------------------------------- exchanges


def run(exchange: auth.Exchange, answers: list[tuple[bytes, bytes]]) -> bool:
    exchange.start()
    for kind, frame in answers:
        exchange.receive(kind, frame)
        if exchange.done:
            break
    return exchange.done and exchange.ok


def md5_answer(user: str, password: str, salt: bytes) -> bytes:
    # What libpq and redshift_connector send: md5(md5(password + user) + salt).
    return password_frame(pq.md5_password(user, password, salt))


def test_md5_exchange() -> None:
    verifier = auth.Verifier.parse(auth.md5_verifier("alice", "Ezpass12"))
    salt = b"\x01\x02\x03\x04"
    assert auth.Md5(verifier, salt).start() == pq.message(b"R", _I32.pack(5) + salt)
    assert run(auth.Md5(verifier, salt), [(b"p", md5_answer("alice", "Ezpass12", salt))])
    assert not run(auth.Md5(verifier, salt), [(b"p", md5_answer("alice", "Wrong123", salt))])
    # The same password as another user's: md5 mixes the user name in.
    assert not run(auth.Md5(verifier, salt), [(b"p", md5_answer("bob", "Ezpass12", salt))])
    # No verifier (no such user, or no password): asked, and refused.
    assert not run(auth.Md5(None, salt), [(b"p", md5_answer("alice", "Ezpass12", salt))])
    assert not run(auth.Md5(verifier, salt), [(b"Q", pq.query("SELECT 1"))])


def scram_login(verifier_text: str, password: str) -> tuple[bool, ScramClient]:
    verifier = auth.Verifier.parse(verifier_text)
    assert verifier is not None
    server = auth.Scram(verifier)
    assert server.start() == pq.message(b"R", _I32.pack(10) + b"SCRAM-SHA-256\x00\x00")
    client = ScramClient(["SCRAM-SHA-256"], "alice", password)
    first = client.get_client_first().encode()
    reply = server.receive(
        b"p", pq.message(b"p", b"SCRAM-SHA-256\x00" + _I32.pack(len(first)) + first)
    )
    code, data = pq.parse_authentication(reply)
    assert code == 11
    client.set_server_first(data.decode())
    final = server.receive(b"p", pq.message(b"p", client.get_client_final().encode()))
    if server.ok:
        code, data = pq.parse_authentication(final)
        assert code == 12
        client.set_server_final(data.decode())  # raises if the server's signature is wrong
    return server.done and server.ok, client


def test_scram_exchange_with_scramp_client() -> None:
    stored = auth.scram_verifier("Ezpass12")
    assert scram_login(stored, "Ezpass12")[0]
    assert not scram_login(stored, "Ezpass13")[0]


def test_scram_refuses_channel_binding_it_did_not_offer() -> None:
    server = auth.Scram(auth.Verifier.parse(auth.scram_verifier("x")))  # type: ignore[arg-type]
    server.start()
    first = b"p=tls-server-end-point,,n=,r=abc"
    server.receive(b"p", pq.message(b"p", b"SCRAM-SHA-256\x00" + _I32.pack(len(first)) + first))
    assert server.done and not server.ok


def test_digest_exchange_with_redshift_connectors_formula() -> None:
    verifier = auth.Verifier.parse(auth.sha256_verifier("Ezpass12", "pepper"))
    assert verifier is not None
    server = auth.Digest(verifier, nonce=b"server-nonce")
    request = server.start()
    code, data = pq.parse_authentication(request)
    assert code == 13 and _I32.unpack_from(data, 0)[0] == auth.DIGEST_SHA256
    salt_len = _I32.unpack_from(data, 4)[0]
    salt = data[8 : 8 + salt_len]
    nonce = data[12 + salt_len :]
    assert salt == b"pepper" and nonce == b"server-nonce"

    def answer(password: bytes) -> bytes:
        digest = ExtensibleDigest.encode(b"1700000000000", password, salt, "SHA256", nonce)
        body = _I32.pack(len(digest)) + digest + _I32.pack(13) + b"1700000000000"
        return pq.message(b"d", body)

    assert run(auth.Digest(verifier, nonce=b"server-nonce"), [(b"d", answer(b"Ezpass12"))])
    assert not run(auth.Digest(verifier, nonce=b"server-nonce"), [(b"d", answer(b"Ezpass13"))])
    assert not run(auth.Digest(verifier, nonce=b"server-nonce"), [(b"d", b"d\x00\x00\x00\x05x")])


def test_clear_text_exchange_hands_the_password_to_its_check() -> None:
    seen: list[str] = []
    exchange = auth.ClearText(lambda p: seen.append(p) or p == "right")
    assert exchange.start() == pq.AUTHENTICATION_CLEARTEXT
    assert run(exchange, [(b"p", password_frame("right"))])
    assert exchange.password == "right" and seen == ["right"]
    assert not run(auth.ClearText(lambda p: True), [(b"X", pq.TERMINATE)])


# --------------------------------------------------------------------------- decisions


TRUST = roles.LoginPolicy()
LOCKED = roles.LoginPolicy(passwords={"awsuser": "Admin123"}, trust=False)


def account(name: str = "alice", **kwargs: object) -> roles.Account:
    return roles.Account(name, exists=True, can_login=True, **kwargs)  # type: ignore[arg-type]


def md5(user: str, password: str) -> auth.Verifier:
    verifier = auth.Verifier.parse(auth.md5_verifier(user, password))
    assert verifier is not None
    return verifier


def test_iam_prefixes_name_the_users_own_role() -> None:
    # Redshift: GetClusterCredentials returns IAM:<user> or, with AutoCreate, IAMA:<user>.
    assert roles.login_role("IAM:app") == "app"
    assert roles.login_role("IAMA:app") == "app"
    assert roles.login_role("iam:app") == "app"
    assert roles.login_role("app") == "app"
    assert roles.login_role("IAMX:app") == "IAMX:app"


def test_no_client_is_let_in_as_a_postgresql_superuser() -> None:
    for policy in (TRUST, LOCKED):
        decision = roles.decide("postgres", account("postgres", pg_superuser=True), policy, {})
        assert decision.refuse is not None and decision.refuse[1] == "28000"
        assert "superuser" in decision.refuse[0]


def test_trust_lets_passwordless_users_in_but_asks_those_with_a_password() -> None:
    assert roles.decide("alice", account(), TRUST, {}).exchange == "trust"
    decision = roles.decide("alice", account(verifier=md5("alice", "Ezpass12")), TRUST, {})
    assert decision.exchange == "md5"


def test_unknown_users() -> None:
    refused = roles.decide("nobody", roles.Account("nobody"), TRUST, {})
    assert refused.refuse == ('user "nobody" does not exist', "28000")
    # With passwords, an unknown user is asked for one like anyone else (and refused).
    asked = roles.decide("nobody", roles.Account("nobody"), LOCKED, {})
    assert asked.exchange == "md5" and asked.verifier is None


def test_groups_cannot_log_in() -> None:
    group = roles.Account("staff", exists=True, can_login=False)
    assert roles.decide("staff", group, TRUST, {}).refuse is not None


def test_passwords_the_emulator_was_given_win_over_stored_ones() -> None:
    decision = roles.decide(
        "awsuser", account("awsuser", verifier=md5("awsuser", "Stored12")), LOCKED, {}
    )
    assert decision.exchange == "md5"
    assert decision.verifier == md5("awsuser", "Admin123")
    # Without the trust of the default, a user without a password cannot log in.
    assert roles.decide("alice", account(), LOCKED, {}).exchange == "md5"


def test_sha256_users_get_the_digest_from_redshift_drivers_and_clear_text_otherwise() -> None:
    sha = auth.Verifier.parse(auth.sha256_verifier("Ezpass12", "salt"))
    rc_params = {"client_protocol_version": "2"}
    assert roles.decide("alice", account(verifier=sha), TRUST, rc_params).exchange == "digest"
    assert roles.decide("alice", account(verifier=sha), TRUST, {}).exchange == "clear"


def test_password_check_is_asked_in_clear_text_and_creates_new_users() -> None:
    calls: list[tuple[str, str, str]] = []

    def check(user: str, password: str, database: str) -> bool:
        calls.append((user, password, database))
        return password == "token"

    policy = roles.LoginPolicy(trust=False, password_check=check)
    new = roles.decide("IAM:app", roles.Account("app"), policy, {})
    assert new.exchange == "clear" and new.create
    assert roles.password_accepted(new, "IAM:app", "token", policy, "dev")
    assert not roles.password_accepted(new, "IAM:app", "forged", policy, "dev")
    assert calls == [("IAM:app", "token", "dev"), ("IAM:app", "forged", "dev")]
    # A user's own password still works beside the check.
    own = roles.decide("alice", account(verifier=md5("alice", "Ezpass12")), policy, {})
    assert not own.create
    assert roles.password_accepted(own, "alice", "Ezpass12", policy, "dev")


def test_an_expired_password_is_marked() -> None:
    decision = roles.decide(
        "alice", account(verifier=md5("alice", "Ezpass12"), expired=True), TRUST, {}
    )
    assert decision.expired
