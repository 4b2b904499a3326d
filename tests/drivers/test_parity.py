"""psycopg and redshift_connector give Django the same behaviour, through the emulator.

Each test runs once per driver: the fixture swaps ``connections["default"]`` for a wrapper
with ``OPTIONS["driver"]`` set, on the same test database.
"""

from __future__ import annotations

import datetime
import decimal
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import (
    DataError,
    OperationalError,
    ProgrammingError,
    connection,
    connections,
    transaction,
)

from redshift_async_backend.base import DatabaseWrapper
from redshift_async_backend.errors import SerializationFailure
from tests.backend.conftest import flush_testapp
from tests.testapp.models import AllTypes, Item

pytestmark = pytest.mark.integration

DRIVERS = ["psycopg", "redshift_connector"]
UTC = datetime.UTC

VALUES: dict[str, Any] = {
    "char": "ünï 'q' \\ %_",
    "text": "x" * 5000,
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "boolean": True,
    "big": -9223372036854775808,
    "decimal": decimal.Decimal("12.5000000000"),
    "floating": 0.1,
    "date": datetime.date(2024, 2, 29),
    "datetime": datetime.datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC),
    "time": datetime.time(23, 59, 59, 999999),
    "duration": datetime.timedelta(days=-1, microseconds=1),
    "ip": "2001:db8::1",
    "json": {"a": [1, 2.5, None, True], "q'": "ü\\"},
    "binary": b"\x00\xff\xfe\x80'\\",  # not UTF-8
}


def wrapper_for(settings_dict: dict[str, Any], driver: str) -> DatabaseWrapper:
    sd = {**settings_dict, "OPTIONS": {**settings_dict["OPTIONS"], "driver": driver}}
    return DatabaseWrapper(sd, alias="default")


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest, settings_dict: dict[str, Any]) -> Iterator[str]:
    original = connections["default"]
    replacement = wrapper_for(settings_dict, request.param)
    connections["default"] = replacement
    try:
        yield request.param
    finally:
        replacement.close()
        connections["default"] = original


@pytest.fixture
def committed(driver: str) -> Iterator[None]:
    try:
        yield
    finally:
        flush_testapp()


def test_same_values_back_and_forth_across_drivers(
    committed: None, settings_dict: dict[str, Any], driver: str
) -> None:
    obj = AllTypes.objects.create(**VALUES)
    # Read with both drivers: what one wrote, the other reads back identically.
    for reader in DRIVERS:
        other = wrapper_for(settings_dict, reader)
        connections["default"], saved = other, connections["default"]
        try:
            row = AllTypes.objects.values(*VALUES).get(pk=obj.pk)
        finally:
            connections["default"] = saved
            other.close()
        for field, value in VALUES.items():
            assert row[field] == value, (reader, field)
            assert type(row[field]) is type(value), (reader, field)
        assert row["decimal"].as_tuple().exponent == -10


def test_lookups_find_the_row(committed: None, driver: str) -> None:
    obj = AllTypes.objects.create(**VALUES)
    for field in ("char", "uuid", "big", "decimal", "date", "datetime", "time", "duration", "ip"):
        assert AllTypes.objects.filter(pk=obj.pk, **{field: VALUES[field]}).count() == 1, field
    assert AllTypes.objects.filter(char__contains="%_").count() == 1
    assert AllTypes.objects.filter(char__icontains="ÜNÏ").count() == 1


def test_raw_cursor_types(db: None, driver: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT TO_VARBYTE(%s, 'hex') AS b, INTERVAL '1 day 02:00:00' AS i, "
            "CAST(%s AS NUMERIC(10, 3)) AS n, %s AS s",
            ["00ff80", decimal.Decimal("1.5"), "text"],
        )
        assert [col.name for col in cursor.description] == ["b", "i", "n", "s"]
        row = cursor.fetchone()
    assert row == (
        b"\x00\xff\x80",
        datetime.timedelta(days=1, hours=2),
        decimal.Decimal("1.500"),
        "text",
    )
    assert isinstance(row, tuple)
    assert str(row[2]) == "1.500"


def test_aware_timestamps_come_back_in_utc(db: None, driver: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT CAST('2024-06-01 12:00:00+02' AS TIMESTAMPTZ)")
        (value,) = cursor.fetchone()
    assert value == datetime.datetime(2024, 6, 1, 10, tzinfo=UTC)
    assert value.utcoffset() == datetime.timedelta(0)


def test_zone_change_on_an_open_connection(db: None, driver: str) -> None:
    # Settings that change after the connection opened: Django sets the session's zone and
    # gives each new cursor a loader for the new zone (register_tzloader).
    from django.test.utils import override_settings

    sql = "SELECT CAST('2024-06-01 12:00:00+00' AS TIMESTAMPTZ)"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        assert cursor.fetchone()[0] == datetime.datetime(2024, 6, 1, 12, tzinfo=UTC)
    with override_settings(USE_TZ=False, TIME_ZONE="America/Vancouver"):
        with connection.cursor() as cursor:
            cursor.execute(sql)
            (value,) = cursor.fetchone()
        assert value == datetime.datetime(2024, 6, 1, 5)  # wall clock, naive (PDT)
    with override_settings(USE_TZ=True, TIME_ZONE="UTC"), connection.cursor() as cursor:
        cursor.execute(sql)
        assert cursor.fetchone()[0] == datetime.datetime(2024, 6, 1, 12, tzinfo=UTC)


def test_multi_statement_results(db: None, driver: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1; SELECT %s, 'a;b'", ["two"])
        assert cursor.fetchall() == [(1,)]
        assert cursor.nextset()
        assert cursor.fetchall() == [("two", "a;b")]
        assert not cursor.nextset()


def test_transactions_are_djangos(
    committed: None, settings_dict: dict[str, Any], driver: str
) -> None:
    drv = connection.driver
    connection.ensure_connection()
    assert connection.get_autocommit()
    Item.objects.create(name="auto")  # committed at once: another session sees it
    assert not drv.in_transaction(connection.connection)
    observer = wrapper_for(settings_dict, "psycopg")
    try:
        with observer.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM testapp_item")
            assert cursor.fetchone() == (1,)
        with transaction.atomic():
            # A plain INSERT: create() would LOCK the table, and LOCK blocks readers too.
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO testapp_item (id, name, kind, amount) VALUES (100, %s, 'a', 0)",
                    ["inside"],
                )
            assert drv.in_transaction(connection.connection)
            with observer.cursor() as cursor:
                cursor.execute("SELECT COUNT(*) FROM testapp_item")
                assert cursor.fetchone() == (1,)  # not committed yet
        assert not drv.in_transaction(connection.connection)
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            Item.objects.create(name="rolled back")
            raise ZeroDivisionError
        assert not drv.in_transaction(connection.connection)
    finally:
        observer.close()
    assert sorted(Item.objects.values_list("name", flat=True)) == ["auto", "inside"]


def test_errors_map_to_django_classes(db: None, driver: str) -> None:
    with pytest.raises(DataError) as err, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT 1 / %s", [0])
    assert "division by zero" in str(err.value)
    with pytest.raises(ProgrammingError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELEC 1")
    with pytest.raises(ProgrammingError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")


@pytest.mark.parametrize("kind", ["serialization", "snapshot"])
def test_serialization_failure(committed: None, emulator: Any, driver: str, kind: str) -> None:
    emulator.fail_next("testapp_item", 1, kind=kind)
    with pytest.raises(SerializationFailure):
        Item.objects.count()
    assert Item.objects.count() == 0


def test_bulk_create_batches_under_the_parameter_limit(committed: None, driver: str) -> None:
    # 12,000 rows x 5 columns = 60,000 values: more than 32,767 bind parameters.
    created = Item.objects.bulk_create(Item(name=f"n{i}", amount=i) for i in range(12000))
    assert len({obj.pk for obj in created}) == 12000
    assert Item.objects.count() == 12000
    assert Item.objects.filter(amount__gte=11990).count() == 10


def test_connection_refused_is_operational(settings_dict: dict[str, Any], driver: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    bad = wrapper_for({**settings_dict, "PORT": str(port)}, driver)
    with pytest.raises(OperationalError):
        bad.ensure_connection()
