"""``inspectdb`` that writes a Redshift table's keys into the model's ``Meta``.

Redshift has no indexes; a table's distribution and sort keys are what it has instead
(DG:r_CREATE_TABLE_NEW). The introspection reports them as constraints of type
``"distkey"`` and ``"sortkey"``; for a Redshift connection this command turns them into::

    import redshift_async_backend
    ...
        class Meta:
            ...
            indexes = [
                redshift_async_backend.DistKey(fields=["customer"]),
                redshift_async_backend.SortKey(fields=["created_at", "id"]),
            ]

Django finds this command only when ``"redshift_async_backend"`` is in INSTALLED_APPS
(before ``django.contrib.gis`` if that is installed too: of two apps with an ``inspectdb``,
the one listed first wins). Without it, Django's stock command runs and the keys are left
out. For other databases the output is Django's, unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.management.commands import inspectdb
from django.db import connections

IMPORT_LINE = "import redshift_async_backend"


class Command(inspectdb.Command):
    help = (
        inspectdb.Command.help
        + " On Redshift, table distribution and sort keys become DistKey/SortKey entries "
        "in Meta.indexes."
    )

    _redshift = False
    _keys_written = False

    def handle_inspection(self, options: dict[str, Any]) -> Iterator[str]:
        self._redshift = connections[options["database"]].vendor == "redshift"
        self._keys_written = False
        if not self._redshift:
            yield from super().handle_inspection(options)
            return
        # Whether the import is needed is known only once every table is read.
        lines = list(super().handle_inspection(options))
        models_import = f"from {self.db_module} import models"
        for line in lines:
            yield line
            if line == models_import and self._keys_written:
                yield IMPORT_LINE

    def get_meta(
        self,
        table_name: str,
        constraints: dict[str, dict[str, Any]],
        column_to_field_name: dict[str, str],
        *args: Any,
        **kwargs: Any,
    ) -> list[str]:
        meta = list(
            super().get_meta(table_name, constraints, column_to_field_name, *args, **kwargs)
        )
        if self._redshift:
            keys = table_keys_source(constraints, column_to_field_name)
            if keys:
                self._keys_written = True
                meta.append("        indexes = [")
                meta += [f"            {key}," for key in keys]
                meta.append("        ]")
        return meta


def table_keys_source(
    constraints: dict[str, dict[str, Any]], column_to_field_name: dict[str, str]
) -> list[str]:
    """The ``DistKey(...)`` / ``SortKey(...)`` source for a table's key constraints."""
    keys = []
    for kind in ("distkey", "sortkey"):
        for info in constraints.values():
            if info.get("type") != kind:
                continue
            if any(column not in column_to_field_name for column in info["columns"]):
                continue  # a column inspectdb did not write: leave the key out
            fields = [column_to_field_name[column] for column in info["columns"]]
            if kind == "distkey":
                keys.append(f"redshift_async_backend.DistKey(fields={fields!r})")
            elif info.get("interleaved"):
                keys.append(f"redshift_async_backend.SortKey(fields={fields!r}, interleaved=True)")
            else:
                keys.append(f"redshift_async_backend.SortKey(fields={fields!r})")
    return keys
