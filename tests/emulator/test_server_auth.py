"""Authentication: trust on loopback, the admin password, a user/password map, a callable
check (the IAM stand-in), optional TLS. Users created with CREATE USER: test_server_users.py."""

from __future__ import annotations

import datetime as dt
import logging
import ssl
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import redshift_connector

from redshift_async_backend.emulator import Emulator

pytestmark = pytest.mark.integration


def dsn(emu: Emulator, user: str, password: str | None = None) -> str:
    conninfo = f"host={emu.host} port={emu.port} dbname={emu.database} user={user}"
    if password is not None:
        conninfo += f" password={password}"
    return conninfo + " connect_timeout=10"


def test_trust_by_default_on_loopback(emulator: Emulator, pg_url: str) -> None:
    # Passwordless on loopback, as before; but the session is the admin user's own role,
    # which is no PostgreSQL superuser (docs/emulator.md, "Security").
    with psycopg.connect(dsn(emulator, emulator.admin_user)) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (emulator.admin_user,)
    with psycopg.connect(pg_url) as up:
        assert up.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = %s", (emulator.admin_user,)
        ).fetchone() == (False,)
    with pytest.raises(psycopg.OperationalError, match='user "someone_else" does not exist'):
        psycopg.connect(dsn(emulator, "someone_else"))


def test_no_client_logs_in_as_the_upstream_superuser(emulator: Emulator, pg_url: str) -> None:
    superuser = urlsplit(pg_url).username or "postgres"
    for driver_connect in (
        lambda: psycopg.connect(dsn(emulator, superuser)),
        lambda: redshift_connector.connect(
            host=emulator.host,
            port=emulator.port,
            database=emulator.database,
            user=superuser,
            password="x",
            ssl=False,
        ),
    ):
        with pytest.raises((psycopg.OperationalError, redshift_connector.Error), match="superuser"):
            driver_connect()


def test_admin_password(pg_url: str) -> None:
    with Emulator(upstream=pg_url, admin_password="Admin-pw-1") as emu:
        assert emu.url.endswith(f"{emu.admin_user}@{emu.host}:{emu.port}/{emu.database}")
        with psycopg.connect(dsn(emu, emu.admin_user, "Admin-pw-1")) as conn:
            assert conn.execute("SELECT current_user").fetchone() == (emu.admin_user,)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(dsn(emu, emu.admin_user, "Admin-pw-2"))
        with pytest.raises(psycopg.OperationalError, match="no password supplied"):
            psycopg.connect(dsn(emu, emu.admin_user))
        rc = redshift_connector.connect(
            host=emu.host,
            port=emu.port,
            database=emu.database,
            user=emu.admin_user,
            password="Admin-pw-1",
            ssl=False,
        )
        rc.close()


def test_listening_beyond_loopback_needs_passwords(pg_url: str) -> None:
    with pytest.raises(ValueError, match="without passwords") as info:
        Emulator(upstream=pg_url, host="0.0.0.0")
    assert "insecure_trust" in str(info.value)
    # With an admin password, or when told to insist, it starts.
    Emulator(upstream=pg_url, host="0.0.0.0", admin_password="Admin-pw-1")
    Emulator(upstream=pg_url, host="0.0.0.0", insecure_trust=True)
    Emulator(upstream=pg_url, host="localhost")
    Emulator(upstream=pg_url, host="::1")


def test_user_map(pg_url: str) -> None:
    # Ordinary users with passwords this emulator was given, made upstream if missing.
    with Emulator(upstream=pg_url, users={"app": "right-pw"}) as emu:
        with psycopg.connect(dsn(emu, "app", "right-pw")) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("app",)
        with pytest.raises(psycopg.OperationalError, match='authentication failed for user "app"'):
            psycopg.connect(dsn(emu, "app", "wrong-pw"))
        with pytest.raises(psycopg.OperationalError, match="authentication failed"):
            psycopg.connect(dsn(emu, "stranger", "right-pw"))
        with pytest.raises(psycopg.OperationalError, match="no password supplied"):
            psycopg.connect(dsn(emu, "app"))
        # The admin has no password here: with passwords, nobody logs in without one.
        with pytest.raises(psycopg.OperationalError, match="authentication failed"):
            psycopg.connect(dsn(emu, emu.admin_user, "anything"))


class TokenIssuer:
    """Stands in for an IAM credential service: issues passwords that expire."""

    def __init__(self) -> None:
        self.issued: dict[str, float] = {}
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def issue(self, lifetime: float) -> str:
        token = f"IAM:{len(self.issued)}:{time.monotonic()}"
        self.issued[token] = time.monotonic() + lifetime
        return token

    def check(self, user: str, password: str, database: str) -> bool:
        with self.lock:
            self.calls.append((user, database))
        expires = self.issued.get(password)
        return user == "IAM:app" and expires is not None and time.monotonic() < expires


def test_password_check_callable(pg_url: str) -> None:
    issuer = TokenIssuer()
    with Emulator(upstream=pg_url, password_check=issuer.check) as emu:
        fresh = issuer.issue(lifetime=60)
        with psycopg.connect(dsn(emu, "IAM:app", fresh)) as conn:
            # The session is the user's own (GetClusterCredentials' AutoCreate made it).
            assert conn.execute("SELECT current_user").fetchone() == ("app",)
        assert issuer.calls[-1] == ("IAM:app", emu.database)

        stale = issuer.issue(lifetime=-1)
        with pytest.raises(psycopg.OperationalError, match="authentication failed"):
            psycopg.connect(dsn(emu, "IAM:app", stale))
        with pytest.raises(psycopg.OperationalError, match="authentication failed"):
            psycopg.connect(dsn(emu, "IAM:app", "made-up"))

        # redshift_connector answers the cleartext request the same way.
        rc = redshift_connector.connect(
            host=emu.host,
            port=emu.port,
            database=emu.database,
            user="IAM:app",
            password=issuer.issue(lifetime=60),
            ssl=False,
        )
        rc.close()


def test_password_never_logged_or_shown(pg_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "Sup3r-Secret-Value"
    with Emulator(upstream=pg_url, users={"app": secret}) as emu:
        with psycopg.connect(dsn(emu, "app", secret)) as conn:
            conn.execute("SELECT 1")
        with pytest.raises(psycopg.OperationalError) as info:
            psycopg.connect(dsn(emu, "app", secret + "x"))
        shown = repr(emu) + emu.url + str(emu.stats())
    assert secret not in shown
    assert secret not in str(info.value)
    assert secret not in caplog.text


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_tls_with_a_context(pg_url: str, tls_files: tuple[Path, Path]) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_files)
    with (
        Emulator(upstream=pg_url, ssl_context=context, users={"app": "pw"}) as emu,
        psycopg.connect(dsn(emu, "app", "pw") + " sslmode=require") as conn,
    ):
        assert conn.info.pgconn.ssl_in_use
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_clients_that_do_not_log_in_are_let_go(pg_url: str) -> None:
    # As PostgreSQL's authentication_timeout: sockets that never send a startup packet, and
    # a client that never answers the password request, are closed.
    import socket

    from redshift_async_backend.emulator import protocol as pq

    with Emulator(upstream=pg_url, admin_password="Admin-pw-1", authentication_timeout=0.5) as emu:
        idle = [socket.create_connection((emu.host, emu.port), timeout=30) for _ in range(20)]
        asked = socket.create_connection((emu.host, emu.port), timeout=30)
        asked.sendall(pq.startup_message({"user": emu.admin_user, "database": emu.database}))
        try:
            # Logins go on meanwhile.
            with psycopg.connect(dsn(emu, emu.admin_user, "Admin-pw-1")) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
            for sock in idle:
                assert sock.recv(1024) == b""
            received = b""
            while chunk := asked.recv(4096):
                received += chunk
            frames = pq.MessageBuffer()
            kinds = {kind: frame for kind, frame in frames.frames_from(received)}
            assert pq.parse_authentication(kinds[b"R"])[0] == 5  # the MD5 request
            assert pq.parse_fields(kinds[b"E"])["M"] == "canceling authentication due to timeout"
        finally:
            for sock in [*idle, asked]:
                sock.close()
    with pytest.raises(ValueError, match="authentication_timeout"):
        Emulator(upstream=pg_url, authentication_timeout=0)
