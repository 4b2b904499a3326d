"""AlterField and AddField keep the data, on every path, through the emulator.

A property-based test runs each path over generated values (a bounded number of examples)
and compares the rows before and after; chaos tests fail each step of each multi-statement
path with the emulator's fault injection and check that the original data is still
readable and that running the change again completes it.
"""

from __future__ import annotations

import datetime
import json
import re
import string
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.apps.registry import Apps
from django.db import DatabaseError, connection, models
from django.db.migrations.state import ModelState, ProjectState
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redshift_async_backend.indexes import DistKey, SortKey

pytestmark = pytest.mark.integration

TABLE = "rs_alt"
EXAMPLES = settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def make(v: models.Field, *, name: str = "Alt", table: str = TABLE, **meta: Any) -> Any:
    """A model with an ``id`` IDENTITY, a ``k`` integer and the column under test ``v``."""
    attrs = {"apps": Apps(), "app_label": "rsalter", "db_table": table, **meta}
    body = {
        "__module__": __name__,
        "k": models.IntegerField(default=0),
        "v": v,
        "Meta": type("Meta", (), attrs),
    }
    return type(name, (models.Model,), body)


def field_of(model: Any, name: str = "v") -> Any:
    return model._meta.get_field(name)


def replacement(model: Any, field: models.Field, name: str = "v") -> models.Field:
    field.set_attributes_from_name(name)
    field.model = model
    return field


def rows(sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def drop(*tables: str) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')


@pytest.fixture
def clean(transactional_db: Any) -> Iterator[None]:
    drop(TABLE, f"{TABLE}__rebuild", "rs_alt_child")
    yield
    drop("rs_alt_child", TABLE, f"{TABLE}__rebuild")


def create(model: Any, values: list[Any]) -> None:
    with connection.schema_editor() as editor:
        editor.create_model(model)
    with connection.cursor() as cursor:
        for k, value in enumerate(values):
            cursor.execute(f'INSERT INTO "{TABLE}" ("k", "v") VALUES (%s, %s)', [k, value])


def alter(model: Any, old: Any, new: Any, atomic: bool = True) -> None:
    with connection.schema_editor(atomic=atomic) as editor:
        editor.alter_field(model, old, new)


def column_values(column: str = "v", wrap: str = "{}") -> list[Any]:
    expr = wrap.format(f'"{column}"')
    return [r[0] for r in rows(f'SELECT {expr} FROM "{TABLE}" ORDER BY "k"')]


# ---------------------------------------------------------------------- the paths

ascii_text = st.text(alphabet=string.ascii_letters + string.digits + " '-", max_size=10).map(
    str.strip
)
ints = st.integers(min_value=-(2**31), max_value=2**31 - 1)
json_texts = st.dictionaries(st.text(string.ascii_letters, min_size=1, max_size=5), ints).map(
    json.dumps
)


def _same(value: Any) -> Any:
    return value


PATHS: dict[str, tuple[Callable[[], Any], Callable[[], Any], Any, Any, bool, str]] = {
    # name: (old field, new field, values, expected(value), atomic, SQL wrapper to read v)
    "varchar_widen_in_place": (
        lambda: models.CharField(max_length=10, null=True),
        lambda: models.CharField(max_length=40, null=True),
        st.lists(st.one_of(st.none(), ascii_text), max_size=5),
        _same,
        False,
        "{}",
    ),
    "varchar_narrow": (
        lambda: models.CharField(max_length=40, null=True),
        lambda: models.CharField(max_length=10, null=True),
        st.lists(ascii_text, max_size=5),
        _same,
        True,
        "{}",
    ),
    "int_to_bigint_not_null": (
        lambda: models.IntegerField(),
        lambda: models.BigIntegerField(),
        st.lists(ints, max_size=5),
        _same,
        True,
        "{}",
    ),
    "int_to_decimal": (
        lambda: models.IntegerField(null=True),
        lambda: models.DecimalField(max_digits=14, decimal_places=2, null=True),
        st.lists(st.one_of(st.none(), ints), max_size=5),
        lambda v: None if v is None else Decimal(v),
        True,
        "{}",
    ),
    "char_to_text": (
        lambda: models.CharField(max_length=10, null=True),
        lambda: models.TextField(null=True),
        st.lists(st.one_of(st.none(), ascii_text), max_size=5),
        _same,
        True,
        "{}",
    ),
    "char_to_binary": (
        lambda: models.CharField(max_length=10, null=True),
        lambda: models.BinaryField(null=True),
        st.lists(ascii_text, max_size=5),
        lambda v: v.encode(),
        True,
        "FROM_VARBYTE({}, 'utf8')",
    ),
    "text_to_json": (
        lambda: models.TextField(null=True),
        lambda: models.JSONField(null=True),
        st.lists(json_texts, max_size=5),
        json.loads,
        True,
        "JSON_SERIALIZE({})",
    ),
    "null_to_not_null_with_default": (
        lambda: models.IntegerField(null=True),
        lambda: models.IntegerField(default=7),
        st.lists(st.one_of(st.none(), ints), max_size=5),
        lambda v: 7 if v is None else v,
        True,
        "{}",
    ),
    "not_null_to_null": (
        lambda: models.IntegerField(),
        lambda: models.IntegerField(null=True),
        st.lists(ints, max_size=5),
        _same,
        True,
        "{}",
    ),
    "unique_added": (
        lambda: models.CharField(max_length=10, null=True),
        lambda: models.CharField(max_length=10, null=True, unique=True),
        st.lists(ascii_text, max_size=5, unique=True),
        _same,
        True,
        "{}",
    ),
    "unique_removed_and_widened_in_place": (
        lambda: models.CharField(max_length=10, unique=True),
        lambda: models.CharField(max_length=30),
        st.lists(ascii_text, max_size=5, unique=True),
        _same,
        False,
        "{}",
    ),
}


def _normalise(path: str, value: Any) -> Any:
    if path == "char_to_binary" and value is not None:
        return value.encode()
    if path == "text_to_json" and value is not None:
        return json.loads(value)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


@pytest.mark.parametrize("path", sorted(PATHS))
def test_every_alter_path_keeps_the_rows(clean: None, path: str) -> None:
    old_factory, new_factory, values, expected, atomic, wrap = PATHS[path]

    @EXAMPLES
    @given(values=values)
    def run(values: list[Any]) -> None:
        drop(TABLE)
        model = make(old_factory())
        create(model, values)
        alter(model, field_of(model), replacement(model, new_factory()), atomic=atomic)
        got = column_values(wrap=wrap)
        want = [expected(v) for v in values]
        assert [_normalise(path, g) for g in got] == want

    run()


def test_rename_keeps_values(clean: None) -> None:
    model = make(models.IntegerField(null=True))
    create(model, [1, None, 3])
    alter(model, field_of(model), replacement(model, models.IntegerField(null=True), "w"))
    assert column_values("w") == [1, None, 3]


def test_key_columns_are_rebuilt_with_their_keys(clean: None) -> None:
    model = make(
        models.IntegerField(),
        indexes=[DistKey(fields=["v"], name="d"), SortKey(fields=["v", "k"], name="s")],
    )
    create(model, [5, 6])
    order = [c.name for c in _description()]
    alter(model, field_of(model), replacement(model, models.BigIntegerField()))
    assert column_values() == [5, 6]
    keys = dict(
        (r[0], (r[1], r[2]))
        for r in rows(
            'SELECT "column", distkey, sortkey FROM pg_table_def WHERE tablename = %s',
            [TABLE],
        )
    )
    assert keys["v"] == (True, 1) and keys["k"] == (False, 2)
    # Column order is kept by a table rebuild.
    assert [c.name for c in _description()] == order


def _description() -> Any:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{TABLE}" LIMIT 0')
        return cursor.description


def _project(pk: models.Field) -> Any:
    """Parent (rs_alt) and Child (rs_alt_child, FK to it) rendered as migrations do."""
    state = ProjectState()
    state.add_model(
        ModelState(
            "rsalter",
            "Alt",
            [("id", pk), ("k", models.IntegerField(default=0)), ("v", models.IntegerField())],
            {"db_table": TABLE},
        )
    )
    state.add_model(
        ModelState(
            "rsalter",
            "Child",
            [
                ("id", models.AutoField(primary_key=True)),
                ("parent", models.ForeignKey("rsalter.Alt", models.CASCADE)),
            ],
            {"db_table": "rs_alt_child"},
        )
    )
    return state.apps


def test_autofield_to_bigautofield_with_incoming_foreign_keys(clean: None) -> None:
    old = _project(models.AutoField(primary_key=True))
    new = _project(models.BigAutoField(primary_key=True))
    parent = old.get_model("rsalter", "Alt")
    create(parent, [10, 20])
    with connection.schema_editor() as editor:
        editor.create_model(old.get_model("rsalter", "Child"))
    with connection.cursor() as cursor:
        cursor.execute('INSERT INTO "rs_alt_child" ("parent_id") VALUES (1), (2), (2)')
    alter(parent, parent._meta.pk, new.get_model("rsalter", "Alt")._meta.pk)
    assert rows(f'SELECT "id", "v" FROM "{TABLE}" ORDER BY "id"') == [(1, 10), (2, 20)]
    assert rows('SELECT "parent_id" FROM "rs_alt_child" ORDER BY "id"') == [(1,), (2,), (2,)]
    types = dict(
        rows(
            "SELECT tablename || '.' || \"column\", type FROM pg_table_def "
            "WHERE tablename IN ('rs_alt', 'rs_alt_child')"
        )
    )
    assert types["rs_alt.id"] == "bigint" and types["rs_alt_child.parent_id"] == "bigint"
    fks = rows(
        "SELECT COUNT(*) FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
        "WHERE t.relname = 'rs_alt_child' AND c.contype = 'f'"
    )
    assert fks == [(1,)]
    # New rows get ids above the copied ones.
    with connection.cursor() as cursor:
        cursor.execute(f'INSERT INTO "{TABLE}" ("k", "v") VALUES (9, 30)')
    assert rows(f'SELECT MAX("id") FROM "{TABLE}"') == [(3,)]


def test_varchar_multiplier_is_respected_by_alter(clean: None) -> None:
    import dataclasses

    original = connection.redshift_options
    connection.redshift_options = dataclasses.replace(original, varchar_bytes_per_char=3)
    try:
        model = make(models.CharField(max_length=10, null=True))
        create(model, ["abc"])
        alter(
            model,
            field_of(model),
            replacement(model, models.CharField(max_length=20, null=True)),
            atomic=False,
        )
        types = dict(rows('SELECT "column", type FROM pg_table_def WHERE tablename = %s', [TABLE]))
        # 20 characters x 3 bytes: widened, never shrunk (the prior art's bug, §4.3).
        assert types["v"] == "character varying(60)"
        assert column_values() == ["abc"]
    finally:
        connection.redshift_options = original


# ---------------------------------------------------------------------- AddField


def test_add_field_callable_default_is_not_frozen(clean: None) -> None:
    model = make(models.IntegerField(null=True))
    create(model, [1, 2])
    added = replacement(model, models.DateTimeField(default=timezone.now), "at")
    before = timezone.now()
    executed: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record), connection.schema_editor() as editor:
        editor.add_field(model, added)
    stamps = column_values("at")
    assert len(set(stamps)) == 1 and stamps[0] >= before
    assert not any(re.search(r"DEFAULT (?!AS IDENTITY)", sql) for sql in executed)
    # The column is NOT NULL and has no DEFAULT: an INSERT without it fails.
    with pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.execute(f'INSERT INTO "{TABLE}" ("k") VALUES (5)')


def test_add_field_constant_default_keeps_a_database_default(clean: None) -> None:
    model = make(models.IntegerField(null=True))
    create(model, [1])
    added = replacement(model, models.CharField(max_length=5, default="new"), "status")
    with connection.schema_editor() as editor:
        editor.add_field(model, added)
    with connection.cursor() as cursor:
        cursor.execute(f'INSERT INTO "{TABLE}" ("k") VALUES (5)')
    # Documented: Redshift requires it, and there is no DROP DEFAULT.
    assert column_values("status") == ["new", "new"]


# ---------------------------------------------------------------------- chaos


def _fail_then_rerun(
    emulator: Any, pattern: str, model: Any, old: Any, new: Any, atomic: bool, before: list
) -> None:
    emulator.fail_next_matching(pattern)
    with pytest.raises(DatabaseError, match="injected failure"):
        alter(model, old, new, atomic=atomic)
    emulator.clear_faults()
    assert not connection.in_atomic_block
    # The original data is readable...
    assert column_values() == before
    # ...and running the same change again completes it.
    alter(model, old, new, atomic=atomic)
    assert column_values() == before


TABLE_REBUILD_STEPS = [
    f'CREATE TABLE "{TABLE}__rebuild"',
    f'INSERT INTO "{TABLE}__rebuild"',
    f'DROP TABLE "{TABLE}"',
    f'RENAME TO "{TABLE}"',
    "ADD CONSTRAINT",
    "COMMENT ON COLUMN",
]


@pytest.mark.chaos
@pytest.mark.parametrize("atomic", [True, False], ids=["in_migration", "own_transaction"])
@pytest.mark.parametrize("step", TABLE_REBUILD_STEPS)
def test_table_rebuild_fails_at_any_step_without_losing_data(
    clean: None, emulator: Any, step: str, atomic: bool
) -> None:
    model = make(
        models.IntegerField(db_comment="value"),
        indexes=[SortKey(fields=["v"], name="s")],
        unique_together=[("k", "v")],
    )
    create(model, [3, 1, 2])
    new = replacement(model, models.BigIntegerField(db_comment="value"))
    _fail_then_rerun(emulator, step, model, field_of(model), new, atomic, [3, 1, 2])
    assert rows(f"SELECT COUNT(*) FROM pg_class WHERE relname = '{TABLE}__rebuild'") == [(0,)]


@pytest.mark.chaos
@pytest.mark.parametrize(
    "step",
    ['ADD COLUMN "v__tmp"', 'SET "v__tmp"', 'DROP COLUMN "v"', 'RENAME COLUMN "v__tmp"'],
)
def test_column_rebuild_fails_at_any_step_without_losing_data(
    clean: None, emulator: Any, step: str
) -> None:
    model = make(models.IntegerField(null=True))
    create(model, [4, None])
    new = replacement(model, models.DecimalField(max_digits=10, decimal_places=1, null=True))
    _fail_then_rerun(emulator, step, model, field_of(model), new, False, [4, None])


@pytest.mark.chaos
@pytest.mark.parametrize("step", ["DROP CONSTRAINT", "ALTER COLUMN", "ADD CONSTRAINT"])
def test_varchar_widening_outside_a_transaction_can_be_rerun(
    clean: None, emulator: Any, step: str
) -> None:
    # Redshift: ALTER COLUMN TYPE runs outside a transaction block and not on a UNIQUE
    # column (DG:r_ALTER_TABLE): three statements that commit one by one.
    model = make(models.CharField(max_length=10, unique=True))
    create(model, ["a", "b"])
    new = replacement(model, models.CharField(max_length=30, unique=True))
    _fail_then_rerun(emulator, step, model, field_of(model), new, False, ["a", "b"])
    types = dict(rows('SELECT "column", type FROM pg_table_def WHERE tablename = %s', [TABLE]))
    assert types["v"] == "character varying(30)"
    unique = rows(
        "SELECT COUNT(*) FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
        "WHERE t.relname = %s AND c.contype = 'u'",
        [TABLE],
    )
    assert unique == [(1,)]


@pytest.mark.chaos
def test_add_field_callable_default_fails_without_losing_data(clean: None, emulator: Any) -> None:
    model = make(models.IntegerField(null=True))
    create(model, [1, 2])
    added = replacement(model, models.DateField(default=datetime.date.today), "day")
    emulator.fail_next_matching(f'INSERT INTO "{TABLE}__rebuild"')
    with pytest.raises(DatabaseError), connection.schema_editor(atomic=False) as editor:
        editor.add_field(model, added)
    emulator.clear_faults()
    assert column_values() == [1, 2]
    with connection.schema_editor(atomic=False) as editor:
        editor.add_field(model, added)
    assert column_values("day") == [datetime.date.today()] * 2


# ---------------------------------------------------------------------- sqlmigrate


def test_sqlmigrate_prints_exactly_the_sql_that_runs(clean: None) -> None:
    from django.db import migrations

    from redshift_async_backend.operations import AlterDistKey

    state = ProjectState()
    state.add_model(
        ModelState(
            "rsalter",
            "Alt",
            [
                ("id", models.AutoField(primary_key=True)),
                ("k", models.IntegerField(default=0)),
                ("v", models.IntegerField(null=True)),
            ],
            {"db_table": TABLE},
        )
    )
    create(state.apps.get_model("rsalter", "Alt"), [1, None])

    class Migration(migrations.Migration):
        operations = [
            migrations.AlterField("Alt", "v", models.BigIntegerField(default=0)),
            migrations.AddField("Alt", "note", models.CharField(max_length=5, null=True)),
            AlterDistKey("Alt", "k"),
        ]

    migration = Migration("0002_change", "rsalter")
    # What sqlmigrate does: collect_sql, the migration's atomicity.
    with connection.schema_editor(collect_sql=True, atomic=migration.atomic) as editor:
        migration.apply(state.clone(), editor, collect_sql=True)
    printed = [s.rstrip(";") for s in editor.collected_sql if not s.startswith("--")]
    executed: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        executed.append(sql if params is None else sql % tuple(params))
        return execute(sql, params, many, context)

    with (
        connection.execute_wrapper(record),
        connection.schema_editor(atomic=migration.atomic) as editor,
    ):
        migration.apply(state.clone(), editor)
    ran = [s for s in executed if not s.lstrip().upper().startswith("SELECT")]
    assert printed == ran
    assert printed[0].startswith(f'CREATE TABLE "{TABLE}__rebuild"')
    assert printed[-1] == f'ALTER TABLE "{TABLE}" ALTER DISTSTYLE KEY DISTKEY "k"'
    assert column_values() == [1, 0]
