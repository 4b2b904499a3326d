"""Django + emulator fixtures for the backend tests.

Fixtures (all in this file):

- ``emulator`` (session): the running ``redshift_async_backend.emulator.Emulator`` (the
  plugin's ``redshift_emulator``); use ``emulator.stats()``, ``emulator.fail_next(...)``.
- ``django_db_setup`` (session): points ``DATABASES["default"]`` at the emulator, creates
  the test database (CREATE DATABASE, no TEMPLATE) and builds the tables of every
  installed app (``tests.testapp`` holds a model per field type); drops it at the end.
- ``db`` (function): the database, with the test inside one transaction that is rolled
  back afterwards (Redshift has no savepoints, so this is how Django's TestCase isolates).
- ``transactional_db`` (function): the database with real commits; the testapp tables
  are emptied afterwards (one TRUNCATE per table).
- ``settings_dict`` (function): a copy of the default database's settings, for building
  extra ``DatabaseWrapper`` objects (other OPTIONS) against the same test database.

Django is configured from ``tests.settings`` when this file is imported, so unit tests
that only compile SQL need no fixture at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import django
import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()

from django.apps import apps  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402

# The driver under test (tests/settings.py reads REDSHIFT_TEST_DRIVER): a second pass of
# the suite with redshift_connector, so each run stays one driver.
TEST_DRIVER = os.environ.get("REDSHIFT_TEST_DRIVER", "psycopg")
assert connection.driver.name == TEST_DRIVER, (connection.driver.name, TEST_DRIVER)


@pytest.fixture(scope="session")
def emulator(redshift_emulator: Any) -> Any:
    return redshift_emulator


# The test database while it exists: tests/drivers imports these fixtures into its own
# conftest, which makes a second session fixture of the same name; that one reuses it.
_TEST_DB: list[str] = []


@pytest.fixture(scope="session")
def django_db_setup(emulator: Any) -> Iterator[str]:
    if _TEST_DB:
        yield _TEST_DB[0]
        return
    url = urlsplit(emulator.url)
    settings_dict = connection.settings_dict
    connection.close()
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
    old_name = settings_dict["NAME"]
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    _TEST_DB.append(name)
    try:
        yield name
    finally:
        _TEST_DB.clear()
        for conn in connections.all():
            conn.close()
            conn.close_pool()
        leaked = _sessions_on(emulator, name)
        assert not leaked, f"connections to the test database outlived the tests: {leaked}"
        connection.creation.destroy_test_db(old_name, verbosity=0)


def _sessions_on(emulator: Any, database: str) -> list[tuple[Any, ...]]:
    """Other sessions still open on the test database (a leak), seen from the upstream.

    A client's close reaches the upstream session through the emulator a moment later, so
    a session counts as leaked only if it is still there after a few seconds."""
    import time

    import psycopg

    with psycopg.connect(emulator.upstream_url, autocommit=True) as admin:
        for _ in range(50):
            sessions = admin.execute(
                "SELECT pid, application_name, state, left(query, 80) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()"
                # Only client sessions: PostgreSQL's autovacuum workers visit it too.
                " AND backend_type = 'client backend'",
                [database],
            ).fetchall()
            if not sessions:
                break
            time.sleep(0.1)
        return sessions


def testapp_tables() -> list[str]:
    models = apps.get_app_config("testapp").get_models()
    return [m._meta.db_table for m in models if m._meta.managed]


def flush_testapp() -> None:
    from django.core.management.color import no_style

    # DELETE (sql_flush inside an atomic block), children first: the emulator keeps
    # PostgreSQL's refusal to TRUNCATE a table named by a foreign key, which Redshift's
    # informational constraints do not have.
    with transaction.atomic():
        sql = connection.ops.sql_flush(no_style(), testapp_tables()[::-1])
        connection.ops.execute_sql_flush(sql)


@pytest.fixture
def db(django_db_setup: str) -> Iterator[None]:
    atomic = transaction.atomic()
    atomic.__enter__()
    try:
        yield
    finally:
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


@pytest.fixture
def transactional_db(django_db_setup: str) -> Iterator[None]:
    try:
        yield
    finally:
        flush_testapp()


@pytest.fixture
def settings_dict(django_db_setup: str) -> dict[str, Any]:
    return {**connection.settings_dict, "OPTIONS": dict(connection.settings_dict["OPTIONS"])}
