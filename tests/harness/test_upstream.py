"""The test harness's PostgreSQL: embedded by default, or REDSHIFT_TEST_UPSTREAM."""

from __future__ import annotations

import os

import psycopg
import pytest

from redshift_async_backend.emulator.upstream import UPSTREAM_ENV, EmbeddedPostgres

pytestmark = pytest.mark.integration


def test_pg_url_accepts_queries(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT 40 + 2").fetchone() == (42,)


@pytest.mark.skipif(
    bool(os.environ.get(UPSTREAM_ENV)), reason="an existing server was named; none is embedded"
)
def test_embedded_server_is_removed_after_stop() -> None:
    pg = EmbeddedPostgres()
    with pg:
        assert pg.running
        data_dir = pg._dir
        assert data_dir is not None and data_dir.exists()
        with psycopg.connect(pg.url, autocommit=True) as conn:
            assert conn.execute("SHOW fsync").fetchone() == ("off",)
    assert not pg.running
    assert not data_dir.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(pg.url, connect_timeout=2)


@pytest.mark.skipif(
    bool(os.environ.get(UPSTREAM_ENV)), reason="an existing server was named; none is embedded"
)
def test_server_is_removed_when_its_owner_is_killed() -> None:
    # A test run killed mid-way (CI timeout, Ctrl-C twice) must not leave a server behind.
    import signal
    import subprocess
    import sys
    import time

    script = (
        "from redshift_async_backend.emulator.upstream import EmbeddedPostgres\n"
        "import sys, time\n"
        "pg = EmbeddedPostgres().start()\n"
        "print(pg.url, pg._dir, pg._proc.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    url, folder, pid = owner.stdout.readline().split()
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and os.path.exists(folder):
        time.sleep(0.2)
    assert not os.path.exists(folder)
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid), 0)
