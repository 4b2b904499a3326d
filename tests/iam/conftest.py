"""Fixtures for the IAM tests: a moto server on loopback, AWS settings isolated from the host."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from redshift_async_backend import iam

REGION = "us-east-1"
# moto accepts any key pair; these values are what the secret-leak tests look for.
ACCESS_KEY_ID = "AKIATESTIAMKEY000001"
SECRET_ACCESS_KEY = "test-secret-access-key-do-not-log"
SESSION_TOKEN = "test-session-token-do-not-log"


@pytest.fixture(autouse=True)
def isolated_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[None]:
    """No AWS config, credentials or region leak in from the machine running the tests."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    iam.reset_providers()
    yield
    iam.reset_providers()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server on 127.0.0.1 (a free port), answering Redshift's API over HTTP."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def cluster(moto_endpoint: str) -> str:
    """A provisioned cluster created in moto through its HTTP API."""
    import boto3

    name = f"iam-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "redshift",
        region_name=REGION,
        endpoint_url=moto_endpoint,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
    )
    client.create_cluster(
        ClusterIdentifier=name,
        NodeType="ra3.xlplus",
        MasterUsername="admin",
        MasterUserPassword="Admin-Passw0rd",
        DBName="dev",
    )
    return name


def options(**overrides: Any) -> dict[str, Any]:
    """OPTIONS["iam"] with explicit test credentials; ``None`` values drop a key."""
    base: dict[str, Any] = {
        "region": REGION,
        "access_key_id": ACCESS_KEY_ID,
        "secret_access_key": SECRET_ACCESS_KEY,
        "session_token": SESSION_TOKEN,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


class FakeClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def count_calls() -> Callable[[iam.CredentialProvider], list[str]]:
    """Record each AWS operation the provider's client really completes (boto3 event hook)."""

    def attach(provider: iam.CredentialProvider) -> list[str]:
        seen: list[str] = []

        def hook(model: Any, **_: Any) -> None:
            seen.append(model.name)

        provider.client.meta.events.register("after-call", hook)
        return seen

    return attach
