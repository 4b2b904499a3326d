"""psql's listings on the emulator: \\dt, \\dn, \\du, \\l (psql of the machine's PostgreSQL)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

from redshift_async_backend.emulator import Emulator

from .conftest import PASSWORD, USER


def psql(emu: Emulator, command: str) -> subprocess.CompletedProcess[str]:
    found = shutil.which("psql")
    assert found, "psql is missing: .ci/run installs postgresql-client"
    return subprocess.run(
        [found, "-X", "-A", "-t", "-h", emu.host, "-p", str(emu.port), "-U", USER,
         "-d", emu.database, "-c", command],
        env={**os.environ, "PGPASSWORD": PASSWORD},
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip


def test_dt_dn_du(emulator: Emulator, sql: Callable[..., Any]) -> None:
    sql("CREATE TABLE psql_listed (a INTEGER)")
    try:
        tables = psql(emulator, r"\dt")
        assert tables.returncode == 0, tables.stderr
        assert "public|psql_listed|table|" in tables.stdout
        schemas = psql(emulator, r"\dn")
        assert schemas.returncode == 0 and "public|" in schemas.stdout, schemas.stderr
        roles = psql(emulator, r"\du")
        assert roles.returncode == 0 and f"{USER}|" in roles.stdout, roles.stderr
    finally:
        sql("DROP TABLE psql_listed")


def test_l_lists_databases(emulator: Emulator) -> None:
    listed = psql(emulator, r"\l")
    assert listed.returncode == 0, listed.stderr
    assert f"{emulator.database}|" in listed.stdout
