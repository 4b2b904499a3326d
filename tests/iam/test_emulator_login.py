"""End to end: psycopg logs in to the emulator with passwords the provider got from moto."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from redshift_async_backend import iam
from redshift_async_backend.emulator import Emulator

from .conftest import FakeClock, RecordingSleep, options

pytestmark = pytest.mark.integration


class IssuedPasswords:
    """What moto issued to the provider, read from its responses: password -> (user, expiry).

    moto stamps Expiration with the real time; the expiry is kept on the test's clock.
    """

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.issued: dict[str, tuple[str, float]] = {}
        self.checked: list[tuple[str, bool]] = []
        self.lock = threading.Lock()

    def record(self, parsed: dict[str, Any], **_: Any) -> None:
        if "DbPassword" in parsed:
            with self.lock:
                lifetime = parsed["Expiration"].timestamp() - time.time()
                self.issued[parsed["DbPassword"]] = (parsed["DbUser"], self.clock() + lifetime)

    def check(self, user: str, password: str, database: str) -> bool:
        with self.lock:
            entry = self.issued.get(password)
        ok = entry is not None and entry[0] == user and self.clock() < entry[1]
        self.checked.append((user, ok))
        return ok


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture
def issued(clock: FakeClock) -> IssuedPasswords:
    return IssuedPasswords(clock)


@pytest.fixture
def emulator(pg_url: str, issued: IssuedPasswords) -> Iterator[Emulator]:
    with Emulator(upstream=pg_url, password_check=issued.check) as emu:
        yield emu


def login(emu: Emulator, creds: iam.Credentials) -> Any:
    with psycopg.connect(
        host=emu.host,
        port=emu.port,
        dbname=emu.database,
        user=creds.user,
        password=creds.password,
        connect_timeout=10,
    ) as conn:
        return conn.execute("select current_database(), 1").fetchone()


def test_emulator_accepts_only_unexpired_provider_passwords(
    emulator: Emulator,
    issued: IssuedPasswords,
    clock: FakeClock,
    cluster: str,
    moto_endpoint: str,
) -> None:
    settings = iam.validate_iam_options(
        "default", options(cluster_identifier=cluster, db_user="app", endpoint_url=moto_endpoint)
    )
    provider = iam.CredentialProvider(
        settings, emulator.database, clock=clock, sleep=RecordingSleep()
    )
    provider.client.meta.events.register("after-call.redshift.GetClusterCredentials", issued.record)

    first = provider.get()
    assert login(emulator, first) == (emulator.database, 1)

    # Change the last character to a different one (a fixed "x" is no change 1 time in 62).
    last = "y" if first.password.endswith("x") else "x"
    forged = iam.Credentials(first.user, first.password[:-1] + last, first.expiration)
    with pytest.raises(psycopg.OperationalError):
        login(emulator, forged)

    clock.advance(901)  # the first password has expired
    with pytest.raises(psycopg.OperationalError):
        login(emulator, first)
    second = provider.get()  # blocks for a new one
    assert second.password != first.password
    assert login(emulator, second) == (emulator.database, 1)
    assert [ok for _, ok in issued.checked] == [True, False, False, True]
    assert {user for user, _ in issued.checked} == {"IAM:app"}
