"""Warnings a user did not cause: none from the backend's pools at interpreter exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

# Runs in a child interpreter: a query through the pool, the connection given back (as at
# the end of a request), then exit. The first atexit handler registered runs last, after
# the backend's: it reports what the pool looks like when the interpreter ends.
CHILD = """
import atexit, json, sys

def report():
    from redshift_async_backend import pooling
    pool = pooling._pools["default"]
    print(json.dumps({"closed": pool.closed, "raw_closed": [bool(c.closed) for c in RAW]}))

atexit.register(report)
import django
django.setup()
from django.db import connection, connections
with connection.cursor() as cursor:
    cursor.execute("SELECT 1")
RAW = [connection.connection]
connections.close_all()
"""


@pytest.mark.parametrize("driver", ["psycopg", "redshift_connector"])
def test_pools_close_at_interpreter_exit(
    settings_dict: dict[str, Any], driver: str, tmp_path: Path
) -> None:
    settings = (
        "SECRET_KEY = 'x'\nUSE_TZ = True\nINSTALLED_APPS = []\n"
        f"DATABASES = {{'default': {{'ENGINE': 'redshift_async_backend', "
        f"'NAME': {settings_dict['NAME']!r}, 'USER': {settings_dict['USER']!r}, "
        f"'PASSWORD': {settings_dict['PASSWORD']!r}, 'HOST': {settings_dict['HOST']!r}, "
        f"'PORT': {settings_dict['PORT']!r}, 'CONN_MAX_AGE': 0, "
        f"'OPTIONS': {{'driver': {driver!r}, 'pool': {{'min_size': 2}}}}}}}}\n"
    )
    (tmp_path / "exit_settings.py").write_text(settings)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "exit_settings",
    }
    done = subprocess.run(
        # -X dev shows ResourceWarnings, which Python hides by default.
        [sys.executable, "-X", "dev", "-c", CHILD],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert '"closed": true' in done.stdout, done.stdout
    assert '"raw_closed": [true]' in done.stdout, done.stdout
    assert "ResourceWarning" not in done.stderr, done.stderr[-3000:]
