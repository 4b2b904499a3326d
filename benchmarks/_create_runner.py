"""``create()`` one at a time and from 8 threads, in a process of its own; used by
``create_bench``.

It imports nothing from this project (only Django and the ENGINE named on the command
line), so the same file runs in this project's environment and in the virtual environment
that holds django-redshift-backend. Prints one JSON object.

    python benchmarks/_create_runner.py --engine ENGINE --host H --port P --name DB
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
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
    parser.add_argument("--serial", type=int, default=200, help="create() calls one at a time")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--creates", type=int, default=40, help="create() calls per thread")
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
    from django.db import connection, connections, models

    class CreateRow(models.Model):
        name = models.CharField(max_length=40)
        n = models.IntegerField()
        objects: ClassVar[models.Manager[Any]] = models.Manager()

        class Meta:
            app_label = "createbench"

    with connection.schema_editor() as editor:
        editor.create_model(CreateRow)

    # One at a time: the median create().
    durations = []
    for i in range(args.serial):
        start = time.perf_counter()
        CreateRow.objects.create(name=f"serial-{i}", n=i)
        durations.append(time.perf_counter() - start)
    connection.close()

    # From threads, each on its connection (opened before the start): the pks each got.
    got: list[tuple[Any, str]] = []
    errors: list[str] = []
    ready = threading.Barrier(args.threads + 1)

    def work(tag: int) -> None:
        try:
            CreateRow.objects.exists()
            ready.wait()
            mine = []
            for i in range(args.creates):
                name = f"t{tag}-{i}"
                mine.append((CreateRow.objects.create(name=name, n=i).pk, name))
            got.extend(mine)
        except Exception as exc:
            errors.append(repr(exc)[:300])
        finally:
            connections["default"].close()

    threads = [threading.Thread(target=work, args=(t,)) for t in range(args.threads)]
    for t in threads:
        t.start()
    ready.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    # bulk_create of 1,000 rows with explicit pks, half of them taken: ignore_conflicts,
    # against a plain bulk_create of 1,000 new rows.
    top = max(CreateRow.objects.values_list("pk", flat=True)) + 1
    plain_ms: float | str
    ignore_ms: float | str
    try:
        start = time.perf_counter()
        CreateRow.objects.bulk_create(
            [CreateRow(id=top + i, name="bulk", n=i) for i in range(1000)]
        )
        plain_ms = round((time.perf_counter() - start) * 1e3, 1)
    except Exception as exc:  # the prior art's IDENTITY pk takes no explicit value
        plain_ms = f"refused: {type(exc).__name__}"
    batch = [CreateRow(id=top + 500 + i, name="ignore", n=i) for i in range(1000)]
    try:
        start = time.perf_counter()
        CreateRow.objects.bulk_create(batch, ignore_conflicts=True)
        ignore_ms = round((time.perf_counter() - start) * 1e3, 1)
    except Exception as exc:
        ignore_ms = f"refused: {type(exc).__name__}"
    ignored_rows = CreateRow.objects.filter(name="ignore").count()
    names = dict(CreateRow.objects.filter(name__startswith="t").values_list("pk", "name"))
    wrong = sum(1 for pk, name in got if names.get(pk) != name)
    rows = CreateRow.objects.count()
    distinct = CreateRow.objects.values("pk").distinct().count()
    print(
        json.dumps(
            {
                "engine": args.engine,
                "create_us": round(statistics.median(durations) * 1e6, 1),
                "threads": args.threads,
                "creates_per_thread": args.creates,
                "concurrent_creates_per_s": round(len(got) / wall, 1) if wall else None,
                "wrong_ids": wrong,
                "duplicate_pks": rows - distinct,
                "errors": errors[:3],
                "bulk_create_1000_ms": plain_ms,
                "ignore_conflicts_1000_half_taken_ms": ignore_ms,
                "ignore_conflicts_rows_inserted": ignored_rows,
            }
        )
    )


if __name__ == "__main__":
    main()
