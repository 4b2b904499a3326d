"""Each DDL path run through the emulator: create the table, insert, read back.

AlterField paths need the database (constraint names are introspected, and the in-place
VARCHAR resize checks the column's DEFAULT), so their golden SQL is asserted here too.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, connection, models, transaction

from . import schema_models as sm

pytestmark = pytest.mark.integration

UTC = datetime.UTC


@pytest.fixture
def db(transactional_db: Any) -> Iterator[Any]:
    """The emulator-backed test database with real commits; this module's tables dropped
    afterwards (DDL runs outside any test transaction, as migrate runs it)."""
    yield connection
    with connection.cursor() as cursor:
        for table in (
            *("rs_sale", "rs_event", "rs_legacy", "rs_defaults", "rs_expression_defaults"),
            "rs_customer",
        ):
            cursor.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')


def run(action: Any, atomic: bool = True) -> list[str]:
    """Execute through a real schema editor, returning the SQL it ran."""
    executed: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record), connection.schema_editor(atomic=atomic) as editor:
        action(editor)
    return [s for s in executed if not s.lstrip().upper().startswith(("SELECT", "SAVEPOINT"))]


def rows(sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def new_field(field: models.Field, name: str, model: Any) -> models.Field:
    field.set_attributes_from_name(name)
    field.model = model
    return field


_minutes = iter(range(1, 10_000))


def insert_sale(customer_id: int, note: str | None = "n1") -> None:
    # A new created_at each time: (customer, created_at) is declared UNIQUE. Redshift would
    # not enforce it (DG:r_CREATE_TABLE_NEW); the emulator's PostgreSQL does.
    at = datetime.datetime(2024, 5, 1, tzinfo=UTC) + datetime.timedelta(minutes=next(_minutes))
    with connection.cursor() as cursor:
        cursor.execute(
            'INSERT INTO "rs_sale" ("customer_id", "created_at", "amount", "note", "kind") '
            "VALUES (%s, %s, %s, %s, %s)",
            [customer_id, at, Decimal("9.50"), note, 1],
        )


@pytest.fixture
def tables(db: Any) -> None:
    run(lambda e: (e.create_model(sm.Customer), e.create_model(sm.Sale), e.create_model(sm.Event)))
    with connection.cursor() as cursor:
        cursor.execute(
            'INSERT INTO "rs_customer" ("name", "region") VALUES (%s, %s)', ["ann", "eu"]
        )
    insert_sale(1)


def test_create_tables_insert_and_read_back(tables: None) -> None:
    assert rows('SELECT "name", "region" FROM "rs_customer"') == [("ann", "eu")]
    assert rows('SELECT "customer_id", "amount", "note" FROM "rs_sale"') == [
        (1, Decimal("9.50"), "n1")
    ]
    info = rows(
        "SELECT \"column\", distkey, sortkey FROM pg_table_def WHERE tablename = 'rs_sale' "
        'ORDER BY "column"'
    )
    assert ("customer_id", True, 0) in info
    assert ("created_at", False, 1) in info


def test_prior_art_ordering_form_runs(db: Any) -> None:
    run(lambda e: e.create_model(sm.Legacy))
    with connection.cursor() as cursor:
        cursor.execute(
            'INSERT INTO "rs_legacy" ("created", "code") VALUES (%s, %s)',
            [datetime.date(2024, 1, 2), "ab"],
        )
    assert rows('SELECT "created", "code" FROM "rs_legacy"') == [(datetime.date(2024, 1, 2), "ab")]


@sm.needs_db_default
def test_db_default_constants_apply(db: Any) -> None:
    run(lambda e: e.create_model(sm.Defaults))
    with connection.cursor() as cursor:
        cursor.execute('INSERT INTO "rs_defaults" DEFAULT VALUES')
    assert rows('SELECT "status", "score" FROM "rs_defaults"') == [("new", 7)]


@sm.needs_db_default
def test_db_default_expressions_apply(db: Any) -> None:
    run(lambda e: e.create_model(sm.ExpressionDefaults))
    obj = sm.ExpressionDefaults.objects.create()
    obj.refresh_from_db()
    assert (obj.code, obj.size) == ("new", 6)
    assert isinstance(obj.stamped, datetime.datetime)


def test_add_and_remove_fields(tables: None) -> None:
    label = new_field(models.CharField(max_length=12, default="none"), "label", sm.Sale)
    weight = new_field(models.IntegerField(null=True, default=5), "weight", sm.Sale)
    run(lambda e: (e.add_field(sm.Sale, label), e.add_field(sm.Sale, weight)))
    assert rows('SELECT "label", "weight" FROM "rs_sale"') == [("none", 5)]
    run(lambda e: e.remove_field(sm.Sale, weight))
    assert "weight" not in [c.name for c in _description("rs_sale")]


def _description(table: str) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{table}" LIMIT 0')
        return cursor.description


def test_rename_field_and_model(tables: None) -> None:
    old = sm.Sale._meta.get_field("note")
    renamed = new_field(models.CharField(max_length=20, null=True), "memo", sm.Sale)
    sql = run(lambda e: e.alter_field(sm.Sale, old, renamed))
    assert sql == ['ALTER TABLE "rs_sale" RENAME COLUMN "note" TO "memo"']
    run(lambda e: e.alter_db_table(sm.Event, "rs_event", "rs_event_renamed"))
    run(lambda e: e.alter_db_table(sm.Event, "rs_event_renamed", "rs_event"))
    assert rows('SELECT "memo" FROM "rs_sale"') == [("n1",)]


def test_alter_varchar_widening_in_place_outside_transaction(tables: None) -> None:
    old = sm.Sale._meta.get_field("note")
    wider = new_field(models.CharField(max_length=60, null=True), "note", sm.Sale)
    # Redshift: ALTER COLUMN TYPE cannot run inside a transaction block (DG:r_ALTER_TABLE).
    sql = run(lambda e: e.alter_field(sm.Sale, old, wider), atomic=False)
    assert sql == ['ALTER TABLE "rs_sale" ALTER COLUMN "note" TYPE varchar(60)']
    insert_sale(1, "x" * 60)
    assert sorted(r[0] for r in rows('SELECT "note" FROM "rs_sale"')) == ["n1", "x" * 60]


def test_alter_varchar_widening_inside_transaction_rebuilds(tables: None) -> None:
    old = sm.Sale._meta.get_field("note")
    wider = new_field(models.CharField(max_length=60, null=True), "note", sm.Sale)
    sql = run(lambda e: e.alter_field(sm.Sale, old, wider), atomic=True)
    assert sql == [
        'ALTER TABLE "rs_sale" ADD COLUMN "note__tmp" varchar(60) NULL',
        'UPDATE "rs_sale" SET "note__tmp" = "note"',
        'ALTER TABLE "rs_sale" DROP COLUMN "note"',
        'ALTER TABLE "rs_sale" RENAME COLUMN "note__tmp" TO "note"',
    ]
    assert rows('SELECT "note" FROM "rs_sale"') == [("n1",)]


SALE_COLUMNS = (
    '"id" integer GENERATED BY DEFAULT AS IDENTITY({seed}, 1) NOT NULL PRIMARY KEY, '
    '"customer_id" integer NOT NULL, "created_at" timestamp with time zone NOT NULL, '
    '"amount" {amount} NOT NULL, "note" {note}, "kind" {kind} NOT NULL'
)
SALE_KEYS = 'DISTSTYLE KEY DISTKEY ("customer_id") COMPOUND SORTKEY ("created_at", "id")'


def sale_rebuild(select: str, seed: int, params: str = "", **types: str) -> list[str]:
    """The golden SQL of a table rebuild of rs_sale (deep copy, DG:performing-a-deep-copy)."""
    columns = SALE_COLUMNS.format(
        seed=seed,
        **{"amount": "numeric(10, 2)", "note": "varchar(20) NULL", "kind": "integer", **types},
    )
    return [
        # Keys after the swap, under the names the old table's had (#20.5).
        f'CREATE TABLE "rs_sale__rebuild" ({columns.replace(" PRIMARY KEY", "")}) {SALE_KEYS}',
        'INSERT INTO "rs_sale__rebuild" ("id", "customer_id", "created_at", "amount", "note", '
        f'"kind") SELECT {select} FROM "rs_sale"{params}',
        'DROP TABLE "rs_sale"',
        'ALTER TABLE "rs_sale__rebuild" RENAME TO "rs_sale"',
        'ALTER TABLE "rs_sale" ADD CONSTRAINT "rs_sale_pkey" PRIMARY KEY ("id")',
        'ALTER TABLE "rs_sale" ADD CONSTRAINT "rs_sale_once" UNIQUE ("customer_id", "created_at")',
        'ALTER TABLE "rs_sale" ADD CONSTRAINT "rs_sale_customer_id_39734e63_fk_rs_customer_id" '
        'FOREIGN KEY ("customer_id") REFERENCES "rs_customer" ("id")',
    ]


def test_alter_null_to_not_null_rebuilds_the_table_without_a_lingering_default(
    tables: None,
) -> None:
    insert_sale(1, None)
    old = sm.Sale._meta.get_field("note")
    not_null = new_field(models.CharField(max_length=20, default="-"), "note", sm.Sale)
    sql = run(lambda e: e.alter_field(sm.Sale, old, not_null))
    # NULLs become the Python default, inside the copy; the column gets no DEFAULT.
    assert sql == sale_rebuild(
        '"id", "customer_id", "created_at", "amount", '
        'COALESCE("note", CAST(\'-\' AS varchar(20))), "kind"',
        seed=3,
        note="varchar(20) NOT NULL",
    )
    assert sorted(r[0] for r in rows('SELECT "note" FROM "rs_sale"')) == ["-", "n1"]
    assert rows(
        "SELECT COUNT(*) FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid "
        "WHERE c.relname = 'rs_sale'"
    ) == [(0,)]


def test_alter_type_change_keeps_order_keys_and_identity(tables: None) -> None:
    old = sm.Sale._meta.get_field("kind")
    bigger = new_field(models.BigIntegerField(default=1), "kind", sm.Sale)
    sql = run(lambda e: e.alter_field(sm.Sale, old, bigger))
    assert sql == sale_rebuild(
        '"id", "customer_id", "created_at", "amount", "note", CAST("kind" AS bigint)',
        seed=2,
        kind="bigint",
    )
    assert rows('SELECT "id", "kind" FROM "rs_sale"') == [(1, 1)]
    info = rows(
        "SELECT \"column\", distkey, sortkey FROM pg_table_def WHERE tablename = 'rs_sale' "
        'ORDER BY sortkey DESC, "column"'
    )
    assert ("customer_id", True, 0) in info and ("created_at", False, 1) in info
    # The identity generator continues above the copied ids.
    insert_sale(1)
    assert rows('SELECT "id" FROM "rs_sale" ORDER BY "id"') == [(1,), (2,)]


def test_alter_not_null_without_default_rebuilds_and_keeps_data(tables: None) -> None:
    old = sm.Sale._meta.get_field("amount")
    changed = new_field(models.DecimalField(max_digits=12, decimal_places=2), "amount", sm.Sale)
    run(lambda e: e.alter_field(sm.Sale, old, changed))
    assert rows('SELECT "amount" FROM "rs_sale"') == [(Decimal("9.50"),)]


def test_alter_null_to_not_null_without_default_with_nulls_is_refused(tables: None) -> None:
    insert_sale(1, None)
    old = sm.Sale._meta.get_field("note")
    changed = new_field(models.CharField(max_length=20), "note", sm.Sale)
    with pytest.raises(IntegrityError, match="has NULL values"):
        run(lambda e: e.alter_field(sm.Sale, old, changed))
    assert sorted(r[0] or "" for r in rows('SELECT "note" FROM "rs_sale"')) == ["", "n1"]


def test_alter_sortkey_column_rebuilds_the_table(tables: None) -> None:
    old = sm.Sale._meta.get_field("created_at")
    changed = new_field(models.DateField(default=datetime.date(2000, 1, 1)), "created_at", sm.Sale)
    run(lambda e: e.alter_field(sm.Sale, old, changed))
    assert rows('SELECT "created_at" FROM "rs_sale"') == [(datetime.date(2024, 5, 1),)]
    info = dict(rows("SELECT \"column\", sortkey FROM pg_table_def WHERE tablename = 'rs_sale'"))
    assert info["created_at"] == 1


def test_alter_unique_column_drops_and_readds_constraint(tables: None) -> None:
    old = sm.Customer._meta.get_field("name")
    wider = new_field(models.CharField(max_length=80, unique=True), "name", sm.Customer)
    sql = run(lambda e: e.alter_field(sm.Customer, old, wider), atomic=False)
    assert sql[0].startswith('ALTER TABLE "rs_customer" DROP CONSTRAINT ')
    assert sql[1] == 'ALTER TABLE "rs_customer" ALTER COLUMN "name" TYPE varchar(80)'
    assert sql[2].startswith('ALTER TABLE "rs_customer" ADD CONSTRAINT ')
    assert sql[2].endswith('UNIQUE ("name")')
    assert rows('SELECT "name" FROM "rs_customer"') == [("ann",)]


def test_keys_added_and_removed_later(tables: None) -> None:
    from redshift_async_backend.indexes import DistKey, SortKey

    dist = DistKey(fields=["kind"], name="rs_event_dist")
    sort = SortKey(fields=["at"], name="rs_event_sort")
    run(
        lambda e: (
            e.remove_index(sm.Event, sm.Event._meta.indexes[0]),
            e.add_index(sm.Event, dist),
            e.add_index(sm.Event, sort),
        )
    )
    info = dict(
        (r[0], (r[1], r[2]))
        for r in rows(
            "SELECT \"column\", distkey, sortkey FROM pg_table_def WHERE tablename = 'rs_event'"
        )
    )
    assert info["kind"][0] is True
    assert info["at"][1] == 1


def test_rebuild_rolls_back_as_a_whole(tables: None) -> None:
    insert_sale(1, "not-a-number")
    old = sm.Sale._meta.get_field("note")
    number = new_field(models.IntegerField(null=True), "note", sm.Sale)
    with pytest.raises(Exception):  # noqa: B017 - the server's cast error, driver-specific
        run(lambda e: e.alter_field(sm.Sale, old, number), atomic=False)
    assert not connection.in_atomic_block
    with transaction.atomic():
        assert sorted(r[0] for r in rows('SELECT "note" FROM "rs_sale"')) == ["n1", "not-a-number"]
