"""Window frames: what Redshift's ROWS-only frames can say exactly, and Django's checks first.

Redshift frames are ROWS only, a frame follows an ORDER BY, and an aggregate window with
ORDER BY needs one (DG:r_Window_function_synopsis, DG:c_Window_functions).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import NotSupportedError
from django.db.models import F, Max, Sum, Value, ValueRange, Window
from django.db.models.functions import Abs, FirstValue, RowNumber

from tests.testapp.models import Item

WHOLE = "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING"
RUNNING = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"


def sql(window: Window) -> str:
    return str(Item.objects.annotate(w=window).query)


def test_aggregate_ordered_by_partition_key_is_whole_partition() -> None:
    # All rows of a partition are peers: SQL's default frame (RANGE ... CURRENT ROW) is
    # the whole partition, not a running total.
    text = sql(Window(Sum("amount"), partition_by="kind", order_by=F("kind").asc()))
    assert WHOLE in text
    text = sql(Window(FirstValue("amount"), partition_by=[F("kind")], order_by="kind"))
    assert WHOLE in text


def test_aggregate_ordered_by_other_key_is_running() -> None:
    text = sql(Window(Sum("amount"), partition_by="kind", order_by=F("amount").asc()))
    assert RUNNING in text
    assert "RANGE" not in text


def test_no_order_by_takes_no_frame() -> None:
    text = sql(Window(Sum("amount"), partition_by="kind"))
    assert "ROWS" not in text and "RANGE" not in text


def test_unbounded_value_range_is_rows() -> None:
    text = sql(Window(Sum("amount"), order_by="amount", frame=ValueRange(None, None)))
    assert WHOLE in text and "RANGE" not in text
    # Without ORDER BY a frame clause is not allowed; the window is the whole partition.
    text = sql(Window(Sum("amount"), frame=ValueRange(None, None)))
    assert "ROWS" not in text and "RANGE" not in text


def test_value_range_to_current_row_among_peers_is_whole_partition() -> None:
    text = sql(
        Window(Sum("amount"), partition_by="kind", order_by="kind", frame=ValueRange(None, 0))
    )
    assert WHOLE in text


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (ValueRange(start=3), "start argument must be a negative integer, zero, or None"),
        (ValueRange(end=-3), "end argument must be a positive integer, zero, or None"),
        (ValueRange(start="a"), "start argument must be a negative integer, zero, or None"),
        (ValueRange(end="a"), "end argument must be a positive integer, zero, or None"),
    ],
)
def test_django_checks_values_before_refusing_range(frame: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sql(Window(Sum("amount"), order_by="amount", frame=frame))


@pytest.mark.parametrize("frame", [ValueRange(start=-1), ValueRange(end=1)])
def test_fixed_distance_range_gets_djangos_error(frame: Any) -> None:
    with pytest.raises(NotSupportedError, match="only supports UNBOUNDED together with"):
        sql(Window(Sum("amount"), order_by="amount", frame=frame))


@pytest.mark.parametrize("frame", [ValueRange(None, 0), ValueRange(0, None), ValueRange(0, 0)])
def test_range_to_peers_is_refused(frame: Any) -> None:
    # Peers of the current row under an ORDER BY that is not all peers: ROWS cannot say it.
    with pytest.raises(NotSupportedError, match="ROWS only"):
        sql(Window(Sum("amount"), order_by="amount", frame=frame))


@pytest.mark.integration
def test_peer_partition_values(db: None) -> None:
    for name, kind, amount in (("a", "x", 1), ("b", "x", 5), ("c", "y", 2)):
        Item.objects.create(name=name, kind=kind, amount=amount)
    rows = (
        Item.objects.annotate(
            total=Window(Sum("amount"), partition_by="kind", order_by="kind"),
            top=Window(Max("amount"), partition_by="kind", order_by=F("kind").desc()),
        )
        .order_by("name")
        .values_list("name", "total", "top")
    )
    assert list(rows) == [("a", 6, 5), ("b", 6, 5), ("c", 2, 2)]


def test_constant_partition_expressions_are_left_out() -> None:
    # Redshift refuses a constant PARTITION BY (DG:r_Window_function_synopsis); a constant
    # puts every row in one partition, as no PARTITION BY does.
    text = sql(Window(RowNumber(), partition_by=[Value(1), F("kind")], order_by="amount"))
    assert 'PARTITION BY "testapp_item"."kind" ORDER BY' in text
    text = sql(Window(RowNumber(), partition_by=Abs(Value(-1)), order_by="amount"))
    assert "PARTITION BY" not in text


@pytest.mark.integration
def test_constant_partition_runs(db: None) -> None:
    for name, kind, amount in (("a", "x", 1), ("b", "x", 5), ("c", "y", 2)):
        Item.objects.create(name=name, kind=kind, amount=amount)
    rows = Item.objects.annotate(
        n=Window(RowNumber(), partition_by=Value("all"), order_by="amount")
    ).values_list("name", "n")
    assert sorted(rows) == [("a", 1), ("b", 3), ("c", 2)]
