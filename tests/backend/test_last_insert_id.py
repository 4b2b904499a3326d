"""Primary keys without RETURNING: OPTIONS["last_insert_id"] = "lock" (default) or "max"."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import DataError, connection, connections, transaction

from tests.testapp.models import BigThing, Item, OddPk, SmallThing

pytestmark = pytest.mark.integration

THREADS = 8
CREATES = 250


@pytest.fixture
def alias_with(settings_dict: dict[str, Any]) -> Iterator[Any]:
    made: list[str] = []

    def make(**options: Any) -> str:
        alias = f"rs_{len(made)}_{'_'.join(f'{k}_{v}' for k, v in options.items())}"
        connections.settings[alias] = {
            **settings_dict,
            "OPTIONS": {**settings_dict["OPTIONS"], **options},
        }
        made.append(alias)
        return alias

    yield make
    for alias in made:
        connections[alias].close()
        del connections[alias]
        del connections.settings[alias]


def test_create_returns_own_pk_and_explicit_pk_does_not_skew(transactional_db: None) -> None:
    first = Item.objects.create(name="first")
    explicit = Item.objects.create(id=1000, name="explicit")
    assert explicit.pk == 1000
    after = Item.objects.create(name="after")
    assert Item.objects.get(pk=after.pk).name == "after"
    assert after.pk == 1001
    assert first.pk < 1000


def test_quoted_pk_column_and_other_auto_fields(transactional_db: None) -> None:
    odd = OddPk.objects.create(payload="odd")
    assert OddPk.objects.get(pk=odd.pk).payload == "odd"
    big = BigThing.objects.create(payload="big")
    assert BigThing.objects.get(pk=big.pk).payload == "big"
    small = SmallThing.objects.create(payload="small")
    assert SmallThing.objects.get(pk=small.pk).payload == "small"


def test_bulk_create_sets_pks_in_lock_mode(transactional_db: None) -> None:
    existing = Item.objects.create(id=max(50, _next_pk() + 10), name="existing")
    objs = Item.objects.bulk_create([Item(name=f"bulk{i}") for i in range(5)])
    assert [o.pk for o in objs] == list(range(existing.pk + 1, existing.pk + 6))
    assert {o.pk: o.name for o in objs} == dict(
        Item.objects.filter(name__startswith="bulk").values_list("id", "name")
    )


def _next_pk() -> int:
    """The pk the next create() would get (it gets it, and the row is deleted)."""
    obj = Item.objects.create(name="probe")
    pk = int(obj.pk)
    obj.delete()
    return pk + 1


def test_a_deleted_pk_is_never_handed_out_again(transactional_db: None) -> None:
    a, b, c = (Item.objects.create(name=n) for n in "abc")
    top = c.pk
    c.delete()
    d = Item.objects.create(name="d")
    assert d.pk == top + 1
    Item.objects.all().delete()
    e = Item.objects.create(name="e")
    assert e.pk == d.pk + 1
    # bulk_create and the async path take pks from the same mark.
    Item.objects.all().delete()
    bulk = Item.objects.bulk_create([Item(name="f"), Item(name="g")])
    assert [o.pk for o in bulk] == [e.pk + 1, e.pk + 2]
    assert a.pk < b.pk < top


def test_rolled_back_pks_may_come_again_and_others_do_not(transactional_db: None) -> None:
    # A rolled-back create handed out nothing: its pk is free, as with a sequence that a
    # transaction never committed (the mark rolls back with it).
    with transaction.atomic():
        lost = Item.objects.create(name="lost")
        transaction.set_rollback(True)
    kept = Item.objects.create(name="kept")
    assert kept.pk == lost.pk
    assert Item.objects.get(pk=kept.pk).name == "kept"


def test_flush_with_sequence_reset_starts_pks_again(transactional_db: None) -> None:
    from django.core.management.color import no_style

    Item.objects.create(name="x")
    table = Item._meta.db_table
    statements = connection.ops.sql_flush(no_style(), [table], reset_sequences=True)
    connection.ops.execute_sql_flush(statements)
    assert Item.objects.create(name="first again").pk == 1


def test_reset_sequences_starts_pks_again(transactional_db: None) -> None:
    # What TransactionTestCase.reset_sequences runs.
    from django.core.management.color import no_style

    Item.objects.create(name="x")
    Item.objects.all().delete()
    sequences = connection.introspection.sequence_list()
    for sql in connection.ops.sequence_reset_by_name_sql(no_style(), sequences):
        with connection.cursor() as cursor:
            cursor.execute(sql)
    assert Item.objects.create(name="first again").pk == 1


def test_the_high_water_table_is_no_model_table(transactional_db: None) -> None:
    from redshift_async_backend import high_water

    Item.objects.create(name="x")
    assert high_water.exists(connection)
    assert high_water.TABLE not in connection.introspection.table_names()


def test_create_joins_an_outer_transaction(transactional_db: None) -> None:
    with transaction.atomic():
        a = Item.objects.create(name="in-a")
        b = Item.objects.create(name="in-b")
        transaction.set_rollback(True)
    assert b.pk == a.pk + 1
    assert not Item.objects.filter(name__startswith="in-").exists()


def test_create_is_one_round_trip(transactional_db: None, emulator: Any) -> None:
    # Connection open, the pk's kind known, the statements prepared (redshift_connector).
    Item.objects.create(name="warm")
    Item.objects.create(name="warm")
    emulator.reset_stats()
    obj = Item.objects.create(name="rt")
    assert_create_round_trips(emulator.stats())
    assert Item.objects.get(pk=obj.pk).name == "rt"


def assert_create_round_trips(stats: dict[str, Any], *, first: bool = False) -> None:
    """On a connection that has created a row in the table before, one round trip:
    psycopg sends ``BEGIN; LOCK; <mark>; INSERT; SELECT mark; COMMIT`` as one string,
    redshift_connector (extended protocol) the same statements, prepared, as one pipeline
    ended by one Sync. The first time, the pk's kind is read with the lock and the INSERT
    follows (psycopg: two), and redshift_connector prepares each statement (two each)."""
    if not first:
        assert stats["round_trips"] == 1, stats
    elif connection.driver.name == "psycopg":
        assert stats["round_trips"] == 2, stats
    else:
        assert stats["round_trips"] <= 2 * stats["statements"], stats


def test_failed_insert_leaves_no_transaction_open(transactional_db: None) -> None:
    with pytest.raises(Exception):  # noqa: B017  (driver's NOT NULL violation)
        Item.objects.create(name=None)
    assert connection.get_autocommit()
    assert Item.objects.create(name="next").pk is not None


def test_a_failing_insert_in_the_batch_rolls_back_its_mark(transactional_db: None) -> None:
    # The same statements as the creates before (on redshift_connector: one pipeline), the
    # INSERT refused by the server: its error, no transaction left open, no pk spent.
    before = [Item.objects.create(name="ok").pk for _ in range(3)]
    with pytest.raises(DataError):
        Item.objects.create(name="x" * 1000)
    assert connection.get_autocommit()
    after = Item.objects.create(name="after")
    assert after.pk == before[-1] + 1
    assert Item.objects.get(pk=after.pk).name == "after"


def _hammer(alias: str, results: list[int], errors: list[BaseException], tag: int) -> None:
    try:
        mismatches = 0
        for i in range(CREATES):
            payload = f"t{tag}-{i}"
            obj = Item.objects.using(alias).create(name=payload)
            if Item.objects.using(alias).get(pk=obj.pk).name != payload:
                mismatches += 1
        results.append(mismatches)
    except BaseException as exc:
        errors.append(exc)
    finally:
        connections[alias].close()


def run_concurrently(alias: str) -> int:
    results: list[int] = []
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_hammer, args=(alias, results, errors, n)) for n in range(THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert len(results) == THREADS
    return sum(results)


@pytest.mark.slow
def test_lock_mode_never_returns_another_sessions_pk(
    transactional_db: None, alias_with: Any
) -> None:
    assert run_concurrently(alias_with(last_insert_id="lock")) == 0
    assert Item.objects.count() == THREADS * CREATES


@pytest.mark.slow
def test_max_mode_races(transactional_db: None, alias_with: Any) -> None:
    # The prior art's behaviour: proves the concurrency test above can fail.
    assert run_concurrently(alias_with(last_insert_id="max")) > 0
