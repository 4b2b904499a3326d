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
  ``AlterDistKey`` (one ALTER instead of two table rewrites), and likewise for SortKey;
* writes each plain VARCHAR widening (``AlterField`` of a CharField whose only change is a
  larger ``max_length``) into a migration with ``atomic = False``: Redshift widens a
  VARCHAR in place with ``ALTER COLUMN ... TYPE``, but only outside a transaction block
  (DG:r_ALTER_TABLE), and an atomic migration is one transaction. A migration of nothing
  but widenings becomes non-atomic itself; otherwise the widenings move to a migration of
  their own after the app's others, when nothing else in them touches those fields.

Used by this package's ``makemigrations`` and ``migrate`` commands (INSTALLED_APPS).
"""

from __future__ import annotations

from typing import Any

from django.db.migrations import Migration
from django.db.migrations import operations as ops
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.models import CharField

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
            self._widen_outside_transactions(app_label, app_migrations)

    def _widen_outside_transactions(self, app_label: str, app_migrations: list[Any]) -> None:
        def widening(op: Any) -> bool:
            state = self.from_state.models.get((app_label, getattr(op, "model_name_lower", "")))
            old = state.fields.get(op.name) if state is not None else None
            return isinstance(op, ops.AlterField) and old is not None and is_widening(old, op.field)

        every = [op for migration in app_migrations for op in migration.operations]
        moved: list[Any] = []
        for migration in app_migrations:
            found = [op for op in migration.operations if widening(op)]
            if not found:
                continue
            if len(found) == len(migration.operations):
                migration.atomic = False
                continue
            for op in found:
                touched = (op.model_name_lower, op.name_lower, app_label)
                if not any(o is not op and o.references_field(*touched) for o in every):
                    migration.operations.remove(op)
                    moved.append(op)
        if moved:
            migration = type("Migration", (Migration,), {"operations": [], "dependencies": []})(
                f"auto_{len(app_migrations) + 1}", app_label
            )
            migration.dependencies = [(app_label, app_migrations[-1].name)]
            migration.operations = moved
            migration.atomic = False
            app_migrations.append(migration)


def is_widening(old: Any, new: Any) -> bool:
    """Whether a field change is a VARCHAR widening and nothing else (its database
    attributes the same but a larger max_length; a primary key is left to a rebuild, its
    foreign keys change with it)."""
    if not isinstance(old, CharField) or type(old) is not type(new) or old.primary_key:
        return False
    if not (old.max_length and new.max_length and new.max_length > old.max_length):
        return False
    ignored = {"max_length", *getattr(old, "non_db_attrs", ())}
    old_kwargs = {k: v for k, v in old.deconstruct()[3].items() if k not in ignored}
    new_kwargs = {k: v for k, v in new.deconstruct()[3].items() if k not in ignored}
    return old_kwargs == new_kwargs


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
