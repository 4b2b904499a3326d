"""Django < 5.2 has no ``autodetector`` attribute on the commands: their ``handle()``
instantiates the module-level name ``MigrationAutodetector``. For the duration of the
command that name is pointed at the Redshift autodetector (commands run one at a time)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import ModuleType

import django


@contextlib.contextmanager
def autodetector_in(module: ModuleType, autodetector: type) -> Iterator[None]:
    if django.VERSION >= (5, 2):
        yield
        return
    original = module.MigrationAutodetector
    module.MigrationAutodetector = autodetector  # type: ignore[attr-defined]
    try:
        yield
    finally:
        module.MigrationAutodetector = original  # type: ignore[attr-defined]
