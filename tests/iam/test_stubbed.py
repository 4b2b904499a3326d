"""APIs moto does not implement, and AWS faults it cannot produce, through botocore's Stubber.

moto 5.2 implements redshift GetClusterCredentials only: GetClusterCredentialsWithIAM and the
whole redshift-serverless service are missing, and moto never throttles or denies access.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber

from redshift_async_backend import iam

from .conftest import FakeClock, RecordingSleep, options

pytestmark = pytest.mark.unit

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW.timestamp())


@pytest.fixture
def make(clock: FakeClock, sleep: RecordingSleep) -> Iterator[Any]:
    stubbers: list[Stubber] = []

    def build(database: str = "dev", **opts: Any) -> tuple[iam.CredentialProvider, Stubber]:
        settings = iam.validate_iam_options("warehouse", options(**opts))
        provider = iam.CredentialProvider(settings, database, clock=clock, sleep=sleep)
        stub = Stubber(provider.client)
        stub.activate()
        stubbers.append(stub)
        return provider, stub

    yield build
    for stub in stubbers:
        stub.assert_no_pending_responses()
        stub.deactivate()


def provisioned(user: str, password: str, seconds: int = 900) -> dict[str, Any]:
    return {"DbUser": user, "DbPassword": password, "Expiration": NOW + timedelta(seconds=seconds)}


def test_get_cluster_credentials_sends_groups_and_auto_create(make: Any) -> None:
    # moto ignores DbGroups, so the request shape is checked here.
    provider, stub = make(
        cluster_identifier="main",
        db_user="app",
        db_groups=["analysts", "etl"],
        auto_create=True,
        duration_seconds=3600,
    )
    stub.add_response(
        "get_cluster_credentials",
        provisioned("IAMA:app", "pw-1", 3600),
        {
            "ClusterIdentifier": "main",
            "DbUser": "app",
            "DbName": "dev",
            "DbGroups": ["analysts", "etl"],
            "AutoCreate": True,
            "DurationSeconds": 3600,
        },
    )
    creds = provider.get()
    assert (creds.user, creds.password) == ("IAMA:app", "pw-1")
    assert provider.stats()["valid_until"] == NOW.timestamp() + 3600
    # 10 % of 3600 s
    assert provider.stats()["refresh_at"] == NOW.timestamp() + 3600 - 360


def test_group_federation_uses_get_cluster_credentials_with_iam(make: Any) -> None:
    provider, stub = make(cluster_identifier="main", group_federation=True)
    stub.add_response(
        "get_cluster_credentials_with_iam",
        {**provisioned("IAMR:app-role", "pw-iam"), "NextRefreshTime": NOW},
        {"ClusterIdentifier": "main", "DbName": "dev", "DurationSeconds": 900},
    )
    creds = provider.get()
    assert (creds.user, creds.password, creds.expiration) == (
        "IAMR:app-role",
        "pw-iam",
        NOW + timedelta(seconds=900),
    )


def test_serverless_get_credentials(make: Any) -> None:
    provider, stub = make(workgroup="analytics-wg", duration_seconds=1200)
    assert provider.client.meta.service_model.service_name == "redshift-serverless"
    stub.add_response(
        "get_credentials",
        {
            "dbUser": "IAMR:svc",
            "dbPassword": "pw-sl",
            "expiration": NOW + timedelta(seconds=1200),
            "nextRefreshTime": NOW,
        },
        {"workgroupName": "analytics-wg", "dbName": "dev", "durationSeconds": 1200},
    )
    creds = provider.get()
    assert (creds.user, creds.password) == ("IAMR:svc", "pw-sl")
    assert provider.get() is creds


def test_serverless_unknown_workgroup_is_not_retried(make: Any, sleep: RecordingSleep) -> None:
    provider, stub = make(workgroup="missing-wg")
    stub.add_client_error(
        "get_credentials",
        service_error_code="ResourceNotFoundException",
        service_message="Workgroup missing-wg not found",
        http_status_code=404,
    )
    with pytest.raises(iam.IAMCredentialsError) as info:
        provider.get()
    assert info.value.code == "ResourceNotFoundException"
    assert "'warehouse'" in str(info.value) and "GetCredentials" in str(info.value)
    assert sleep.delays == []


def test_access_denied_is_not_retried(make: Any, sleep: RecordingSleep) -> None:
    provider, stub = make(cluster_identifier="main", db_user="app")
    stub.add_client_error(
        "get_cluster_credentials",
        service_error_code="AccessDenied",
        service_message="User is not authorized to perform: redshift:GetClusterCredentials",
        http_status_code=403,
    )
    with pytest.raises(iam.IAMCredentialsError) as info:
        provider.get()
    err = info.value
    assert (err.code, err.attempts, err.retryable) == ("AccessDenied", 1, False)
    assert "redshift:GetClusterCredentials" in str(err)
    assert sleep.delays == []


def test_throttling_is_retried_then_succeeds(make: Any, sleep: RecordingSleep) -> None:
    provider, stub = make(cluster_identifier="main", db_user="app")
    for _ in range(2):
        stub.add_client_error(
            "get_cluster_credentials",
            service_error_code="Throttling",
            service_message="Rate exceeded",
            http_status_code=400,
        )
    stub.add_response("get_cluster_credentials", provisioned("IAM:app", "pw-after-throttle"))
    assert provider.get().password == "pw-after-throttle"
    assert provider.stats()["api_calls"] == 3
    assert len(sleep.delays) == 2
    assert 0.125 <= sleep.delays[0] <= 0.25 and 0.25 <= sleep.delays[1] <= 0.5


def test_server_errors_are_retried_until_attempts_run_out(make: Any, sleep: RecordingSleep) -> None:
    provider, stub = make(cluster_identifier="main", db_user="app")
    for _ in range(iam.MAX_ATTEMPTS):
        stub.add_client_error(
            "get_cluster_credentials",
            service_error_code="SomethingNew",
            service_message="Service Unavailable",
            http_status_code=503,
        )
    with pytest.raises(iam.IAMCredentialsError) as info:
        provider.get()
    err = info.value
    assert (err.code, err.attempts, err.retryable) == ("SomethingNew", iam.MAX_ATTEMPTS, True)
    assert f"({iam.MAX_ATTEMPTS} attempts)" in str(err)
    assert len(sleep.delays) == iam.MAX_ATTEMPTS - 1


def test_failed_background_refresh_keeps_the_valid_password(
    make: Any, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="redshift_async_backend.iam")
    provider, stub = make(cluster_identifier="main", db_user="app")
    stub.add_response("get_cluster_credentials", provisioned("IAM:app", "pw-first"))
    first = provider.get()
    stub.add_client_error(
        "get_cluster_credentials",
        service_error_code="AccessDenied",
        service_message="policy changed",
        http_status_code=403,
    )
    clock.advance(850)  # inside the 90 s margin
    assert provider.get() is first
    provider._refresher.join(10)
    assert provider.stats()["background_failures"] == 1
    assert "background refresh failed" in caplog.text and "AccessDenied" in caplog.text
    assert "pw-first" not in caplog.text
    # No new background attempt for BACKGROUND_RETRY_DELAY seconds; the password still serves.
    refresher = provider._refresher
    assert provider.get() is first
    assert provider._refresher is refresher
    # Once expired, a connection blocks on a fresh call and sees its error.
    clock.advance(60)
    stub.add_client_error(
        "get_cluster_credentials",
        service_error_code="AccessDenied",
        service_message="policy changed",
        http_status_code=403,
    )
    with pytest.raises(iam.IAMCredentialsError, match="AccessDenied"):
        provider.get()


def test_refresh_forces_a_new_password(make: Any) -> None:
    provider, stub = make(cluster_identifier="main", db_user="app")
    stub.add_response("get_cluster_credentials", provisioned("IAM:app", "pw-1"))
    stub.add_response("get_cluster_credentials", provisioned("IAM:app", "pw-2"))
    assert provider.get().password == "pw-1"
    assert provider.refresh().password == "pw-2"
    assert provider.get().password == "pw-2"


def test_malformed_response_is_an_error(make: Any) -> None:
    provider, stub = make(workgroup="wg-1")
    stub.add_response("get_credentials", {"dbUser": "IAMR:x", "expiration": NOW})
    with pytest.raises(iam.IAMCredentialsError, match="MalformedResponse: the response has no"):
        provider.get()
