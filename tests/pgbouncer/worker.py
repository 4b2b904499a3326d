"""One app process of the PgBouncer test: a small ORM workload on its own pool.

``python -m tests.pgbouncer.worker '<json>'`` with host, port, name, user, password,
driver, prefix and threads. Prints one JSON line: what it saw and its pool's stats.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any


def main(config: dict[str, Any]) -> dict[str, Any]:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django
    from django.conf import settings

    django.setup()
    settings.DATABASES["default"].update(
        HOST=config["host"],
        PORT=str(config["port"]),
        NAME=config["name"],
        USER=config["user"],
        PASSWORD=config["password"],
        CONN_MAX_AGE=0,
        OPTIONS={"driver": config["driver"], "pool": {"min_size": 1, "max_size": 2}},
    )
    from django.db import IntegrityError, connection, connections, transaction

    from tests.testapp.models import Item

    prefix = config["prefix"]
    errors: list[str] = []

    def request(job: Any) -> None:
        try:
            job()
        finally:
            connections["default"].close()  # the end of a request: back to our pool

    def workload(t: int) -> None:
        try:
            name = f"{prefix}-{t}"
            pks = []
            for i in range(5):  # create
                request(lambda i=i: pks.append(Item.objects.create(name=name, amount=i).pk))
            request(lambda: _expect(Item.objects.get(pk=pks[0]).amount == 0, "get"))
            request(lambda: _expect(Item.objects.filter(name=name).count() == 5, "count"))
            request(lambda: Item.objects.filter(name=name, amount__gte=3).update(kind="big"))
            request(
                lambda: _expect(Item.objects.filter(name=name, kind="big").count() == 2, "update")
            )
            request(lambda: Item.objects.filter(pk=pks[1]).delete())

            def in_transaction() -> None:
                with transaction.atomic():
                    Item.objects.create(name=name, amount=100)
                    Item.objects.filter(name=name, amount=100).update(kind="tx")

            request(in_transaction)

            def rolled_back() -> None:
                try:
                    with transaction.atomic():
                        Item.objects.create(name=name, amount=200)
                        raise IntegrityError("roll it back")
                except IntegrityError:
                    pass

            request(rolled_back)
            request(
                lambda: _expect(not Item.objects.filter(name=name, amount=200).exists(), "rollback")
            )
            request(lambda: _expect(Item.objects.filter(name=name).count() == 5, "final"))
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=workload, args=(t,)) for t in range(config["threads"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = connection.pool.get_stats()
    connection.close_pool()
    return {"pid": os.getpid(), "errors": errors, "pool": stats}


def _expect(ok: bool, what: str) -> None:
    if not ok:
        raise AssertionError(f"unexpected result: {what}")


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
