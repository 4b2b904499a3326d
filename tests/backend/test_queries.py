"""Lookups and database functions compile to SQL Redshift accepts (run through the emulator)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import NotSupportedError, connection, transaction
from django.db.models import Count, F, Q, Sum, TextField, Value, Window
from django.db.models.functions import (
    Concat,
    ExtractIsoWeekDay,
    ExtractIsoYear,
    ExtractMonth,
    ExtractSecond,
    ExtractWeekDay,
    Now,
    RowNumber,
    StrIndex,
    TruncDate,
    TruncHour,
    TruncMonth,
)
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from tests.testapp.models import AllTypes, Item

pytestmark = pytest.mark.integration

UTC = datetime.UTC
T0 = datetime.datetime(2024, 3, 10, 13, 45, 30, 123456, tzinfo=UTC)  # a Sunday


@pytest.fixture
def items(db: None) -> list[Item]:
    return [
        Item.objects.create(name="Alpha", kind="a", amount=1, created=T0),
        Item.objects.create(
            name="beta", kind="a", amount=2, created=T0 + datetime.timedelta(days=40)
        ),
        Item.objects.create(name="Gamma\\x", kind="b", amount=3, created=None),
    ]


def test_date_extract_and_trunc(items: Any) -> None:
    row = (
        Item.objects.filter(pk=items[0].pk)
        .annotate(
            m=ExtractMonth("created"),
            wd=ExtractWeekDay("created"),
            iwd=ExtractIsoWeekDay("created"),
            iy=ExtractIsoYear("created"),
            s=ExtractSecond("created"),
            month=TruncMonth("created"),
            hour=TruncHour("created"),
            day=TruncDate("created"),
        )
        .values("m", "wd", "iwd", "iy", "s", "month", "hour", "day")
        .get()
    )
    assert row == {
        "m": 3,
        "wd": 1,
        "iwd": 7,
        "iy": 2024,
        "s": 30,
        "month": datetime.datetime(2024, 3, 1, tzinfo=UTC),
        "hour": datetime.datetime(2024, 3, 10, 13, tzinfo=UTC),
        "day": datetime.date(2024, 3, 10),
    }
    assert Item.objects.filter(created__month=4).count() == 1
    assert Item.objects.filter(created__week_day=1).count() == 1
    assert Item.objects.filter(created__date=T0.date()).count() == 1


def test_dates_and_datetimes(items: Any) -> None:
    assert list(Item.objects.dates("created", "month")) == [
        datetime.date(2024, 3, 1),
        datetime.date(2024, 4, 1),
    ]
    assert list(Item.objects.datetimes("created", "day")) == [
        datetime.datetime(2024, 3, 10, tzinfo=UTC),
        datetime.datetime(2024, 4, 19, tzinfo=UTC),
    ]


def test_datetime_in_other_time_zone(items: Any) -> None:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Tokyo")  # 13:45 UTC is 22:45 in Tokyo
    row = Item.objects.filter(pk=items[0].pk).annotate(h=TruncHour("created", tzinfo=tz))
    assert row.values_list("h", flat=True).get() == datetime.datetime(2024, 3, 10, 22, tzinfo=tz)


def test_text_lookups_and_regex(items: Any) -> None:
    assert Item.objects.filter(name__iregex=r"^al").count() == 1
    assert Item.objects.filter(name__regex=r"^al").count() == 0
    assert Item.objects.filter(name__icontains="ALP").count() == 1
    assert Item.objects.filter(name__contains="\\x").count() == 1
    assert Item.objects.filter(name__endswith="a\\x").count() == 1
    assert Item.objects.filter(name__iexact="BETA").count() == 1
    assert Item.objects.filter(amount__contains="2").count() == 1


def test_concat_strindex_now(items: Any) -> None:
    rows = dict(Item.objects.annotate(c=Concat("name", Value("-"), "kind")).values_list("pk", "c"))
    assert rows[items[2].pk] == "Gamma\\x-b"
    AllTypes.objects.create(char=None, text="t")
    assert (
        AllTypes.objects.annotate(c=Concat("char", "text", output_field=TextField()))
        .values_list("c", flat=True)
        .get()
        == "t"
    )  # NULL is '' for Concat
    assert (
        Item.objects.filter(pk=items[0].pk)
        .annotate(i=StrIndex("name", Value("ph")))
        .values_list("i", flat=True)
        .get()
        == 3
    )
    assert Item.objects.filter(created__lt=Now()).count() == 2


def test_aggregate_filter_and_window(items: Any) -> None:
    agg = Item.objects.aggregate(n=Count("id", filter=Q(kind="a")), total=Sum("amount"))
    assert agg == {"n": 2, "total": 6}
    running = list(
        Item.objects.annotate(
            run=Window(Sum("amount"), order_by=F("amount").asc()),
            rn=Window(RowNumber(), order_by=F("amount").desc()),
        )
        .order_by("amount")
        .values_list("run", "rn")
    )
    assert running == [(1, 3), (3, 2), (6, 1)]


def test_json_and_duration(db: None) -> None:
    AllTypes.objects.create(
        json={"a": {"b": "x"}, "n": 5}, duration=datetime.timedelta(hours=1), datetime=T0
    )
    assert AllTypes.objects.filter(json__a__b="x").count() == 1
    assert AllTypes.objects.filter(json__n=5).count() == 1
    assert AllTypes.objects.filter(json__has_key="n").count() == 1
    assert AllTypes.objects.values_list("json__a__b", flat=True).get() == "x"
    later = AllTypes.objects.annotate(t=F("datetime") + F("duration")).values_list("t", flat=True)
    assert later.get() == T0 + datetime.timedelta(hours=1)


def test_bulk_insert_without_unnest(db: None) -> None:
    with CaptureQueriesContext(connection) as ctx:
        Item.objects.bulk_create([Item(name=f"n{i}") for i in range(3)])
    joined = " ".join(q["sql"] for q in ctx.captured_queries)
    assert "UNNEST" not in joined.upper()
    assert Item.objects.count() == 3


def test_bulk_batch_size_respects_the_parameter_limit(db: None) -> None:
    # Bind parameters: at most 32,767 a statement (DG:amazon-redshift-limits). Values
    # quoted into the text (psycopg) have no such limit; the 16 MB statement limit is the
    # insert compiler's (test_bulk_insert.py).
    fields = Item._meta.concrete_fields
    objs = [Item(name="x" * 50) for _ in range(100_000)]
    size = connection.ops.bulk_batch_size(fields, objs)
    if connection.driver.binds_server_side:
        assert size * len(fields) <= 32767
    else:
        assert size == len(objs)


def test_unsupported_things_raise(db: None) -> None:
    with pytest.raises(NotSupportedError):
        list(Item.objects.distinct("name"))
    assert not connection.features.uses_savepoints


def test_select_for_update_locks_table(db: None) -> None:
    Item.objects.create(name="locked")
    with CaptureQueriesContext(connection) as ctx:
        assert list(Item.objects.select_for_update().values_list("name", flat=True)) == ["locked"]
    sqls = [q["sql"] for q in ctx.captured_queries]
    assert sqls[0] == 'LOCK "testapp_item"'
    assert "FOR UPDATE" not in sqls[1]


def test_select_for_update_outside_transaction(django_db_setup: str) -> None:
    assert connection.get_autocommit()
    with pytest.raises(TransactionManagementError):
        list(Item.objects.select_for_update())
    with transaction.atomic(), pytest.raises(NotSupportedError):
        list(Item.objects.select_for_update(nowait=True))


def test_iterator_outside_and_inside_transaction(django_db_setup: str) -> None:
    try:
        Item.objects.bulk_create([Item(name=f"it{i}") for i in range(5)])
        assert len(list(Item.objects.iterator(chunk_size=2))) == 5
        with transaction.atomic():
            assert len(list(Item.objects.iterator(chunk_size=2))) == 5
    finally:
        Item.objects.all().delete()


def test_case_of_uuids_keeps_the_whole_value(db: None) -> None:
    # Case() unifies its branches with a cast to the field's type: CHAR(36), not CHAR.
    from uuid import UUID

    from django.db.models import Case, When

    one, two = UUID(int=1), UUID(int=2)
    first = AllTypes.objects.create(big=1)
    second = AllTypes.objects.create(big=2)
    AllTypes.objects.update(uuid=Case(When(big=1, then=Value(one)), When(big=2, then=two)))
    assert AllTypes.objects.get(pk=first.pk).uuid == one
    assert AllTypes.objects.get(pk=second.pk).uuid == two
