"""TLS to the emulator with a self-signed CA: verification fails for a wrong CA, passes for
the right one, with both drivers through Django's connect path.

psycopg takes the CA as ``OPTIONS["sslrootcert"]``. redshift_connector has no such argument
(it trusts the system store plus its bundled Redshift CA), so its CA comes from OpenSSL's
``SSL_CERT_FILE``, which its ``load_default_certs()`` reads.
"""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.db import OperationalError

from redshift_async_backend.base import DatabaseWrapper
from redshift_async_backend.emulator import Emulator

pytestmark = pytest.mark.integration


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(tmp: Path, label: str) -> tuple[Any, x509.Certificate, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"test CA {label}"))
        .issuer_name(_name(f"test CA {label}"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    path = tmp / f"ca-{label}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, path


def make_server_cert(tmp: Path, ca_key: Any, ca_cert: x509.Certificate) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        # Only the name "localhost": connecting to 127.0.0.1 is a host name mismatch.
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "server.pem", tmp / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("pki")
    ca_key, ca_cert, right = make_ca(tmp, "right")
    _, _, wrong = make_ca(tmp, "wrong")
    cert, key = make_server_cert(tmp, ca_key, ca_cert)
    return {"right": right, "wrong": wrong, "cert": cert, "key": key}


@pytest.fixture(scope="module")
def tls_emulator(pg_url: str, pki: dict[str, Path]) -> Iterator[Emulator]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki["cert"], pki["key"])
    with Emulator(upstream=pg_url, ssl_context=context) as emu:
        yield emu


def wrapper(emu: Emulator, host: str, **options: Any) -> DatabaseWrapper:
    return DatabaseWrapper(
        {
            "ENGINE": "redshift_async_backend",
            "NAME": emu.database,
            "USER": emu.admin_user,
            "PASSWORD": "",
            "HOST": host,
            "PORT": str(emu.port),
            "OPTIONS": options,
            "TIME_ZONE": None,
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False,
            "AUTOCOMMIT": True,
            "ATOMIC_REQUESTS": False,
            "TEST": {},
        },
        alias="tls",
    )


def select_one(db: DatabaseWrapper) -> Any:
    try:
        with db.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()
    finally:
        db.close()


def test_psycopg_verifies_against_the_configured_ca(
    tls_emulator: Emulator, pki: dict[str, Path]
) -> None:
    right = str(pki["right"])
    good = wrapper(tls_emulator, "localhost", sslmode="verify-full", sslrootcert=right)
    good.ensure_connection()
    assert good.connection.info.pgconn.ssl_in_use
    assert select_one(good) == (1,)

    wrong = wrapper(tls_emulator, "localhost", sslmode="verify-full", sslrootcert=str(pki["wrong"]))
    with pytest.raises(OperationalError, match="certificate verify failed"):
        wrong.ensure_connection()

    # verify-full also checks the name; verify-ca does not.
    by_ip = wrapper(tls_emulator, "127.0.0.1", sslmode="verify-full", sslrootcert=right)
    with pytest.raises(OperationalError, match=r"127\.0\.0\.1"):
        by_ip.ensure_connection()
    assert select_one(wrapper(tls_emulator, "127.0.0.1", sslmode="verify-ca", sslrootcert=right))


def test_redshift_connector_verifies_against_ssl_cert_file(
    tls_emulator: Emulator, pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(pki["right"]))
    good = wrapper(tls_emulator, "localhost", driver="redshift_connector", sslmode="verify-full")
    good.ensure_connection()
    assert good.connection.raw._usock.version().startswith("TLS")
    assert select_one(good) == (1,)

    by_ip = wrapper(tls_emulator, "127.0.0.1", driver="redshift_connector", sslmode="verify-full")
    with pytest.raises(OperationalError):
        by_ip.ensure_connection()
    ca_only = wrapper(tls_emulator, "127.0.0.1", driver="redshift_connector", sslmode="verify-ca")
    assert select_one(ca_only) == (1,)

    monkeypatch.setenv("SSL_CERT_FILE", str(pki["wrong"]))
    wrong = wrapper(tls_emulator, "localhost", driver="redshift_connector", sslmode="verify-full")
    with pytest.raises(OperationalError, match="certificate verify failed"):
        wrong.ensure_connection()
    # sslmode=prefer does not fall back to plain text when verification fails.
    prefer = wrapper(tls_emulator, "localhost", driver="redshift_connector")
    with pytest.raises(OperationalError, match="certificate verify failed"):
        prefer.ensure_connection()


def test_redshift_connector_takes_its_own_ssl_switch_and_libpq_sslmodes(
    tls_emulator: Emulator, pki: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    rc = {"driver": "redshift_connector"}
    # ssl=False: plain text although the server offers TLS (the user's choice, as in the
    # driver; for a local emulator, say).
    plain = wrapper(tls_emulator, "localhost", **rc, ssl=False)
    plain.ensure_connection()
    assert not hasattr(plain.connection.raw._usock, "cipher")
    assert select_one(plain) == (1,)

    monkeypatch.setenv("SSL_CERT_FILE", str(pki["right"]))
    # ssl=True: TLS required.
    required = wrapper(tls_emulator, "localhost", **rc, ssl=True)
    required.ensure_connection()
    assert required.connection.raw._usock.version().startswith("TLS")
    assert select_one(required) == (1,)
    # libpq's require: encrypted, and this driver checks the chain (not the name).
    by_ip = wrapper(tls_emulator, "127.0.0.1", **rc, sslmode="require")
    by_ip.ensure_connection()
    assert by_ip.connection.raw._usock.version().startswith("TLS")
    assert select_one(by_ip) == (1,)

    monkeypatch.setenv("SSL_CERT_FILE", str(pki["wrong"]))
    with pytest.raises(OperationalError, match="certificate verify failed"):
        wrapper(tls_emulator, "127.0.0.1", **rc, sslmode="require").ensure_connection()
