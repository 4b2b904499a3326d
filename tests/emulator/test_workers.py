"""EmulatorGroup (``--workers``) driven in-process: turns, and restarts that fail."""

from __future__ import annotations

import logging
import os
import signal
import time
from typing import Any

import psycopg
import pytest

from redshift_async_backend.emulator.workers import EmulatorGroup

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_worker_that_cannot_restart_is_retried_while_the_others_serve(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with EmulatorGroup(2, upstream=pg_url) as group:
        victim = group.pids()[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while victim in group.pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        launch = group._launch

        def refuse(timeout: float) -> Any:
            raise RuntimeError("an emulator worker failed to start: upstream down")

        monkeypatch.setattr(group, "_launch", refuse)
        with caplog.at_level(logging.WARNING, "redshift_async_backend.emulator"):
            assert group.restart_dead() == 0
            assert group.restart_dead() == 0
        assert sum("exited with code" in r.getMessage() for r in caplog.records) == 1
        assert sum("will retry" in r.getMessage() for r in caplog.records) == 2
        # The surviving worker takes every connection meanwhile.
        for _ in range(4):
            with psycopg.connect(group.url, autocommit=True, connect_timeout=10) as conn:
                assert conn.execute("SELECT nvl(NULL, 3)").fetchone() == (3,)
        monkeypatch.setattr(group, "_launch", launch)
        assert group.restart_dead() == 1
        assert victim not in group.pids() and len(group.pids()) == 2
        for _ in range(4):
            with psycopg.connect(group.url, autocommit=True, connect_timeout=10) as conn:
                assert conn.execute("SELECT getdate() IS NOT NULL").fetchone() == (True,)
    # Stopped: nothing listens any more.
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(group.url, connect_timeout=5)


def test_workers_share_users_and_check_passwords(pg_url: str) -> None:
    # Users live upstream, so a user made through one worker logs in through every one; the
    # admin password reaches the workers through their pipe.
    import uuid

    from psycopg.conninfo import make_conninfo

    user = f"t_workers_{uuid.uuid4().hex[:8]}"
    with EmulatorGroup(2, upstream=pg_url, admin_password="Admin-pw-1") as group:
        host, port = group.host, group.port
        database = group.url.rsplit("/", 1)[1]

        def connect(name: str, password: str | None) -> psycopg.Connection[Any]:
            return psycopg.connect(
                host=host, port=port, dbname=database, user=name, password=password,
                autocommit=True, connect_timeout=10,
            )  # fmt: skip

        try:
            with connect(group.admin_user, "Admin-pw-1") as admin:
                admin.execute(f"CREATE USER {user} PASSWORD 'Ezpass12'")
            for _ in range(4):  # both workers, in turn
                with connect(user, "Ezpass12") as conn:
                    assert conn.execute("SELECT current_user").fetchone() == (user,)
                with pytest.raises(psycopg.OperationalError, match="password authentication"):
                    connect(group.admin_user, "wrong")
        finally:
            with psycopg.connect(make_conninfo(pg_url, dbname=database), autocommit=True) as up:
                up.execute(f'DROP ROLE IF EXISTS "{user}"')
