"""OPTIONS["iam"] validation, secret hiding in reprs, and the optional boto3 import."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from redshift_async_backend import iam

from .conftest import SECRET_ACCESS_KEY, SESSION_TOKEN, options

pytestmark = pytest.mark.unit

PROVISIONED = {"cluster_identifier": "main", "db_user": "app"}


def test_provisioned_defaults() -> None:
    s = iam.validate_iam_options("default", options(**PROVISIONED))
    assert s.operation == "GetClusterCredentials"
    assert s.service == "redshift"
    assert (s.db_groups, s.auto_create, s.duration_seconds) == ((), False, 900)


def test_group_federation_selects_with_iam() -> None:
    s = iam.validate_iam_options(
        "default", {"cluster_identifier": "main", "group_federation": True}
    )
    assert s.operation == "GetClusterCredentialsWithIAM"
    assert s.db_user is None


def test_workgroup_selects_serverless() -> None:
    s = iam.validate_iam_options("analytics", {"workgroup": "wg-1", "duration_seconds": 3600})
    assert (s.operation, s.service, s.duration_seconds) == (
        "GetCredentials",
        "redshift-serverless",
        3600,
    )


def test_groups_are_kept_in_order() -> None:
    s = iam.validate_iam_options("default", {**PROVISIONED, "db_groups": ["b", "a"]})
    assert s.db_groups == ("b", "a")


@pytest.mark.parametrize(
    ("opts", "expected"),
    [
        ({**PROVISIONED, "duration_seconds": 899}, ["'duration_seconds'", "899", "900 to 3600"]),
        ({**PROVISIONED, "duration_seconds": 3601}, ["'duration_seconds'", "3601", "900 to 3600"]),
        ({**PROVISIONED, "duration_seconds": "900"}, ["'duration_seconds'", "'900'", "integer"]),
        ({**PROVISIONED, "duration_seconds": True}, ["'duration_seconds'", "True", "integer"]),
        ({**PROVISIONED, "duration_seconds": 1800.0}, ["'duration_seconds'", "1800.0"]),
        ({**PROVISIONED, "db_groups": "a,b"}, ["'db_groups'", "'a,b'", "list of group names"]),
        ({**PROVISIONED, "db_groups": ["a", ""]}, ["'db_groups'", "list of group names"]),
        ({**PROVISIONED, "auto_create": "yes"}, ["'auto_create'", "'yes'", "True or False"]),
        ({**PROVISIONED, "group_federation": 1}, ["'group_federation'", "1", "True or False"]),
        ({"cluster_identifier": "main"}, ["'db_user'", "required", "group_federation"]),
        ({"cluster_identifier": ""}, ["'cluster_identifier'", "''", "non-empty string"]),
        ({"db_user": "app"}, ["exactly one of 'cluster_identifier'", "'workgroup'", "neither"]),
        ({**PROVISIONED, "workgroup": "wg-1"}, ["exactly one of", "both"]),
        ({"workgroup": "My_WG"}, ["'workgroup'", "'My_WG'", "a-z, 0-9 and -"]),
        ({"workgroup": "wg-1", "db_user": "app"}, ["'db_user'", "Serverless GetCredentials"]),
        ({"workgroup": "wg-1", "group_federation": True}, ["'group_federation'", "Serverless"]),
        (
            {"cluster_identifier": "main", "group_federation": True, "db_groups": ["g"]},
            ["'db_groups'", "GetClusterCredentialsWithIAM"],
        ),
        ({**PROVISIONED, "endpoint_url": "localhost:5000"}, ["'endpoint_url'", "http://"]),
        ({**PROVISIONED, "region": 5}, ["'region'", "5", "non-empty string"]),
        ({**PROVISIONED, "access_key_id": "AKIA"}, ["'secret_access_key'", "required"]),
        ({**PROVISIONED, "session_token": "tok"}, ["'session_token'", "'access_key_id'"]),
        (
            {**PROVISIONED, "profile": "p", "access_key_id": "AKIA", "secret_access_key": "s"},
            ["'profile'", "choose one"],
        ),
    ],
)
def test_bad_settings_name_alias_key_value_and_rule(
    opts: dict[str, Any], expected: list[str]
) -> None:
    with pytest.raises(ImproperlyConfigured) as info:
        iam.validate_iam_options("warehouse", opts)
    message = str(info.value)
    assert "DATABASES['warehouse']['OPTIONS']['iam']" in message
    for fragment in expected:
        assert fragment in message


def test_not_a_dict() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"must be a dict, got bool; allowed keys"):
        iam.validate_iam_options("default", True)


def test_unknown_key_suggests_and_hides_its_value() -> None:
    with pytest.raises(ImproperlyConfigured) as info:
        iam.validate_iam_options("default", {**PROVISIONED, "secret_acess_key": "hunter2-secret"})
    message = str(info.value)
    assert "'secret_acess_key'" in message
    assert 'did you mean "secret_access_key"' in message
    assert "hunter2-secret" not in message


@pytest.mark.parametrize("key", ["secret_access_key", "session_token"])
def test_bad_secret_value_is_not_shown(key: str) -> None:
    opts = {**PROVISIONED, "access_key_id": "AKIA", "secret_access_key": "s", key: 987654321}
    with pytest.raises(ImproperlyConfigured) as info:
        iam.validate_iam_options("default", opts)
    assert f"'{key}'] = <hidden>" in str(info.value)
    assert "987654321" not in str(info.value)


def test_settings_repr_hides_secrets() -> None:
    s = iam.validate_iam_options("default", options(**PROVISIONED))
    assert SECRET_ACCESS_KEY not in repr(s)
    assert SESSION_TOKEN not in repr(s)
    assert "cluster_identifier='main'" in repr(s)


def test_credentials_repr_and_str_hide_password() -> None:
    c = iam.Credentials("IAM:app", "pw-very-secret", datetime(2030, 1, 1, tzinfo=UTC))
    for text in (repr(c), str(c), f"{c}", f"{c!r}"):
        assert "pw-very-secret" not in text
        assert "IAM:app" in text and "password=<hidden>" in text


def test_fingerprint_changes_with_settings_and_database() -> None:
    a = iam.validate_iam_options("default", options(**PROVISIONED))
    b = iam.validate_iam_options("default", options(**PROVISIONED, duration_seconds=1800))
    c = iam.validate_iam_options("default", options(**PROVISIONED, secret_access_key="other"))
    prints = {
        a.fingerprint("dev"),
        a.fingerprint("prod"),
        b.fingerprint("dev"),
        c.fingerprint("dev"),
    }
    assert len(prints) == 4
    assert a.fingerprint("dev") == iam.validate_iam_options(
        "default", options(**PROVISIONED)
    ).fingerprint("dev")


def test_missing_region_is_improperly_configured() -> None:
    opts = options(**PROVISIONED, region=None)
    with pytest.raises(ImproperlyConfigured, match=r"\['region'\] is required: no AWS region"):
        iam.get_provider("default", opts, "dev")


def test_unknown_profile_is_improperly_configured() -> None:
    opts = {**PROVISIONED, "region": "us-east-1", "profile": "nope"}
    with pytest.raises(
        ImproperlyConfigured, match=r"\['profile'\] = 'nope' is not allowed: no such"
    ):
        iam.get_provider("default", opts, "dev")


def test_region_from_profile_file(tmp_path: Any) -> None:
    config = tmp_path / "aws-config"
    config.write_text("[profile reporting]\nregion = eu-west-1\n")
    provider = iam.get_provider("default", {**PROVISIONED, "profile": "reporting"}, "dev")
    assert provider.client.meta.region_name == "eu-west-1"


def test_without_boto3_import_works_and_use_says_install_the_extra() -> None:
    # A fresh interpreter where importing boto3/botocore fails, as on an install without
    # the "iam" extra.
    code = (
        "import sys\n"
        "sys.modules['boto3'] = None\n"
        "sys.modules['botocore'] = None\n"
        "from django.core.exceptions import ImproperlyConfigured\n"
        "from redshift_async_backend import iam\n"
        "s = iam.validate_iam_options('default', {'cluster_identifier': 'c', 'db_user': 'u'})\n"
        "try:\n"
        "    iam.get_provider('default', {'cluster_identifier': 'c', 'db_user': 'u'}, 'dev')\n"
        "except ImproperlyConfigured as exc:\n"
        "    print('IC:', exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(iam.__file__).resolve().parents[1])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert out.startswith("IC: IAM authentication needs boto3")
    assert "redshift-async-backend[iam]" in out


def test_forked_child_gets_its_own_provider() -> None:
    opts = {**PROVISIONED, "region": "us-east-1"}
    parent = iam.get_provider("default", opts, "dev")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            child = iam.get_provider("default", opts, "dev")
            os.write(write_end, b"new" if child is not parent else b"shared")
        finally:
            os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 16)
    os.close(read_end)
    os.waitpid(pid, 0)
    assert answer == b"new"
    assert iam.get_provider("default", opts, "dev") is parent
