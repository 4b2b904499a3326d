"""Native inserts, updates and deletes: same rows, pks and signals as Django's sync path."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from django.db.models import F, signals

from redshift_async_backend import aio
from tests.testapp.models import AllTypes, BigThing, Item, OddPk, UUIDKeyed

pytestmark = pytest.mark.integration


@pytest.fixture
def saved() -> Iterator[list[tuple[str, Any]]]:
    """pre_save/post_save calls as (signal, kwargs without the signal object)."""
    calls: list[tuple[str, Any]] = []

    def pre(sender: Any, **kwargs: Any) -> None:
        calls.append(
            (
                "pre",
                sender,
                kwargs["instance"].pk,
                kwargs["raw"],
                kwargs["using"],
                kwargs["update_fields"],
            )
        )

    def post(sender: Any, **kwargs: Any) -> None:
        calls.append(("post", sender, kwargs["instance"].pk, kwargs["created"], kwargs["using"]))

    signals.pre_save.connect(pre, sender=Item)
    signals.post_save.connect(post, sender=Item)
    yield calls
    signals.pre_save.disconnect(pre, sender=Item)
    signals.post_save.disconnect(post, sender=Item)


def fields(obj: Any) -> dict[str, Any]:
    return {k: v for k, v in obj.__dict__.items() if k not in ("_state", "id", "select")}


def test_acreate_matches_create_and_sends_signals(alias: str, saved: list[Any]) -> None:
    kwargs = {
        "name": "x",
        "amount": 3,
        "data": {"k": [1]},
        "created": datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC),
    }
    sync = Item.aobjects.using(alias).create(**kwargs)
    sync_calls = list(saved)
    saved.clear()
    native = asyncio.run(Item.aobjects.using(alias).acreate(**kwargs))
    assert native.pk == sync.pk + 1  # allocated under the lock: MAX(pk) + 1
    assert (native._state.db, native._state.adding) == (alias, False)
    assert fields(native) == fields(sync)
    assert fields(Item.objects.using(alias).get(pk=native.pk)) == fields(sync)
    # The same signals with the same arguments (the pk differs by one).
    assert [c[:2] + c[3:] for c in saved] == [c[:2] + c[3:] for c in sync_calls]
    assert [c[2] for c in saved] == [None, native.pk]


@pytest.mark.parametrize("model", [BigThing, OddPk])
def test_acreate_other_pk_kinds(alias: str, model: Any) -> None:
    first = model.objects.using(alias).create(payload="a")

    async def main() -> list[Any]:
        return [await model.aobjects.using(alias).acreate(payload=str(i)) for i in range(3)]

    made = asyncio.run(main())
    assert [m.pk for m in made] == [first.pk + 1, first.pk + 2, first.pk + 3]
    assert sorted(model.objects.using(alias).values_list("pk", "payload")) == [
        (first.pk, "a"),
        *((m.pk, m.payload) for m in made),
    ]


def test_acreate_uuid_pk_and_explicit_pk(alias: str) -> None:
    async def main() -> tuple[Any, Any]:
        u = await UUIDKeyed.aobjects.using(alias).acreate(name="u")
        i = await Item.aobjects.using(alias).acreate(id=500, name="explicit")
        return u, i

    u, i = asyncio.run(main())
    assert UUIDKeyed.objects.using(alias).get(pk=u.pk).name == "u"
    assert i.pk == 500 and Item.objects.using(alias).get(pk=500).name == "explicit"


def test_asave_insert_then_update(alias: str, saved: list[Any]) -> None:
    async def main() -> Any:
        obj = Item(name="s", amount=1)
        await aio.asave(obj, using=alias)
        obj.amount = 7
        await aio.asave(obj, using=alias)
        return obj

    obj = asyncio.run(main())
    assert Item.objects.using(alias).get(pk=obj.pk).amount == 7
    assert [(c[0], c[3]) for c in saved] == [
        ("pre", False),
        ("post", True),
        ("pre", False),
        ("post", False),
    ]


def test_asave_update_fields_falls_back(alias: str) -> None:
    obj = Item.objects.using(alias).create(name="f", amount=1)
    obj.amount, obj.name = 2, "changed"
    asyncio.run(aio.asave(obj, using=alias, update_fields=["amount"]))
    assert Item.objects.using(alias).values_list("name", "amount").get(pk=obj.pk) == ("f", 2)


def test_abulk_create_matches_bulk_create(alias: str) -> None:
    sync = Item.aobjects.using(alias).bulk_create([Item(name=f"s{i}") for i in range(5)])
    native = asyncio.run(
        Item.aobjects.using(alias).abulk_create(
            [Item(name=f"a{i}") for i in range(5)] + [Item(id=900, name="given")], batch_size=2
        )
    )
    # As Django: objects with a pk are inserted first, then the others get pks above
    # MAX(pk) and every pk handed out before.
    assert [o.pk for o in sync] == list(range(sync[0].pk, sync[0].pk + 5))
    top = max(900, sync[-1].pk)
    assert [o.pk for o in native] == [top + 1, top + 2, top + 3, top + 4, top + 5, 900]
    assert all(o._state.db == alias and not o._state.adding for o in native)
    names = dict(Item.objects.using(alias).values_list("pk", "name"))
    assert all(names[o.pk] == o.name for o in sync + native)


def test_aupdate_and_adelete(alias: str) -> None:
    Item.objects.using(alias).bulk_create([Item(name=f"n{i}", amount=i) for i in range(6)])
    AllTypes.objects.using(alias).bulk_create([AllTypes(integer=i) for i in range(4)])
    items, alltypes = Item.aobjects.using(alias), AllTypes.aobjects.using(alias)

    async def main() -> tuple[Any, ...]:
        updated = await items.filter(amount__gte=3).aupdate(amount=F("amount") + 100)
        none = await items.filter(pk__in=[]).aupdate(amount=0)
        fast = await alltypes.filter(integer__lt=2).adelete()  # one DELETE, no cascade
        nothing = await alltypes.filter(integer=99).adelete()
        cascade = await items.filter(amount__lt=2).adelete()  # Tag cascades: Django's path
        return updated, none, fast, nothing, cascade

    updated, none, fast, nothing, cascade = asyncio.run(main())
    assert (updated, none) == (3, 0)
    assert fast == (2, {"testapp.AllTypes": 2})
    assert nothing == AllTypes.objects.using(alias).filter(integer=99).delete() == (0, {})
    assert cascade == (2, {"testapp.Item": 2})
    assert sorted(Item.objects.using(alias).values_list("amount", flat=True)) == [2, 103, 104, 105]


def test_failed_insert_rolls_back_and_keeps_pk_unset(alias: str) -> None:
    async def main() -> Any:
        obj = Item(name="x" * 51)  # longer than varchar(50): the server refuses it
        with pytest.raises(Exception) as info:
            await aio.asave(obj, using=alias)
        assert obj.pk is None
        # The connection went back clean: the next insert works.
        return info.value, await Item.aobjects.using(alias).acreate(name="ok")

    error, ok = asyncio.run(main())
    assert type(error).__module__ == "django.db.utils"
    assert list(Item.objects.using(alias).values_list("name", flat=True)) == ["ok"]
    assert ok.pk is not None


def test_acreate_on_an_identity_pk_table(alias: str) -> None:
    # IDENTITY(1, 1) takes no explicit pk (DG:r_CREATE_TABLE_NEW): inserted without it, the
    # pk read back under the table lock, as on the sync path.
    from django.db import connection

    from tests.backend.test_identity_pk import TABLE, make_table
    from tests.testapp.models import LegacyCounter

    make_table("IDENTITY(1, 1)")
    try:

        async def main() -> tuple[Any, Any, list[Any]]:
            manager = LegacyCounter.aobjects.using(alias)  # type: ignore[attr-defined]
            a = await manager.acreate(payload="a")
            b = await manager.acreate(payload="b")
            many = await manager.abulk_create([LegacyCounter(payload=f"m{i}") for i in range(3)])
            return a, b, many

        a, b, many = asyncio.run(main())
        assert b.pk > a.pk
        assert LegacyCounter.objects.get(pk=a.pk).payload == "a"
        assert LegacyCounter.objects.get(pk=b.pk).payload == "b"
        assert [o.pk for o in many] == [None] * 3
        assert LegacyCounter.objects.count() == 5
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
