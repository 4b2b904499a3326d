"""Session fixtures shared by the whole suite.

``pg_url`` is the PostgreSQL behind everything: an embedded server started for the test
session (removed at the end), or the server named by ``REDSHIFT_TEST_UPSTREAM``.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from redshift_async_backend.emulator.upstream import UPSTREAM_ENV, EmbeddedPostgres

# tests/clients/ runs Redshift's own tools (dbt, SQLAlchemy, ...), which only hatch's clients
# environment installs: `hatch run clients:test`.
if importlib.util.find_spec("dbt") is None or importlib.util.find_spec("sqlalchemy") is None:
    collect_ignore = ["clients"]


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    url = os.environ.get(UPSTREAM_ENV)
    if url:
        yield url
        return
    with EmbeddedPostgres() as pg:
        yield pg.url


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # The third-party lane needs its apps, installed in its own environment only
    # (hatch run thirdparty:test); and it configures Django with its own settings.
    if collection_path.name == "thirdparty" and importlib.util.find_spec("taggit") is None:
        return True
    return None
