"""The demo runs end to end, and its reports hold figures computed here in Python."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from examples.demo import generate

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
