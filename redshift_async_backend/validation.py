"""Database validation: Django's hook for backend-specific system checks."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.db.backends.base.validation import BaseDatabaseValidation

from . import checks as redshift_checks


class DatabaseValidation(BaseDatabaseValidation):
    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        # Called by check_database_backends() for the databases being checked (migrate,
        # test, check --database): the models this database serves.
        issues = list(super().check(**kwargs))
        alias, app_configs = self.connection.alias, kwargs.get("app_configs")
        issues.extend(redshift_checks.check_database(alias, app_configs))
        options = getattr(self.connection, "redshift_options", None)
        per_char = getattr(options, "varchar_bytes_per_char", None)
        issues.extend(redshift_checks.check_varchar_bytes(alias, per_char, app_configs))
        return issues

    def check_field(self, field: Any, **kwargs: Any) -> list[checks.CheckMessage]:
        # Called by Field.check() for each database the model may be migrated to.
        issues = list(super().check_field(field, **kwargs))
        options = getattr(self.connection, "redshift_options", None)
        per_char = getattr(options, "varchar_bytes_per_char", None) or 1
        issues.extend(redshift_checks.check_field(field, per_char))
        return issues
