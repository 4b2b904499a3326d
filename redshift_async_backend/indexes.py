"""Redshift table keys declared in a model's ``Meta``: ``DistKey`` and ``SortKey``.

Redshift has no indexes. A table has one distribution key and one sort key, both chosen at
CREATE TABLE and changeable later with ALTER TABLE (DG:r_CREATE_TABLE_NEW, DG:r_ALTER_TABLE).
They are declared as ``Index`` subclasses so that Django's migration machinery (state,
autodetector, AddIndex/RemoveIndex) carries them like any other index::

    class Meta:
        indexes = [
            DistKey(fields=["customer"]),
            SortKey(fields=["created_at", "id"]),  # COMPOUND; interleaved=True for INTERLEAVED
        ]

The prior art's form, a sort key written into ``Meta.ordering``, keeps working::

    class Meta:
        ordering = [SortKey("created_at")]

That form also orders every queryset of the model by those columns, as it always did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import NotSupportedError
from django.db.backends.ddl_references import Statement, Table
from django.db.models import Index

__all__ = ["DistKey", "OrderingSortKey", "SortKey", "TableKeys", "table_keys"]

# Redshift: an INTERLEAVED sort key takes at most 8 columns, a COMPOUND one 400
# (DG:r_CREATE_TABLE_NEW).
MAX_INTERLEAVED_COLUMNS = 8
MAX_COMPOUND_COLUMNS = 400


class _TableKeyIndex(Index):
    """An Index that never becomes CREATE INDEX: it describes a table property."""

    def __init__(self, *, fields: list[str] | tuple[str, ...] = (), name: str | None = None):
        if not fields:
            raise ValueError(f"{type(self).__name__} needs at least one field: fields=[...].")
        if isinstance(fields, str):
            raise ValueError(
                f"{type(self).__name__}.fields must be a list of field names, not a string."
            )
        if any(name_.startswith("-") for name_ in fields):
            raise ValueError(
                f"{type(self).__name__} fields take no '-' prefix: Redshift keys have no order."
            )
        super().__init__(fields=list(fields), name=name or "")

    def deconstruct(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        # The defining module, so migrations do not depend on what the package root exports.
        path = f"redshift_async_backend.indexes.{type(self).__name__}"
        return path, (), {"fields": list(self.fields), "name": self.name}

    def columns(self, model: Any) -> list[str]:
        """The table columns of ``fields``: a ForeignKey field gives its ``_id`` column."""
        return [model._meta.get_field(name).column for name in self.fields]

    # Index.remove_sql returns a Statement in Django too; the stub says str.
    def remove_sql(self, model: Any, schema_editor: Any, **kwargs: Any) -> Statement:  # type: ignore[override]
        raise NotImplementedError


class DistKey(_TableKeyIndex):
    """The table's distribution key: ``DISTSTYLE KEY DISTKEY (column)``. Exactly one field."""

    def __init__(self, *, fields: list[str] | tuple[str, ...] = (), name: str | None = None):
        super().__init__(fields=fields, name=name)
        if len(self.fields) != 1:
            # Redshift: "Only one column in a table can be the distribution key"
            # (DG:r_CREATE_TABLE_NEW).
            raise ValueError(
                f"DistKey takes exactly one field, got {len(self.fields)}: {self.fields!r}."
            )

    def table_options_sql(self, model: Any, quote_name: Any) -> str:
        return f"DISTSTYLE KEY DISTKEY ({quote_name(self.columns(model)[0])})"

    def create_sql(self, model: Any, schema_editor: Any, using: str = "", **kwargs: Any):
        # Redshift: ALTER DISTSTYLE KEY DISTKEY works from any original style, where plain
        # ALTER DISTKEY needs EVEN or KEY (DG:r_ALTER_TABLE).
        table = model._meta.db_table
        return Statement(
            "ALTER TABLE %(table)s ALTER DISTSTYLE KEY DISTKEY %(column)s",
            table=Table(table, schema_editor.quote_name),
            column=schema_editor.quote_name(self.columns(model)[0]),
        )

    # Index.remove_sql returns a Statement in Django too; the stub says str.
    def remove_sql(self, model: Any, schema_editor: Any, **kwargs: Any) -> Statement:  # type: ignore[override]
        # Redshift chooses the distribution again when the key is dropped (DG:r_ALTER_TABLE).
        return Statement(
            "ALTER TABLE %(table)s ALTER DISTSTYLE AUTO",
            table=Table(model._meta.db_table, schema_editor.quote_name),
        )


class SortKey(_TableKeyIndex):
    """The table's sort key: ``[COMPOUND | INTERLEAVED] SORTKEY (columns)``.

    ``SortKey(fields=[...])`` goes in ``Meta.indexes``. ``SortKey("col", ...)`` with
    positional names is the prior art's form for ``Meta.ordering`` and returns an
    :class:`OrderingSortKey` (a ``str``), one per column.
    """

    interleaved: bool

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if args:
            if kwargs or len(args) != 1 or not isinstance(args[0], str):
                raise TypeError(
                    "SortKey takes fields=[...] (for Meta.indexes) or one column name "
                    "(for Meta.ordering, e.g. ordering = [SortKey('created_at')])."
                )
            return OrderingSortKey(args[0])
        return super().__new__(cls)

    def __init__(
        self,
        *,
        fields: list[str] | tuple[str, ...] = (),
        name: str | None = None,
        interleaved: bool = False,
    ):
        super().__init__(fields=fields, name=name)
        self.interleaved = bool(interleaved)
        limit = MAX_INTERLEAVED_COLUMNS if self.interleaved else MAX_COMPOUND_COLUMNS
        if len(self.fields) > limit:
            kind = "INTERLEAVED" if self.interleaved else "COMPOUND"
            raise ValueError(
                f"A {kind} SortKey takes at most {limit} columns, got {len(self.fields)}."
            )

    def deconstruct(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        path, args, kwargs = super().deconstruct()
        if self.interleaved:
            kwargs["interleaved"] = True
        return path, args, kwargs

    def create_sql(self, model: Any, schema_editor: Any, using: str = "", **kwargs: Any):
        columns = ", ".join(schema_editor.quote_name(c) for c in self.columns(model))
        # Redshift: ALTER SORTKEY changes only COMPOUND keys; an INTERLEAVED key can be set
        # only by CREATE TABLE (DG:r_ALTER_TABLE, "ALTER [COMPOUND] SORTKEY").
        if self.interleaved:
            raise NotSupportedError(
                f"Redshift cannot ALTER a table to an INTERLEAVED sort key "
                f"({model._meta.db_table}: {', '.join(self.fields)}); only CREATE TABLE sets "
                f"one (DG:r_ALTER_TABLE). Use a COMPOUND SortKey, or declare it when the "
                f"model is created."
            )
        return Statement(
            "ALTER TABLE %(table)s ALTER COMPOUND SORTKEY (%(columns)s)",
            table=Table(model._meta.db_table, schema_editor.quote_name),
            columns=columns,
        )

    # Index.remove_sql returns a Statement in Django too; the stub says str.
    def remove_sql(self, model: Any, schema_editor: Any, **kwargs: Any) -> Statement:  # type: ignore[override]
        # Redshift: ALTER SORTKEY NONE drops the key (DG:r_ALTER_TABLE). AUTO would hand the
        # table to automatic optimisation, a choice the user did not make.
        return Statement(
            "ALTER TABLE %(table)s ALTER SORTKEY NONE",
            table=Table(model._meta.db_table, schema_editor.quote_name),
        )


class OrderingSortKey(str):
    """One sort-key column written in ``Meta.ordering`` (the prior art's form).

    It is a ``str``, so Django's ordering uses it as the field name it holds.
    """

    def deconstruct(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        return "redshift_async_backend.indexes.SortKey", (str(self),), {}

    def __repr__(self) -> str:
        return f"SortKey({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        # Equal to the plain name too, as the prior art's SortKey is: Django 4.2's ordering
        # check looks names up in a set of strings (models.E015 otherwise), and moving
        # between ordering=["x"] and [SortKey("x")] is then no migration.
        if isinstance(other, str):
            return str(self) == str(other)
        return NotImplemented

    __hash__ = str.__hash__


@dataclass(frozen=True)
class TableKeys:
    """The Redshift keys of one model, resolved to columns."""

    distkey: str | None = None
    sortkey: tuple[str, ...] = ()
    interleaved: bool = False

    def options_sql(self, quote_name: Any) -> str:
        """The table attributes that follow ``CREATE TABLE t (...)``."""
        parts = []
        if self.distkey:
            parts.append(f"DISTSTYLE KEY DISTKEY ({quote_name(self.distkey)})")
        if self.sortkey:
            kind = "INTERLEAVED" if self.interleaved else "COMPOUND"
            columns = ", ".join(quote_name(c) for c in self.sortkey)
            parts.append(f"{kind} SORTKEY ({columns})")
        return " ".join(parts)


def table_keys(model: Any) -> TableKeys:
    """Resolve a model's DistKey and SortKey (either form) to columns.

    Raises ValueError when the declaration is one Redshift cannot take: two DistKeys, two
    sort keys, or a sort key both in ``Meta.indexes`` and in ``Meta.ordering``.
    """
    opts = model._meta
    label = opts.label
    distkeys = [i for i in opts.indexes if isinstance(i, DistKey)]
    sortkeys = [i for i in opts.indexes if isinstance(i, SortKey)]
    ordering_keys = [o for o in (opts.ordering or ()) if isinstance(o, OrderingSortKey)]
    if len(distkeys) > 1:
        raise ValueError(f"{label} declares {len(distkeys)} DistKeys; a table has one.")
    if len(sortkeys) > 1:
        raise ValueError(f"{label} declares {len(sortkeys)} SortKeys; a table has one.")
    if sortkeys and ordering_keys:
        raise ValueError(
            f"{label} declares a SortKey in Meta.indexes and SortKey(...) in Meta.ordering; "
            "use one form."
        )
    distkey = distkeys[0].columns(model)[0] if distkeys else None
    if sortkeys:
        return TableKeys(distkey, tuple(sortkeys[0].columns(model)), sortkeys[0].interleaved)
    columns = []
    for key in ordering_keys:
        name = str(key).lstrip("-")
        try:
            columns.append(opts.get_field(name).column)
        except FieldDoesNotExist:
            raise ValueError(
                f"{label}: SortKey({str(key)!r}) in Meta.ordering names no field of the model."
            ) from None
    return TableKeys(distkey, tuple(columns), False)
