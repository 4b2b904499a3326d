"""OPTIONS validation: a bad key or value raises ImproperlyConfigured naming it."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from redshift_async_backend.base import DatabaseWrapper, parse_redshift_version
from redshift_async_backend.client import DatabaseClient

pytestmark = pytest.mark.unit


def wrapper(**options: Any) -> DatabaseWrapper:
    return DatabaseWrapper(
        {
            "ENGINE": "redshift_async_backend",
            "NAME": "dev",
            "USER": "u",
            "PASSWORD": "s3cret",
            "HOST": "h",
            "PORT": "5439",
            "OPTIONS": options,
            "TIME_ZONE": None,
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False,
            "AUTOCOMMIT": True,
            "ATOMIC_REQUESTS": False,
            "TEST": {},
        }
    )


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"driver": "odbc"}, "'driver'"),
        ({"last_insert_id": "maybe"}, "'last_insert_id'"),
        ({"varchar_bytes_per_char": 5}, "'varchar_bytes_per_char'"),
        ({"varchar_bytes_per_char": True}, "'varchar_bytes_per_char'"),
        ({"pool": "yes"}, "'pool'"),
        ({"pool": {"max_sise": 3}}, "'max_sise'"),
        ({"pool": {"min_size": "2"}}, "'min_size'"),
        ({"iam": {"region": "x"}}, "'cluster_identifier'"),
        ({"iam": {"cluster_identifier": "c", "colour": 1}}, "'colour'"),
        ({"isolation_level": "snapshot"}, "'isolation_level'"),
        ({"server_side_binding": True}, "'server_side_binding'"),
        ({"prepare_threshold": 5}, "'prepare_threshold'"),
        ({"last_insertid": "lock"}, "'last_insertid'"),
        ({"client_encoding": "LATIN1"}, "'client_encoding'"),
        ({"driver": "redshift_connector", "sslmode": "require"}, "'sslmode'"),
        ({"driver": "redshift_connector", "sslrootcert": "/ca.pem"}, "SSL_CERT_FILE"),
        ({"iam": {"cluster_identifier": "c", "db_user": "u", "duration_seconds": 60}}, "900"),
    ],
)
def test_bad_options_are_named(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ImproperlyConfigured) as err:
        wrapper(**options)
    assert named in str(err.value)
    assert "s3cret" not in str(err.value)


def test_typo_gets_a_suggestion() -> None:
    with pytest.raises(ImproperlyConfigured, match="Did you mean 'last_insert_id'"):
        wrapper(last_insertid="lock")


def test_good_options_and_connect_params() -> None:
    conn = wrapper(
        pool=False,
        last_insert_id="max",
        varchar_bytes_per_char=4,
        isolation_level="serializable",
        sslmode="require",
    )
    params = conn.get_connection_params()
    assert params["client_encoding"] == "UTF8"
    assert params["prepare_threshold"] is None
    assert params["sslmode"] == "require"
    assert "pool" not in params and "last_insert_id" not in params
    assert conn.ops.varchar_length(10) == 40
    assert conn.ops.varchar_length(20000) == 65535
    assert conn.ops.varchar_length(None) == 65535
    assert conn.data_types["CharField"]({"max_length": 10}) == "varchar(40)"


def test_prior_art_multiplier_setting_used_when_option_absent(settings: Any = None) -> None:
    from django.test import override_settings

    with override_settings(REDSHIFT_VARCHAR_LENGTH_MULTIPLIER=3):
        assert wrapper().ops.varchar_length(10) == 30
        assert wrapper(varchar_bytes_per_char=2).ops.varchar_length(10) == 20


def test_version_parsing() -> None:
    text = "PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC, Redshift 1.0.48169"
    assert parse_redshift_version(text) == (1, 0, 48169)
    assert parse_redshift_version("PostgreSQL 15.4") is None


def test_dbshell_password_in_environment_only() -> None:
    args, env = DatabaseClient.settings_to_cmd_args_env(
        {"NAME": "", "USER": "u", "PASSWORD": "s3cret", "HOST": "h", "PORT": "5439", "OPTIONS": {}},
        [],
    )
    assert "s3cret" not in " ".join(args)
    assert env == {"PGPASSWORD": "s3cret"}
    assert args[-1] == "dev"


def test_no_e_strings_in_literals() -> None:
    from redshift_async_backend.drivers.psycopg import quote_str

    assert quote_str("it's") == "'it''s'"
    assert quote_str("a\\b") == "('a' || CHR(92) || 'b')"
