"""Session fixtures shared by the whole suite.

``pg_url`` is the PostgreSQL behind everything: an embedded server started for the test
session (removed at the end), or the server named by ``REDSHIFT_TEST_UPSTREAM``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from redshift_async_backend.emulator.upstream import UPSTREAM_ENV, EmbeddedPostgres


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    url = os.environ.get(UPSTREAM_ENV)
    if url:
        yield url
        return
    with EmbeddedPostgres() as pg:
        yield pg.url
