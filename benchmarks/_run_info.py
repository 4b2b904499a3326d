"""What each benchmark records about its run (date, machine, load, versions).

Every bench stores ``run_info(...)`` under the ``"run"`` key of its JSON; ``benchmarks.report``
prints it under each section. Nothing here may fail a benchmark: a field that cannot be
read is recorded as ``None``.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.metadata
import os
import platform
import re
import sys
from collections.abc import Iterable
from typing import Any


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _redact(arg: str) -> str:
    """A URL's password, if any, is not recorded."""
    return re.sub(r"(://[^/:@\s]+:)[^@\s]*@", r"\1***@", arg)


def run_info(
    load_before: Iterable[float] | None, *, quick: bool, packages: Iterable[str] = ()
) -> dict[str, Any]:
    """The run's date (local, ISO 8601), machine, load average before/after, versions."""
    info: dict[str, Any] = {
        "date": None,
        "python": None,
        "platform": None,
        "cpus": None,
        "load_average": {
            "before": [round(x, 2) for x in load_before] if load_before is not None else None,
            "after": load_average(),
        },
        "packages": {},
        "quick": quick,
        "argv": [_redact(a) for a in sys.argv[1:]],
    }
    with contextlib.suppress(Exception):
        info["date"] = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    with contextlib.suppress(Exception):
        info["python"] = platform.python_version()
    with contextlib.suppress(Exception):
        info["platform"] = platform.platform()
    with contextlib.suppress(Exception):
        info["cpus"] = os.cpu_count()
    for name in ("redshift-async-backend", *packages):
        try:
            info["packages"][name] = importlib.metadata.version(name)
        except Exception:
            info["packages"][name] = None
    return info
