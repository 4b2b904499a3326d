"""One ``bulk_create`` measurement in a process of its own; used by ``bulk_create_bench``.

It imports nothing from this project (only Django and the ENGINE named on the command
line), so the same file runs in this project's environment and in the separate virtual
environment that holds django-redshift-backend. Prints one JSON object.

    python benchmarks/_bulk_runner.py --engine ENGINE --host H --port P --name DB --rows N
"""

from __future__ import annotations

import argparse
import datetime
import decimal
import json
import time
from typing import Any, ClassVar

import django
from django.conf import settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--options", default="{}", help="DATABASES OPTIONS as JSON")
    args = parser.parse_args()

    settings.configure(
        SECRET_KEY="bench",
        USE_TZ=True,
        INSTALLED_APPS=[],
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        DATABASES={
            "default": {
                "ENGINE": args.engine,
                "NAME": args.name,
                "USER": args.user,
                "PASSWORD": "",
                "HOST": args.host,
                "PORT": args.port,
                "OPTIONS": json.loads(args.options),
            }
        },
    )
    django.setup()
    from django.db import connection, models

    class BulkRow(models.Model):
        name = models.CharField(max_length=40)
        n = models.IntegerField()
        amount = models.DecimalField(max_digits=12, decimal_places=2)
        created_at = models.DateTimeField()
        objects: ClassVar[models.Manager[Any]] = models.Manager()

        class Meta:
            app_label = "bulkbench"

    result: dict[str, object] = {"engine": args.engine, "rows": args.rows}
    try:
        with connection.schema_editor() as editor:
            editor.create_model(BulkRow)
    except Exception as exc:
        result["error"] = f"create_model: {type(exc).__name__}: {exc}"
        print(json.dumps(result))
        return
    start_day = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    objs = [
        BulkRow(
            name=f"row {i}",
            n=i % 1000,
            amount=decimal.Decimal(i % 100000) / 100,
            created_at=start_day + datetime.timedelta(seconds=i),
        )
        for i in range(args.rows)
    ]
    connection.ensure_connection()
    began = time.perf_counter()
    try:
        BulkRow.objects.bulk_create(objs)
    except Exception as exc:
        result["error"] = f"bulk_create: {type(exc).__name__}: {str(exc)[:500]}"
        print(json.dumps(result))
        return
    seconds = time.perf_counter() - began
    count = BulkRow.objects.count()
    result.update(
        seconds=round(seconds, 3),
        rows_per_s=round(args.rows / seconds),
        count_after=count,
        pks_set=sum(1 for o in objs if o.pk is not None),
    )
    connection.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
