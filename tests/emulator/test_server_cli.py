"""``python -m redshift_async_backend.emulator``: ready line, SIGTERM, cleanup, workers."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--latency-ms", "-5"], "latency_ms must be >= 0"),
        (["--workers", "0"], "workers must be at least 1"),
    ],
)
def test_cli_refuses_bad_arguments(arguments: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "redshift_async_backend.emulator", *arguments],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr


def _children(pid: int) -> set[int]:
    """Live child processes of ``pid`` that are emulator workers (Linux /proc)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z" and b"spawn_main" in cmdline:
            found.add(int(entry))
    return found


def _sockets(pid: int) -> int:
    """How many sockets a process has open (Linux /proc)."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
    return count


def _wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for the workers")
def test_cli_workers_share_one_port_and_are_restarted(pg_url: str) -> None:
    # The upstream URL goes through the environment: no password on a command line.
    env = {**os.environ, "REDSHIFT_EMULATOR_UPSTREAM": pg_url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "redshift_async_backend.emulator", "--port", "0", "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    conns: list[psycopg.Connection[Any]] = []
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("ready postgresql://"), proc.stderr.read() if proc.stderr else ""
        url = line.split(" ", 1)[1].strip()
        workers = _children(proc.pid)
        assert len(workers) == 2
        for worker in workers:
            assert pg_url.encode() not in Path(f"/proc/{worker}/cmdline").read_bytes()
        # Connections go to the workers in turn, and each is a Redshift session.
        before = {worker: _sockets(worker) for worker in workers}
        conns = [psycopg.connect(url, autocommit=True, connect_timeout=10) for _ in range(12)]
        for conn in conns:
            assert conn.info.parameter_status("server_version") == "8.0.2"
            assert conn.execute("SELECT nvl(NULL, 7)").fetchone() == (7,)
        # Each session is a client socket and an upstream socket in its worker.
        assert sorted(_sockets(w) - before[w] for w in workers) == [12, 12]
        # A worker that dies is replaced; the port keeps serving.
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        assert _wait_for(lambda: len(_children(proc.pid) - {victim}) == 2, 30)
        for _ in range(8):
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
                assert conn.execute("SELECT getdate() IS NOT NULL").fetchone() == (True,)
        survivors = _children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert _wait_for(lambda: not any(Path(f"/proc/{p}").exists() for p in survivors), 10)
    finally:
        for conn in conns:
            conn.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_bad_upstream_url_names_no_password() -> None:
    # libpq's own message would quote the malformed part: here, the password.
    env = {**os.environ, "REDSHIFT_EMULATOR_UPSTREAM": "postgresql://u:s3cr%zzet@h/db"}
    result = subprocess.run(
        [sys.executable, "-m", "redshift_async_backend.emulator", "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=env,
    )
    assert result.returncode == 2
    assert "not a valid postgresql:// URL" in result.stderr
    assert "s3cr" not in result.stderr + result.stdout
