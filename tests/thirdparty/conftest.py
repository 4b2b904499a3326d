"""The third-party lane: Django configured with tests/thirdparty/settings.py, on the emulator.

- ``thirdparty_db`` (session, autouse): the test database, its tables made from the models
  (``TEST["MIGRATE"] = False``), so each app's tests run even while one app's migrations
  cannot; ``test_migrate.py`` runs the migrations themselves on a database of its own.
- The tests are Django ``TestCase`` classes, isolated as the backend isolates users' tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import django
import pytest

os.environ["DJANGO_SETTINGS_MODULE"] = "tests.thirdparty.settings"
django.setup()

from django.db import connections  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402

TEST_DRIVER = os.environ.get("REDSHIFT_TEST_DRIVER", "psycopg")


def point_at(settings_dict: dict[str, Any], emulator: Any) -> None:
    url = urlsplit(emulator.url)
    settings_dict.update(
        {
            "HOST": emulator.host,
            "PORT": str(emulator.port),
            "USER": url.username or "postgres",
            "PASSWORD": url.password or "",
            "NAME": emulator.database,
        }
    )
    settings_dict.setdefault("TEST", {})["MAINTENANCE_NAME"] = emulator.database


@pytest.fixture(scope="session", autouse=True)
def thirdparty_db(redshift_emulator: Any) -> Iterator[str]:
    connection = connections["default"]
    assert connection.driver.name == TEST_DRIVER
    connection.close()
    point_at(connection.settings_dict, redshift_emulator)
    connection.settings_dict["TEST"]["MIGRATE"] = False
    old_name = connection.settings_dict["NAME"]
    setup_test_environment()
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield name
    finally:
        for conn in connections.all():
            conn.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
