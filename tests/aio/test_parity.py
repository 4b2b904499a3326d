"""Every native a-method gives what Django's sync method gives, over the testapp models."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from django.db.models import Avg, Count, F, Max, Min, Model, Q, Sum
from django.db.models.functions import Lower

from tests.testapp.models import AllTypes, Item, Tag

pytestmark = pytest.mark.integration


def norm(value: Any) -> Any:
    """A comparable form: model instances with their state, caches and field values."""
    if isinstance(value, Model):
        state = value._state
        fields = {k: norm(v) for k, v in value.__dict__.items() if k != "_state"}
        cache = {k: norm(v) for k, v in state.fields_cache.items()}
        prefetched = {
            k: norm(list(v)) for k, v in getattr(value, "_prefetched_objects_cache", {}).items()
        }
        return (type(value).__name__, state.db, state.adding, fields, cache, prefetched)
    if isinstance(value, dict):
        return {k: norm(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [norm(v) for v in value])
    return value


async def alist(aiter: Any) -> list[Any]:
    return [x async for x in aiter]


def outcome(fn: Callable[[], Any]) -> Any:
    try:
        return ("ok", norm(fn()))
    except Exception as exc:
        return ("error", type(exc).__name__)


async def aoutcome(fn: Callable[[], Any]) -> Any:
    try:
        return ("ok", norm(await fn()))
    except Exception as exc:
        return ("error", type(exc).__name__)


def cases(a: str) -> list[tuple[str, Callable[[], Any], Callable[[], Any]]]:
    items = Item.aobjects.using(a)
    tags = Tag.aobjects.using(a)
    alltypes = AllTypes.aobjects.using(a)
    some = Item.objects.using(a).order_by("pk")[3]
    rows = [
        ("all", lambda: list(items.order_by("pk")), lambda: alist(items.order_by("pk"))),
        (
            "filter",
            lambda: list(items.order_by("pk").filter(kind="a", amount__gte=20)),
            lambda: alist(items.order_by("pk").filter(kind="a", amount__gte=20)),
        ),
        (
            "every field type",
            lambda: list(alltypes.order_by("pk")),
            lambda: alist(alltypes.order_by("pk")),
        ),
        (
            "values every type",
            lambda: list(alltypes.order_by("pk").values()),
            lambda: alist(alltypes.order_by("pk").values()),
        ),
        (
            "values",
            lambda: list(items.order_by("pk").values("name", "data")),
            lambda: alist(items.order_by("pk").values("name", "data")),
        ),
        (
            "values_list",
            lambda: list(items.order_by("pk").values_list("name", "amount")),
            lambda: alist(items.order_by("pk").values_list("name", "amount")),
        ),
        (
            "flat",
            lambda: list(items.order_by("pk").values_list("name", flat=True)),
            lambda: alist(items.order_by("pk").values_list("name", flat=True)),
        ),
        (
            "named",
            lambda: list(items.order_by("pk").values_list("pk", "kind", named=True)),
            lambda: alist(items.order_by("pk").values_list("pk", "kind", named=True)),
        ),
        (
            "values reordered",
            lambda: list(items.order_by("pk").annotate(x=F("amount") * 2).values_list("x", "name")),
            lambda: alist(
                items.order_by("pk").annotate(x=F("amount") * 2).values_list("x", "name")
            ),
        ),
        (
            "select_related",
            lambda: list(tags.select_related("item").order_by("pk")),
            lambda: alist(tags.select_related("item").order_by("pk")),
        ),
        (
            "select_related values",
            lambda: list(tags.order_by("pk").values_list("label", "item__name")),
            lambda: alist(tags.order_by("pk").values_list("label", "item__name")),
        ),
        (
            "annotate",
            lambda: list(items.order_by("pk").annotate(n=Count("tags"))),
            lambda: alist(items.order_by("pk").annotate(n=Count("tags"))),
        ),
        (
            "distinct extra select",
            lambda: list(items.order_by(Lower("kind")).values("kind").distinct()),
            lambda: alist(items.order_by(Lower("kind")).values("kind").distinct()),
        ),
        (
            "prefetch",
            lambda: list(items.order_by("pk").prefetch_related("tags")),
            lambda: alist(items.order_by("pk").prefetch_related("tags")),
        ),
        (
            "union",
            lambda: list(items.filter(kind="a").union(items.filter(amount__gt=80)).order_by("pk")),
            lambda: alist(items.filter(kind="a").union(items.filter(amount__gt=80)).order_by("pk")),
        ),
        ("empty in", lambda: list(items.filter(pk__in=[])), lambda: alist(items.filter(pk__in=[]))),
        (
            "dates",
            lambda: list(items.dates("created", "month")),
            lambda: alist(items.dates("created", "month")),
        ),
        (
            "aiterator",
            lambda: list(items.order_by("pk").iterator(chunk_size=5)),
            lambda: alist(items.order_by("pk").aiterator(chunk_size=5)),
        ),
        (
            "aiterator values_list",
            lambda: list(items.order_by("pk").values_list("name").iterator(3)),
            lambda: alist(items.order_by("pk").values_list("name").aiterator(3)),
        ),
        (
            "aiterator prefetch",
            lambda: list(items.order_by("pk").prefetch_related("tags").iterator(4)),
            lambda: alist(items.order_by("pk").prefetch_related("tags").aiterator(4)),
        ),
        (
            "aiterator select_related",
            lambda: list(tags.select_related("item").order_by("pk").iterator(5)),
            lambda: alist(tags.select_related("item").order_by("pk").aiterator(5)),
        ),
        ("get", lambda: items.get(name="item03"), lambda: items.aget(name="item03")),
        (
            "get Q",
            lambda: items.get(Q(name="item03") | Q(name="zz")),
            lambda: items.aget(Q(name="item03") | Q(name="zz")),
        ),
        ("get missing", lambda: items.get(name="nope"), lambda: items.aget(name="nope")),
        ("get many", lambda: items.get(kind="a"), lambda: items.aget(kind="a")),
        ("get every type", lambda: alltypes.get(char="chär"), lambda: alltypes.aget(char="chär")),
        ("first", lambda: items.first(), lambda: items.afirst()),
        (
            "first ordered",
            lambda: items.order_by("-amount").first(),
            lambda: items.order_by("-amount").afirst(),
        ),
        ("last", lambda: items.last(), lambda: items.alast()),
        (
            "first none",
            lambda: items.filter(name="nope").first(),
            lambda: items.filter(name="nope").afirst(),
        ),
        ("count", lambda: items.count(), lambda: items.acount()),
        (
            "count filtered",
            lambda: items.filter(kind="b").count(),
            lambda: items.filter(kind="b").acount(),
        ),
        (
            "count distinct",
            lambda: items.values("kind").distinct().count(),
            lambda: items.values("kind").distinct().acount(),
        ),
        (
            "count sliced",
            lambda: items.order_by("pk")[2:5].count(),
            lambda: items.order_by("pk")[2:5].acount(),
        ),
        (
            "exists",
            lambda: items.filter(kind="a").exists(),
            lambda: items.filter(kind="a").aexists(),
        ),
        (
            "exists not",
            lambda: items.filter(name="nope").exists(),
            lambda: items.filter(name="nope").aexists(),
        ),
        (
            "contains",
            lambda: items.filter(kind=some.kind).contains(some),
            lambda: items.filter(kind=some.kind).acontains(some),
        ),
        (
            "contains not",
            lambda: items.exclude(pk=some.pk).contains(some),
            lambda: items.exclude(pk=some.pk).acontains(some),
        ),
        (
            "aggregate",
            lambda: items.aggregate(Sum("amount"), Avg("amount"), Max("created"), n=Count("pk")),
            lambda: items.aaggregate(Sum("amount"), Avg("amount"), Max("created"), n=Count("pk")),
        ),
        (
            "aggregate empty",
            lambda: items.filter(pk__in=[]).aggregate(s=Sum("amount")),
            lambda: items.filter(pk__in=[]).aaggregate(s=Sum("amount")),
        ),
        (
            "aggregate types",
            lambda: alltypes.aggregate(Sum("duration"), Max("decimal"), Min("date")),
            lambda: alltypes.aaggregate(Sum("duration"), Max("decimal"), Min("date")),
        ),
        (
            "in_bulk",
            lambda: items.in_bulk([some.pk, some.pk + 1, 10**6]),
            lambda: items.ain_bulk([some.pk, some.pk + 1, 10**6]),
        ),
        (
            "in_bulk name",
            lambda: items.in_bulk(["item01", "item02"], field_name="name"),
            lambda: items.ain_bulk(["item01", "item02"], field_name="name"),
        ),
        ("in_bulk all", lambda: items.in_bulk(), lambda: items.ain_bulk()),
        ("earliest", lambda: items.earliest("created"), lambda: items.aearliest("created")),
        ("latest", lambda: items.latest("created", "pk"), lambda: items.alatest("created", "pk")),
    ]
    return rows


def test_reads_match_sync(rows: str) -> None:
    table = cases(rows)
    expected = [outcome(sync) for _, sync, _ in table]

    async def main() -> list[Any]:
        return [await aoutcome(afn) for _, _, afn in table]

    got = asyncio.run(main())
    for (name, _, _), want, have in zip(table, expected, got, strict=True):
        assert have == want, name
    # The cases cover real data: not everything is empty.
    assert sum(1 for kind, value in expected if kind == "ok" and value) > 30


def test_concurrent_reads_match_sync(rows: str) -> None:
    table = cases(rows)
    expected = [outcome(sync) for _, sync, _ in table]

    async def main() -> list[Any]:
        return list(await asyncio.gather(*(aoutcome(afn) for _, _, afn in table)))

    assert asyncio.run(main()) == expected
