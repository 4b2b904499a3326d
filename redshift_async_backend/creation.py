"""Test databases on Redshift: CREATE DATABASE without TEMPLATE or ENCODING."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql.creation import DatabaseCreation as PGDatabaseCreation

from .isolation import install_testcase_savepoints

if TYPE_CHECKING:
    from .base import DatabaseWrapper

DUPLICATE_DATABASE = "42P04"


class DatabaseCreation(PGDatabaseCreation):
    connection: DatabaseWrapper

    def create_test_db(self, *args: Any, **kwargs: Any) -> str:
        # Tests are about to run: TestCase isolates with replayed savepoints here.
        install_testcase_savepoints()
        return super().create_test_db(*args, **kwargs)

    def sql_table_creation_suffix(self) -> str:
        # Redshift: CREATE DATABASE has no TEMPLATE or ENCODING (DG:r_CREATE_DATABASE).
        test = self.connection.settings_dict["TEST"]
        for key in ("TEMPLATE", "CHARSET"):
            if test.get(key):
                raise ImproperlyConfigured(
                    f"DATABASES TEST[{key!r}] = {test[key]!r} is not supported: Redshift's "
                    "CREATE DATABASE has no TEMPLATE or ENCODING (DG:r_CREATE_DATABASE)."
                )
        collation = test.get("COLLATION")
        if collation is None:
            return ""
        if str(collation).lower() not in ("case_sensitive", "case_insensitive"):
            raise ImproperlyConfigured(
                f"DATABASES TEST['COLLATION'] = {collation!r} is not valid: Redshift accepts "
                "'case_sensitive' or 'case_insensitive' (DG:r_CREATE_DATABASE)."
            )
        return f"COLLATE {str(collation).upper()}"

    def _execute_create_test_db(
        self, cursor: Any, parameters: dict[str, Any], keepdb: bool = False
    ) -> None:
        try:
            # _database_exists and _nodb_cursor: Django's private API, not in django-stubs.
            if keepdb and self._database_exists(cursor, parameters["dbname"]):  # type: ignore[attr-defined]
                return
            cursor.execute("CREATE DATABASE {dbname} {suffix}".format(**parameters))
        except Exception as exc:
            cause = exc.__cause__ or exc
            duplicate = self.connection.driver.sqlstate(cause) == DUPLICATE_DATABASE or (
                "already exists" in str(cause)
            )
            if not duplicate:
                self.log(f"Got an error creating the test database: {exc}")
                sys.exit(2)
            if not keepdb:
                raise

    def _clone_test_db(self, suffix: Any, verbosity: int, keepdb: bool = False) -> None:
        raise NotImplementedError(
            "Redshift cannot clone databases (no CREATE DATABASE ... TEMPLATE); run tests "
            "with --parallel=1."
        )

    def _destroy_test_db(self, test_database_name: str, verbosity: int) -> None:
        with self._nodb_cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute(f"DROP DATABASE {self.connection.ops.quote_name(test_database_name)}")
