"""The claims of docs/migrating.md that need more than running its blocks.

- django-redshift-backend's migration state, with the import changed, equals this backend's
  for the same model (makemigrations finds no changes).
- The guide's conversion migration, run on a table made as django-redshift-backend makes it
  (IDENTITY pk, 32-digit UUIDs, JSON in a VARCHAR), leaves a table this backend uses fully;
  and text that is not JSON stops it with nothing changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import DatabaseError, connection, models
from django.db.migrations import Migration
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.graph import MigrationGraph
from django.db.migrations.questioner import MigrationQuestioner
from django.db.migrations.state import ModelState, ProjectState
from django.db.models import Index
from django.test.utils import CaptureQueriesContext, isolate_apps

import redshift_async_backend

from .test_examples import ROOT, read_blocks

GUIDE = ROOT / "docs" / "migrating.md"


def guide_migration(containing: str) -> type[Migration]:
    """The Migration class of the guide's python block that contains ``containing``."""
    (block,) = [b for b in read_blocks(GUIDE) if b.lang == "python" and containing in b.code]
    namespace: dict[str, Any] = {"__name__": "tests.testapp.docs_migrating"}
    exec(compile("\n" * block.line + block.code, str(GUIDE), "exec"), namespace)
    migration: type[Migration] = namespace["Migration"]
    return migration


# -- migration files -------------------------------------------------------------------


@pytest.mark.unit
def test_old_migration_state_equals_the_new_one() -> None:
    with isolate_apps("tests.testapp"):

        class Order(models.Model):
            code = models.CharField(max_length=10)
            created = models.DateTimeField()

            class Meta:
                app_label = "testapp"
                indexes = [redshift_async_backend.DistKey(fields=["code"])]
                ordering = [redshift_async_backend.SortKey("created")]

        # django-redshift-backend's DistKey is an Index too: makemigrations named it so.
        old_name = Index(fields=["code"])
        old_name.set_name_with_model(Order)
        # Its 0001_initial.py, with django_redshift_backend replaced by redshift_async_backend.
        written = ModelState(
            "testapp",
            "order",
            [
                (
                    "id",
                    models.AutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("code", models.CharField(max_length=10)),
                ("created", models.DateTimeField()),
            ],
            options={
                "ordering": [redshift_async_backend.SortKey("created")],
                "indexes": [redshift_async_backend.DistKey(fields=["code"], name=old_name.name)],
            },
        )
        before, after = ProjectState(), ProjectState()
        before.add_model(written)
        after.add_model(ModelState.from_model(Order))
        questioner = MigrationQuestioner(defaults={"ask_initial": True})
        changes = MigrationAutodetector(before, after, questioner).changes(MigrationGraph())
        assert changes == {}


# -- existing tables ---------------------------------------------------------------------

TABLE = "shop_order"
U1 = uuid.UUID("12345678-1234-5678-1234-567812345678")
U2 = uuid.UUID("abcdefab-cdef-abcd-efab-cdefabcdefab")


def drb_state() -> ProjectState:
    """The model state django-redshift-backend's migrations leave for shop.Order."""
    state = ProjectState()
    state.add_model(
        ModelState(
            "shop",
            "order",
            [
                ("id", models.AutoField(primary_key=True)),
                ("code", models.CharField(max_length=10)),
                ("uid", models.UUIDField()),
                ("details", models.JSONField()),
                ("created", models.DateTimeField()),
            ],
            options={
                "db_table": TABLE,
                "indexes": [redshift_async_backend.DistKey(fields=["code"], name="shop_code")],
                "ordering": [redshift_async_backend.SortKey("created")],
            },
        )
    )
    return state


@pytest.fixture
def drb_table(django_db_setup: str) -> Iterator[None]:
    # The DDL django-redshift-backend writes for that model (its §1.2/§1.3 rules).
    with connection.cursor() as cursor:
        cursor.execute(
            f'CREATE TABLE "{TABLE}" ("id" integer identity(1, 1) NOT NULL PRIMARY KEY, '
            '"code" varchar(10) NOT NULL, "uid" varchar(36) NOT NULL, '
            '"details" varchar NOT NULL, "created" timestamp with time zone NOT NULL) '
            'DISTKEY("code") SORTKEY("created")'
        )
        # Rows as it writes them: UUIDs as 32 hex digits, JSON as text.
        cursor.execute(
            f'INSERT INTO "{TABLE}" ("code", "uid", "details", "created") VALUES '
            f"('a', '{U1.hex}', '{{\"channel\": \"web\"}}', '2024-01-01T00:00:00Z'), "
            f"('b', '{U2.hex}', '[1, 2]', '2024-01-02T00:00:00Z')"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP TABLE IF EXISTS "{TABLE}"')
            cursor.execute(f'DROP TABLE IF EXISTS "{TABLE}__rebuild"')


def migrate(state: ProjectState, migration: type[Migration]) -> ProjectState:
    """Apply ``migration``'s operations as Django's executor does (one atomic block)."""
    with connection.schema_editor(atomic=True) as editor:
        for operation in migration("0008_redshift_async_backend", "shop").operations:
            new_state = state.clone()
            operation.state_forwards("shop", new_state)
            operation.database_forwards("shop", editor, state, new_state)
            state = new_state
    return state


def column_types() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute('SELECT "column", type FROM pg_table_def WHERE tablename = %s', [TABLE])
        return dict(cursor.fetchall())


@pytest.mark.integration
def test_the_guide_converts_a_drb_table(drb_table: None) -> None:
    state = drb_state()
    order = state.apps.get_model("shop", "order")
    # Before: the IDENTITY pk works for create(); 32-digit UUIDs are not found.
    made = order.objects.create(code="c", uid=U1, details={}, created="2024-01-03T00:00:00Z")
    assert made.pk == 3
    assert not order.objects.filter(uid=U2).exists()

    with CaptureQueriesContext(connection) as ctx:
        state = migrate(state, guide_migration("RunSQL"))
    sql = "\n".join(q["sql"] for q in ctx.captured_queries)
    assert "JSON_PARSE" in sql
    assert 'DISTSTYLE KEY DISTKEY ("code") COMPOUND SORTKEY ("created")' in sql

    order = state.apps.get_model("shop", "order")
    assert order.objects.get(uid=U2).details == [1, 2]
    assert order.objects.filter(uid=U1).count() == 2
    assert order.objects.get(details__channel="web").code == "a"
    # The pk column now takes the values the backend allocates: bulk_create learns them.
    more = order.objects.bulk_create(
        [order(code=c, uid=uuid.uuid4(), details={"n": 1}, created="2024-02-01T00:00:00Z")
         for c in "de"]
    )  # fmt: skip
    assert [o.pk for o in more] == [4, 5]
    assert column_types()["uid"] == "character(36)"


@pytest.mark.integration
def test_text_that_is_not_json_stops_the_migration(drb_table: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{TABLE}" ("code", "uid", "details", "created") '
            f"VALUES ('x', '{uuid.uuid4().hex}', 'not json', '2024-01-04T00:00:00Z')"
        )
    before = column_types()
    with pytest.raises(DatabaseError, match=r"(?i)json"):
        migrate(drb_state(), guide_migration("RunSQL"))
    assert column_types() == before
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "uid" FROM "{TABLE}" ORDER BY "id"')
        assert [len(uid) for (uid,) in cursor.fetchall()] == [32, 32, 32]
