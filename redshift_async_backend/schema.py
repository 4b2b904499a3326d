"""DDL for Redshift: the schema editor behind migrations.

Redshift's DDL is a narrow subset of PostgreSQL's (DG:r_CREATE_TABLE_NEW, DG:r_ALTER_TABLE):
no indexes, no CHECK, constraints that are informational only, one ADD COLUMN per ALTER
TABLE, no SET/DROP DEFAULT or NOT NULL, and ALTER COLUMN TYPE only to resize a VARCHAR,
outside a transaction block. This editor keeps Django's PostgreSQL editor for what Redshift
shares and replaces every path that would emit something Redshift refuses.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import math
import re
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.db import NotSupportedError, transaction
from django.db.backends.base.schema import (  # type: ignore[attr-defined]  # private
    _related_non_m2m_objects,
)
from django.db.backends.ddl_references import Statement, Table
from django.db.backends.postgresql.schema import (
    DatabaseSchemaEditor as PostgreSQLSchemaEditor,
)
from django.db.backends.utils import strip_quotes, truncate_name
from django.db.models import Index

from .drivers.psycopg import SuperValue, VarbyteValue
from .indexes import DistKey, SortKey, TableKeys, table_keys
from .introspection import run_catalog_query
from .rebuild import TableRebuild, copy_expression, refuse_dependent_views

_VARCHAR = re.compile(r"^(?:varchar|character varying)\((\d+)\)$", re.IGNORECASE)

# Redshift: COLLATE takes only these two keywords, per column (DG:r_CREATE_TABLE_NEW).
_COLLATIONS = {
    "case_sensitive": "CASE_SENSITIVE",
    "cs": "CASE_SENSITIVE",
    "case_insensitive": "CASE_INSENSITIVE",
    "ci": "CASE_INSENSITIVE",
}

_AUTO_FIELDS = {"AutoField", "BigAutoField", "SmallAutoField"}
# Redshift: ALTER COLUMN TYPE refuses a column with one of these encodings (DG:r_ALTER_TABLE).
_NO_ALTER_TYPE_ENCODINGS = {"bytedict", "runlength", "text255", "text32k"}


def _default_is_dynamic(field: Any) -> bool:
    """Whether the field's Python default changes per call (so it is no column DEFAULT)."""
    return bool(
        (field.has_default() and callable(field.default))
        or getattr(field, "auto_now", False)
        or getattr(field, "auto_now_add", False)
    )


def _has_db_default(field: Any) -> bool:
    # Field.db_default is Django 5.0+; on 4.2 no field has one.
    has_db_default = getattr(field, "has_db_default", None)
    return bool(has_db_default and has_db_default())


class DatabaseSchemaEditor(PostgreSQLSchemaEditor):
    # Redshift: no SET CONSTRAINTS, no DEFERRABLE, no NULLS [NOT] DISTINCT
    # (DG:c_unsupported-postgresql-features).
    sql_update_with_default = (
        "UPDATE %(table)s SET %(column)s = %(default)s WHERE %(column)s IS NULL"
    )
    sql_create_column_inline_fk = None  # type: ignore[assignment]  # base allows None
    sql_delete_fk = "ALTER TABLE %(table)s DROP CONSTRAINT %(name)s"
    sql_unique_constraint = "UNIQUE (%(columns)s)"
    sql_create_unique = "ALTER TABLE %(table)s ADD CONSTRAINT %(name)s UNIQUE (%(columns)s)"
    sql_create_fk = (
        "ALTER TABLE %(table)s ADD CONSTRAINT %(name)s FOREIGN KEY (%(column)s) "
        "REFERENCES %(to_table)s (%(to_column)s)"
    )
    sql_alter_column_type = "ALTER COLUMN %(column)s TYPE %(type)s"
    # RESTRICT (the default) rather than Django's CASCADE where a column is rebuilt: a view
    # that depends on the column makes the change fail instead of silently vanishing.
    sql_drop_column_restrict = "ALTER TABLE %(table)s DROP COLUMN %(column)s"
    sql_copy_column = "UPDATE %(table)s SET %(new_column)s = %(value)s%(where)s"

    if TYPE_CHECKING:
        # Django's private schema-editor methods used below (django-stubs omits them).
        def _alter_column_comment_sql(
            self, model: Any, new_field: Any, new_type: Any, new_db_comment: Any
        ) -> tuple[str, list[Any]]: ...
        def _create_fk_sql(self, model: Any, field: Any, suffix: str) -> Statement: ...
        def _create_primary_key_sql(self, model: Any, field: Any) -> Statement: ...
        def _create_unique_sql(self, model: Any, fields: Any, **kw: Any) -> Statement: ...
        def _delete_fk_sql(self, model: Any, name: str) -> Statement: ...
        def _delete_primary_key(self, model: Any, strict: bool = False) -> None: ...
        def _delete_unique_sql(self, model: Any, name: str, **kw: Any) -> Statement: ...
        def _pk_constraint_sql(self, columns: list[str]) -> str: ...
        def _rename_field_sql(self, table: str, old: Any, new: Any, new_type: Any) -> str: ...
        def _unique_constraint_name(self, table: str, columns: list[str], quote: bool) -> Any: ...

    # ------------------------------------------------------------------ execution

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        # Django's editor runs the deferred SQL before leaving its atomic block; when one of
        # those statements fails, the block is never left and the connection stays in a
        # failed transaction. Leave it with the error, so the migration rolls back.
        self.connection.pk_takes_values.clear()  # type: ignore[attr-defined]  # ours: a table may be rebuilt
        try:
            super().__exit__(exc_type, exc_value, traceback)
        except Exception as exc:
            if exc_type is None and self.atomic_migration:
                self.atomic.__exit__(type(exc), exc, exc.__traceback__)
            raise

    def execute(self, sql: Any, params: Any = ()) -> None:
        # Redshift DDL takes no bind parameters: merge them here, with literals this editor
        # renders itself, so both drivers send the same text.
        if params:
            sql = str(sql) % tuple(self.quote_value(p) for p in params)
        super(PostgreSQLSchemaEditor, self).execute(sql, None)

    def quote_value(self, value: Any) -> str:
        """Render a constant as a Redshift SQL literal (defaults, comments)."""
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                return f"'{value}'::float8"
            return repr(value)
        if isinstance(value, decimal.Decimal):
            if not value.is_finite():
                raise ValueError(f"Redshift DECIMAL cannot hold {value}.")
            return str(value)
        if isinstance(value, datetime.datetime):
            return self._quote_str(value.isoformat(sep=" "))
        if isinstance(value, datetime.date | datetime.time):
            return self._quote_str(value.isoformat())
        if isinstance(value, uuid.UUID):
            return self._quote_str(str(value))
        if isinstance(value, SuperValue):
            # Redshift: a SUPER document comes from JSON_PARSE (DG:JSON_PARSE).
            return f"JSON_PARSE({self._quote_str(value.text)})"
        if isinstance(value, VarbyteValue):
            value = value.data
        elif isinstance(getattr(value, "obj", None), bytes | bytearray | memoryview):
            value = value.obj  # the driver's Binary wrapper (Database.Binary)
        if isinstance(value, bytes | bytearray | memoryview):
            # Redshift: VARBYTE literals are built with TO_VARBYTE (DG:r_TO_VARBYTE).
            return f"TO_VARBYTE('{bytes(value).hex()}', 'hex')"
        if isinstance(value, str):
            return self._quote_str(value)
        raise ValueError(f"Cannot render {type(value).__name__} {value!r} as a Redshift literal.")

    @staticmethod
    def _quote_str(value: str) -> str:
        if "\\" in value:
            # Redshift reads a backslash in a string literal as an escape where PostgreSQL
            # does not (DG:r_Character_types); a DDL literal with one would differ between the
            # two, so it is refused rather than guessed.
            raise ValueError(
                f"A DDL literal cannot contain a backslash on Redshift: {value!r}. Use a "
                "default without one, or set it with an UPDATE in a data migration."
            )
        if "\x00" in value:
            raise ValueError("A DDL literal cannot contain a NUL character.")
        return "'" + value.replace("'", "''") + "'"

    # ------------------------------------------------------------------ column SQL

    def _column_type(self, field: Any) -> str | None:
        """The column type. CharField lengths come out of ``data_types`` already sized by
        ``ops.varchar_length`` (Redshift counts VARCHAR lengths in bytes)."""
        return field.db_parameters(connection=self.connection)["type"]

    def _collate_sql(
        self, collation: str | None, old_collation: str | None = None, table_name: Any = None
    ) -> str:
        if not collation:
            return ""
        keyword = _COLLATIONS.get(collation.lower())
        if keyword is None:
            raise NotSupportedError(
                f"Redshift has no collation {collation!r}: a column takes COLLATE "
                "case_sensitive or case_insensitive only (DG:r_CREATE_TABLE_NEW)."
            )
        return f"COLLATE {keyword}"

    def _default_sql(self, field: Any, *, include_default: bool) -> tuple[str | None, list]:
        """The DEFAULT expression of a column, or None."""
        if _has_db_default(field):
            sql, params = self.db_default_sql(field)
            return sql, list(params)
        if include_default:
            value = self.effective_default(field)
            if value is not None:
                return "%s", [value]
        return None, []

    def _column_definition(
        self,
        model: Any,
        field: Any,
        *,
        include_default: bool = False,
        inline_keys: bool = True,
    ) -> tuple[str | None, list]:
        """Column definition in Redshift's clause order (DG:r_CREATE_TABLE_NEW):
        type, DEFAULT, IDENTITY, COLLATE, NOT NULL | NULL, PRIMARY KEY | UNIQUE."""
        db_type = self._column_type(field)
        if db_type is None:
            return None, []
        parts = [db_type]
        default_sql, params = self._default_sql(field, include_default=include_default)
        if default_sql is not None:
            parts.append(f"DEFAULT {default_sql}")
        if suffix := field.db_type_suffix(connection=self.connection):
            parts.append(suffix)
        collation = field.db_parameters(connection=self.connection).get("collation")
        if collate := self._collate_sql(collation):
            parts.append(collate)
        if getattr(field, "generated", False):
            raise NotSupportedError(
                f"Redshift has no generated columns ({field.model._meta.label}.{field.name}); "
                "only IDENTITY (DG:r_CREATE_TABLE_NEW)."
            )
        parts.append("NULL" if field.null else "NOT NULL")
        if inline_keys:
            if field.primary_key:
                parts.append("PRIMARY KEY")
            elif field.unique:
                parts.append("UNIQUE")
        return " ".join(parts), params

    def column_sql(self, model: Any, field: Any, include_default: bool = False):
        return self._column_definition(model, field, include_default=include_default)

    # ------------------------------------------------------------------ tables

    def table_sql(self, model: Any) -> tuple[str, list]:
        opts = model._meta
        keys = self._table_keys(model)
        definitions = []
        params: list = []
        for field in opts.local_fields:
            definition, extra = self._column_definition(model, field)
            if definition is None:
                continue
            params.extend(extra)
            definitions.append(f"{self.quote_name(field.column)} {definition}")
            if (
                field.remote_field
                and field.db_constraint
                and self.connection.features.supports_foreign_keys
            ):
                # Redshift: FOREIGN KEY is informational; added after every table exists.
                self.deferred_sql.append(
                    self._create_fk_sql(model, field, "_fk_%(to_table)s_%(to_column)s")
                )
        pk = opts.pk
        if pk is not None and getattr(pk, "columns", None) and not pk.concrete:
            definitions.append(self._pk_constraint_sql([f.column for f in pk.fields]))
        for field_names in opts.unique_together:
            fields = [opts.get_field(name) for name in field_names]
            if pk is not None and fields == [pk]:
                # An inline UNIQUE on the primary key's column(s) would merge into the
                # PRIMARY KEY (PostgreSQL drops the duplicate); added after, it stays its own.
                self.deferred_sql.append(self._create_unique_sql(model, fields))
                continue
            columns = [field.column for field in fields]
            definitions.append(self._inline_unique_sql(opts.db_table, columns))
        for constraint in opts.constraints:
            sql = constraint.constraint_sql(model, self)
            if sql:
                definitions.append(str(sql))
        sql = self.sql_create_table % {
            "table": self.quote_name(opts.db_table),
            "definition": ", ".join(definitions),
        }
        if options := keys.options_sql(self.quote_name):
            sql += " " + options
        return sql, params

    def _inline_unique_sql(self, table: str, columns: list[str]) -> str:
        name = self._unique_constraint_name(table, columns, quote=True)
        return self.sql_constraint % {
            "name": name,
            "constraint": self.sql_unique_constraint
            % {"columns": ", ".join(self.quote_name(c) for c in columns)},
        }

    def _create_index_name(self, table_name: str, column_names: Any, suffix: str = "") -> str:
        # Constraint names are built from the names as stored (Meta.db_table = '"foo"',
        # db_column = '"id"'); the quotes would end up inside the name.
        return super()._create_index_name(  # type: ignore[misc]  # private Django API
            strip_quotes(table_name), [strip_quotes(c) for c in column_names], suffix=suffix
        )

    def _table_keys(self, model: Any) -> TableKeys:
        try:
            return table_keys(model)
        except ValueError as exc:
            raise NotSupportedError(str(exc)) from None

    def _model_indexes_sql(self, model: Any) -> list:
        # Redshift has no indexes; DistKey/SortKey are inline in CREATE TABLE.
        return []

    def _field_indexes_sql(self, model: Any, field: Any) -> list:
        return []

    def _create_like_index_sql(self, model: Any, field: Any) -> None:
        return None

    def _create_index_sql(self, model: Any, **kwargs: Any) -> Statement:
        raise NotSupportedError(
            "Redshift has no CREATE INDEX (DG:c_unsupported-postgresql-features)."
        )

    def alter_db_tablespace(self, model: Any, old_db_tablespace: Any, new_db_tablespace: Any):
        return None

    def alter_index_together(self, model: Any, old_index_together: Any, new_index_together: Any):
        return None

    # ------------------------------------------------------------------ indexes and keys

    def add_index(self, model: Any, index: Index, concurrently: bool = False) -> None:
        if isinstance(index, DistKey | SortKey):
            self.execute(index.create_sql(model, self), params=None)
        # Any other index: Redshift has none, so there is nothing to create.

    def remove_index(self, model: Any, index: Index, concurrently: bool = False) -> None:
        if isinstance(index, DistKey | SortKey):
            self.execute(index.remove_sql(model, self), params=None)

    def rename_index(self, model: Any, old_index: Index, new_index: Index) -> None:
        # Index names never reach Redshift: nothing to rename.
        return None

    def _constraint_names(
        self,
        model: Any,
        column_names: Any = None,
        unique: Any = None,
        primary_key: Any = None,
        index: Any = None,
        foreign_key: Any = None,
        check: Any = None,
        type_: Any = None,
        exclude: Any = None,
    ) -> list[str]:
        names = super()._constraint_names(  # type: ignore[misc]  # private Django API
            model, column_names, unique, primary_key, index, foreign_key, check, type_, exclude
        )
        if index and not names and column_names and not (unique or primary_key or foreign_key):
            # Redshift has no indexes (DG:c_unsupported-postgresql-features), so an index
            # looked up by its columns is the one Django would have made, never created:
            # RenameIndex(old_fields=...) (index_together moved to Meta.indexes) renames it,
            # which is nothing to do here.
            table = model._meta.db_table
            return [self._create_index_name(table, list(column_names), suffix="_idx")]
        return names

    # ------------------------------------------------------------------ constraints

    def _unique_supported(
        self,
        condition: Any = None,
        deferrable: Any = None,
        include: Any = None,
        expressions: Any = None,
        nulls_distinct: Any = None,
    ) -> bool:
        # Redshift UNIQUE is a plain, informational column list (DG:r_CREATE_TABLE_NEW);
        # everything else needs a unique index, which Redshift does not have.
        return not (condition or deferrable or include or expressions or nulls_distinct is not None)

    def _check_sql(self, name: Any, check: Any) -> None:
        # Redshift: no CHECK constraints (DG:c_unsupported-postgresql-features).
        return None

    def _create_check_sql(self, model: Any, name: Any, check: Any) -> None:
        return None

    def _delete_check_sql(self, model: Any, name: Any) -> None:
        return None

    # ------------------------------------------------------------------ fields

    def add_field(self, model: Any, field: Any) -> None:
        if field.many_to_many and field.remote_field.through._meta.auto_created:
            return self.create_model(field.remote_field.through)
        if self._column_type(field) is None:
            return None
        table = model._meta.db_table
        where = f"{model._meta.label}.{field.name}"
        if field.get_internal_type() in _AUTO_FIELDS or field.db_type_suffix(
            connection=self.connection
        ):
            raise NotSupportedError(
                f"Cannot add {where}: Redshift's ADD COLUMN cannot carry IDENTITY "
                "(DG:r_ALTER_TABLE). Create the table with the column instead."
            )
        # Redshift: ADD COLUMN ... NOT NULL needs a non-null DEFAULT, even on an empty table;
        # and there is no DROP DEFAULT afterwards (DG:r_ALTER_TABLE).
        fill_value = None
        if field.null or _has_db_default(field):
            definition, params = self._column_definition(model, field, inline_keys=False)
            if not _has_db_default(field):
                fill_value = self.effective_default(field)
        elif _default_is_dynamic(field):
            # A callable default (timezone.now, uuid4) or auto_now[_add] must not be frozen
            # into the table as a DEFAULT literal that every later INSERT without the
            # column would get. The table is rebuilt instead, with the column NOT NULL and
            # no DEFAULT, the existing rows getting the value computed once for this run.
            value = self.effective_default(field)
            if value is None:
                raise NotSupportedError(
                    f"Cannot add {where} as NOT NULL: its default returned None."
                )
            return self._add_field_by_rebuild(model, field, value)
        elif self.effective_default(field) is None and self._table_is_empty(table):
            # No value for existing rows is needed when there are none: an empty table (one
            # created earlier in this migration, as makemigrations does to break a cycle of
            # ForeignKeys) is rebuilt with the column NOT NULL and no DEFAULT.
            return self._add_field_by_rebuild(model, field, None)
        else:
            if self.effective_default(field) is None:
                raise NotSupportedError(
                    f"Cannot add {where} as NOT NULL without a default: {table!r} has rows "
                    "and Redshift's ADD COLUMN ... NOT NULL needs a non-null DEFAULT for "
                    "them (DG:r_ALTER_TABLE). Give the field a default or db_default, or "
                    "make it null=True."
                )
            # The constant stays as the column's DEFAULT: Redshift requires it and has no
            # DROP DEFAULT (docs/migrations.md, "Lingering defaults").
            definition, params = self._column_definition(
                model, field, include_default=True, inline_keys=False
            )
        # Two statements (ADD, UPDATE) run together; one needs no transaction of its own.
        steps = self._one_transaction() if fill_value is not None else contextlib.nullcontext()
        with steps:
            self.execute(
                self.sql_create_column
                % {
                    "table": self.quote_name(table),
                    "column": self.quote_name(field.column),
                    "definition": definition,
                },
                params or None,
            )
            if fill_value is not None:
                # A nullable column gets the default for its existing rows without keeping
                # it as a column DEFAULT that Redshift could never drop.
                self.execute(
                    f"UPDATE {self.quote_name(table)} SET {self.quote_name(field.column)} = %s",
                    [fill_value],
                )
        self._add_field_constraints(model, field)
        return None

    def _add_field_by_rebuild(self, model: Any, field: Any, value: Any) -> None:
        """A NOT NULL column without a DEFAULT: the table rebuilt with it, every existing
        row taking ``value``."""
        nullable = field.clone()
        nullable.null = True
        nullable.set_attributes_from_name(field.name)
        nullable.model = model
        if field.remote_field is not None:
            # A clone names its target as a string; the original's is resolved.
            nullable.remote_field.model = field.remote_field.model
        self._rebuild_table(
            model,
            nullable,
            field,
            fields=[*model._meta.local_concrete_fields, nullable],
            fill_value=value,
            added=True,
        )
        self._add_field_constraints(model, field, comment=False)

    def create_model(self, model: Any) -> None:
        super().create_model(model)
        self.created_tables.add(model._meta.db_table)

    @property
    def created_tables(self) -> set[str]:
        """The tables this editor created (with collect_sql, only printed)."""
        return self.__dict__.setdefault("_created_tables", set())

    def _table_is_empty(self, table: str) -> bool:
        """Whether the table has no rows. With collect_sql (sqlmigrate) a table created in
        this editor is empty; another is read."""
        if self.collect_sql and table in self.created_tables:
            return True
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {self.quote_name(table)} LIMIT 1")
            return cursor.fetchone() is None

    def has_deferred_fk(self, table: str, column: str) -> bool:
        """Whether a FOREIGN KEY on table.column waits in deferred_sql (a table created
        earlier in this editor)."""
        return any(self._is_deferred_fk(sql, table, column) for sql in self.deferred_sql)

    def _is_deferred_fk(self, sql: Any, table: str, column: str) -> bool:
        return bool(
            isinstance(sql, Statement)
            and sql.template == self.sql_create_fk
            and sql.parts["table"].references_table(table)
            and sql.parts["column"].references_column(table, column)
        )

    def _add_field_constraints(self, model: Any, field: Any, comment: bool = True) -> None:
        # Redshift: ADD COLUMN cannot carry UNIQUE, PRIMARY KEY or REFERENCES
        # (DG:r_ALTER_TABLE): each is a separate ADD CONSTRAINT.
        if field.primary_key:
            self.execute(self._create_primary_key_sql(model, field))
        elif field.unique:
            self.execute(self._create_unique_sql(model, [field]))
        if (
            field.remote_field
            and field.db_constraint
            and self.connection.features.supports_foreign_keys
        ):
            self.deferred_sql.append(
                self._create_fk_sql(model, field, "_fk_%(to_table)s_%(to_column)s")
            )
        if comment:
            self._set_column_comment(model, field)

    def _set_column_comment(self, model: Any, field: Any) -> None:
        if field.db_comment and self.connection.features.supports_comments:
            self.execute(
                *self._alter_column_comment_sql(
                    model, field, self._column_type(field), field.db_comment
                )
            )

    def remove_field(self, model: Any, field: Any) -> None:
        if not (field.many_to_many and field.remote_field.through._meta.auto_created):
            self._move_keys_off(model, field)
        super().remove_field(model, field)

    def _move_keys_off(self, model: Any, field: Any) -> None:
        """Redshift cannot drop a DISTKEY or SORTKEY column (DG:r_ALTER_TABLE): the key
        moves first. The DISTKEY goes back to DISTSTYLE AUTO; the SORTKEY keeps its other
        columns (or becomes NONE when the column was its only one)."""
        keys = self._table_keys(model)
        column = field.column
        table = Table(model._meta.db_table, self.quote_name)
        if column == keys.distkey:
            self.execute(Statement("ALTER TABLE %(table)s ALTER DISTSTYLE AUTO", table=table))
        if column in keys.sortkey:
            rest = [c for c in keys.sortkey if c != column]
            if rest and not keys.interleaved:
                self.execute(
                    Statement(
                        "ALTER TABLE %(table)s ALTER COMPOUND SORTKEY (%(columns)s)",
                        table=table,
                        columns=", ".join(self.quote_name(c) for c in rest),
                    )
                )
            else:
                # Redshift: ALTER SORTKEY cannot make an INTERLEAVED key (DG:r_ALTER_TABLE).
                self.execute(Statement("ALTER TABLE %(table)s ALTER SORTKEY NONE", table=table))

    # ------------------------------------------------------------------ altering fields

    def _alter_field(
        self,
        model: Any,
        old_field: Any,
        new_field: Any,
        old_type: Any,
        new_type: Any,
        old_db_params: Any,
        new_db_params: Any,
        strict: bool = False,
    ) -> None:
        table = model._meta.db_table
        old_type = self._column_type(old_field)
        new_type = self._column_type(new_field)
        changes_column = self._column_changes(old_field, new_field, old_type, new_type)
        old_fk = self._fk_target(old_field)
        new_fk = self._fk_target(new_field)
        if changes_column and self._takes_table_rebuild(
            model, old_field, new_field, old_type, new_type
        ):
            # Before step 1, which in a migration with atomic = False commits on its own.
            refuse_dependent_views(self, table, f"{model._meta.label}.{new_field.name}")

        # 1. Drop the constraints that go away or that would block the column change:
        #    Redshift refuses ALTER COLUMN TYPE on a column in a UNIQUE, PK or FK constraint
        #    (DG:r_ALTER_TABLE), and a rebuilt column loses its constraints.
        drop_fk = old_fk is not None and (old_fk != new_fk or changes_column)
        # A FOREIGN KEY of a table created earlier in this editor is still in deferred_sql:
        # it is replaced there, not created twice.
        pending_fk = drop_fk and self._pop_deferred_fk(table, old_field.column)
        if drop_fk:
            for name in self._constraint_names(model, [old_field.column], foreign_key=True):
                self.execute(self._delete_fk_sql(model, name))
        rels_to_update = []
        if (old_field.primary_key or old_field.unique) and (
            changes_column or hasattr(new_field, "model")
        ):
            # Also when only the referencing columns change: a SmallAutoField is an INTEGER
            # IDENTITY (Redshift: IDENTITY is INT or BIGINT, DG:r_CREATE_TABLE_NEW) but its
            # foreign keys are SMALLINT, so growing it to AutoField changes only those.
            rels_to_update = [
                (old_rel, new_rel)
                for old_rel, new_rel in _related_non_m2m_objects(old_field, new_field)
                if changes_column
                or self._column_type(old_rel.field) != self._column_type(new_rel.field)
            ]
            for _old_rel, new_rel in rels_to_update:
                if not new_rel.field.db_constraint:
                    continue
                for name in self._constraint_names(
                    new_rel.related_model, [new_rel.field.column], foreign_key=True
                ):
                    self.execute(self._delete_fk_sql(new_rel.related_model, name))
        # After the incoming FOREIGN KEYs: a referenced UNIQUE cannot be dropped first.
        drop_unique = (
            old_field.unique
            and not old_field.primary_key
            and (not new_field.unique or new_field.primary_key or changes_column)
        )
        if drop_unique:
            meta_names = {c.name for c in model._meta.constraints}
            for name in self._constraint_names(
                model, [old_field.column], unique=True, primary_key=False, exclude=meta_names
            ):
                self.execute(self._delete_unique_sql(model, name))
        drop_pk = old_field.primary_key and (not new_field.primary_key or changes_column)
        if drop_pk:
            self._delete_primary_key(model, strict)

        # 2. Rename.
        if old_field.column != new_field.column:
            self.execute(self._rename_field_sql(table, old_field, new_field, new_type))
            for sql in self.deferred_sql:
                if isinstance(sql, Statement):
                    sql.rename_column_references(table, old_field.column, new_field.column)

        # 3. The column itself.
        if changes_column:
            self._change_column(model, old_field, new_field, old_type, new_type)
        elif old_field.db_comment != new_field.db_comment and (
            self.connection.features.supports_comments
        ):
            self.execute(
                *self._alter_column_comment_sql(model, new_field, new_type, new_field.db_comment)
            )

        # 4. Put constraints back.
        if new_field.primary_key and (drop_pk or not old_field.primary_key):
            self.execute(self._create_primary_key_sql(model, new_field))
        if (
            new_field.unique
            and not new_field.primary_key
            and (drop_unique or not old_field.unique or old_field.primary_key)
        ):
            self.execute(self._create_unique_sql(model, [new_field]))
        for old_rel, new_rel in rels_to_update:
            rel_old_type = self._column_type(old_rel.field)
            rel_new_type = self._column_type(new_rel.field)
            if self._column_changes(old_rel.field, new_rel.field, rel_old_type, rel_new_type):
                self._change_column(
                    new_rel.related_model,
                    old_rel.field,
                    new_rel.field,
                    rel_old_type,
                    rel_new_type,
                    keep_keys=True,
                )
        if new_fk is not None and (drop_fk or old_fk is None):
            fk_sql = self._create_fk_sql(model, new_field, "_fk_%(to_table)s_%(to_column)s")
            if pending_fk:
                self.deferred_sql.append(fk_sql)
            else:
                self.execute(fk_sql)
        for _old_rel, new_rel in rels_to_update:
            if new_rel.field.db_constraint:
                self.execute(self._create_fk_sql(new_rel.related_model, new_rel.field, "_fk"))

    def _pop_deferred_fk(self, table: str, column: str) -> bool:
        """Remove the pending FOREIGN KEY statements on table.column; whether any was."""
        pending = [sql for sql in self.deferred_sql if self._is_deferred_fk(sql, table, column)]
        for sql in pending:
            self.deferred_sql.remove(sql)
        return bool(pending)

    @staticmethod
    def _fk_target(field: Any) -> tuple[str, str] | None:
        if field.remote_field and field.db_constraint and not field.many_to_many:
            target = field.target_field
            return target.model._meta.db_table, target.column
        return None

    def _column_changes(self, old_field: Any, new_field: Any, old_type: Any, new_type: Any) -> bool:
        """Whether the column's definition (not its name) changes."""
        old_params = old_field.db_parameters(connection=self.connection)
        new_params = new_field.db_parameters(connection=self.connection)
        return (
            old_type != new_type
            or old_field.db_type_suffix(connection=self.connection)
            != new_field.db_type_suffix(connection=self.connection)
            or old_params.get("collation") != new_params.get("collation")
            or old_field.null != new_field.null
            or self._db_default_key(old_field) != self._db_default_key(new_field)
        )

    def _db_default_key(self, field: Any) -> Any:
        if not _has_db_default(field):
            return None
        return self.db_default_sql(field)

    def _change_column(
        self,
        model: Any,
        old_field: Any,
        new_field: Any,
        old_type: Any,
        new_type: Any,
        *,
        keep_keys: bool = False,
    ) -> None:
        """Change a column's type, nullability, default or collation, keeping its data.

        With ``keep_keys`` (a referencing column that follows its target's change) the
        column keeps its own PRIMARY KEY / UNIQUE constraint; otherwise the caller drops and
        re-creates them.

        Three ways, cheapest first (DG:r_ALTER_TABLE):

        * in place, ``ALTER COLUMN c TYPE varchar(n)``: a VARCHAR resize outside a
          transaction block, on a column without a DEFAULT;
        * a table rebuild (:meth:`_rebuild_table`) when a column rebuild would lose what
          the table relies on: the column is in the DISTKEY or SORTKEY (it cannot be
          dropped), it is an IDENTITY column (ADD COLUMN cannot carry IDENTITY), or it
          becomes NOT NULL without a database default (ADD COLUMN ... NOT NULL needs a
          DEFAULT that would then stay on the column forever);
        * otherwise a column rebuild (:meth:`_rebuild_column`).
        """
        if self._in_place(model, old_field, new_field, old_type, new_type):
            # Redshift: ALTER COLUMN TYPE resizes a VARCHAR only, outside a transaction
            # block, and not on a column with a default (DG:r_ALTER_TABLE).
            self.execute(
                self.sql_alter_column
                % {
                    "table": self.quote_name(model._meta.db_table),
                    "changes": self.sql_alter_column_type
                    % {"column": self.quote_name(new_field.column), "type": new_type},
                }
            )
        elif self._needs_table_rebuild(model, old_field, new_field):
            fill = None
            if old_field.null and not new_field.null:
                # NULLs become the field's default (evaluated once, as Django does).
                fill = self.effective_default(new_field)
            self._rebuild_table(model, old_field, new_field, fill_value=fill, keep_keys=keep_keys)
        else:
            self._rebuild_column(model, old_field, new_field, old_type, new_type)
            if keep_keys and new_field.primary_key:
                self.execute(self._create_primary_key_sql(model, new_field))
            elif keep_keys and new_field.unique:
                self.execute(self._create_unique_sql(model, [new_field]))

    def _in_place(
        self, model: Any, old_field: Any, new_field: Any, old_type: Any, new_type: Any
    ) -> bool:
        return self._is_varchar_resize(
            old_field, new_field, old_type, new_type
        ) and self._can_alter_varchar_in_place(model, new_field)

    def _takes_table_rebuild(
        self, model: Any, old_field: Any, new_field: Any, old_type: Any, new_type: Any
    ) -> bool:
        """Whether :meth:`_change_column` will rebuild the table."""
        return not self._in_place(
            model, old_field, new_field, old_type, new_type
        ) and self._needs_table_rebuild(model, old_field, new_field)

    def _needs_table_rebuild(self, model: Any, old_field: Any, new_field: Any) -> bool:
        keys = self._table_keys(model)
        if old_field.column == keys.distkey or old_field.column in keys.sortkey:
            # Redshift: a DISTKEY or SORTKEY column cannot be dropped (DG:r_ALTER_TABLE).
            return True
        old_suffix = old_field.db_type_suffix(connection=self.connection)
        new_suffix = new_field.db_type_suffix(connection=self.connection)
        if old_suffix or new_suffix:
            # Redshift: ADD COLUMN cannot carry IDENTITY (DG:r_ALTER_TABLE).
            return True
        if self._in_multicolumn_unique(model, old_field):
            # Redshift: DROP COLUMN (RESTRICT) refuses a column of a multi-column key
            # (DG:r_ALTER_TABLE).
            return True
        return not new_field.null and not _has_db_default(new_field)

    @staticmethod
    def _in_multicolumn_unique(model: Any, field: Any) -> bool:
        opts = model._meta
        groups = [list(names) for names in opts.unique_together]
        groups += [list(c.fields) for c in opts.constraints if getattr(c, "fields", None)]
        return any(len(names) > 1 and field.name in names for names in groups)

    @contextlib.contextmanager
    def _one_transaction(self) -> Iterator[None]:
        """Run the enclosed statements in one transaction (the migration's, or their own).

        Redshift runs CREATE/DROP TABLE, ADD/DROP COLUMN, RENAME, INSERT and UPDATE inside
        a transaction block and rolls them back together (redshift-sql.md §3.2,
        DG:c_serial_isolation): a failure at any step leaves the table as it was. With
        collect_sql (sqlmigrate) the BEGIN/COMMIT the driver would send are printed too.
        """
        if self.connection.in_atomic_block:
            yield
        elif self.collect_sql:
            self.collected_sql.append("BEGIN;")
            yield
            self.collected_sql.append("COMMIT;")
        else:
            with transaction.atomic(self.connection.alias):
                yield

    def _is_varchar_resize(
        self, old_field: Any, new_field: Any, old_type: Any, new_type: Any
    ) -> bool:
        old_params = old_field.db_parameters(connection=self.connection)
        new_params = new_field.db_parameters(connection=self.connection)
        return bool(
            _VARCHAR.match(old_type or "")
            and _VARCHAR.match(new_type or "")
            and old_field.null == new_field.null
            and not _has_db_default(old_field)
            and not _has_db_default(new_field)
            and old_params.get("collation") == new_params.get("collation")
        )

    def _can_alter_varchar_in_place(self, model: Any, field: Any) -> bool:
        if self.connection.in_atomic_block:
            # Inside a transaction the rebuild (which is transactional) does the resize;
            # a migration with atomic = False gets the in-place ALTER COLUMN TYPE.
            return False
        table = model._meta.db_table
        return not self._column_has_default(table, field.column) and (
            self._column_encoding(table, field.column) not in _NO_ALTER_TYPE_ENCODINGS
        )

    def _column_encoding(self, table: str, column: str) -> str | None:
        """The column's ENCODE (DG:r_PG_TABLE_DEF; search-path tables)."""
        with self.connection.cursor() as cursor:
            run_catalog_query(
                cursor,
                'SELECT encoding FROM pg_table_def WHERE tablename = %s AND "column" = %s',
                [strip_quotes(table), strip_quotes(column)],
            )
            row = cursor.fetchone()
        return row[0].strip().lower() if row and row[0] else None

    def _column_has_default(self, table: str, column: str) -> bool:
        """Whether the column has a DEFAULT in the database (AddField NOT NULL leaves one)."""
        with self.connection.cursor() as cursor:
            run_catalog_query(
                cursor,
                "SELECT 1 FROM pg_catalog.pg_attrdef d "
                "JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
                "JOIN pg_catalog.pg_class c ON c.oid = d.adrelid "
                "WHERE c.relname = %s AND a.attname = %s AND pg_catalog.pg_table_is_visible(c.oid)",
                [table, column],
            )
            return cursor.fetchone() is not None

    def _rebuild_column(
        self, model: Any, old_field: Any, new_field: Any, old_type: Any, new_type: Any
    ) -> None:
        """ADD COLUMN tmp; UPDATE t SET tmp = c; DROP COLUMN c; RENAME COLUMN tmp TO c.

        Redshift has no SET/DROP NOT NULL, SET/DROP DEFAULT, and no ALTER COLUMN TYPE other
        than a VARCHAR resize (DG:r_ALTER_TABLE), so a new column takes the new definition
        and the data is copied into it, in one transaction. The column moves to the end of
        the table. Only nullable columns and columns with a db_default come here
        (:meth:`_change_column`); the rest take a table rebuild.
        """
        table = self.quote_name(model._meta.db_table)
        column = new_field.column
        tmp = truncate_name(f"{column}__tmp", self.connection.ops.max_name_length())
        definition, params = self._column_definition(model, new_field, inline_keys=False)
        # A NOT NULL column here has a db_default: rows where the old value is NULL keep it.
        copy_where = "" if new_field.null else f" WHERE {self.quote_name(column)} IS NOT NULL"
        with self._one_transaction():
            self.execute(
                self.sql_create_column
                % {"table": table, "column": self.quote_name(tmp), "definition": definition},
                params or None,
            )
            self.execute(
                self.sql_copy_column
                % {
                    "table": table,
                    "new_column": self.quote_name(tmp),
                    "value": self._copy_expression(column, old_type, new_type),
                    "where": copy_where,
                }
            )
            self.execute(
                self.sql_drop_column_restrict % {"table": table, "column": self.quote_name(column)}
            )
            self.execute(
                self.sql_rename_column
                % {
                    "table": table,
                    "old_column": self.quote_name(tmp),
                    "new_column": self.quote_name(column),
                }
            )
        self._set_column_comment(model, new_field)

    # ------------------------------------------------------------------ table rebuild

    def _rebuild_table(
        self,
        model: Any,
        old_field: Any,
        new_field: Any,
        *,
        fields: list[Any] | None = None,
        fill_value: Any = None,
        added: bool = False,
        keep_keys: bool = False,
    ) -> None:
        """A deep copy of the table (:class:`~.rebuild.TableRebuild`: what it copies,
        keeps and restores)."""
        TableRebuild(
            self,
            model,
            old_field,
            new_field,
            fields=fields,
            fill_value=fill_value,
            added=added,
            keep_keys=keep_keys,
        ).run()

    def _copy_expression(self, column: str, old_type: str, new_type: str) -> str:
        return copy_expression(self.quote_name, column, old_type, new_type)

    # Every other PostgreSQL ALTER COLUMN form is unavailable on Redshift (DG:r_ALTER_TABLE);
    # these hooks are reached only through Django's generic _alter_field, which this editor
    # replaces. Refuse loudly rather than emit SQL Redshift rejects.

    def _alter_column_null_sql(self, model: Any, old_field: Any, new_field: Any):
        raise NotSupportedError(
            "Redshift has no ALTER COLUMN SET/DROP NOT NULL (DG:r_ALTER_TABLE)."
        )

    def _alter_column_default_sql(
        self, model: Any, old_field: Any, new_field: Any, drop: bool = False
    ):
        raise NotSupportedError("Redshift has no ALTER COLUMN SET/DROP DEFAULT (DG:r_ALTER_TABLE).")

    def _alter_column_database_default_sql(
        self, model: Any, old_field: Any, new_field: Any, drop: bool = False
    ):
        raise NotSupportedError("Redshift has no ALTER COLUMN SET/DROP DEFAULT (DG:r_ALTER_TABLE).")
