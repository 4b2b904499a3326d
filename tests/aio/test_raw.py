"""aio.connection() and aio.atomic(): raw SQL, transactions, one connection per task."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.db import IntegrityError, ProgrammingError

from redshift_async_backend import aio
from tests.testapp.models import Item

pytestmark = pytest.mark.integration


def test_connection_runs_sql_with_django_params(alias: str) -> None:
    async def main() -> tuple[Any, ...]:
        async with aio.connection(alias) as conn:
            one = await conn.fetchone("SELECT %s || %s, %s", ["a'b", "\\c", 5])
            count = await conn.execute(
                "INSERT INTO testapp_item (name, kind, amount) VALUES (%s, 'a', 1), (%s, 'a', 2)",
                ["p", "q"],
            )
            rows = await conn.fetchall("SELECT name FROM testapp_item ORDER BY amount")
            chunks = [c async for c in conn.stream("SELECT amount FROM testapp_item", None, 1)]
            with pytest.raises(ProgrammingError):
                await conn.execute("SELECT * FROM no_such_table")
            return one, count, rows, chunks

    one, count, rows, chunks = asyncio.run(main())
    assert one == ("a'b\\c", 5)
    assert count == 2
    assert rows == [("p",), ("q",)]
    assert sorted(chunks) == [[(1,)], [(2,)]]


def test_atomic_commits_and_rolls_back(alias: str) -> None:
    items = Item.aobjects.using(alias)

    async def main() -> tuple[Any, ...]:
        async with aio.atomic(alias) as conn:
            await items.acreate(name="kept")
            inside = await items.acount()  # same task, same connection: sees its row
            assert conn.in_transaction
        with pytest.raises(RuntimeError):
            async with aio.atomic(alias):
                await items.acreate(name="lost")
                async with aio.atomic(alias):  # nested: joins (no savepoints in Redshift)
                    await items.filter(name="kept").aupdate(amount=9)
                raise RuntimeError("roll back")
        return inside, await items.acount()

    inside, after = asyncio.run(main())
    assert (inside, after) == (1, 1)
    assert list(Item.objects.using(alias).values_list("name", "amount")) == [("kept", 0)]


def test_atomic_is_per_task(alias: str) -> None:
    """A child task does not use its parent's connection (it would interleave commands)."""

    async def main() -> tuple[int, int, int]:
        async with aio.atomic(alias) as conn:
            await conn.execute("INSERT INTO testapp_item (name, kind, amount) VALUES ('t', 'a', 0)")
            mine = await Item.aobjects.using(alias).acount()
            theirs = await asyncio.create_task(Item.aobjects.using(alias).acount())
            pid = await conn.fetchone("SELECT pg_backend_pid()")
            other = await asyncio.create_task(_pid(alias))
        return mine, theirs, int(pid[0] != other)

    assert asyncio.run(main()) == (1, 0, 1)


async def _pid(alias: str) -> Any:
    async with aio.connection(alias) as conn:
        return (await conn.fetchone("SELECT pg_backend_pid()"))[0]


def test_error_inside_atomic_maps_and_rolls_back(alias: str) -> None:
    async def main() -> int:
        with pytest.raises(IntegrityError):
            async with aio.atomic(alias) as conn:
                await conn.execute(
                    "INSERT INTO testapp_item (name, kind, amount) VALUES ('x','a',1)"
                )
                await conn.execute("INSERT INTO testapp_item (name) VALUES (NULL)")
        return await Item.aobjects.using(alias).acount()

    assert asyncio.run(main()) == 0


def test_without_pool_each_block_connects(
    settings_dict: dict[str, Any], transactional_db: None
) -> None:
    from tests.aio.conftest import add_alias, drop_alias

    alias = add_alias(settings_dict, "aio_nopool", False)
    try:

        async def main() -> Any:
            await Item.aobjects.using(alias).acreate(name="np")
            return [i.name async for i in Item.aobjects.using(alias).all()]

        assert asyncio.run(main()) == ["np"]
    finally:
        drop_alias(alias)
