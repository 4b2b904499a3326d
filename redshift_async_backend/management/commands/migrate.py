"""``migrate`` with the Redshift autodetector (it reports model changes without a
migration with the same detector as ``makemigrations``)."""

from __future__ import annotations

from typing import Any

from django.core.management.commands import migrate

from ...autodetector import RedshiftAutodetector
from ._compat import autodetector_in


class Command(migrate.Command):
    autodetector = RedshiftAutodetector

    def handle(self, *args: Any, **options: Any) -> Any:
        with autodetector_in(migrate, RedshiftAutodetector):
            return super().handle(*args, **options)
