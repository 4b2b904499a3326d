"""Django connections log in with IAM passwords from moto, checked by the emulator.

The emulator's ``password_check`` accepts only a password moto issued to the provider and
only until it expires on the test's clock, so a connection that reused a stale password
would be refused. Both drivers go through the same connect path.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError

from redshift_async_backend import iam
from redshift_async_backend.base import DatabaseWrapper
from redshift_async_backend.emulator import Emulator

from .conftest import FakeClock, RecordingSleep, options
from .test_emulator_login import IssuedPasswords

pytestmark = pytest.mark.integration

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

DRIVERS = ["psycopg", "redshift_connector"]
ALIAS = "iamdb"


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


def settings_dict(emu: Emulator, driver: str, iam_options: dict[str, Any], **extra: Any) -> dict:
    return {
        "ENGINE": "redshift_async_backend",
        "NAME": emu.database,
        "USER": "",
        "PASSWORD": "",
        "HOST": emu.host,
        "PORT": str(emu.port),
        "OPTIONS": {"driver": driver, "iam": iam_options},
        "TIME_ZONE": None,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "AUTOCOMMIT": True,
        "ATOMIC_REQUESTS": False,
        "TEST": {},
        **extra,
    }


def select_one(db: DatabaseWrapper) -> Any:
    try:
        with db.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()
    finally:
        db.close()


@pytest.mark.parametrize("driver", DRIVERS)
def test_every_new_connection_logs_in_with_a_valid_iam_password(
    emulator: Emulator,
    issued: IssuedPasswords,
    clock: FakeClock,
    cluster: str,
    moto_endpoint: str,
    driver: str,
) -> None:
    iam_options = options(cluster_identifier=cluster, db_user="app", endpoint_url=moto_endpoint)
    db = DatabaseWrapper(settings_dict(emulator, driver, iam_options), alias=ALIAS)
    provider = iam.CredentialProvider(
        iam.validate_iam_options(ALIAS, iam_options),
        emulator.database,
        clock=clock,
        sleep=RecordingSleep(),
    )
    provider.client.meta.events.register("after-call.redshift.GetClusterCredentials", issued.record)
    iam.register_provider(provider)

    assert select_one(db) == (1,)
    first = provider.get()
    # Keep opening connections while the clock runs past two password lifetimes.
    for _ in range(20):
        clock.advance(100)
        assert select_one(db) == (1,)
    assert issued.checked and all(ok for _, ok in issued.checked)
    assert {user for user, _ in issued.checked} == {"IAM:app"}
    assert len(issued.checked) == 21
    assert len(issued.issued) >= 3  # 2,000 s of 900 s passwords
    assert provider.get().password != first.password

    # The password from the start has expired: a plain login with it is refused.
    stale = DatabaseWrapper(
        settings_dict(emulator, driver, {}, USER=first.user, PASSWORD=first.password)
        | {"OPTIONS": {"driver": driver}},
        alias="stale",
    )
    with pytest.raises(OperationalError):
        stale.ensure_connection()
    assert issued.checked[-1] == ("IAM:app", False)


@pytest.mark.parametrize("driver", DRIVERS)
def test_pool_reconnects_with_a_fresh_password_after_expiry(
    emulator: Emulator,
    issued: IssuedPasswords,
    clock: FakeClock,
    cluster: str,
    moto_endpoint: str,
    driver: str,
) -> None:
    # The pool outlives the password its first connection logged in with; when the server
    # drops its sessions, the connections it opens again must log in with a new one.
    iam_options = options(cluster_identifier=cluster, db_user="app", endpoint_url=moto_endpoint)
    config = settings_dict(emulator, driver, iam_options, CONN_HEALTH_CHECKS=True)
    config["OPTIONS"]["pool"] = {"min_size": 1, "max_size": 2}
    db = DatabaseWrapper(config, alias=ALIAS)
    provider = iam.CredentialProvider(
        iam.validate_iam_options(ALIAS, iam_options),
        emulator.database,
        clock=clock,
        sleep=RecordingSleep(),
    )
    provider.client.meta.events.register("after-call.redshift.GetClusterCredentials", issued.record)
    iam.register_provider(provider)
    try:
        assert select_one(db) == (1,)
        first = provider.get()
        logins_before = len(issued.checked)
        clock.advance(2000)  # two 900 s lifetimes: the first password is dead
        emulator.kill_all()
        time.sleep(0.6)  # past the pool's 0.5 s window in which it trusts a connection unchecked
        for _ in range(3):
            assert select_one(db) == (1,)
        new_logins = issued.checked[logins_before:]
        assert new_logins and all(ok for _, ok in new_logins)
        assert provider.get().password != first.password
    finally:
        db.close_pool()


@pytest.mark.parametrize("driver", DRIVERS)
def test_aws_errors_surface_through_djangos_connect(
    emulator: Emulator, moto_endpoint: str, driver: str
) -> None:
    iam_options = options(
        cluster_identifier="no-such-cluster", db_user="app", endpoint_url=moto_endpoint
    )
    db = DatabaseWrapper(settings_dict(emulator, driver, iam_options), alias=ALIAS)
    with pytest.raises(iam.IAMCredentialsError) as err:
        db.ensure_connection()
    assert isinstance(err.value, OperationalError)
    assert err.value.code == "ClusterNotFound"
    assert f"database {ALIAS!r}" in str(err.value)
    assert "GetClusterCredentials" in str(err.value)
    assert db.connection is None


def test_bad_iam_settings_fail_at_init_naming_the_key(emulator: Emulator) -> None:
    bad = options(cluster_identifier="c", db_user="app", duration_seconds=60)
    with pytest.raises(ImproperlyConfigured) as err:
        DatabaseWrapper(settings_dict(emulator, "redshift_connector", bad), alias=ALIAS)
    assert f"DATABASES[{ALIAS!r}]['OPTIONS']['iam']['duration_seconds']" in str(err.value)
    assert "test-secret-access-key" not in str(err.value)
