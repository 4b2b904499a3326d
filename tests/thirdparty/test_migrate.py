"""``migrate`` from an empty database, app by app, as a new project runs it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections

pytestmark = pytest.mark.integration

# In dependency order; `migrate <app>` also applies what the app depends on.
APPS = [
    "contenttypes",
    "auth",
    "admin",
    "sessions",
    "sites",
    "flatpages",
    "redirects",
    "explorer",
    "django_celery_results",
    "django_celery_beat",
    "taggit",
    "authtoken",
    "guardian",
    "reversion",
    "shop",
]
FRESH = "fresh"


@pytest.fixture(scope="module")
def fresh(thirdparty_db: str) -> Iterator[str]:
    default = connections["default"]
    name = f"{thirdparty_db}_fresh"
    qn = default.ops.quote_name
    with default._nodb_cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {qn(name)}")
    settings_dict: dict[str, Any] = {**default.settings_dict, "NAME": name}
    settings.DATABASES[FRESH] = settings_dict
    connections.settings[FRESH] = settings_dict
    try:
        yield FRESH
    finally:
        connections[FRESH].close()
        connections.settings.pop(FRESH, None)
        settings.DATABASES.pop(FRESH, None)
        with default._nodb_cursor() as cursor:
            cursor.execute(f"DROP DATABASE {qn(name)}")


@pytest.mark.parametrize("app", APPS)
def test_migrate_from_empty(fresh: str, app: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("migrate", app, database=fresh, verbosity=1, stdout=out, stderr=err)
    assert "Applying" in out.getvalue() or "No migrations to apply" in out.getvalue()
