"""``makemigrations`` with the Redshift autodetector (see ``autodetector.py``)."""

from __future__ import annotations

from typing import Any

from django.core.management.commands import makemigrations

from ...autodetector import RedshiftAutodetector
from ._compat import autodetector_in


class Command(makemigrations.Command):
    # Django 5.2+ reads this attribute (and checks that migrate uses the same class).
    autodetector = RedshiftAutodetector

    def handle(self, *args: Any, **options: Any) -> Any:
        with autodetector_in(makemigrations, RedshiftAutodetector):
            return super().handle(*args, **options)
