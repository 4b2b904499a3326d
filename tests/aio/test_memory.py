"""aiterator() reads through a server-side cursor: memory stays bounded over 1M rows."""

from __future__ import annotations

import asyncio
import gc
import resource
import tracemalloc

import pytest
from django.db import connections

from tests.testapp.models import Item

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROWS = 1_000_000
LIMIT = 100 * 1024 * 1024


def load(alias: str) -> None:
    # Redshift refuses generate_series with tables (DG:c_unsupported-postgresql-functions):
    # a cross join of a ten-row table makes the rows in one INSERT ... SELECT.
    digits = ", ".join(f"({i})" for i in range(10))
    with connections[alias].cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE aio_digits (i integer)")
        cursor.execute(f"INSERT INTO aio_digits VALUES {digits}")
        cursor.execute(
            "INSERT INTO testapp_item (id, name, kind, amount) "
            "SELECT 1 + a.i + 10 * b.i + 100 * c.i + 1000 * d.i + 10000 * e.i + 100000 * f.i, "
            "'row', 'a', a.i FROM aio_digits a, aio_digits b, aio_digits c, aio_digits d, "
            "aio_digits e, aio_digits f"
        )
        cursor.execute("DROP TABLE aio_digits")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def test_aiterator_over_a_million_rows_keeps_memory_bounded(alias: str) -> None:
    load(alias)
    assert Item.objects.using(alias).count() == ROWS

    async def main() -> tuple[int, int, int]:
        count = total = 0
        async for item in Item.aobjects.using(alias).aiterator(chunk_size=2000):
            count += 1
            total += item.amount
        return count, total, 0

    gc.collect()
    rss_before = rss_mb()
    tracemalloc.start()
    try:
        count, total, _ = asyncio.run(main())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_growth = rss_mb() - rss_before
    assert count == ROWS
    assert total == 45 * ROWS // 10
    assert peak < LIMIT, f"tracemalloc peak {peak / 2**20:.1f} MB"
    assert rss_growth < LIMIT / 2**20, f"RSS grew {rss_growth:.1f} MB"
    print(f"\n1M rows: tracemalloc peak {peak / 2**20:.1f} MB, RSS growth {rss_growth:.1f} MB")
