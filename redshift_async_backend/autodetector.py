"""A migration autodetector that writes Redshift table keys where they cost nothing.

Django's autodetector splits a new model's indexes (and foreign keys) out of its
``CreateModel`` and the optimizer does not always fold them back (an ``AddIndex`` on
another model is a barrier; django-internals.md §5). On Redshift a DistKey or SortKey
inside ``CreateModel`` is a clause of CREATE TABLE; outside it is an ALTER TABLE that
redistributes or re-sorts the table. This autodetector, after Django's optimizer:

* moves ``AddIndex(DistKey | SortKey)`` into the same migration's ``CreateModel`` when
  every key field is created there, and moves a ForeignKey ``AddField`` that the DistKey
  names into the ``CreateModel`` when its target does not come later in the migration;
* replaces ``RemoveIndex(DistKey a)`` + ``AddIndex(DistKey b)`` of one model with one
  ``AlterDistKey`` (one ALTER instead of two table rewrites), and likewise for SortKey.

Used by this package's ``makemigrations`` and ``migrate`` commands (INSTALLED_APPS).
"""

from __future__ import annotations

from typing import Any

from django.db.migrations import operations as ops
from django.db.migrations.autodetector import MigrationAutodetector

from .indexes import DistKey, SortKey
from .operations import AlterDistKey, AlterSortKey

_KEYS = (DistKey, SortKey)


class RedshiftAutodetector(MigrationAutodetector):
    # Set by Django's _detect_changes; private, so not in django-stubs.
    migrations: dict[str, list[Any]]

    def _optimize_migrations(self) -> None:
        super()._optimize_migrations()  # type: ignore[misc]  # private, not in django-stubs
        for app_label, app_migrations in self.migrations.items():

            def removed_index(model: str, name: str, app_label: str = app_label) -> Any:
                state = self.from_state.models.get((app_label, model))
                for index in state.options.get("indexes", []) if state else []:
                    if index.name == name:
                        return index
                return None

            for migration in app_migrations:
                migration.operations = inline_table_keys(migration.operations)
                migration.operations = merge_key_changes(migration.operations, removed_index)


def _is_key_op(op: Any, kind: type[Any] = ops.AddIndex) -> bool:
    return type(op) is kind and isinstance(op.index, _KEYS)


def inline_table_keys(operations: list[Any]) -> list[Any]:
    """Fold DistKey/SortKey AddIndex (and a DistKey's ForeignKey AddField) into the
    CreateModel of the same migration."""
    result = list(operations)
    created: dict[str, int] = {}
    for position, op in enumerate(result):
        if isinstance(op, ops.CreateModel):
            created.setdefault(op.name_lower, position)
    for op in [o for o in result if _is_key_op(o)]:
        model = op.model_name_lower
        if model not in created:
            continue
        create = result[created[model]]
        field_names = {name for name, _ in create.fields}
        missing = [name for name in op.index.fields if name not in field_names]
        if isinstance(op.index, DistKey):
            for name in missing:
                add = _movable_add_field(result, created, model, name)
                if add is not None:
                    create = _with_field(create, add)
                    result[created[model]] = create
                    result.remove(add)
                    field_names.add(name)
            missing = [name for name in op.index.fields if name not in field_names]
        if missing:
            continue
        options = dict(create.options)
        options["indexes"] = [*options.get("indexes", []), op.index]
        result[created[model]] = ops.CreateModel(
            create.name, create.fields, options, create.bases, create.managers
        )
        result.remove(op)
    return result


def _movable_add_field(
    operations: list[Any], created: dict[str, int], model: str, name: str
) -> Any:
    for position, op in enumerate(operations):
        if not (isinstance(op, ops.AddField) and op.model_name_lower == model and op.name == name):
            continue
        remote = getattr(op.field.remote_field, "model", None)
        target: str | None
        if isinstance(remote, str):
            target = remote.split(".")[-1].lower()
        else:
            target = remote._meta.model_name if remote is not None else None
        # The target must exist before the CreateModel: created earlier in this migration,
        # or not created in it at all (another migration, a dependency).
        if target in created and created[target] > created[model]:
            return None
        between = operations[created[model] + 1 : position]
        if any(o.references_field(model, name, "") for o in between if o is not op):
            return None
        return op
    return None


def _with_field(create: Any, add: Any) -> Any:
    return ops.CreateModel(
        create.name, [*create.fields, (add.name, add.field)], create.options, create.bases,
        create.managers,
    )  # fmt: skip


def merge_key_changes(operations: list[Any], removed_index: Any) -> list[Any]:
    """RemoveIndex(old key) + AddIndex(new key) of one model become one Alter* operation."""
    result = list(operations)
    for add in [o for o in result if _is_key_op(o)]:
        for remove in result[: result.index(add)]:
            if not (
                isinstance(remove, ops.RemoveIndex)
                and remove.model_name_lower == add.model_name_lower
                and type(removed_index(remove.model_name_lower, remove.name)) is type(add.index)
            ):
                continue
            index = add.index
            if isinstance(index, DistKey):
                merged: Any = AlterDistKey(add.model_name, index.fields[0], name=index.name)
            elif index.interleaved:
                continue  # Redshift cannot ALTER to INTERLEAVED (DG:r_ALTER_TABLE)
            else:
                merged = AlterSortKey(add.model_name, list(index.fields), name=index.name)
            result[result.index(add)] = merged
            result.remove(remove)
            break
    return result
