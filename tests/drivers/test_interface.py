"""The driver interface without a server: SQL splitting, parameters, errors, settings, TLS."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

import pytest
import redshift_connector
from django.core.exceptions import ImproperlyConfigured
from psycopg.types.numeric import Int4

from redshift_async_backend.base import DatabaseWrapper
from redshift_async_backend.drivers import get_driver, is_redshift_host
from redshift_async_backend.drivers.psycopg import SuperValue, VarbyteValue
from redshift_async_backend.drivers.redshift_connector import (
    parse_interval,
    prepare,
    translate_error,
)

pytestmark = pytest.mark.unit

RS = get_driver("redshift_connector")
PG = get_driver("psycopg")


def wrapper(host: str = "h", **options: Any) -> DatabaseWrapper:
    return DatabaseWrapper(
        {
            "ENGINE": "redshift_async_backend",
            "NAME": "dev",
            "USER": "u",
            "PASSWORD": "s3cret",
            "HOST": host,
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


# -- statements and parameters -------------------------------------------------------------


def test_single_statement_passes_through() -> None:
    assert prepare("SELECT %s, 'a'", [1]) == [("SELECT %s, 'a'", (1,))]
    assert prepare("SELECT '%s'", None) == [("SELECT '%s'", None)]


def test_multi_statement_string_is_split_with_its_parameters() -> None:
    sql = "INSERT INTO t VALUES (%s, 'a;b', \"c;d\"); -- x;y\nSELECT %s; COMMIT"
    assert prepare(sql, [1, "two"]) == [
        ("INSERT INTO t VALUES (%s, 'a;b', \"c;d\")", (1,)),
        ("-- x;y\nSELECT %s", ("two",)),
        ("COMMIT", ()),
    ]
    assert prepare("BEGIN; LOCK t; SELECT MAX(id) FROM t", None) == [
        ("BEGIN", None),
        ("LOCK t", None),
        ("SELECT MAX(id) FROM t", None),
    ]


def test_quoted_quotes_and_comments_do_not_split() -> None:
    assert prepare("SELECT 'it''s;'; /* ; */ SELECT 2", None) == [
        ("SELECT 'it''s;'", None),
        ("/* ; */ SELECT 2", None),
    ]


def test_values_are_adapted_as_psycopg_renders_them() -> None:
    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    [(sql, args)] = prepare(
        "INSERT INTO t VALUES (%s, %s, %s, %s, %s, %s)",
        [
            SuperValue('{"a": 1}'),
            b"\x00\xff",
            VarbyteValue(b"\x01"),
            u,
            Int4(7),
            decimal.Decimal("1.50"),
        ],
    )
    assert sql == (
        "INSERT INTO t VALUES (JSON_PARSE(%s), TO_VARBYTE(%s, 'hex'), TO_VARBYTE(%s, 'hex'), "
        "%s, %s, %s)"
    )
    assert args == ('{"a": 1}', "00ff", "01", str(u), 7, decimal.Decimal("1.50"))
    assert type(args[4]) is int


def test_parameter_count_mismatch_is_an_error() -> None:
    with pytest.raises(redshift_connector.ProgrammingError, match="placeholders"):
        prepare("SELECT %s; SELECT 1", [1, 2])
    with pytest.raises(redshift_connector.ProgrammingError, match="not enough"):
        prepare("SELECT %s; SELECT %s", [1])


def test_parameter_count_is_checked_for_one_statement_too() -> None:
    with pytest.raises(redshift_connector.ProgrammingError, match="placeholders"):
        prepare("SELECT %s", [1, 2])
    with pytest.raises(redshift_connector.ProgrammingError, match="not enough"):
        prepare("SELECT %s, %s", [1])


def test_named_parameters_as_psycopg_takes_them() -> None:
    assert prepare("SELECT %(a)s, %(b)s, %(a)s", {"a": 1, "b": "x"}) == [
        ("SELECT %s, %s, %s", (1, "x", 1))
    ]
    with pytest.raises(redshift_connector.ProgrammingError, match="no parameter named 'c'"):
        prepare("SELECT %(c)s", {"a": 1})
    with pytest.raises(redshift_connector.ProgrammingError, match="mixes"):
        prepare("SELECT %s, %(a)s", [1])


def test_doubled_percent_is_one_percent_inside_strings_when_parameters_are_given() -> None:
    # psycopg: with parameters, %% is % everywhere; the driver leaves quoted strings alone.
    assert prepare("SELECT '10%%' LIKE %s", ["1%"]) == [("SELECT '10%' LIKE %s", ("1%",))]
    assert prepare("SELECT '10%%'", None) == [("SELECT '10%%'", None)]


def test_dollar_quoted_bodies_are_not_split() -> None:
    sql = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT 2"
    assert [text for text, _ in prepare(sql, None)] == [
        "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql",
        "SELECT 2",
    ]
    tagged = "SELECT $body$ a;b $body$, %s"
    assert prepare(tagged, [1]) == [(tagged, (1,))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 day 02:00:00", datetime.timedelta(days=1, hours=2)),
        ("-1 days +02:00:00.5", datetime.timedelta(days=-1, hours=2, microseconds=500000)),
        ("-00:00:01.25", -datetime.timedelta(seconds=1, microseconds=250000)),
        ("1 year 2 mons 3 days", datetime.timedelta(days=365 + 60 + 3)),
        ("00:00:00", datetime.timedelta(0)),
    ],
)
def test_interval_text(text: str, expected: datetime.timedelta) -> None:
    assert parse_interval(text) == expected


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sqlstate", "cls"),
    [
        ("23505", redshift_connector.IntegrityError),
        ("22012", redshift_connector.DataError),
        ("42601", redshift_connector.ProgrammingError),
        ("40001", redshift_connector.OperationalError),
        ("28P01", redshift_connector.OperationalError),
        ("0A000", redshift_connector.NotSupportedError),
        ("XX000", redshift_connector.InternalError),
    ],
)
def test_server_errors_take_the_class_of_their_sqlstate(sqlstate: str, cls: type) -> None:
    raw = redshift_connector.ProgrammingError(
        {"S": "ERROR", "C": sqlstate, "M": "boom", "D": "details"}
    )
    new = translate_error(raw)
    assert type(new) is cls
    assert str(new) == "boom\nDETAIL:  details"
    assert RS.sqlstate(new) == sqlstate == RS.sqlstate(raw)
    assert RS.message(new) == "boom details"


def test_socket_errors_are_operational() -> None:
    assert isinstance(
        translate_error(BrokenPipeError(32, "pipe")), redshift_connector.OperationalError
    )
    lost = translate_error(redshift_connector.InterfaceError("BrokenPipe: server socket closed"))
    assert isinstance(lost, redshift_connector.OperationalError)
    assert str(lost).startswith("connection lost")
    refused = translate_error(redshift_connector.InterfaceError("x"), connecting=True)
    assert str(refused).startswith("connection failed")
    other = ValueError("not the driver's")
    assert translate_error(other) is other


# -- settings and TLS ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "my-cluster.abc123xyz.eu-west-1.redshift.amazonaws.com",
        "wg.123456789012.us-east-1.redshift-serverless.amazonaws.com",
        "c.abc.cn-north-1.redshift.amazonaws.com.cn",
    ],
)
def test_redshift_hosts_default_to_verify_full(host: str) -> None:
    assert is_redshift_host(host)
    pg = wrapper(host).get_connection_params()
    assert pg["sslmode"] == "verify-full"
    assert pg["sslrootcert"] == "system"
    rs = wrapper(host, driver="redshift_connector").get_connection_params()
    assert (rs["ssl"], rs["sslmode"]) == (True, "verify-full")


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "redshift.amazonaws.com.evil.example"])
def test_other_hosts_keep_the_driver_default(host: str) -> None:
    assert not is_redshift_host(host)
    assert "sslmode" not in wrapper(host).get_connection_params()
    rs = wrapper(host, driver="redshift_connector").get_connection_params()
    assert (rs["ssl"], rs["sslmode"], rs["_ssl_fallback"]) == (True, "verify-ca", True)


def test_sslmode_and_ca_are_configurable() -> None:
    host = "c.abc.us-east-1.redshift.amazonaws.com"
    pg = wrapper(host, sslmode="verify-ca", sslrootcert="/ca.pem").get_connection_params()
    assert (pg["sslmode"], pg["sslrootcert"]) == ("verify-ca", "/ca.pem")
    rs = wrapper(host, driver="redshift_connector", sslmode="disable").get_connection_params()
    assert rs["ssl"] is False and "sslmode" not in rs


def test_redshift_connector_params() -> None:
    params = wrapper(driver="redshift_connector", timeout=5).get_connection_params()
    assert params["database"] == "dev"
    assert params["port"] == 5439
    assert params["timeout"] == 5
    assert "dbname" not in params and "client_encoding" not in params


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"ssl": False, "sslmode": "verify-ca"}, "'ssl'"),
        ({"numeric_to_float": True}, "'numeric_to_float'"),
        ({"sslmode": "bogus"}, "'sslmode'"),
        ({"client_encoding": "UTF8"}, "'client_encoding'"),
        ({"timeuot": 3}, "Did you mean 'timeout'"),
    ],
)
def test_bad_redshift_connector_options(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ImproperlyConfigured) as err:
        wrapper(driver="redshift_connector", **options)
    assert named in str(err.value)
    assert "s3cret" not in str(err.value)


def test_bad_psycopg_sslmode() -> None:
    with pytest.raises(ImproperlyConfigured, match="'sslmode'"):
        wrapper(sslmode="verify_full")


def test_both_drivers_use_format_paramstyle_placeholders() -> None:
    # Django writes %s; psycopg calls it pyformat (it also takes %(name)s), AWS's driver format.
    assert {PG.paramstyle, RS.paramstyle} == {"pyformat", "format"}
    assert RS.Database is redshift_connector
