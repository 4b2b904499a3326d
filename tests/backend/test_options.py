"""OPTIONS validation: a bad key or value raises ImproperlyConfigured naming it."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from redshift_async_backend.base import DatabaseWrapper, parse_redshift_version
from redshift_async_backend.client import DatabaseClient

pytestmark = pytest.mark.unit


def wrapper(settings: dict[str, Any] | None = None, **options: Any) -> DatabaseWrapper:
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
            **(settings or {}),
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
        ({"driver": "redshift_connector", "sslrootcert": "/ca.pem"}, "SSL_CERT_FILE"),
        ({"iam": {"cluster_identifier": "c", "db_user": "u", "duration_seconds": 60}}, "900"),
    ],
)
def test_bad_options_are_named(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ImproperlyConfigured) as err:
        wrapper(**options)
    assert named in str(err.value)
    assert "s3cret" not in str(err.value)


RC = {"driver": "redshift_connector"}
INF = float("inf")


@pytest.mark.parametrize(
    ("settings", "options", "named", "allowed"),
    [
        # PORT, for both drivers (psycopg also takes libpq's list, one port per host).
        ({"PORT": "54x"}, {}, "PORT = '54x'", "from 1 to 65535"),
        ({"PORT": "54x"}, RC, "PORT = '54x'", "from 1 to 65535"),
        ({"PORT": 70000}, {}, "PORT = 70000", "from 1 to 65535"),
        ({"PORT": "5439,5440"}, RC, "PORT = '5439,5440'", "from 1 to 65535"),
        ({"PORT": True}, {}, "PORT = True", "from 1 to 65535"),
        # The pool's numbers.
        ({}, {"pool": {"timeout": INF}}, "timeout", "finite number > 0"),
        ({}, {"pool": {"max_idle": INF}}, "max_idle", "finite number > 0"),
        ({}, {"pool": {"check_bypass": INF}}, "check_bypass", "finite number >= 0"),
        ({}, {"pool": {"reconnect_max_delay": INF}}, "reconnect_max_delay", "finite"),
        # libpq's parameters (psycopg).
        ({}, {"connect_timeout": "abc"}, "'connect_timeout'] = 'abc'", "an integer"),
        ({}, {"connect_timeout": 2.5}, "'connect_timeout'] = 2.5", "an integer"),
        ({}, {"port": "x"}, "'port'] = 'x'", "port number"),
        ({}, {"keepalives": 2}, "'keepalives'] = 2", "'0', '1'"),
        ({}, {"keepalives_idle": -1}, "'keepalives_idle'] = -1", ">= 0"),
        ({}, {"tcp_user_timeout": "soon"}, "'tcp_user_timeout'] = 'soon'", "milliseconds"),
        ({}, {"sslmode": "on"}, "'sslmode'] = 'on'", "'verify-full'"),
        ({}, {"target_session_attrs": "rw"}, "'target_session_attrs'] = 'rw'", "'read-write'"),
        ({}, {"ssl_min_protocol_version": "TLSv9"}, "= 'TLSv9'", "'TLSv1.3'"),
        ({}, {"application_name": 5}, "'application_name'] = 5", "a string"),
        ({}, {"sslrootcert": 1}, "'sslrootcert'] = 1", "a path"),
        ({}, {"row_factory": dict}, "'row_factory'", "tuples"),
        ({}, {"autocommit": True}, "'autocommit'", "Django turns autocommit"),
        ({}, {"ssl": True}, "'ssl'", "sslmode"),
        ({}, {"iam": True}, "'iam'] = True", "is a dict"),
        # redshift_connector's arguments, by their annotations and the driver's own rules.
        ({}, {**RC, "timeout": "abc"}, "'timeout'] = 'abc'", "number of seconds > 0"),
        ({}, {**RC, "timeout": 0}, "'timeout'] = 0", "number of seconds > 0"),
        ({}, {**RC, "timeout": INF}, "'timeout'] = inf", "finite"),
        ({}, {**RC, "connect_timeout": "abc"}, "'connect_timeout'] = 'abc'", "an integer"),
        ({}, {**RC, "ssl": "yes"}, "'ssl'] = 'yes'", "True or False"),
        ({}, {**RC, "sslmode": "on"}, "'sslmode'] = 'on'", "'require'"),
        ({}, {**RC, "ssl": False, "sslmode": "verify-ca"}, "'ssl'] = False", "contradict"),
        ({}, {**RC, "ssl": True, "sslmode": "prefer"}, "'ssl'] = True", "contradict"),
        ({}, {**RC, "tcp_keepalive_idle": 0}, "'tcp_keepalive_idle'] = 0", ">= 1"),
        ({}, {**RC, "max_prepared_statements": -1}, "= -1", ">= 0"),
        ({}, {**RC, "listen_port": 70000}, "'listen_port'] = 70000", "from 0 to 65535"),
        ({}, {**RC, "idp_response_timeout": 5}, "'idp_response_timeout'] = 5", ">= 10"),
        ({}, {**RC, "client_protocol_version": 9}, "= 9", "0, 1, 2"),
        ({}, {**RC, "db_groups": "analysts"}, "'db_groups'] = 'analysts'", "list of strings"),
        ({}, {**RC, "application_name": 5}, "'application_name'] = 5", "a string"),
        ({}, {**RC, "ssl_insecure": True}, "'ssl_insecure'] = True", "identity provider"),
        ({}, {**RC, "iam": True, "ssl": False}, "OPTIONS['iam'] = True", "without TLS"),
        ({}, {**RC, "numeric_to_float": True}, "'numeric_to_float'", "FloatField"),
        ({}, {**RC, "port": 5439}, "'port'", "set PORT"),
        (
            {},
            {**RC, "iam": {"cluster_identifier": "c", "db_user": "u"}, "credentials_provider": "X"},
            "'credentials_provider'",
            "use one of them",
        ),
    ],
)
def test_driver_values_are_checked_at_start_up(
    settings: dict[str, Any], options: dict[str, Any], named: str, allowed: str
) -> None:
    """Each of these passed validation before and failed at connect or at the first query
    (or, for the pool's infinite timeout, at every checkout)."""
    with pytest.raises(ImproperlyConfigured) as err:
        wrapper(settings, **options)
    assert named in str(err.value)
    assert allowed in str(err.value)
    assert "s3cret" not in str(err.value)


@pytest.mark.parametrize(
    "options",
    [
        {"sslpassword": 12345},
        {"driver": "redshift_connector", "secret_access_key": 12345},
        {"driver": "redshift_connector", "session_token": ["s3cret"]},
    ],
)
def test_a_bad_secret_is_named_but_not_shown(options: dict[str, Any]) -> None:
    with pytest.raises(ImproperlyConfigured) as err:
        wrapper(**options)
    assert "hidden" in str(err.value)
    assert "12345" not in str(err.value) and "s3cret" not in str(err.value)


def test_every_redshift_connector_argument_has_a_value_rule() -> None:
    import inspect

    import redshift_connector

    from redshift_async_backend.drivers.redshift_connector import _rules

    arguments = set(inspect.signature(redshift_connector.connect).parameters)
    assert arguments <= set(_rules()), arguments - set(_rules())


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
    # A backslash's reading depends on standard_conforming_strings: it is written as a
    # character the string does not hold, and REPLACE() puts it back.
    assert quote_str("a\\b") == "REPLACE('a\x01b', CHR(1), CHR(92))"
    assert quote_str("\x01\\") == "REPLACE('\x01\x02', CHR(2), CHR(92))"


AWS = "my-cluster.abc123.eu-west-1.redshift.amazonaws.com"


@pytest.mark.parametrize(
    ("host", "options", "expected"),
    [
        # The driver's own switch: the user's choice, also for an AWS endpoint.
        ("h", {"ssl": False}, {"ssl": False}),
        (AWS, {"ssl": False}, {"ssl": False}),
        # ssl=True alone: TLS with the driver's default sslmode; strict for AWS endpoints.
        ("h", {"ssl": True}, {"ssl": True}),
        (AWS, {"ssl": True}, {"ssl": True, "sslmode": "verify-full"}),
        (AWS, {}, {"ssl": True, "sslmode": "verify-full"}),
        # libpq's values: require checks the chain (the driver always has a root CA).
        ("h", {"sslmode": "require"}, {"ssl": True, "sslmode": "verify-ca"}),
        ("h", {"ssl": True, "sslmode": "require"}, {"ssl": True, "sslmode": "verify-ca"}),
        ("h", {"sslmode": "disable"}, {"ssl": False}),
        ("h", {}, {"ssl": True, "sslmode": "verify-ca", "_ssl_fallback": True}),
        ("h", {"sslmode": "allow"}, {"ssl": True, "sslmode": "verify-ca", "_ssl_fallback": True}),
        ("h", {"sslmode": "verify-full"}, {"ssl": True, "sslmode": "verify-full"}),
        (AWS, {"sslmode": "verify-ca"}, {"ssl": True, "sslmode": "verify-ca"}),
    ],
)
def test_redshift_connector_tls_options_keep_the_drivers_meaning(
    host: str, options: dict[str, Any], expected: dict[str, Any]
) -> None:
    params = wrapper({"HOST": host}, driver="redshift_connector", **options).get_connection_params()
    tls = {k: params[k] for k in ("ssl", "sslmode", "_ssl_fallback") if k in params}
    assert tls == expected


def test_connect_timeout_limits_only_connecting_with_redshift_connector() -> None:
    params = wrapper(driver="redshift_connector", connect_timeout="10").get_connection_params()
    # Connecting is limited; afterwards the socket has no timeout (the driver's default).
    assert (params["timeout"], params["_socket_timeout"]) == (10, None)
    both = wrapper(driver="redshift_connector", connect_timeout=1, timeout=300)
    # libpq's minimum of 2 s; then the driver's own timeout for reads and writes.
    assert (
        both.get_connection_params()["timeout"],
        both.get_connection_params()["_socket_timeout"],
    ) == (2, 300)
    forever = wrapper(driver="redshift_connector", connect_timeout=0).get_connection_params()
    assert "timeout" not in forever and "_socket_timeout" not in forever
    assert "connect_timeout" not in forever


# -- connecting with the options, both drivers ----------------------------------------------

DRIVERS = ["psycopg", "redshift_connector"]


def connected(settings_dict: dict[str, Any], alias: str, **options: Any) -> DatabaseWrapper:
    """A wrapper on the test database with these OPTIONS, after one round trip."""
    db = DatabaseWrapper({**settings_dict, "OPTIONS": options}, alias=alias)
    with db.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    return db


def settings_page_databases() -> list[tuple[str, dict[str, Any]]]:
    from tests.docs.test_examples import ROOT, read_blocks

    found = []
    for block in read_blocks(ROOT / "docs" / "settings.md"):
        if block.lang == "python" and block.no_test is None:
            namespace: dict[str, Any] = {}
            exec(block.code, namespace)
            found += [(f"{block.id} {a}", e) for a, e in namespace.get("DATABASES", {}).items()]
    assert found, "docs/settings.md has no DATABASES example"
    return found


@pytest.mark.integration
@pytest.mark.parametrize("driver", DRIVERS)
def test_settings_page_examples_connect_on_both_drivers(
    settings_dict: dict[str, Any], driver: str
) -> None:
    """docs/settings.md's DATABASES, OPTIONS and all, with only the server (the emulator's
    test database) and the driver changed."""
    server = {k: settings_dict[k] for k in ("NAME", "USER", "PASSWORD", "HOST", "PORT")}
    for where, entry in settings_page_databases():
        options = {**entry.get("OPTIONS", {}), "driver": driver}
        alias = f"settings_page_{driver}"
        db = DatabaseWrapper({**settings_dict, **entry, **server, "OPTIONS": options}, alias)
        try:
            with db.cursor() as cursor:
                cursor.execute("SELECT 1")
                assert cursor.fetchone() == (1,), where
        finally:
            db.close()
            db.close_pool()


@pytest.mark.integration
@pytest.mark.parametrize(
    ("driver", "options"),
    [
        *[(d, {"connect_timeout": 10, "application_name": "rab_options"}) for d in DRIVERS],
        *[(d, {"sslmode": mode}) for d in DRIVERS for mode in ("disable", "allow", "prefer")],
        ("psycopg", {"keepalives": 1, "keepalives_idle": "60", "tcp_user_timeout": 0}),
        ("redshift_connector", {"ssl": False}),
        ("redshift_connector", {"timeout": 30, "tcp_keepalive": True, "tcp_keepalive_idle": 60}),
        ("redshift_connector", {"max_prepared_statements": 10, "client_protocol_version": 2}),
    ],
)
def test_driver_options_connect(
    settings_dict: dict[str, Any], driver: str, options: dict[str, Any]
) -> None:
    db = connected(settings_dict, f"options_{driver}", driver=driver, **options)
    try:
        if "application_name" in options:
            status = db.connection.info.parameter_status("application_name")
            assert status == options["application_name"]
        if driver == "redshift_connector" and "ssl" in options:
            assert not hasattr(db.connection.raw._usock, "cipher")  # plain text, as asked
    finally:
        db.close()


@pytest.mark.integration
def test_redshift_connector_timeouts_after_connecting(settings_dict: dict[str, Any]) -> None:
    rc = {"driver": "redshift_connector"}
    limited = connected(settings_dict, "rc_connect_timeout", **rc, connect_timeout=10)
    both = connected(settings_dict, "rc_both", **rc, connect_timeout=10, timeout=300)
    own = connected(settings_dict, "rc_own", **rc, timeout=300)
    try:
        # connect_timeout limited connecting only; timeout stays on every read and write.
        assert limited.connection.raw._usock.gettimeout() is None
        assert both.connection.raw._usock.gettimeout() == 300
        assert own.connection.raw._usock.gettimeout() == 300
    finally:
        for db in (limited, both, own):
            db.close()


@pytest.mark.integration
@pytest.mark.parametrize("driver", DRIVERS)
def test_connect_timeout_gives_up_on_a_silent_server(
    settings_dict: dict[str, Any], driver: str
) -> None:
    from django.db import OperationalError

    # Accepts TCP connections (the kernel's backlog) and never answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        server = {"HOST": "127.0.0.1", "PORT": str(silent.getsockname()[1])}
        db = DatabaseWrapper(
            {**settings_dict, **server, "OPTIONS": {"driver": driver, "connect_timeout": 2}},
            alias=f"silent_{driver}",
        )
        with pytest.raises(OperationalError, match=r"(?i)time ?out"):
            db.ensure_connection()
