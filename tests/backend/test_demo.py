"""The demo runs end to end, and its reports hold figures computed here in Python."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from examples.demo import POOL_SIZE, REQUESTS, THREADS, generate

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def has_row(output: str, *cells: object) -> bool:
    expected = [str(c) for c in cells]
    return any(line.split() == expected for line in output.splitlines())


def test_demo_reports(pg_url: str) -> None:
    env = {**os.environ, "REDSHIFT_TEST_UPSTREAM": pg_url}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "-m", "examples.demo", "--sales", "3000", "--seed", "7"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout

    data = generate(7, n_sales=3000)
    region_of = {c["id"]: c["region"] for c in data.customers}
    regions: dict[str, list] = defaultdict(lambda: [0, Decimal(0)])
    months: dict[str, list] = defaultdict(lambda: [0, 0, Decimal(0)])
    channels: dict[str, list] = defaultdict(lambda: [0, Decimal(0)])
    for sale in data.sales:
        region = regions[region_of[sale["customer_id"]]]
        region[0] += 1
        region[1] += sale["amount"]
        month = months[sale["sold_at"].strftime("%Y-%m")]
        month[0] += 1
        month[1] += sale["quantity"]
        month[2] += sale["amount"]
        channel = channels[sale["details"]["channel"]]
        channel[0] += 1
        channel[1] += sale["amount"]

    assert "loaded: 200 customers, 40 products, 3000 sales" in out
    for name, (count, revenue) in regions.items():
        assert has_row(out, name, count, revenue), (name, count, revenue)
    for name, (count, units, revenue) in months.items():
        assert has_row(out, name, count, units, revenue), (name, count, units, revenue)
    for name, (count, revenue) in channels.items():
        assert has_row(out, name, count, revenue), (name, count, revenue)

    # The request burst: every customer's revenue, the top three printed.
    by_customer: dict[str, Decimal] = defaultdict(Decimal)
    name_of = {c["id"]: c["name"] for c in data.customers}
    for sale in data.sales:
        by_customer[name_of[sale["customer_id"]]] += sale["amount"]
    for name, revenue in sorted(by_customer.items(), key=lambda t: -t[1])[:3]:
        assert has_row(out, name, revenue), (name, revenue)
    # The pool's line covers the burst: one checkout per request, at most POOL_SIZE
    # connections, percentiles over those acquires.
    pool = re.search(
        r"^pool: (\d+) checkouts from (\d+) threads shared (\d+) connections \(at most (\d+)\); "
        r"acquire p50 ([\d.]+) ms, p99 ([\d.]+) ms; (\d+) waited for a connection$",
        out,
        re.MULTILINE,
    )
    assert pool, out[-2000:]
    checkouts, threads, size, at_most, p50, p99, waited = pool.groups()
    assert (int(checkouts), int(threads), int(at_most)) == (REQUESTS, THREADS, POOL_SIZE)
    assert 1 <= int(size) <= POOL_SIZE
    assert float(p50) <= float(p99)
    assert int(waited) <= REQUESTS

    # Each slow step says it is starting before it runs, then how long it took.
    lines = out.splitlines()
    starts = [i for i, line in enumerate(lines) if line.endswith(" ...")]
    assert len(starts) == 4, lines
    assert lines[starts[0]].startswith("starting the Redshift emulator")
    for i in starts:
        assert re.fullmatch(r"  done in [\d.]+ s", lines[i + 1]), lines[i : i + 2]
