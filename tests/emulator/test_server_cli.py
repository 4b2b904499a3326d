"""``python -m redshift_async_backend.emulator``: ready line, SIGTERM, cleanup."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def tmpdir_for_postgres() -> Iterator[Path]:
    # Not pytest's tmp_path: its parents are private to root, and PostgreSQL (which will
    # not run as root) must reach the data directory.
    path = Path(tempfile.mkdtemp(prefix="emulator-cli-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_cli_serves_then_exits_cleanly_on_sigterm(tmpdir_for_postgres: Path) -> None:
    # The embedded PostgreSQL lives in a temporary directory: point TMPDIR at ours.
    tmp_path = tmpdir_for_postgres
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("REDSHIFT_TEST_UPSTREAM", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "redshift_async_backend.emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("ready postgresql://"), proc.stderr.read() if proc.stderr else ""
        url = line.split(" ", 1)[1].strip()
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith("redshift-emulator-pg-")]
        conn = psycopg.connect(url, connect_timeout=10, autocommit=True)
        assert conn.info.parameter_status("server_version") == "8.0.2"
        assert conn.execute("SELECT 1").fetchone() == (1,)
        proc.send_signal(signal.SIGTERM)  # with the client still connected
        assert proc.wait(timeout=30) == 0
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
        conn.close()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith("redshift-emulator-pg-")]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_refuses_bad_arguments() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "redshift_async_backend.emulator", "--latency-ms", "-5"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "latency_ms must be >= 0" in result.stderr
