"""``bulk_create(ignore_conflicts=True)`` and ``update_conflicts=True`` without ON CONFLICT.

Redshift has no ``INSERT ... ON CONFLICT`` (DG:r_INSERT_30) and enforces no unique or
primary key constraint (DG:t_Defining_constraints). So the backend does what ON CONFLICT
would: in one transaction, holding the table's lock (DG:r_LOCK), it reads which of the
batch's unique values already exist, inserts the rows that conflict with none (ignore) and
updates the rows whose ``unique_fields`` exist (update). Every writer that goes through this
path, ``create()`` or ``bulk_create()`` in ``"lock"`` mode takes the same lock first, so no
row can appear between the read and the insert; a writer that does not lock (raw SQL,
another tool) can still insert a duplicate, which Redshift accepts.

The unique sets ``ignore_conflicts`` checks are the table's: the pk, each ``unique=True``
field, ``unique_together`` and each ``UniqueConstraint`` of plain fields without a
condition. A set with a NULL in a row never conflicts (NULLs are distinct), and a row that
repeats an earlier row of the same batch is skipped too, as PostgreSQL's ON CONFLICT DO
NOTHING does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import reduce
from operator import or_
from typing import Any

from django.db import ProgrammingError, transaction
from django.db.models import Q, UniqueConstraint
from django.db.models.constants import OnConflict

# Rows looked up per query: the OR of their keys stays a small statement.
LOOKUP_CHUNK = 500


def unique_sets(opts: Any) -> list[tuple[Any, ...]]:
    """Each set of fields whose values must be unique in the table, the pk first."""
    sets: list[tuple[Any, ...]] = [(opts.pk,)]
    sets += [(f,) for f in opts.local_concrete_fields if f.unique and not f.primary_key]
    sets += [tuple(opts.get_field(name) for name in names) for names in opts.unique_together]
    for constraint in opts.total_unique_constraints:
        if isinstance(constraint, UniqueConstraint) and constraint.fields:
            sets.append(tuple(opts.get_field(name) for name in constraint.fields))
    unique: list[tuple[Any, ...]] = []
    for fields in sets:
        if fields not in unique:
            unique.append(fields)
    return unique


def _key(obj: Any, fields: Sequence[Any]) -> tuple[Any, ...] | None:
    """The row's values of ``fields``, None when one is NULL (it conflicts with nothing)."""
    values = tuple(getattr(obj, f.attname) for f in fields)
    return None if any(v is None for v in values) else values


def _existing(manager: Any, fields: Sequence[Any], keys: Iterable[tuple[Any, ...]]) -> dict:
    """Of ``keys`` (values of ``fields``), those a row of the table has: key -> its pks."""
    found: dict[tuple[Any, ...], list[Any]] = {}
    keys = list(dict.fromkeys(keys))
    names = [f.attname for f in fields]
    pk = manager.model._meta.pk.attname
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start : start + LOOKUP_CHUNK]
        if len(fields) == 1:
            where = Q(**{f"{names[0]}__in": [k[0] for k in chunk]})
        else:
            where = reduce(or_, (Q(**dict(zip(names, k, strict=True))) for k in chunk))
        for row in manager.filter(where).values_list(pk, *names):
            found.setdefault(tuple(row[1:]), []).append(row[0])
    return found


def insert_on_conflict(compiler: Any, returning_fields: Any) -> list[tuple[Any, ...]]:
    """Run ``compiler``'s insert with its ``on_conflict`` (module docstring); the rows
    Django expects back: each inserted or updated object's pk."""
    query = compiler.query
    connection = compiler.connection
    opts = query.get_meta()
    manager = opts.model._base_manager.using(connection.alias)
    objs = list(query.objs)
    update_fields: tuple[Any, ...] = ()
    if query.on_conflict == OnConflict.IGNORE:
        sets = unique_sets(opts)
    else:
        sets, update_fields = [tuple(query.unique_fields)], tuple(query.update_fields)
        if set(sets[0]) not in [set(fields) for fields in unique_sets(opts)]:
            # As PostgreSQL: the conflict target must be a unique constraint of the table.
            raise ProgrammingError(
                "bulk_create(update_conflicts=True): unique_fields "
                f"{[f.name for f in sets[0]]} are not the fields of a unique constraint of "
                f"{opts.label} (the pk, a unique field, unique_together or a "
                "UniqueConstraint)."
            )
    with transaction.atomic(using=connection.alias, savepoint=False):
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK {connection.ops.quote_name(opts.db_table)}")
        existing = [
            _existing(manager, fields, filter(None, (_key(o, fields) for o in objs)))
            for fields in sets
        ]
        inserts, updates = _split(objs, sets, existing, bool(update_fields))
        for obj, pks in updates:
            values = {f.attname: getattr(obj, f.attname) for f in update_fields}
            manager.filter(pk__in=pks).update(**values)
            setattr(obj, opts.pk.attname, pks[0])
        if inserts:
            unset = [obj for obj in inserts if obj.pk is None]
            _insert(compiler, inserts, returning_fields)
            if query.on_conflict == OnConflict.IGNORE:
                # As on other databases, ignore_conflicts sets no pk on the objects.
                for obj in unset:
                    setattr(obj, opts.pk.attname, None)
    if not returning_fields:
        return []
    compiler.returning_fields = returning_fields
    return compiler.returned_rows()


def _split(
    objs: list[Any], sets: list[tuple[Any, ...]], existing: list[dict], update: bool
) -> tuple[list[Any], list[tuple[Any, list[Any]]]]:
    """The objects to insert, and (ON CONFLICT UPDATE) those to update with the pks of the
    rows they match."""
    inserts: list[Any] = []
    updates: list[tuple[Any, list[Any]]] = []
    seen: list[set[tuple[Any, ...]]] = [set() for _ in sets]
    for obj in objs:
        keys = [_key(obj, fields) for fields in sets]
        if any(k is not None and k in s for k, s in zip(keys, seen, strict=True)):
            if update:
                # As PostgreSQL: one statement cannot change a row twice.
                raise ProgrammingError(
                    "bulk_create(update_conflicts=True): two objects of the batch have the "
                    f"same {', '.join(f.name for f in sets[0])}; an upsert cannot affect a "
                    "row a second time."
                )
            continue
        for k, s in zip(keys, seen, strict=True):
            if k is not None:
                s.add(k)
        hits = [found[k] for k, found in zip(keys, existing, strict=True) if k in found]
        if not hits:
            inserts.append(obj)
        elif update:
            updates.append((obj, hits[0]))
    return inserts, updates


def _insert(compiler: Any, objs: list[Any], returning_fields: Any) -> None:
    """Insert ``objs`` as a plain bulk insert (no conflict left), pks allocated as usual."""
    from django.db.models.sql import InsertQuery

    query = compiler.query
    plain = InsertQuery(query.model)
    plain.insert_values(query.fields, objs, raw=query.raw)
    # In "lock" mode the pks are allocated even where Django asks for none (ignore): an
    # INSERT without them would take the IDENTITY generator's values, which know nothing of
    # the pks the backend handed out.
    lock = compiler.connection.redshift_options.last_insert_id == "lock"
    wanted = returning_fields or ([query.get_meta().pk] if lock else None)
    plain.get_compiler(connection=compiler.connection).execute_sql(wanted)
