"""The analytics demo: ``python -m examples.demo [--driver psycopg]``.

Starts the Redshift emulator (in front of ``REDSHIFT_TEST_UPSTREAM`` or an embedded
PostgreSQL), creates a fresh database, runs ``migrate`` for ``examples/analytics``, loads a
few thousand deterministic rows with ``bulk_create``, prints three reports as plain text
tables, then serves a burst of small requests from several threads through the backend's
connection pool and reports what the pool did. Each slow step prints a line as it starts.
Exits 0 when everything worked.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlsplit

REGIONS = ("apac", "emea", "latam", "na")
#: The request burst: this many requests from this many threads, through a pool of POOL_SIZE.
REQUESTS, THREADS, POOL_SIZE = 400, 8, 4
CATEGORIES = ("books", "games", "garden", "tools")
CHANNELS = ("app", "store", "web")
YEAR = 2024


@dataclass
class SampleData:
    customers: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)
    sales: list[dict[str, Any]] = field(default_factory=list)


def generate(
    seed: int = 7, n_customers: int = 200, n_products: int = 40, n_sales: int = 3000
) -> SampleData:
    """Deterministic sample data (plain dicts, so tests can recompute the reports)."""
    rnd = random.Random(seed)
    data = SampleData()
    for i in range(n_customers):
        data.customers.append(
            {
                "id": uuid.UUID(int=rnd.getrandbits(128), version=4),
                "name": f"customer-{i:04d}",
                "region": rnd.choice(REGIONS),
                "signed_up": datetime.date(YEAR - 1, 1, 1)
                + datetime.timedelta(days=rnd.randrange(365)),
            }
        )
    for i in range(n_products):
        data.products.append(
            {
                "id": i + 1,
                "sku": f"SKU-{i:05d}",
                "category": rnd.choice(CATEGORIES),
                "unit_price": Decimal(rnd.randrange(199, 9999)).scaleb(-2),
            }
        )
    start = datetime.datetime(YEAR, 1, 1, tzinfo=datetime.UTC)
    for _ in range(n_sales):
        customer = rnd.choice(data.customers)
        product = rnd.choice(data.products)
        quantity = rnd.randint(1, 5)
        data.sales.append(
            {
                "customer_id": customer["id"],
                "product_id": product["id"],
                "sold_at": start + datetime.timedelta(seconds=rnd.randrange(182 * 86400)),
                "quantity": quantity,
                "amount": product["unit_price"] * quantity,
                "details": {"channel": rnd.choice(CHANNELS), "coupon": rnd.random() < 0.2},
            }
        )
    return data


def format_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [title, "=" * len(title)]
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(c.rjust(w) if n else c.ljust(w) for c, w in zip(row, widths, strict=True))
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def load(data: SampleData) -> None:
    from examples.analytics.warehouse.models import Customer, Product, Sale

    Customer.objects.bulk_create(Customer(**c) for c in data.customers)
    Product.objects.bulk_create(Product(**p) for p in data.products)
    Sale.objects.bulk_create((Sale(**s) for s in data.sales), batch_size=1000)


def reports() -> list[str]:
    from django.db.models import Count, Sum
    from django.db.models.functions import TruncMonth

    from examples.analytics.warehouse.models import Sale

    by_region = (
        Sale.objects.values("customer__region")
        .annotate(sales=Count("id"), revenue=Sum("amount"))
        .order_by("customer__region")
    )
    by_month = (
        Sale.objects.annotate(month=TruncMonth("sold_at"))
        .values("month")
        .annotate(sales=Count("id"), units=Sum("quantity"), revenue=Sum("amount"))
        .order_by("month")
    )
    by_channel = []
    for channel in CHANNELS:
        sales = Sale.objects.filter(details__channel=channel)
        total = sales.aggregate(sales=Count("id"), revenue=Sum("amount"))
        by_channel.append((channel, total["sales"], total["revenue"]))
    return [
        format_table(
            "Revenue by region",
            ("region", "sales", "revenue"),
            [(r["customer__region"], r["sales"], r["revenue"]) for r in by_region],
        ),
        format_table(
            "Sales by month",
            ("month", "sales", "units", "revenue"),
            [
                (r["month"].strftime("%Y-%m"), r["sales"], r["units"], r["revenue"])
                for r in by_month
            ],
        ),
        format_table(
            "Sales by channel (JSON key details.channel)",
            ("channel", "sales", "revenue"),
            by_channel,
        ),
    ]


@contextmanager
def step(starting: str) -> Iterator[None]:
    """Say what is starting (so a slow step is never silent), then how long it took."""
    print(f"{starting} ...", flush=True)
    began = time.monotonic()
    yield
    print(f"  done in {time.monotonic() - began:.1f} s", flush=True)


def customer_revenue(customer_id: uuid.UUID) -> tuple[uuid.UUID, Any]:
    """One small request: a customer's revenue, on a connection borrowed from the pool."""
    from django.db import connection
    from django.db.models import Sum

    from examples.analytics.warehouse.models import Sale

    try:
        total = Sale.objects.filter(customer_id=customer_id).aggregate(r=Sum("amount"))["r"]
        return customer_id, total
    finally:
        connection.close()  # the end of a request: the connection goes back to the pool


def request_burst(data: SampleData) -> tuple[list[tuple[str, Any]], dict[str, Any]]:
    """REQUESTS per-customer lookups from THREADS threads; the top three customers by
    revenue, and the pool's statistics over these requests only."""
    from django.db import connections

    pool = connections["default"].pool
    pool.pop_stats()  # percentiles and counters over the burst alone
    ids = [data.customers[i % len(data.customers)]["id"] for i in range(REQUESTS)]
    with ThreadPoolExecutor(THREADS) as executor:
        totals = dict(executor.map(customer_revenue, ids))
    names = {c["id"]: c["name"] for c in data.customers}
    top = sorted(((names[k], v) for k, v in totals.items() if v), key=lambda t: -t[1])[:3]
    return top, pool.get_stats()


def _configure(url: str, database: str, driver: str) -> None:
    parts = urlsplit(url)
    os.environ.update(
        ANALYTICS_DB_HOST=parts.hostname or "127.0.0.1",
        ANALYTICS_DB_PORT=str(parts.port or 5439),
        ANALYTICS_DB_USER=unquote(parts.username or "awsuser"),
        ANALYTICS_DB_PASSWORD=unquote(parts.password or ""),
        ANALYTICS_DB_NAME=database,
        ANALYTICS_DB_DRIVER=driver,
    )
    os.environ["DJANGO_SETTINGS_MODULE"] = "examples.analytics.settings"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.demo", description=__doc__)
    parser.add_argument("--driver", default="psycopg", choices=("psycopg", "redshift_connector"))
    parser.add_argument(
        "--upstream",
        default=None,
        help="PostgreSQL URL behind the emulator (default: "
        "$REDSHIFT_TEST_UPSTREAM, else an embedded PostgreSQL)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sales", type=int, default=3000)
    args = parser.parse_args(argv)

    import psycopg

    from redshift_async_backend.emulator import Emulator
    from redshift_async_backend.emulator.upstream import UPSTREAM_ENV

    upstream = args.upstream or os.environ.get(UPSTREAM_ENV) or None
    database = f"analytics_demo_{os.getpid()}"
    behind = "an embedded PostgreSQL (initdb)"
    if upstream:  # its host only: the URL may hold a password
        behind = f"the PostgreSQL on {urlsplit(upstream).hostname or 'a local socket'}"
    with step(f"starting the Redshift emulator in front of {behind}"):
        emulator = Emulator(upstream=upstream).start()
    try:
        print(f"emulator: {emulator.host}:{emulator.port}")
        # Redshift: CREATE/DROP DATABASE cannot run in a transaction block
        # (DG:r_CREATE_DATABASE), hence autocommit.
        with psycopg.connect(emulator.url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        _configure(emulator.url, database, args.driver)
        import django
        from django.core.management import call_command
        from django.db import connections

        try:
            django.setup()
            from django.conf import settings

            # The backend's connection pool (OPTIONS["pool"], docs/pool.md "In Django").
            pool_options = {"min_size": 1, "max_size": POOL_SIZE}
            settings.DATABASES["default"]["OPTIONS"]["pool"] = pool_options
            with step("migrate: creating the tables of examples/analytics"):
                call_command("migrate", verbosity=0)
            data = generate(args.seed, n_sales=args.sales)
            counts = f"{len(data.customers)} customers, {len(data.products)} products"
            with step(f"loading {counts} and {len(data.sales)} sales with bulk_create"):
                load(data)
            print(f"loaded: {counts}, {len(data.sales)} sales\n")
            print("\n\n".join(reports()))
            connections.close_all()  # give the connection back to the pool
            print()
            with step(f"{REQUESTS} requests from {THREADS} threads, one customer's revenue each"):
                top, stats = request_burst(data)
            print()
            print(format_table("Top customers (from the requests)", ("customer", "revenue"), top))
            print(
                f"\npool: {stats['requests_num']} checkouts from {THREADS} threads shared "
                f"{stats['pool_size']} connections (at most {POOL_SIZE}); acquire "
                f"p50 {stats['acquire_ms_p50']:.2f} ms, p99 {stats['acquire_ms_p99']:.2f} ms; "
                f"{stats['requests_queued']} waited for a connection"
            )
        finally:
            connections.close_all()
            connections["default"].close_pool()  # closes idle connections: DROP DATABASE
            with psycopg.connect(emulator.url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database}"')
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
