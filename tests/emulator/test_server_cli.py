"""``python -m redshift_async_backend.emulator``: ready line, SIGTERM, cleanup, workers."""

from __future__ import annotations

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


def _ps(pid: int, field: str) -> str:
    """One ``ps`` column of a process ('' once it is gone)."""
    out = subprocess.run(
        ["ps", "-ww", "-o", f"{field}=", "-p", str(pid)], capture_output=True, text=True
    )
    return out.stdout.strip()


def _alive(pid: int) -> bool:
    return _ps(pid, "stat")[:1] not in ("", "Z")


def _workers(pid: int) -> set[int]:
    """The emulator worker processes (multiprocessing's spawned children) of ``pid``."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    children = {int(child) for child in out.stdout.split()}
    return {child for child in children if _alive(child) and "spawn_main" in _ps(child, "args")}


def _wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


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
        workers = _workers(proc.pid)
        assert len(workers) == 2
        for worker in workers:
            assert pg_url not in _ps(worker, "args")
        # Each connection is a Redshift session.
        conns = [psycopg.connect(url, autocommit=True, connect_timeout=10) for _ in range(12)]
        for conn in conns:
            assert conn.info.parameter_status("server_version") == "8.0.2"
            assert conn.execute("SELECT nvl(NULL, 7)").fetchone() == (7,)
        # The workers took the connections in turn: killing one ends exactly half of them.
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        lost = 0
        for conn in conns:
            try:
                conn.execute("SELECT 1")
            except psycopg.OperationalError:
                lost += 1
        assert lost == 6
        # The dead worker is replaced; the port keeps serving.
        assert _wait_for(lambda: len(_workers(proc.pid) - {victim}) == 2, 30)
        for _ in range(8):
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
                assert conn.execute("SELECT getdate() IS NOT NULL").fetchone() == (True,)
        survivors = _workers(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert _wait_for(lambda: not any(_alive(p) for p in survivors), 10)
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


def _run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "redshift_async_backend.emulator", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def _start_cli(*args: str, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "redshift_async_backend.emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("ready "):
        proc.kill()
        raise AssertionError(proc.stderr.read() if proc.stderr else "no ready line")
    return proc, line.split(" ", 1)[1].strip()


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=30)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_cli_port_in_use_is_one_line_and_a_failure(pg_url: str, workers: str) -> None:
    import socket

    env = {**os.environ, "REDSHIFT_EMULATOR_UPSTREAM": pg_url}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run_cli("--port", str(port), "--workers", workers, env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: port {port} on 127.0.0.1 is already in use"
    assert "Traceback" not in result.stderr


def test_cli_data_dir_keeps_data_across_restarts(tmpdir_for_postgres: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDSHIFT_TEST_UPSTREAM"}
    data = tmpdir_for_postgres / "data"
    proc, url = _start_cli("--data-dir", str(data), env=env)
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            conn.execute("CREATE TABLE kept (x int) DISTKEY (x)")
            conn.execute("INSERT INTO kept VALUES (42)")
            conn.execute("CREATE USER kept_user PASSWORD 'Ezpass12'")
        assert _stop(proc) == 0
        assert (data / "PG_VERSION").exists()
        proc, url = _start_cli("--data-dir", str(data), env=env)
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            assert conn.execute("SELECT x FROM kept").fetchall() == [(42,)]
            assert conn.execute(
                "SELECT distkey FROM pg_table_def WHERE tablename = 'kept'"
            ).fetchall() == [(True,)]
        host, port = url.split("@", 1)[1].split("/", 1)[0].rsplit(":", 1)
        with psycopg.connect(
            host=host, port=port, dbname="postgres", user="kept_user", password="Ezpass12"
        ) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("kept_user",)
        assert _stop(proc) == 0
        assert data.exists()  # kept, unlike the temporary directory
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # Something that is not a data directory is refused, not overwritten.
    (tmpdir_for_postgres / "other").mkdir()
    (tmpdir_for_postgres / "other" / "notes.txt").write_text("mine")
    result = _run_cli("--port", "0", "--data-dir", str(tmpdir_for_postgres / "other"), env=env)
    assert result.returncode == 1
    assert "neither empty nor a PostgreSQL data directory" in result.stderr
    assert (tmpdir_for_postgres / "other" / "notes.txt").read_text() == "mine"


def test_cli_refuses_other_machines_without_passwords(pg_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "REDSHIFT_EMULATOR_UPSTREAM": pg_url}
    env.pop("REDSHIFT_EMULATOR_ADMIN_PASSWORD", None)
    result = _run_cli("--host", "0.0.0.0", "--port", "0", env=env)
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0 without passwords" in result.stderr
    assert "--insecure-trust" in result.stderr
    # An admin password from a file (never the command line) lets it start.
    secret = tmp_path / "admin-password"
    secret.write_text("Admin-pw-9\n")
    proc, url = _start_cli("--host", "0.0.0.0", "--admin-password-file", str(secret), env=env)
    try:
        port = url.rsplit(":", 1)[1].split("/")[0]
        assert "Admin-pw-9" not in _ps(proc.pid, "args") + url
        with psycopg.connect(
            host="127.0.0.1", port=port, dbname=url.rsplit("/", 1)[1], user="awsuser",
            password="Admin-pw-9", connect_timeout=10,
        ) as conn:  # fmt: skip
            assert conn.execute("SELECT current_user").fetchone() == ("awsuser",)
        with pytest.raises(psycopg.OperationalError, match="no password supplied"):
            psycopg.connect(url.replace("0.0.0.0", "127.0.0.1"), connect_timeout=10)
        assert _stop(proc) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
