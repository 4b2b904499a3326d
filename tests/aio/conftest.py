"""Fixtures for the native async tests: an alias with the async pool, AsyncManager on
the testapp models (as ``aobjects``), and rows of every field type.

Each test drives its own event loop (``asyncio.run`` / ``trio.run``), so the async pool of
that loop is opened and closed inside the test, as in an application.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.db import connections

from redshift_async_backend.aio import AsyncManager
from tests.backend.conftest import (  # noqa: F401  (fixtures)
    django_db_setup,
    emulator,
    settings_dict,
    transactional_db,
)
from tests.testapp.models import AllTypes, Item, Tag

ALIAS = "aio"

for _model in apps.get_app_config("testapp").get_models():
    if not hasattr(_model, "aobjects"):
        AsyncManager().contribute_to_class(_model, "aobjects")


def add_alias(settings_dict: dict[str, Any], alias: str, pool: Any, **options: Any) -> str:  # noqa: F811
    opts = {**settings_dict["OPTIONS"], "pool": pool, **options}
    connections.settings[alias] = {**settings_dict, "OPTIONS": opts}
    return alias


def drop_alias(alias: str) -> None:
    connections[alias].close()
    connections[alias].close_pool()
    del connections[alias]
    del connections.settings[alias]


@pytest.fixture
def alias(settings_dict: dict[str, Any], transactional_db: None) -> Iterator[str]:  # noqa: F811
    """``"aio"``: the test database with ``OPTIONS["pool"]`` on (async max_size 4)."""
    yield add_alias(settings_dict, ALIAS, {"min_size": 0, "max_size": 4})
    drop_alias(ALIAS)


def make_rows(alias: str) -> None:
    """Items, tags and AllTypes rows (every field type, and one row of NULLs)."""
    tz = datetime.UTC
    items = [
        Item(
            name=f"item{i:02d}",
            kind="ab"[i % 2],
            amount=i * 10,
            created=datetime.datetime(2024, 1, 1 + i, 12, 30, tzinfo=tz),
            data={"n": i, "tags": ["x", "y"]} if i % 3 else None,
        )
        for i in range(12)
    ]
    Item.objects.using(alias).bulk_create(items)
    Tag.objects.using(alias).bulk_create(
        [Tag(item=item, label=f"t{item.pk}-{j}") for item in items[:6] for j in range(2)]
    )
    AllTypes.objects.using(alias).create(
        char="chär",
        text="long text \\ with backslash",
        slug="a-slug",
        email="a@example.com",
        url="https://example.com/x",
        uuid=uuid.UUID("12345678-1234-5678-1234-567812345678"),
        boolean=True,
        small=-3,
        integer=2**31 - 1,
        big=2**62,
        pos_small=3,
        pos_int=4,
        pos_big=2**40,
        decimal=decimal.Decimal("1234.5678901234"),
        floating=1.5,
        date=datetime.date(2024, 2, 29),
        datetime=datetime.datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=tz),
        time=datetime.time(13, 14, 15),
        duration=datetime.timedelta(days=2, microseconds=5),
        ip="2001:db8::1",
        json={"a": [1, 2, {"b": None}], "c": "d"},
        binary=b"\x00\x01\xff",
    )
    AllTypes.objects.using(alias).create()


@pytest.fixture
def rows(alias: str) -> str:
    make_rows(alias)
    return alias
