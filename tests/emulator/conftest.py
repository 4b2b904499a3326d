"""Fixtures for the emulator's tests.

``emulator`` is one :class:`Emulator` for the session, in front of ``pg_url``. The
function-scoped ``emu`` hands it over in a clean state (no latency, no armed faults,
accepting connections, counters at zero). ``connect`` opens psycopg connections through
it and closes them at the end of the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from redshift_async_backend.emulator import Emulator


@pytest.fixture(scope="session")
def emulator(pg_url: str) -> Iterator[Emulator]:
    with Emulator(upstream=pg_url) as emu:
        yield emu


@pytest.fixture
def emu(emulator: Emulator) -> Iterator[Emulator]:
    emulator.latency_ms = 0
    emulator.clear_faults()
    emulator.resume()
    emulator.reset_stats()
    yield emulator
    emulator.latency_ms = 0
    emulator.clear_faults()
    emulator.resume()


@pytest.fixture
def connect(emu: Emulator) -> Iterator[Callable[..., psycopg.Connection[Any]]]:
    opened: list[psycopg.Connection[Any]] = []

    def open_connection(**kwargs: Any) -> psycopg.Connection[Any]:
        kwargs.setdefault("autocommit", True)
        kwargs.setdefault("connect_timeout", 10)
        conn = psycopg.connect(emu.url, **kwargs)
        opened.append(conn)
        return conn

    yield open_connection
    for conn in opened:
        conn.close()
