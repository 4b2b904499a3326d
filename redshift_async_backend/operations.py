"""Redshift migration operations, in the manner of ``django.contrib.postgres.operations``.

Users import them as ``from redshift_async_backend.operations import AlterDistKey`` (this
module becomes ``operations.py``; see docs/migrations.md)::

    operations = [
        AlterDistKey("sale", "customer"),
        AlterSortKey("sale", ["created_at", "id"]),
        AlterDistStyle("country", "ALL"),
        AlterColumnEncode("sale", "note", "zstd"),
    ]

Each keeps the model state true (the DistKey/SortKey in ``Meta.indexes``), so that
``makemigrations`` finds nothing to do afterwards. On a database that is not Redshift they
change the state only. ``Vacuum`` refuses to run inside a transaction block, as Redshift
does (DG:r_VACUUM_command): put it in a migration with ``atomic = False``.
"""

from __future__ import annotations

import types
from typing import Any

from django.db import NotSupportedError, router
from django.db.migrations import operations as ops
from django.db.migrations.operations.base import Operation

try:  # Django 5.1+: operations have a category shown by makemigrations.
    from django.db.migrations.operations.base import OperationCategory

    _ALTERATION: Any = OperationCategory.ALTERATION
    _MIXED: Any = OperationCategory.MIXED
except ImportError:  # Django 4.2, 5.0
    _ALTERATION = _MIXED = None

from .indexes import DistKey, SortKey

__all__ = [
    "AlterColumnEncode",
    "AlterDistKey",
    "AlterDistStyle",
    "AlterSortKey",
    "Analyze",
    "Vacuum",
]

# Redshift: column compression encodings (DG:c_Compression_encodings).
ENCODINGS = frozenset(
    {"raw", "az64", "bytedict", "delta", "delta32k", "lzo", "mostly8", "mostly16",
     "mostly32", "runlength", "text255", "text32k", "zstd"}
)  # fmt: skip
DISTSTYLES = ("ALL", "AUTO", "EVEN")
VACUUM_MODES = ("FULL", "SORT ONLY", "DELETE ONLY", "REINDEX", "RECLUSTER")


def _on_redshift(schema_editor: Any) -> bool:
    return schema_editor.connection.vendor == "redshift"


def _ensure_not_in_transaction(schema_editor: Any, what: str) -> None:
    if schema_editor.connection.in_atomic_block:
        raise NotSupportedError(
            f"{what} cannot be executed inside a transaction on Redshift "
            "(DG:r_VACUUM_command): set atomic = False on the migration."
        )


def _index_name(state: Any, app_label: str, model_name: str, index: Any) -> str:
    """The name Django gives an unnamed index of this model (Index.set_name_with_model),
    from the model state, without rendering the models."""
    model_state = state.models[app_label, model_name]
    db_table = model_state.options.get("db_table") or f"{app_label}_{model_state.name_lower}"

    def get_field(name: str) -> Any:
        field = model_state.fields[name].clone()
        field.set_attributes_from_name(name)
        return field

    meta = types.SimpleNamespace(db_table=db_table, get_field=get_field)
    probe = index.clone()
    probe.name = ""
    probe.set_name_with_model(types.SimpleNamespace(_meta=meta))
    return str(probe.name)


class _TableKeyOperation(Operation):
    """Shared skeleton: a model name, a state change of its ``Meta.indexes``, an ALTER."""

    reduces_to_sql = True
    category = _ALTERATION
    key_type: type = DistKey

    model_name: str

    @property
    def model_name_lower(self) -> str:
        return self.model_name.lower()

    def references_model(self, name: str, app_label: str) -> bool:
        return name.lower() == self.model_name_lower

    def _replace_key(self, state: Any, app_label: str, new: Any) -> None:
        model_state = state.models[app_label, self.model_name_lower]
        indexes = [
            i for i in model_state.options.get("indexes", []) if type(i) is not self.key_type
        ]
        if new is not None:
            if not new.name:
                new.name = _index_name(state, app_label, self.model_name_lower, new)
            indexes.append(new)
        model_state.options["indexes"] = indexes
        state.reload_model(app_label, self.model_name_lower, delay=True)

    def _current_key(self, state: Any, app_label: str) -> Any:
        model_state = state.models[app_label, self.model_name_lower]
        for index in model_state.options.get("indexes", []):
            if type(index) is self.key_type:
                return index
        return None

    def _model(self, state: Any, app_label: str, schema_editor: Any) -> Any:
        if not _on_redshift(schema_editor):
            return None
        model = state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return None
        return model

    def reduce(self, operation: Operation, app_label: str) -> Any:
        # Two changes of the same key collapse into the last one; a DeleteModel makes any
        # change of the model's keys moot.
        if type(operation) is type(self) and operation.model_name_lower == self.model_name_lower:
            return [operation]
        if isinstance(operation, ops.DeleteModel) and operation.name_lower == self.model_name_lower:
            return [operation]
        return super().reduce(operation, app_label) or not operation.references_model(
            self.model_name, app_label
        )

    def _key_sql(self, model: Any, index: Any, schema_editor: Any, *, dropping: Any) -> Any:
        if index is not None:
            return index.create_sql(model, schema_editor)
        return dropping.remove_sql(model, schema_editor)

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any):
        self._apply(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        # Backwards, to_state is the state before the operation: its key is the target.
        self._apply(app_label, schema_editor, from_state, to_state)

    def _dropping(self, from_state: Any, app_label: str) -> Any:
        """The key whose remove_sql() clears it when the target state has none (its SQL
        does not depend on the columns)."""
        return self.key_type(fields=["pk"], name="x")

    def _apply(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        model = self._model(to_state, app_label, schema_editor)
        if model is None:
            return
        new = self._current_key(to_state, app_label)
        dropping = self._dropping(from_state, app_label)
        schema_editor.execute(
            self._key_sql(model, new, schema_editor, dropping=dropping), params=None
        )


class AlterDistKey(_TableKeyOperation):
    """Set the table's distribution key: ``ALTER DISTSTYLE KEY DISTKEY column``.

    ``field_name=None`` removes it (``ALTER DISTSTYLE AUTO``).
    """

    key_type = DistKey

    def __init__(self, model_name: str, field_name: str | None, name: str | None = None):
        self.model_name = model_name
        self.field_name = field_name
        self.name = name

    def deconstruct(self) -> tuple[str, list, dict]:
        kwargs: dict[str, Any] = {"model_name": self.model_name, "field_name": self.field_name}
        if self.name:
            kwargs["name"] = self.name
        return type(self).__qualname__, [], kwargs

    def _index(self) -> Any:
        if self.field_name is None:
            return None
        return DistKey(fields=[self.field_name], name=self.name)

    def state_forwards(self, app_label: str, state: Any) -> None:
        self._replace_key(state, app_label, self._index())

    def _dropping(self, from_state: Any, app_label: str) -> Any:
        return self._current_key(from_state, app_label) or super()._dropping(from_state, app_label)

    def describe(self) -> str:
        if self.field_name is None:
            return f"Remove the distribution key of {self.model_name} (DISTSTYLE AUTO)"
        return f"Set the distribution key of {self.model_name} to {self.field_name}"

    @property
    def migration_name_fragment(self) -> str:
        return f"{self.model_name_lower}_alter_distkey"

    def reduce(self, operation: Operation, app_label: str) -> Any:
        if (
            isinstance(operation, AlterDistStyle)
            and operation.model_name_lower == self.model_name_lower
        ):
            return [operation]
        return super().reduce(operation, app_label)


class AlterDistStyle(_TableKeyOperation):
    """``ALTER DISTSTYLE ALL | EVEN | AUTO``. Removes the model's DistKey from the state
    (a KEY style is :class:`AlterDistKey`). Not reversible: the previous style (AUTO, ALL,
    EVEN or a key) is not recorded in the model state."""

    key_type = DistKey
    reversible = False

    def __init__(self, model_name: str, style: str):
        style_upper = str(style).upper()
        if style_upper not in DISTSTYLES:
            raise ValueError(
                f"AlterDistStyle style must be one of {', '.join(DISTSTYLES)}, got {style!r} "
                "(use AlterDistKey for DISTSTYLE KEY)."
            )
        self.model_name = model_name
        self.style = style_upper

    def deconstruct(self) -> tuple[str, list, dict]:
        return type(self).__qualname__, [], {"model_name": self.model_name, "style": self.style}

    def state_forwards(self, app_label: str, state: Any) -> None:
        self._replace_key(state, app_label, None)

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any):
        model = self._model(to_state, app_label, schema_editor)
        if model is None:
            return
        # Redshift: ALTER DISTSTYLE ALL is refused for an INTERLEAVED sort key
        # (DG:r_ALTER_TABLE); Redshift's own error says so.
        table = schema_editor.quote_name(model._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} ALTER DISTSTYLE {self.style}", params=None)

    def database_backwards(self, *args: Any) -> None:
        raise NotImplementedError("AlterDistStyle is not reversible: the old style is unknown.")

    def describe(self) -> str:
        return f"Set the distribution style of {self.model_name} to {self.style}"

    @property
    def migration_name_fragment(self) -> str:
        return f"{self.model_name_lower}_alter_diststyle_{self.style.lower()}"

    def reduce(self, operation: Operation, app_label: str) -> Any:
        if isinstance(operation, AlterDistKey | AlterDistStyle) and (
            operation.model_name_lower == self.model_name_lower
        ):
            return [operation]
        return super().reduce(operation, app_label)


class AlterSortKey(_TableKeyOperation):
    """``ALTER COMPOUND SORTKEY (columns)``; ``fields=None`` drops it (``SORTKEY NONE``).

    Redshift cannot ALTER a table to an INTERLEAVED key (DG:r_ALTER_TABLE).
    """

    key_type = SortKey

    def __init__(self, model_name: str, fields: list[str] | None, name: str | None = None):
        self.model_name = model_name
        self.fields = list(fields) if fields else None
        self.name = name

    def deconstruct(self) -> tuple[str, list, dict]:
        kwargs: dict[str, Any] = {"model_name": self.model_name, "fields": self.fields}
        if self.name:
            kwargs["name"] = self.name
        return type(self).__qualname__, [], kwargs

    def state_forwards(self, app_label: str, state: Any) -> None:
        index = SortKey(fields=self.fields, name=self.name) if self.fields else None
        self._replace_key(state, app_label, index)

    def describe(self) -> str:
        if not self.fields:
            return f"Remove the sort key of {self.model_name}"
        return f"Set the sort key of {self.model_name} to {', '.join(self.fields)}"

    @property
    def migration_name_fragment(self) -> str:
        return f"{self.model_name_lower}_alter_sortkey"


class AlterColumnEncode(Operation):
    """``ALTER TABLE t ALTER COLUMN c ENCODE encoding`` (DG:r_ALTER_TABLE).

    The encoding is not part of the model state. Not reversible: the old encoding is
    unknown (``ALTER ENCODE AUTO`` hands the table back to Redshift if needed).
    """

    reduces_to_sql = True
    reversible = False
    category = _ALTERATION

    def __init__(self, model_name: str, field_name: str, encoding: str):
        if str(encoding).lower() not in ENCODINGS:
            raise ValueError(
                f"Unknown Redshift encoding {encoding!r}; one of {', '.join(sorted(ENCODINGS))} "
                "(DG:c_Compression_encodings)."
            )
        self.model_name = model_name
        self.field_name = field_name
        self.encoding = str(encoding).lower()

    @property
    def model_name_lower(self) -> str:
        return self.model_name.lower()

    def deconstruct(self) -> tuple[str, list, dict]:
        kwargs = {
            "model_name": self.model_name,
            "field_name": self.field_name,
            "encoding": self.encoding,
        }
        return type(self).__qualname__, [], kwargs

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any):
        if not _on_redshift(schema_editor):
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        qn = schema_editor.quote_name
        column = model._meta.get_field(self.field_name).column
        schema_editor.execute(
            f"ALTER TABLE {qn(model._meta.db_table)} ALTER COLUMN {qn(column)} "
            f"ENCODE {self.encoding}",
            params=None,
        )

    def database_backwards(self, *args: Any) -> None:
        raise NotImplementedError(
            "AlterColumnEncode is not reversible: the old encoding is unknown."
        )

    def references_field(self, model_name: str, name: str, app_label: str) -> bool:
        return model_name.lower() == self.model_name_lower and name == self.field_name

    def references_model(self, name: str, app_label: str) -> bool:
        return name.lower() == self.model_name_lower

    def describe(self) -> str:
        return f"Set the encoding of {self.model_name}.{self.field_name} to {self.encoding}"

    @property
    def migration_name_fragment(self) -> str:
        return f"{self.model_name_lower}_{self.field_name.lower()}_encode_{self.encoding}"

    def reduce(self, operation: Operation, app_label: str) -> Any:
        if (
            isinstance(operation, AlterColumnEncode)
            and operation.model_name_lower == self.model_name_lower
            and operation.field_name == self.field_name
        ):
            return [operation]
        if isinstance(operation, ops.DeleteModel) and operation.name_lower == self.model_name_lower:
            return [operation]
        return super().reduce(operation, app_label) or not operation.references_model(
            self.model_name, app_label
        )


class _Maintenance(Operation):
    """VACUUM / ANALYZE of one model's table, or of the database with no model."""

    reduces_to_sql = True
    reversible = True
    elidable = True
    category = _MIXED
    verb = ""

    model_name: str | None

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def database_backwards(self, *args: Any) -> None:
        # Nothing to undo: maintenance changes no data and no schema.
        pass

    def references_model(self, name: str, app_label: str) -> bool:
        return self.model_name is not None and name.lower() == self.model_name.lower()

    def _table(self, app_label: str, schema_editor: Any, state: Any) -> str | None:
        if self.model_name is None:
            return ""
        model = state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return None
        return " " + schema_editor.quote_name(model._meta.db_table)

    def _allowed(self, app_label: str, schema_editor: Any) -> bool:
        return _on_redshift(schema_editor) and router.allow_migrate(
            schema_editor.connection.alias, app_label
        )

    @property
    def migration_name_fragment(self) -> str:
        target = self.model_name.lower() if self.model_name else "all"
        return f"{self.verb.lower()}_{target}"


class Vacuum(_Maintenance):
    """``VACUUM [mode] [table] [TO n PERCENT] [BOOST]`` (DG:r_VACUUM_command).

    Redshift refuses VACUUM inside a transaction block, so the operation is not atomic and
    the migration holding it must set ``atomic = False``.
    """

    atomic = False
    verb = "VACUUM"

    def __init__(
        self,
        model_name: str | None = None,
        mode: str | None = None,
        threshold: int | None = None,
        boost: bool = False,
    ):
        if mode is not None and mode.upper() not in VACUUM_MODES:
            raise ValueError(f"Vacuum mode must be one of {', '.join(VACUUM_MODES)}, got {mode!r}.")
        if threshold is not None and not (isinstance(threshold, int) and 0 <= threshold <= 100):
            raise ValueError(f"Vacuum threshold is a percentage 0..100, got {threshold!r}.")
        self.model_name = model_name
        self.mode = mode.upper() if mode else None
        self.threshold = threshold
        self.boost = bool(boost)

    def deconstruct(self) -> tuple[str, list, dict]:
        kwargs: dict[str, Any] = {}
        for key, default in (("model_name", None), ("mode", None), ("threshold", None),
                             ("boost", False)):  # fmt: skip
            if getattr(self, key) != default:
                kwargs[key] = getattr(self, key)
        return type(self).__qualname__, [], kwargs

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any):
        if not self._allowed(app_label, schema_editor):
            return
        _ensure_not_in_transaction(schema_editor, "VACUUM")
        table = self._table(app_label, schema_editor, to_state)
        if table is None:
            return
        sql = "VACUUM" + (f" {self.mode}" if self.mode else "") + table
        if self.threshold is not None:
            sql += f" TO {self.threshold} PERCENT"
        if self.boost:
            sql += " BOOST"
        schema_editor.execute(sql, params=None)

    def describe(self) -> str:
        return f"Vacuum {self.model_name or 'the database'}"


class Analyze(_Maintenance):
    """``ANALYZE [table] [PREDICATE COLUMNS]`` (DG:r_ANALYZE). Runs inside a transaction."""

    verb = "ANALYZE"

    def __init__(self, model_name: str | None = None, predicate_columns: bool = False):
        self.model_name = model_name
        self.predicate_columns = bool(predicate_columns)

    def deconstruct(self) -> tuple[str, list, dict]:
        kwargs: dict[str, Any] = {}
        if self.model_name is not None:
            kwargs["model_name"] = self.model_name
        if self.predicate_columns:
            kwargs["predicate_columns"] = True
        return type(self).__qualname__, [], kwargs

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any):
        if not self._allowed(app_label, schema_editor):
            return
        table = self._table(app_label, schema_editor, to_state)
        if table is None:
            return
        sql = "ANALYZE" + table + (" PREDICATE COLUMNS" if self.predicate_columns else "")
        schema_editor.execute(sql, params=None)

    def describe(self) -> str:
        return f"Analyze {self.model_name or 'the database'}"
