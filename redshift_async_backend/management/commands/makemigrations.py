"""``makemigrations`` with the Redshift autodetector (see ``autodetector.py``), and a
writer that keeps a migration's ``atomic = False`` (Django's writer drops it)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.core.management.commands import makemigrations
from django.db.migrations.writer import MigrationWriter

from ...autodetector import RedshiftAutodetector
from ._compat import autodetector_in

_CLASS_LINE = "class Migration(migrations.Migration):\n"
_NOT_ATOMIC = (
    "\n    # Redshift runs ALTER COLUMN ... TYPE (a VARCHAR widening) only outside a\n"
    "    # transaction block (redshift_async_backend, docs/migrations.md).\n"
    "    atomic = False\n"
)


class RedshiftMigrationWriter(MigrationWriter):
    def as_string(self) -> str:
        text = super().as_string()
        if getattr(self.migration, "atomic", True):
            return text
        return text.replace(_CLASS_LINE, _CLASS_LINE + _NOT_ATOMIC, 1)


@contextlib.contextmanager
def _writer() -> Iterator[None]:
    original = makemigrations.MigrationWriter  # type: ignore[attr-defined]
    makemigrations.MigrationWriter = RedshiftMigrationWriter  # type: ignore[attr-defined]
    try:
        yield
    finally:
        makemigrations.MigrationWriter = original  # type: ignore[attr-defined]


class Command(makemigrations.Command):
    # Django 5.2+ reads this attribute (and checks that migrate uses the same class).
    autodetector = RedshiftAutodetector

    def handle(self, *args: Any, **options: Any) -> Any:
        with autodetector_in(makemigrations, RedshiftAutodetector), _writer():
            return super().handle(*args, **options)
