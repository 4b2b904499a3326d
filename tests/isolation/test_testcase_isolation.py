"""A small project's own TestCase tests, run by Django's test runner through the emulator.

The project (``project/``) creates data in ``setUpClass`` after ``super()``, in
``setUpTestData`` and in its tests, then checks that each test sees only the class's data
and that nothing is committed afterwards (issue #20 item 7; isolation.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).parent / "project"


def run_project_tests(emulator: Any, driver: str, *args: str) -> subprocess.CompletedProcess[str]:
    url = urlsplit(emulator.url)
    env = {
        **os.environ,
        "ISOLATION_DB_NAME": emulator.database,
        "ISOLATION_DB_USER": url.username or "postgres",
        "ISOLATION_DB_PASSWORD": url.password or "",
        "ISOLATION_DB_HOST": emulator.host,
        "ISOLATION_DB_PORT": str(emulator.port),
        "ISOLATION_DB_DRIVER": driver,
        "ISOLATION_TEST_PREFIX": f"test_isolation_{driver}_{os.getpid()}",
        "PYTHONPATH": str(PROJECT),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", "test", "--noinput", "-v", "2", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.parametrize("driver", ["psycopg", "redshift_connector"])
def test_testcase_tests_are_isolated(redshift_emulator: Any, driver: str) -> None:
    proc = run_project_tests(redshift_emulator, driver)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Ran 10 tests" in output, output
    assert "OK" in output.splitlines()[-1] or "\nOK" in output, output
