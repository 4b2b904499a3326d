"""aiterator() reads through a server-side cursor: its memory does not grow with the rows.

The bound is shown by measuring one pass at two sizes, five times apart, instead of one pass
over a million rows: the peak of a pass over SMALL rows and over LARGE rows must be the
same, up to a small fraction of what holding the extra rows costs. What holding them costs
is measured too, on the same code path with a chunk as large as the result (one chunk of
every row), so the test shows that the measurement would see rows being kept.

Rows are about WIDTH bytes wide (a JSON string), so that rows kept in memory show in the
process's RSS as well as in tracemalloc's Python heap: a driver buffering a whole result
in C memory (which tracemalloc does not see) would show in RSS.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import threading
import tracemalloc
from dataclasses import dataclass

import pytest
from django.db import connections

from tests.testapp.models import Item

pytestmark = pytest.mark.integration

SMALL, LARGE = 1_000, 5_000
WIDTH = 1_000  # characters of each row's JSON string
CHUNK = 500
MB = 2**20


def load(alias: str) -> None:
    # Redshift refuses generate_series with tables (DG:c_unsupported-postgresql-functions):
    # a cross join of a ten-row table makes the rows in one INSERT ... SELECT.
    digits = ", ".join(f"({i})" for i in range(10))
    with connections[alias].cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE aio_digits (i integer)")
        cursor.execute(f"INSERT INTO aio_digits VALUES {digits}")
        cursor.execute(
            "INSERT INTO testapp_item (id, name, kind, amount, data) "
            "SELECT 1 + a.i + 10 * b.i + 100 * c.i + 1000 * d.i, 'row', 'a', a.i, "
            f"JSON_PARSE('\"' || REPEAT('x', {WIDTH}) || '\"') "
            "FROM aio_digits a, aio_digits b, aio_digits c, aio_digits d "
            f"WHERE a.i + 10 * b.i + 100 * c.i + 1000 * d.i < {LARGE}"
        )
        cursor.execute("DROP TABLE aio_digits")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


@dataclass
class Pass:
    rows: int
    total: int
    heap_peak: int  # tracemalloc's peak over the pass, bytes
    rss_growth: int  # highest RSS during the pass minus RSS before it, bytes


def one_pass(alias: str, rows: int, chunk: int) -> Pass:
    async def read() -> tuple[int, int]:
        count = total = 0
        queryset = Item.aobjects.using(alias).filter(id__lte=rows).order_by("id")
        async for item in queryset.aiterator(chunk_size=chunk):
            count += 1
            total += item.amount
            assert len(item.data) == WIDTH
        return count, total

    highest = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            highest[0] = max(highest[0], rss())

    gc.collect()
    before = rss()
    sampler = threading.Thread(target=sample)
    sampler.start()
    tracemalloc.start()
    try:
        count, total = asyncio.run(read())
        _, heap_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        done.set()
        sampler.join()
    return Pass(count, total, heap_peak, max(highest[0], rss()) - before)


def test_aiterator_memory_does_not_grow_with_rows(alias: str) -> None:
    load(alias)
    assert Item.objects.using(alias).count() == LARGE
    one_pass(alias, 100, CHUNK)  # warm-up: imports, the pool, caches

    small, large = one_pass(alias, SMALL, CHUNK), one_pass(alias, LARGE, CHUNK)
    # The control afterwards, so that memory it frees cannot hide a streaming pass's growth.
    held_small, held_large = one_pass(alias, SMALL, LARGE), one_pass(alias, LARGE, LARGE)

    for p in (small, large, held_small, held_large):
        assert p.total == 45 * p.rows // 10, p  # amounts 0..9, every row read once
    assert (small.rows, large.rows) == (SMALL, LARGE)

    extra = LARGE - SMALL
    held = held_large.heap_peak - held_small.heap_peak
    streamed = large.heap_peak - small.heap_peak
    report = (
        f"heap peak {small.heap_peak / MB:.1f} -> {large.heap_peak / MB:.1f} MB streamed, "
        f"{held_small.heap_peak / MB:.1f} -> {held_large.heap_peak / MB:.1f} MB held; "
        f"RSS growth {large.rss_growth / MB:.1f} MB streamed, "
        f"{held_large.rss_growth / MB:.1f} MB held"
    )
    print(f"\n{SMALL} -> {LARGE} rows: {report}")
    # The measurement sees rows being kept: at least their JSON strings, in both measures.
    assert held > extra * WIDTH, report
    assert held_large.rss_growth > extra * WIDTH, report
    # Streaming: five times the rows, the same peak (within 5 % of holding the extra rows).
    assert streamed < held / 20, report
    # RSS moves in the allocator's steps (an arena is a megabyte or more), so it only
    # has to show that the rows were not kept: the heap peak above is the close measure.
    assert large.rss_growth < held_large.rss_growth / 2, report
