"""pytest plugin (entry point ``pytest11``): the ``redshift_emulator`` fixture.

The fixture is session-scoped. Its upstream is ``REDSHIFT_TEST_UPSTREAM`` when set,
otherwise an embedded PostgreSQL started for the session and removed at its end::

    def test_orders(redshift_emulator):
        conn = psycopg.connect(redshift_emulator.url)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .server import Emulator


@pytest.fixture(scope="session")
def redshift_emulator() -> Iterator[Emulator]:
    from .server import Emulator
    from .upstream import UPSTREAM_ENV

    with Emulator(upstream=os.environ.get(UPSTREAM_ENV) or None) as emulator:
        yield emulator
