"""BENCHMARK ONLY (see ``__init__``): the stock backend without the version check."""

from __future__ import annotations

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def check_database_version_supported(self) -> None:
        # The emulator reports Redshift's 8.0.2; the stock backend wants 13+ (Django 5.x).
        return None
