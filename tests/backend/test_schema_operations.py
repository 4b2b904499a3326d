"""Redshift migration operations and the autodetector: state, SQL, and runs through the
emulator (the operations module is imported from its defining module)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import NotSupportedError, connection, migrations, models
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.graph import MigrationGraph
from django.db.migrations.questioner import MigrationQuestioner
from django.db.migrations.state import ModelState, ProjectState

from redshift_async_backend.autodetector import RedshiftAutodetector
from redshift_async_backend.indexes import DistKey, SortKey
from redshift_async_backend.operations import (
    AlterColumnEncode,
    AlterDistKey,
    AlterDistStyle,
    AlterSortKey,
    Analyze,
    Vacuum,
)

pytestmark = pytest.mark.integration

APP = "rsops"


def customer_state() -> ModelState:
    return ModelState(
        APP,
        "Customer",
        [("id", models.AutoField(primary_key=True)), ("name", models.CharField(max_length=20))],
        {"db_table": "rsops_customer"},
    )


def sale_state(*indexes: Any) -> ModelState:
    return ModelState(
        APP,
        "Sale",
        [
            ("id", models.AutoField(primary_key=True)),
            ("customer", models.ForeignKey(f"{APP}.Customer", models.CASCADE)),
            ("day", models.DateField()),
            ("note", models.CharField(max_length=10, null=True)),
        ],
        {"db_table": "rsops_sale", "indexes": list(indexes)},
    )


def project(*model_states: ModelState) -> ProjectState:
    state = ProjectState()
    for model_state in model_states:
        state.add_model(model_state)
    return state


def changes(before: ProjectState, after: ProjectState, detector: type) -> list[Any]:
    questioner = MigrationQuestioner(specified_apps={APP})
    found = detector(before, after, questioner).changes(graph=MigrationGraph())
    return [op for migration in found.get(APP, []) for op in migration.operations]


def model_indexes(state: ProjectState, model: str = "sale") -> list[Any]:
    return list(state.models[APP, model].options.get("indexes", []))


# ---------------------------------------------------------------------- unit: operations


@pytest.mark.unit
def test_deconstruct_describe_and_name_fragment() -> None:
    cases = [
        (AlterDistKey("Sale", "customer"), "sale_alter_distkey", "distribution key"),
        (AlterDistStyle("Sale", "even"), "sale_alter_diststyle_even", "EVEN"),
        (AlterSortKey("Sale", ["day", "id"]), "sale_alter_sortkey", "day, id"),
        (AlterColumnEncode("Sale", "note", "ZSTD"), "sale_note_encode_zstd", "zstd"),
        (Vacuum("Sale", mode="sort only", threshold=90), "vacuum_sale", "Vacuum Sale"),
        (Analyze(), "analyze_all", "Analyze the database"),
    ]
    for op, fragment, words in cases:
        name, args, kwargs = op.deconstruct()
        clone = type(op)(*args, **kwargs)
        assert clone.deconstruct() == (name, args, kwargs)
        assert op.migration_name_fragment == fragment
        assert words in op.describe()


@pytest.mark.unit
def test_bad_arguments_name_the_problem() -> None:
    with pytest.raises(ValueError, match="AlterDistKey for DISTSTYLE KEY"):
        AlterDistStyle("Sale", "KEY")
    with pytest.raises(ValueError, match="Unknown Redshift encoding 'gzip'"):
        AlterColumnEncode("Sale", "note", "gzip")
    with pytest.raises(ValueError, match="Vacuum mode"):
        Vacuum("Sale", mode="ALL")


@pytest.mark.unit
def test_state_forwards_keeps_state_true_so_makemigrations_sees_nothing() -> None:
    before = project(customer_state(), sale_state())
    after = before.clone()
    AlterDistKey("Sale", "customer").state_forwards(APP, after)
    AlterSortKey("Sale", ["day"]).state_forwards(APP, after)
    # The names are the ones Django gives the same keys written in Meta.indexes.
    rendered = after.apps.get_model(APP, "Sale")
    expected = [DistKey(fields=["customer"]), SortKey(fields=["day"])]
    for index in expected:
        index.set_name_with_model(rendered)
    assert [i.name for i in model_indexes(after)] == [i.name for i in expected]
    declared = project(customer_state(), sale_state(*expected))
    assert changes(after, declared, MigrationAutodetector) == []
    AlterDistStyle("Sale", "ALL").state_forwards(APP, after)
    assert [type(i) for i in model_indexes(after)] == [SortKey]
    AlterSortKey("Sale", None).state_forwards(APP, after)
    assert model_indexes(after) == []


@pytest.mark.unit
def test_reduce() -> None:
    first, second = AlterDistKey("Sale", "customer"), AlterDistKey("Sale", "day")
    style = AlterDistStyle("Sale", "EVEN")
    assert first.reduce(second, APP) == [second]
    assert first.reduce(style, APP) == [style]
    delete = migrations.DeleteModel("Sale")
    assert first.reduce(delete, APP) == [delete]
    assert first.reduce(AlterDistKey("Other", "x"), APP) is True  # optimizes across
    encode, lzo = (
        AlterColumnEncode("Sale", "note", "zstd"),
        AlterColumnEncode("Sale", "note", "lzo"),
    )
    assert encode.reduce(lzo, APP) == [lzo]


# ---------------------------------------------------------------------- unit: autodetector


@pytest.mark.unit
def test_autodetector_inlines_distkey_and_its_foreign_key_into_create_model() -> None:
    after = project(
        customer_state(),
        sale_state(
            DistKey(fields=["customer"], name="sale_dist"), SortKey(fields=["day"], name="s")
        ),
    )
    ops = changes(project(), after, RedshiftAutodetector)
    assert [type(op).__name__ for op in ops] == ["CreateModel", "CreateModel"]
    create_sale = next(op for op in ops if op.name == "Sale")
    assert "customer" in dict(create_sale.fields)
    assert [i.name for i in create_sale.options["indexes"]] == ["sale_dist", "s"]


@pytest.mark.unit
def test_autodetector_merges_a_changed_key_into_one_alter() -> None:
    before = project(customer_state(), sale_state(DistKey(fields=["customer"], name="d1")))
    after = project(customer_state(), sale_state(DistKey(fields=["day"], name="d2")))
    plain = changes(before, after, MigrationAutodetector)
    assert sorted(type(op).__name__ for op in plain) == ["AddIndex", "RemoveIndex"]
    ops = changes(before, after, RedshiftAutodetector)
    assert len(ops) == 1 and isinstance(ops[0], AlterDistKey)
    assert (ops[0].field_name, ops[0].name) == ("day", "d2")
    # Applying it gives the declared state: nothing left to detect.
    state = before.clone()
    ops[0].state_forwards(APP, state)
    assert changes(state, after, RedshiftAutodetector) == []


@pytest.mark.unit
def test_commands_use_the_redshift_autodetector() -> None:
    from django.core.management.commands import makemigrations as django_makemigrations

    from redshift_async_backend.management.commands import makemigrations, migrate
    from redshift_async_backend.management.commands._compat import autodetector_in

    assert makemigrations.Command.autodetector is RedshiftAutodetector
    assert migrate.Command.autodetector is RedshiftAutodetector
    # Django < 5.2 has no attribute: the module-level name is swapped during handle().
    with autodetector_in(django_makemigrations, RedshiftAutodetector):
        import django

        expected = MigrationAutodetector if django.VERSION >= (5, 2) else RedshiftAutodetector
        assert django_makemigrations.MigrationAutodetector is expected
    assert django_makemigrations.MigrationAutodetector is MigrationAutodetector


# ---------------------------------------------------------------------- through the emulator


@pytest.fixture
def tables(transactional_db: Any) -> Iterator[ProjectState]:
    state = project(customer_state(), sale_state(DistKey(fields=["customer"], name="d")))
    with connection.schema_editor() as editor:
        editor.create_model(state.apps.get_model(APP, "Customer"))
        editor.create_model(state.apps.get_model(APP, "Sale"))
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO rsops_customer (name) VALUES ('ann')")
        cursor.execute(
            "INSERT INTO rsops_sale (customer_id, day, note) VALUES (1, '2024-01-02', 'x')"
        )
    yield state
    with connection.cursor() as cursor:
        for table in ("rsops_sale", "rsops_customer"):
            cursor.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')


def apply(op: Any, state: ProjectState, atomic: bool = True, backwards: bool = False) -> list:
    new_state = state.clone()
    op.state_forwards(APP, new_state)
    executed: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record), connection.schema_editor(atomic=atomic) as editor:
        if backwards:
            op.database_backwards(APP, editor, new_state, state)
        else:
            op.database_forwards(APP, editor, state, new_state)
    return [s for s in executed if not s.startswith("SELECT")]


def keys() -> dict[str, tuple[bool, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT \"column\", distkey, sortkey FROM pg_table_def WHERE tablename = 'rsops_sale'"
        )
        return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


def test_alter_distkey_and_sortkey_forwards_and_backwards(tables: ProjectState) -> None:
    op = AlterDistKey("Sale", "day")
    assert apply(op, tables) == ['ALTER TABLE "rsops_sale" ALTER DISTSTYLE KEY DISTKEY "day"']
    assert keys()["day"][0] is True
    assert apply(op, tables, backwards=True) == [
        'ALTER TABLE "rsops_sale" ALTER DISTSTYLE KEY DISTKEY "customer_id"'
    ]
    assert keys()["customer_id"][0] is True
    sort = AlterSortKey("Sale", ["day", "id"])
    assert apply(sort, tables) == ['ALTER TABLE "rsops_sale" ALTER COMPOUND SORTKEY ("day", "id")']
    assert keys()["day"][1] == 1
    assert apply(sort, tables, backwards=True) == ['ALTER TABLE "rsops_sale" ALTER SORTKEY NONE']
    assert keys()["day"][1] == 0


def test_alter_diststyle_and_encode(tables: ProjectState) -> None:
    assert apply(AlterDistStyle("Sale", "EVEN"), tables) == [
        'ALTER TABLE "rsops_sale" ALTER DISTSTYLE EVEN'
    ]
    assert keys()["customer_id"][0] is False
    assert apply(AlterColumnEncode("Sale", "note", "zstd"), tables) == [
        'ALTER TABLE "rsops_sale" ALTER COLUMN "note" ENCODE zstd'
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT encoding FROM pg_table_def WHERE tablename = 'rsops_sale' "
            "AND \"column\" = 'note'"
        )
        assert cursor.fetchone()[0].strip() == "zstd"


def test_vacuum_refuses_a_transaction_and_runs_outside_one(tables: ProjectState) -> None:
    with pytest.raises(NotSupportedError, match="set atomic = False on the migration"):
        apply(Vacuum("Sale"), tables, atomic=True)
    assert apply(Vacuum("Sale", mode="SORT ONLY", threshold=75), tables, atomic=False) == [
        'VACUUM SORT ONLY "rsops_sale" TO 75 PERCENT'
    ]
    assert apply(Analyze("Sale", predicate_columns=True), tables) == [
        'ANALYZE "rsops_sale" PREDICATE COLUMNS'
    ]


def test_a_migration_with_vacuum_runs_when_not_atomic(tables: ProjectState) -> None:
    from django.db.migrations.executor import MigrationExecutor

    class Migration(migrations.Migration):
        atomic = False
        operations = [AlterDistKey("Sale", "day"), Vacuum("Sale")]

    migration = Migration("0002_vacuum", APP)
    executor = MigrationExecutor(connection)
    with connection.schema_editor(atomic=migration.atomic) as editor:
        migration.apply(tables.clone(), editor)
    assert keys()["day"][0] is True
    assert executor.loader is not None
