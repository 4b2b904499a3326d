"""The analytics demo: ``python -m examples.demo [--driver psycopg]``.

Starts the Redshift emulator (in front of ``REDSHIFT_TEST_UPSTREAM`` or an embedded
PostgreSQL), creates a fresh database, runs ``migrate`` for ``examples/analytics``, loads a
few thousand deterministic rows with ``bulk_create`` and prints three reports as plain text
tables. Exits 0 when everything worked.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlsplit

REGIONS = ("apac", "emea", "latam", "na")
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
    with Emulator(upstream=upstream) as emulator:
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
            settings.DATABASES["default"]["OPTIONS"]["pool"] = {"min_size": 1, "max_size": 4}
            call_command("migrate", verbosity=0)
            print("migrate: done")
            data = generate(args.seed, n_sales=args.sales)
            load(data)
            print(
                f"loaded: {len(data.customers)} customers, {len(data.products)} products, "
                f"{len(data.sales)} sales\n"
            )
            print("\n\n".join(reports()))
            connections.close_all()  # give the connection back to the pool
            stats = connections["default"].pool.get_stats()
            print(
                f"\npool: {stats['connections_num']} connection(s) opened, "
                f"{stats['requests_num']} checkouts, {stats['pool_available']} idle, "
                f"acquire p50 {stats['acquire_ms_p50']:.1f} ms"
            )
        finally:
            connections.close_all()
            connections["default"].close_pool()  # closes idle connections: DROP DATABASE
            with psycopg.connect(emulator.url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database}"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
