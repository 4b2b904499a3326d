"""Django's DEBUG error page (``technical_500_response``) shows no secret of a failed login:
not the database PASSWORD, not the IAM temporary password, not the AWS secret key or
session token, in any frame's locals, chained exceptions included, on both drivers."""

from __future__ import annotations

import socket
import sys
from typing import Any

import django
import pytest
from django.db import OperationalError
from django.test import RequestFactory, override_settings
from django.views.debug import ExceptionReporter, technical_500_response

from redshift_async_backend import iam as iam_module
from redshift_async_backend.base import DatabaseWrapper
from redshift_async_backend.emulator import Emulator

from .conftest import SECRET_ACCESS_KEY, SESSION_TOKEN, RecordingSleep, options
from .test_django_login import (  # noqa: F401  (fixtures)
    ALIAS,
    DRIVERS,
    clock,
    emulator,
    issued,
    settings_dict,
)
from .test_emulator_login import IssuedPasswords

pytestmark = pytest.mark.integration

DB_PASSWORD = "plain-db-password-do-not-show"

# The page resolves the request's URL: this module is its URLconf.
urlpatterns: list[Any] = []


def error_pages(connect: Any) -> tuple[BaseException, str, str]:
    """The exception ``connect()`` raises, the DEBUG page's HTML and the text report (what
    error mails carry)."""
    try:
        connect()
    except Exception:
        exc_type, exc, tb = sys.exc_info()
    else:
        raise AssertionError("the connection was expected to fail")
    django.setup()  # the page renders templates
    request = RequestFactory().get("/")
    with override_settings(DEBUG=True, ROOT_URLCONF=__name__):
        html = technical_500_response(request, exc_type, exc, tb).content.decode()
        text = ExceptionReporter(request, exc_type, exc, tb).get_traceback_text()
    assert exc is not None
    return exc, html, text


def iam_login(emu: Emulator, driver: str, **iam: Any) -> tuple[DatabaseWrapper, Any]:
    """A connection that logs in with IAM (``iam``: OPTIONS["iam"] keys), and its provider."""
    iam_options = options(db_user="app", **iam)
    provider = iam_module.CredentialProvider(
        iam_module.validate_iam_options(ALIAS, iam_options), emu.database, sleep=RecordingSleep()
    )
    iam_module.register_provider(provider)
    return DatabaseWrapper(settings_dict(emu, driver, iam_options), alias=ALIAS), provider


def assert_hidden(pages: tuple[str, str], *secrets: str) -> None:
    for page in pages:
        assert "Traceback" in page or "traceback" in page
        for secret in secrets:
            assert secret not in page


@pytest.mark.parametrize("driver", DRIVERS)
def test_the_database_password(emulator: Emulator, driver: str) -> None:  # noqa: F811
    config = settings_dict(emulator, driver, {}, USER="app", PASSWORD=DB_PASSWORD)
    config["OPTIONS"] = {"driver": driver}
    db = DatabaseWrapper(config, alias="debugpage")
    exc, html, text = error_pages(db.ensure_connection)
    assert isinstance(exc, OperationalError)
    assert "conn_params" in html  # the frames are there, their values are not
    assert_hidden((html, text), DB_PASSWORD)


@pytest.mark.parametrize("driver", DRIVERS)
def test_the_iam_temporary_password(
    emulator: Emulator,  # noqa: F811
    issued: IssuedPasswords,  # noqa: F811
    cluster: str,
    moto_endpoint: str,
    driver: str,
) -> None:
    db, provider = iam_login(
        emulator, driver, cluster_identifier=cluster, endpoint_url=moto_endpoint
    )
    # moto's password is recorded, never accepted: the login fails after the password came.
    provider.client.meta.events.register(
        "after-call.redshift.GetClusterCredentials",
        lambda parsed, **_: issued.issued.setdefault(parsed["DbPassword"], ("nobody", 0.0)),
    )
    exc, html, text = error_pages(db.ensure_connection)
    assert isinstance(exc, OperationalError)
    (password,) = issued.issued
    assert_hidden((html, text), password, SECRET_ACCESS_KEY, SESSION_TOKEN)


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("failure", ["refused", "unreachable"])
def test_the_aws_secret_key_and_session_token(
    emulator: Emulator,  # noqa: F811
    moto_endpoint: str,
    driver: str,
    failure: str,
) -> None:
    # AWS refuses (no such cluster: botocore's ClientError), or cannot be reached (the
    # request, signed with the session token, fails in botocore's HTTP code).
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
    endpoint = moto_endpoint if failure == "refused" else nowhere
    db, _ = iam_login(emulator, driver, cluster_identifier="no-such-cluster", endpoint_url=endpoint)
    exc, html, text = error_pages(db.ensure_connection)
    assert isinstance(exc, iam_module.IAMCredentialsError)
    assert ("ClusterNotFound" if failure == "refused" else "127.0.0.1") in str(exc)
    assert_hidden((html, text), SECRET_ACCESS_KEY, SESSION_TOKEN)
