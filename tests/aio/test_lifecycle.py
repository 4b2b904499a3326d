"""Lifecycle: trio, redshift_connector, Django's ASGI handler, cancellation, no leaks."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from django.db import connections

from redshift_async_backend import aio, pooling
from redshift_async_backend.emulator import Emulator
from tests.aio.conftest import add_alias, drop_alias, make_rows
from tests.testapp.models import Item

pytestmark = pytest.mark.integration


@pytest.fixture
def slow_emulator(emulator: Any) -> Iterator[Emulator]:
    """An emulator of our own on the same PostgreSQL, so its latency slows no other test."""
    with Emulator(upstream=emulator.upstream_url) as emu:
        yield emu


@pytest.fixture
def slow_alias(settings_dict: dict[str, Any], transactional_db: None, slow_emulator: Emulator):
    alias = add_alias(settings_dict, "aio_slow", {"min_size": 0, "max_size": 3})
    connections.settings[alias].update(HOST=slow_emulator.host, PORT=str(slow_emulator.port))
    yield alias
    drop_alias(alias)


async def workload(alias: str) -> tuple[Any, ...]:
    items = Item.aobjects.using(alias)
    created = await items.acreate(name="made", kind="b")
    names = [i.name async for i in items.filter(kind="a").order_by("pk")]
    chunks = [i.pk async for i in items.order_by("pk").aiterator(chunk_size=4)]
    async with aio.atomic(alias):
        await items.filter(pk=created.pk).aupdate(amount=1)
    return names, await items.acount(), len(chunks), await items.aaggregate(n=anyio_sum())


def anyio_sum() -> Any:
    from django.db.models import Sum

    return Sum("amount")


def expected(alias: str) -> tuple[Any, ...]:
    names = list(
        Item.objects.using(alias).filter(kind="a").order_by("pk").values_list("name", flat=True)
    )
    return names, 13, 13, {"n": 661}


def test_trio_runs_the_sync_driver_in_threads(rows: str) -> None:
    import trio

    got = trio.run(workload, rows)
    assert got == expected(rows)
    assert not pooling._async_pools  # the pool of that run was closed with it


def test_asyncio_through_anyio(rows: str) -> None:
    assert anyio.run(workload, rows) == expected(rows)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_redshift_connector_driver(
    settings_dict: dict[str, Any], transactional_db: None, backend: str
) -> None:
    pytest.importorskip("redshift_connector")
    alias = add_alias(
        settings_dict, "aio_rc", {"max_size": 2}, driver="redshift_connector", sslmode="disable"
    )
    try:
        make_rows(alias)
        got = anyio.run(workload, alias, backend=backend)
        assert got == expected(alias)
    finally:
        drop_alias(alias)


async def settled(alias: str) -> dict[str, Any]:
    """The pool's stats once replacements of discarded connections have finished."""
    pool = await pooling.get_async_pool(alias)
    assert pool is not None
    with anyio.move_on_after(5):
        while (stats := pool.get_stats())["size"] != stats["available"]:
            await anyio.sleep(0.01)
    return pool.get_stats()


def test_cancel_mid_query_leaves_pool_clean(slow_alias: str, slow_emulator: Emulator) -> None:
    make_rows(slow_alias)
    items = Item.aobjects.using(slow_alias)

    async def main() -> tuple[dict[str, Any], list[int]]:
        await items.acount()  # opens the loop's pool
        slow_emulator.latency_ms = 400
        tasks = [asyncio.create_task(items.acount()) for _ in range(3)]
        tasks.append(asyncio.create_task(_atomic_write(slow_alias)))
        await asyncio.sleep(0.15)  # every task is waiting on the server now
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        slow_emulator.latency_ms = 0
        stats = await settled(slow_alias)
        # Every connection works, and none was lost or left borrowed.
        counts = await asyncio.gather(*(items.acount() for _ in range(6)))
        return stats, counts

    stats, counts = asyncio.run(main())
    assert stats["waiting"] == 0 and stats["size"] == stats["available"] <= 3
    assert counts == [12] * 6
    assert not Item.objects.using(slow_alias).filter(name="in-tx").exists()  # rolled back
    connections[slow_alias].close()
    connections[slow_alias].close_pool()
    # The loop's async pool closed its connections when asyncio.run() ended.
    deadline = time.monotonic() + 5
    while slow_emulator.stats()["open_connections"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert slow_emulator.stats()["open_connections"] == 0


async def _atomic_write(alias: str) -> None:
    async with aio.atomic(alias) as conn:
        await conn.execute("INSERT INTO testapp_item (name, kind, amount) VALUES ('in-tx','a',0)")
        await conn.execute("SELECT 1")


def test_asgi_request_uses_native_pool_and_returns_connections(rows: str, emulator: Any) -> None:
    from django.core.handlers.asgi import ASGIHandler
    from django.http import JsonResponse
    from django.test import override_settings
    from django.urls import path

    async def view(request: Any) -> JsonResponse:
        items = Item.aobjects.using(rows)
        counts = await asyncio.gather(*(items.filter(kind=k).acount() for k in "ab"))
        first = await items.order_by("pk").afirst()
        created = await items.acreate(name="from-view")
        return JsonResponse({"counts": counts, "first": first.name, "pk": created.pk})

    class Urls:
        urlpatterns = [path("v/", view)]

    async def call() -> tuple[int, dict[str, Any]]:
        handler = ASGIHandler()
        sent: list[dict[str, Any]] = []
        received = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive() -> dict[str, Any]:
            if received:
                return received.pop()
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "GET",
            "path": "/v/",
            "query_string": b"",
            "headers": [(b"host", b"testserver")],
            "server": ("testserver", 80),
            "client": ("127.0.0.1", 1),
            "scheme": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "root_path": "",
        }
        await handler(scope, receive, send)
        stats = await settled(rows)
        assert stats["size"] == stats["available"]  # nothing held after the request
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return sent[0]["status"], json.loads(body)

    with override_settings(ROOT_URLCONF=Urls, ALLOWED_HOSTS=["testserver"]):
        status, body = asyncio.run(call())
    assert status == 200
    assert body["counts"] == [6, 6] and body["first"] == "item00"
    assert Item.objects.using(rows).get(pk=body["pk"]).name == "from-view"
