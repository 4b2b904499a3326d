"""The clients lane: Redshift's own tools (dbt-redshift, sqlalchemy-redshift,
redshift_connector's metadata API, psql) against one emulator.

Its tools come from hatch's ``clients`` environment: ``hatch run clients:test``. The
emulator asks for a password, as a cluster does (dbt's default ``password`` method).

``pending(rule)`` marks a check that fails until the emulator has a rule that the rules
package (issue #14) will hold: strict, so the check fails loudly the day the rule lands and
the marker must go.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from redshift_async_backend.emulator import Emulator
from redshift_async_backend.emulator.roles import DEFAULT_ADMIN

pytestmark = pytest.mark.integration

# The emulator's admin user (a Redshift superuser, as a cluster's admin user is).
USER = DEFAULT_ADMIN
PASSWORD = "lane-secret"


def login(emu: Emulator) -> dict[str, Any]:
    """Where and as whom a client connects (the database keyword differs per driver)."""
    return {"host": emu.host, "port": emu.port, "user": USER, "password": PASSWORD}


def pending(rule: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(
        strict=True, reason=f"until the emulator has the rule: {rule} (issue #18)"
    )


@pytest.fixture(scope="session")
def emulator(pg_url: str) -> Iterator[Emulator]:
    with Emulator(upstream=pg_url, admin_user=USER, admin_password=PASSWORD) as emu:
        yield emu


@pytest.fixture(scope="session")
def sql(emulator: Emulator) -> Iterator[Callable[..., list[tuple[Any, ...]]]]:
    """Rows of one statement, through the emulator (psycopg, autocommit)."""
    conn = psycopg.connect(**login(emulator), dbname=emulator.database, autocommit=True)

    def rows(statement: str, params: Any = None) -> list[tuple[Any, ...]]:
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description is not None else []

    yield rows
    conn.close()
