"""Native async querysets: Django's query code, async I/O.

Two ways to run Django's own code without its blocking cursor:

- **Reads into lists** (``async for``, ``aiterator``): the query is compiled once with
  Django's compiler, the rows are fetched on an async connection, then Django's iterable
  class for the queryset (models, ``values()``, ``values_list()``, ``select_related``)
  builds the results from them, through ``from_db`` and the compiler's converters.
- **Everything else** (``aget``, ``acount``, ``aaggregate``, ``aupdate``, ...): Django's
  sync method runs on the event loop, in a greenlet, with ``compiler.io_override`` set.
  Each query it reaches is compiled by Django's compiler and handed, with a greenlet
  switch, to the coroutine that started it; the coroutine runs the SQL on an async
  connection and switches back with the result, which the compiler returns in place of a
  cursor's. The method runs once, as it would on the sync path (the way SQLAlchemy's
  asyncio extension runs its sync core).

Inserts (``acreate``, ``asave``, ``abulk_create``) use the insert compiler's own SQL
(compiler.py: ``BEGIN; LOCK; SELECT COALESCE(MAX(pk), 0)`` then the INSERT with the pks
and ``COMMIT``) on an async connection, and send pre_save/post_save as Django does.
Whatever cannot run natively goes to Django's thread path, with the same results.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AsyncExitStack
from typing import Any, TypeVar

import anyio.to_thread
import greenlet
import sniffio
from asgiref.sync import sync_to_async
from django.core.exceptions import EmptyResultSet, SynchronousOnlyOperation
from django.db import DatabaseError, connections, router
from django.db.models import Model, signals, sql
from django.db.models.deletion import Collector
from django.db.models.fields import NOT_PROVIDED
from django.db.models.manager import BaseManager
from django.db.models.query import QuerySet, prefetch_related_objects
from django.db.models.sql import constants
from django.utils.functional import partition

from ..compiler import io_override
from .connections import Connection, _rollback_quietly, atomic, borrow, stream_rows

__all__ = ["AsyncManager", "AsyncModelMixin", "AsyncQuerySet", "asave"]

T = TypeVar("T")

MULTI, SINGLE, CURSOR = constants.MULTI, constants.SINGLE, constants.CURSOR
NO_RESULTS = constants.NO_RESULTS
ROW_COUNT = getattr(constants, "ROW_COUNT", "row count")  # Django >= 5.2


def is_native(alias: str) -> bool:
    return bool(connections[alias].vendor == "redshift")


async def in_thread(fn: Callable[[], T]) -> T:
    """Django's way for what is not native: the sync code in a worker thread (asgiref's
    thread-sensitive one on asyncio, so a request keeps its thread; an anyio worker on
    trio). The thread's connections outside a transaction are closed (given back to the
    pool) afterwards: outside a request nothing else would close them."""

    def call() -> T:
        try:
            return fn()
        finally:
            for conn in connections.all(initialized_only=True):
                if not conn.in_atomic_block:
                    conn.close()

    if sniffio.current_async_library() == "asyncio":
        return await sync_to_async(call)()
    return await anyio.to_thread.run_sync(call)


# -- Django's sync methods with async I/O ---------------------------------------------------


class _Need:
    """A query Django's code reached: what the coroutine side runs for it."""

    __slots__ = ("compiler", "params", "result_type", "sql")

    def __init__(self, compiler: Any, sql: str, params: Any, result_type: Any) -> None:
        self.compiler, self.sql, self.params = compiler, sql, params
        self.result_type = result_type


class _Bridge:
    """``io_override`` inside the greenlet of one native run: compiles each query and
    switches to the coroutine (the greenlet's parent) for its result."""

    def __init__(self, parent: greenlet.greenlet) -> None:
        self.parent = parent
        self.queries = 0

    def execute_sql(
        self, compiler: Any, result_type: Any = MULTI, *args: Any, **kwargs: Any
    ) -> Any:
        result_type = result_type or NO_RESULTS
        if compiler.query.select_for_update:
            # LOCK ... inside the caller's transaction: the sync path knows how.
            raise SynchronousOnlyOperation("select_for_update() runs on the sync path")
        try:
            sql_text, params = compiler.as_sql()
            if not sql_text:
                raise EmptyResultSet
        except EmptyResultSet:
            return iter([]) if result_type == MULTI else None
        self.queries += 1
        return self.parent.switch(_Need(compiler, sql_text, params, result_type))


class _DoneCursor:
    """What ``execute_sql(CURSOR)`` returns (Django 4.2 updates and deletes)."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self.rows, self.rowcount = rows, rowcount

    def __enter__(self) -> _DoneCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def close(self) -> None:
        pass

    def fetchone(self) -> Any:
        return self.rows.pop(0) if self.rows else None

    def fetchmany(self, size: int = 100) -> list[Any]:
        rows, self.rows = self.rows[:size], self.rows[size:]
        return rows

    def fetchall(self) -> list[Any]:
        rows, self.rows = self.rows, []
        return rows


def _trim(compiler: Any, rows: list[Any]) -> list[Any]:
    # As Django's cursor_iter: extra select columns (ordering by an expression with
    # distinct) are dropped from the rows.
    if compiler.has_extra_select:
        count = compiler.col_count
        return [row[:count] for row in rows]
    return rows


async def _perform(conn: Connection, need: _Need) -> Any:
    res = await conn.run(need.sql, need.params)
    compiler, result_type = need.compiler, need.result_type
    if result_type == MULTI:
        rows = _trim(compiler, res.rows)
        return [rows] if rows else []
    if result_type == SINGLE:
        return res.rows[0][: compiler.col_count] if res.rows else None
    if result_type == ROW_COUNT:
        return res.rowcount
    if result_type == CURSOR:
        return _DoneCursor(list(res.rows), res.rowcount)
    return None


def _in_greenlet(bridge: _Bridge, fn: Callable[[], T]) -> T:
    token = io_override.set(bridge)
    try:
        return fn()
    finally:
        io_override.reset(token)


async def run_native(fn: Callable[[], T]) -> T:
    """Run Django's sync ``fn`` with async I/O: once, in a greenlet that switches back
    here for each query. What raises SynchronousOnlyOperation before its first query
    runs on Django's thread path instead."""
    bridge = _Bridge(greenlet.getcurrent())
    child = greenlet.greenlet(functools.partial(_in_greenlet, bridge, fn))
    # The caller's context (Django's connections, io_override) is the greenlet's.
    child.gr_context = contextvars.copy_context()
    async with AsyncExitStack() as stack:
        held: dict[str, Connection] = {}
        try:
            value = child.switch()
            while not child.dead:
                need: _Need = value
                alias = need.compiler.using
                try:
                    conn = held.get(alias)
                    if conn is None:
                        conn = held[alias] = await stack.enter_async_context(borrow(alias))
                    result = await _perform(conn, need)
                except BaseException as exc:
                    # Raised where Django's code asked, so its handlers see it (and a
                    # cancelled task leaves no greenlet suspended).
                    value = child.throw(exc)
                    continue
                value = child.switch(result)
            return value
        except SynchronousOnlyOperation:
            if bridge.queries:
                raise
    return await in_thread(fn)


# -- reads into lists ----------------------------------------------------------------------


def _prepare(qs: QuerySet[Any]) -> tuple[QuerySet[Any], Any, str, Any] | None:
    """A clone of ``qs`` whose query hands out one compiler, that compiler, and its SQL;
    None when the query cannot match anything (no I/O, as Django)."""
    proxy = qs._clone()  # type: ignore[attr-defined]
    compiler = proxy.query.get_compiler(using=proxy.db)
    try:
        sql_text, params = compiler.as_sql()
        if not sql_text:
            raise EmptyResultSet
    except EmptyResultSet:
        return None
    proxy.query.get_compiler = lambda *args, **kwargs: compiler
    return proxy, compiler, sql_text, params


def _build(
    proxy: QuerySet[Any], compiler: Any, rows: list[Any], chunk_size: int | None = None
) -> list[Any]:
    """Django's iterable class for ``proxy`` over rows already fetched."""
    compiler.execute_sql = lambda *args, **kwargs: [rows]
    iterable_class: Any = proxy._iterable_class
    if chunk_size is None:
        return list(iterable_class(proxy))
    return list(iterable_class(proxy, chunked_fetch=True, chunk_size=chunk_size))


async def fetch_list(qs: QuerySet[Any]) -> list[Any]:
    """``list(qs)`` without prefetching, natively."""
    if qs.query.select_for_update:
        iterable_class: Any = qs._iterable_class
        return await in_thread(lambda: list(iterable_class(qs)))
    prepared = _prepare(qs)
    if prepared is None:
        return []
    proxy, compiler, sql_text, params = prepared
    async with borrow(compiler.using) as conn:
        res = await conn.run(sql_text, params)
    return _build(proxy, compiler, _trim(compiler, res.rows))


async def _aprefetch(objs: list[Any], lookups: Sequence[Any]) -> None:
    # Prefetching follows relations object by object: Django's thread path.
    await in_thread(lambda: prefetch_related_objects(objs, *lookups))


# -- the queryset and manager --------------------------------------------------------------


class AsyncQuerySet(QuerySet[Any]):
    """A QuerySet whose a-methods run natively on async connections (see module doc)."""

    def __aiter__(self) -> AsyncIterator[Any]:
        async def generator() -> AsyncIterator[Any]:
            await self._afetch_all()
            for item in self._result_cache:  # type: ignore[union-attr]
                yield item

        return generator()

    async def _afetch_all(self) -> None:
        if not is_native(self.db):
            await in_thread(self._fetch_all)
            return
        if self._result_cache is None:
            self._result_cache = await fetch_list(self)
        if self._prefetch_related_lookups and not self._prefetch_done:  # type: ignore[attr-defined]
            await in_thread(self._prefetch_related_objects)  # type: ignore[attr-defined]

    async def aiterator(self, chunk_size: int = 2000) -> AsyncIterator[Any]:
        """Rows read through a server-side cursor in chunks: memory stays bounded."""
        if chunk_size <= 0:
            raise ValueError("Chunk size must be strictly positive.")
        if not is_native(self.db) or self.query.select_for_update:
            async for item in super().aiterator(chunk_size):
                yield item
            return
        prepared = _prepare(self)
        if prepared is None:
            return
        proxy, compiler, sql_text, params = prepared
        lookups = self._prefetch_related_lookups  # type: ignore[attr-defined]
        async with borrow(compiler.using) as conn:
            async for rows in stream_rows(conn, sql_text, params, chunk_size):
                objs = _build(proxy, compiler, _trim(compiler, rows), chunk_size)
                del rows
                if lookups:
                    await _aprefetch(objs, lookups)
                for obj in objs:
                    yield obj

    async def _native(self, fn: Callable[[], T], fallback: Callable[[], Any]) -> T:
        if not is_native(self.db):
            return await fallback()
        return await run_native(fn)

    async def aget(self, *args: Any, **kwargs: Any) -> Any:
        if self._prefetch_related_lookups:  # type: ignore[attr-defined]
            return await in_thread(lambda: self.get(*args, **kwargs))
        return await self._native(
            lambda: self.get(*args, **kwargs),
            lambda: super(AsyncQuerySet, self).aget(*args, **kwargs),
        )

    async def afirst(self) -> Any:
        if self._prefetch_related_lookups:  # type: ignore[attr-defined]
            return await in_thread(self.first)
        return await self._native(self.first, super().afirst)

    async def alast(self) -> Any:
        if self._prefetch_related_lookups:  # type: ignore[attr-defined]
            return await in_thread(self.last)
        return await self._native(self.last, super().alast)

    async def aearliest(self, *fields: Any) -> Any:
        if self._prefetch_related_lookups:  # type: ignore[attr-defined]
            return await in_thread(lambda: self.earliest(*fields))
        return await self._native(
            lambda: self.earliest(*fields), lambda: super(AsyncQuerySet, self).aearliest(*fields)
        )

    async def alatest(self, *fields: Any) -> Any:
        if self._prefetch_related_lookups:  # type: ignore[attr-defined]
            return await in_thread(lambda: self.latest(*fields))
        return await self._native(
            lambda: self.latest(*fields), lambda: super(AsyncQuerySet, self).alatest(*fields)
        )

    async def ain_bulk(self, id_list: Any = None, *, field_name: str = "pk") -> dict[Any, Any]:
        if self._prefetch_related_lookups:  # type: ignore[attr-defined]
            return await in_thread(lambda: self.in_bulk(id_list, field_name=field_name))
        return await self._native(
            lambda: self.in_bulk(id_list, field_name=field_name),
            lambda: super(AsyncQuerySet, self).ain_bulk(id_list, field_name=field_name),
        )

    async def acount(self) -> int:
        return await self._native(self.count, super().acount)

    async def aexists(self) -> bool:
        return await self._native(self.exists, super().aexists)

    async def acontains(self, obj: Any) -> bool:
        return await self._native(
            lambda: self.contains(obj), lambda: super(AsyncQuerySet, self).acontains(obj)
        )

    async def aaggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return await self._native(
            lambda: self.aggregate(*args, **kwargs),
            lambda: super(AsyncQuerySet, self).aaggregate(*args, **kwargs),
        )

    async def aupdate(self, **kwargs: Any) -> int:
        return await self._native(
            lambda: self.update(**kwargs), lambda: super(AsyncQuerySet, self).aupdate(**kwargs)
        )

    async def adelete(self) -> tuple[int, dict[str, int]]:
        """Native when Django would delete with one DELETE (no cascade, no signal
        receivers: ``Collector.can_fast_delete``); else Django's delete in a thread."""
        simple = not (
            self.query.combinator
            or self.query.is_sliced
            or self.query.distinct_fields
            or self._fields is not None  # type: ignore[attr-defined]
        )
        if simple and is_native(self.db):
            del_query = self._chain()  # type: ignore[attr-defined]
            del_query._for_write = True
            del_query.query.select_for_update = False
            del_query.query.select_related = False
            del_query.query.clear_ordering(force=True)
            if Collector(using=del_query.db, origin=self).can_fast_delete(del_query):
                count = await run_native(lambda: del_query._raw_delete(del_query.db))
                self._result_cache = None
                return count, ({self.model._meta.label: count} if count else {})
        return await in_thread(self.delete)

    async def acreate(self, **kwargs: Any) -> Any:
        reverse_one_to_one = getattr(self.model._meta, "_reverse_one_to_one_field_names", ())
        if not is_native(self.db) or frozenset(kwargs) & frozenset(reverse_one_to_one):
            return await in_thread(lambda: self.create(**kwargs))  # Django's checks, errors
        obj = self.model(**kwargs)
        self._for_write = True
        await asave(obj, force_insert=True, using=self.db)
        return obj

    async def abulk_create(
        self,
        objs: Iterable[Any],
        batch_size: int | None = None,
        ignore_conflicts: bool = False,
        update_conflicts: bool = False,
        update_fields: Any = None,
        unique_fields: Any = None,
    ) -> list[Any]:
        """Native for plain inserts (no conflict handling, no multi-table inheritance)
        in one transaction, with the pks allocated under the table lock."""
        opts = self.model._meta
        if (
            ignore_conflicts
            or update_conflicts
            or update_fields
            or unique_fields
            or opts.parents
            or not _lock_mode(self.db)
        ):
            return await in_thread(
                lambda: self.bulk_create(
                    objs,
                    batch_size=batch_size,
                    ignore_conflicts=ignore_conflicts,
                    update_conflicts=update_conflicts,
                    update_fields=update_fields,
                    unique_fields=unique_fields,
                )
            )
        if batch_size is not None and batch_size <= 0:
            raise ValueError("Batch size must be a positive integer.")
        if not objs:
            return objs  # type: ignore[return-value]
        using = self.db
        self._for_write = True
        fields = [f for f in opts.concrete_fields if not getattr(f, "generated", False)]
        objs = list(objs)
        self._prepare_for_bulk_create(objs)  # type: ignore[attr-defined]
        async with atomic(using):
            with_pk, without_pk = partition(lambda o: o.pk is None, objs)
            for group, group_fields in (
                (with_pk, fields),
                (without_pk, [f for f in fields if f is not opts.auto_field]),
            ):
                if not group:
                    continue
                rows = await self._abatched_insert(group, group_fields, batch_size)
                for obj, row in zip(group, rows, strict=False):
                    for value, field in zip(row, opts.db_returning_fields, strict=False):
                        if group is without_pk or field is not opts.pk:
                            setattr(obj, field.attname, value)
                for obj in group:
                    obj._state.adding = False
                    obj._state.db = using
        return objs

    async def _abatched_insert(
        self, objs: list[Any], fields: list[Any], batch_size: int | None
    ) -> list[Any]:
        connection = connections[self.db]
        max_batch = max(connection.ops.bulk_batch_size(fields, objs), 1)
        size = min(batch_size, max_batch) if batch_size else max_batch
        returning = self.model._meta.db_returning_fields
        rows: list[Any] = []
        for start in range(0, len(objs), size):
            query = sql.InsertQuery(self.model)
            query.insert_values(fields, objs[start : start + size], raw=False)
            rows.extend(await insert_rows(query.get_compiler(using=self.db), returning))
        return rows


class AsyncManager(BaseManager.from_queryset(AsyncQuerySet)):  # type: ignore[misc]
    """``objects = AsyncManager()``: a manager whose querysets are :class:`AsyncQuerySet`."""


# -- inserts and saves ---------------------------------------------------------------------


def _lock_mode(alias: str) -> bool:
    connection: Any = connections[alias]
    return connection.vendor == "redshift" and connection.redshift_options.last_insert_id == "lock"


async def insert_rows(compiler: Any, returning_fields: Any) -> list[Any]:
    """The insert compiler's statements on an async connection; the returned rows."""
    if compiler.query.on_conflict:
        # ignore/update_conflicts run several queries of the ORM (conflicts.py): the thread path.
        raise SynchronousOnlyOperation("bulk_create(on_conflict) runs in a thread")
    mode = compiler.insert_mode(returning_fields)
    async with borrow(compiler.using) as conn:
        if mode == "django":
            if returning_fields:
                raise SynchronousOnlyOperation('OPTIONS["last_insert_id"] = "max" is sync only')
            for sql_text, params in compiler.as_sql():
                await conn.run(sql_text, params)
            return []
        compiler.returning_fields = returning_fields
        if mode == "explicit":
            for sql_text, params in compiler.as_sql():
                await conn.run(sql_text, params)
            return compiler.returned_rows()
        own = not conn.in_transaction
        compiler.prepare_allocation()
        setup = compiler.setup_sql()
        if setup is not None:
            try:
                await conn.run(setup)
            except DatabaseError:
                if not own:  # as the sync path (compiler._insert_with_allocated_pks)
                    raise
        try:
            res = await conn.run(*compiler.allocation_batch(own))
            statements = compiler.allocate_from(res.sets)
            for index, (sql_text, params) in enumerate(statements):
                last = index == len(statements) - 1
                res = await conn.run(sql_text + ("; COMMIT" if own and last else ""), params)
            return compiler.finish_allocation(res.sets)
        except BaseException as exc:
            compiler.forget_allocation(exc)
            if own:
                await _rollback_quietly(conn)
            raise


async def _send(signal: Any, **kwargs: Any) -> None:
    # As Django: receivers run with the signal's own rules; sync receivers in a thread
    # (Signal.asend, Django >= 5.0), so they may use the ORM.
    if not signal.has_listeners(kwargs["sender"]):
        return
    asend = getattr(signal, "asend", None)
    if asend is not None and sniffio.current_async_library() == "asyncio":
        await asend(**kwargs)
    else:
        await in_thread(functools.partial(signal.send, **kwargs))


def _native_save(obj: Any, force_insert: Any, force_update: bool, update_fields: Any) -> bool:
    cls = type(obj)
    meta = cls._meta.concrete_model._meta if cls._meta.proxy else cls._meta
    return (
        isinstance(force_insert, bool)
        and not force_update
        and update_fields is None
        and not meta.parents
        and not meta.order_with_respect_to
        and not obj.get_deferred_fields()
        # A model's own save()/save_base() must run: Django's path.
        and cls.save is Model.save
        and cls.save_base is Model.save_base
        and cls._save_table is Model._save_table  # type: ignore[attr-defined]
    )


async def asave(
    obj: Any,
    *,
    force_insert: Any = False,
    force_update: bool = False,
    using: str | None = None,
    update_fields: Any = None,
) -> None:
    """``obj.save()`` natively: UPDATE by pk or INSERT (pk allocated under the table lock),
    with pre_save/post_save sent as Django sends them. ``update_fields``, forced updates,
    multi-table inheritance, deferred fields and models overriding ``save()`` go to
    Django's ``save()`` in a thread."""
    using = using or router.db_for_write(type(obj), instance=obj)
    if not (_lock_mode(using) and _native_save(obj, force_insert, force_update, update_fields)):
        await in_thread(
            lambda: obj.save(
                force_insert=force_insert,
                force_update=force_update,
                using=using,
                update_fields=update_fields,
            )
        )
        return
    obj._prepare_related_fields_for_save(operation_name="save")
    cls = origin = type(obj)
    if cls._meta.proxy:
        cls = cls._meta.concrete_model
    meta = cls._meta
    if not meta.auto_created:
        await _send(
            signals.pre_save,
            sender=origin,
            instance=obj,
            raw=False,
            using=using,
            update_fields=None,
        )
    pk_val = obj._get_pk_val(meta)
    if pk_val is None:
        pk_val = meta.pk.get_pk_value_on_save(obj)
        setattr(obj, meta.pk.attname, pk_val)
    pk_set = pk_val is not None
    pk_default = meta.pk.default is not NOT_PROVIDED and meta.pk.default
    pk_db_default = getattr(meta.pk, "db_default", NOT_PROVIDED)
    if obj._state.adding and (pk_default or pk_db_default is not NOT_PROVIDED):
        # As Django: an instance being added whose pk has a default is inserted directly.
        force_insert = True
    updated = False
    if pk_set and not force_insert:
        values = [
            (f, None, f.pre_save(obj, False))
            for f in meta.local_concrete_fields
            if not f.primary_key and not getattr(f, "generated", False)
        ]
        base_qs = cls._base_manager.using(using)
        updated = await run_native(
            lambda: obj._do_update(base_qs, using, pk_val, values, None, False)
        )
    if not updated:
        fields = [f for f in meta.local_concrete_fields if not getattr(f, "generated", False)]
        if not pk_set:
            fields = [f for f in fields if f is not meta.auto_field]
        returning = meta.db_returning_fields
        query = sql.InsertQuery(cls)
        query.insert_values(fields, [obj], raw=False)
        results = await insert_rows(query.get_compiler(using=using), returning)
        if results:
            for value, field in zip(results[0], returning, strict=False):
                setattr(obj, field.attname, value)
    obj._state.db = using
    obj._state.adding = False
    if not meta.auto_created:
        await _send(
            signals.post_save,
            sender=origin,
            instance=obj,
            created=not updated,
            update_fields=None,
            raw=False,
            using=using,
        )


class AsyncModelMixin:
    """``class Event(AsyncModelMixin, models.Model)``: ``await event.asave()`` natively."""

    async def asave(
        self, *, force_insert=False, force_update=False, using=None, update_fields=None
    ) -> None:
        await asave(
            self,
            force_insert=force_insert,
            force_update=force_update,
            using=using,
            update_fields=update_fields,
        )
