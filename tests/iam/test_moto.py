"""The provider against a moto server over real HTTP on loopback (GetClusterCredentials)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.db import OperationalError

from redshift_async_backend import iam

from .conftest import SECRET_ACCESS_KEY, SESSION_TOKEN, FakeClock, RecordingSleep, options

pytestmark = pytest.mark.unit

Counter = Callable[[iam.CredentialProvider], list[str]]


def provider_for(
    cluster: str,
    endpoint: str,
    clock: FakeClock | None = None,
    sleep: RecordingSleep | None = None,
    **extra: object,
) -> iam.CredentialProvider:
    settings = iam.validate_iam_options(
        "default",
        options(cluster_identifier=cluster, db_user="app", endpoint_url=endpoint, **extra),
    )
    return iam.CredentialProvider(
        settings,
        "dev",
        clock=clock or time.time,
        sleep=sleep or RecordingSleep(),
    )


def test_get_cluster_credentials_over_http(cluster: str, moto_endpoint: str) -> None:
    before = datetime.now(UTC)
    creds = provider_for(cluster, moto_endpoint, duration_seconds=1800).get()
    assert creds.user == "IAM:app"
    assert len(creds.password) == 32
    lifetime = (creds.expiration - before).total_seconds()
    assert 1795 <= lifetime <= 1805


def test_auto_create_user_prefix(cluster: str, moto_endpoint: str) -> None:
    # Redshift: GetClusterCredentials returns "IAMA:<user>" when AutoCreate is true.
    creds = provider_for(cluster, moto_endpoint, auto_create=True).get()
    assert creds.user == "IAMA:app"


def test_many_connections_share_one_call(
    cluster: str, moto_endpoint: str, count_calls: Counter
) -> None:
    provider = provider_for(cluster, moto_endpoint)
    calls = count_calls(provider)
    results: list[iam.Credentials] = []
    start = threading.Barrier(16)

    def connect() -> None:
        start.wait()
        results.append(provider.get())

    threads = [threading.Thread(target=connect) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for _ in range(50):
        results.append(provider.get())
    assert calls == ["GetClusterCredentials"]
    assert len({(c.user, c.password) for c in results}) == 1
    assert provider.stats()["api_calls"] == 1


def test_refresh_in_background_inside_the_margin(
    cluster: str, moto_endpoint: str, count_calls: Counter
) -> None:
    clock = FakeClock(time.time())
    provider = provider_for(cluster, moto_endpoint, clock)
    calls = count_calls(provider)
    first = provider.get()
    stats = provider.stats()
    # 900 s lifetime: refresh 90 s (10 %) before the end.
    assert stats["valid_until"] - stats["refresh_at"] == pytest.approx(90, abs=1)

    clock.advance(700)  # not yet inside the margin
    assert provider.get() is first
    assert calls == ["GetClusterCredentials"]

    clock.advance(150)  # inside the margin, still valid: served at once, refreshed behind
    assert provider.get() is first
    assert provider._refresher is not None
    provider._refresher.join(10)
    assert calls == ["GetClusterCredentials"] * 2
    second = provider.get()
    assert second.password != first.password
    assert provider.stats()["background_refreshes"] == 1


def test_expired_credentials_block_for_a_new_fetch(
    cluster: str, moto_endpoint: str, count_calls: Counter
) -> None:
    clock = FakeClock(time.time())
    provider = provider_for(cluster, moto_endpoint, clock)
    calls = count_calls(provider)
    first = provider.get()
    clock.advance(901)
    second = provider.get()
    assert second.password != first.password
    assert calls == ["GetClusterCredentials"] * 2
    assert provider.stats()["background_refreshes"] == 0
    assert provider._refresher is None


def test_clock_behind_aws_does_not_outlive_the_duration(cluster: str, moto_endpoint: str) -> None:
    # Our clock is 10 minutes behind AWS's: Expiration looks 25 minutes away, but the password
    # lives 15 minutes from when we asked.
    clock = FakeClock(time.time() - 600)
    provider = provider_for(cluster, moto_endpoint, clock)
    provider.get()
    assert provider.stats()["valid_until"] == pytest.approx(clock.now + 900, abs=1)


def test_unknown_cluster_is_cluster_not_found_without_retry(
    moto_endpoint: str, sleep: RecordingSleep
) -> None:
    provider = provider_for("no-such-cluster", moto_endpoint, sleep=sleep)
    with pytest.raises(iam.IAMCredentialsError) as info:
        provider.get()
    err = info.value
    assert isinstance(err, OperationalError)
    assert (err.code, err.alias, err.attempts, err.retryable) == (
        "ClusterNotFound",
        "default",
        1,
        False,
    )
    assert (
        "'default'" in str(err)
        and "ClusterNotFound" in str(err)
        and "GetClusterCredentials" in str(err)
    )
    assert sleep.delays == []
    assert provider.stats()["failures"] == 1


class CountingLock:
    """A lock that counts the threads that have asked for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.arrivals = 0
        self.changed = threading.Condition()

    def __enter__(self) -> None:
        with self.changed:
            self.arrivals += 1
            self.changed.notify_all()
        self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def test_waiters_share_a_failure_instead_of_calling_again(
    moto_endpoint: str, count_calls: Counter
) -> None:
    provider = provider_for("no-such-cluster", moto_endpoint)
    calls = count_calls(provider)
    lock = CountingLock()
    provider._fetch_lock = lock  # type: ignore[assignment]
    orig = provider._call_with_retries

    def call_when_all_wait() -> tuple[iam.Credentials, float]:
        with lock.changed:
            assert lock.changed.wait_for(lambda: lock.arrivals == 5, timeout=10)
        return orig()

    provider._call_with_retries = call_when_all_wait  # type: ignore[method-assign]
    errors: list[iam.IAMCredentialsError] = []

    def connect() -> None:
        try:
            provider.get()
        except iam.IAMCredentialsError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=connect) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(errors) == 5
    assert {e.code for e in errors} == {"ClusterNotFound"}
    assert calls == ["GetClusterCredentials"]


def test_network_failure_is_retried_with_jittered_backoff(sleep: RecordingSleep) -> None:
    with socket.socket() as s:  # a loopback port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = provider_for("main", f"http://127.0.0.1:{port}", sleep=sleep)
    with pytest.raises(iam.IAMCredentialsError) as info:
        provider.get()
    err = info.value
    assert err.code == "EndpointConnectionError"
    assert err.retryable and err.attempts == iam.MAX_ATTEMPTS
    assert provider.stats()["api_calls"] == iam.MAX_ATTEMPTS
    assert len(sleep.delays) == iam.MAX_ATTEMPTS - 1
    for n, delay in enumerate(sleep.delays):
        ceiling = min(iam.BACKOFF_CAP, iam.BACKOFF_BASE * 2**n)
        assert ceiling / 2 <= delay <= ceiling


def test_shared_provider_per_alias(cluster: str, moto_endpoint: str) -> None:
    opts = options(cluster_identifier=cluster, db_user="app", endpoint_url=moto_endpoint)
    a = iam.get_provider("default", opts, "dev")
    assert iam.get_provider("default", dict(opts), "dev") is a
    assert iam.get_provider("other", opts, "dev") is not a
    changed = iam.get_provider("default", {**opts, "duration_seconds": 1200}, "dev")
    assert changed is not a
    assert iam.get_provider("default", {**opts, "duration_seconds": 1200}, "dev") is changed
    assert iam.get_provider("default", {**opts, "duration_seconds": 1200}, "prod") is not changed


def test_secrets_stay_out_of_logs_reprs_stats_and_errors(
    cluster: str, moto_endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = FakeClock(time.time())
    provider = provider_for(cluster, moto_endpoint, clock)
    passwords = [provider.get().password]
    clock.advance(850)
    provider.get()
    assert provider._refresher is not None
    provider._refresher.join(10)
    passwords.append(provider.get().password)
    with pytest.raises(iam.IAMCredentialsError) as info:
        provider_for("no-such-cluster", moto_endpoint).get()
    assert any("IAM credentials for 'default'" in r.getMessage() for r in caplog.records)
    texts = [
        caplog.text,
        repr(provider),
        str(provider.stats()),
        repr(provider.settings),
        str(info.value),
        repr(info.value),
    ]
    for secret in [*passwords, SECRET_ACCESS_KEY, SESSION_TOKEN]:
        for text in texts:
            assert secret not in text


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_aget_from_async_code(cluster: str, moto_endpoint: str, anyio_backend: str) -> None:
    provider = provider_for(cluster, moto_endpoint)
    first = await provider.aget()
    assert first.user == "IAM:app"
    assert await provider.aget() is first
    assert provider.get() is first
    assert provider.stats()["api_calls"] == 1
