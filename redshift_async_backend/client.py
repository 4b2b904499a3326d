"""``manage.py dbshell``: psql, with the password in PGPASSWORD, never in argv."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.backends.postgresql.client import DatabaseClient as PGDatabaseClient


class DatabaseClient(PGDatabaseClient):
    executable_name = "psql"

    @classmethod
    def settings_to_cmd_args_env(
        cls, settings_dict: dict[str, Any], parameters: Iterable[str]
    ) -> tuple[list[str], dict[str, str] | None]:
        settings_dict = {**settings_dict, "OPTIONS": dict(settings_dict.get("OPTIONS") or {})}
        if not settings_dict.get("NAME"):
            # Redshift's default database (MG:create-cluster), not PostgreSQL's "postgres".
            settings_dict["NAME"] = "dev"
        args, env = super().settings_to_cmd_args_env(settings_dict, parameters)
        return args, env
